/**
 * `dialPeer` on the virtual network: TCP first, uTP when TCP reaches nobody who talks (no
 * listener, or a listener that hangs up without a word), and no uTP when TCP reached a peer that
 * answered wrongly or said nothing. Peer B runs `acceptPeer` on both transports and answers with
 * its own handshake, as the session does.
 */
import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHandshake, makeReserved, type Handshake } from '../../src/codec/peer-wire.js';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import type { Endpoint, Runtime, TcpConnection, TcpServer } from '../../src/runtime/interfaces.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { SwarmError } from '../../src/swarm/errors.js';
import { acceptPeer } from '../../src/swarm/handshake.js';
import type { EncryptionPolicy } from '../../src/swarm/mse-handshake.js';
import { dialPeer } from '../../src/swarm/peer-dialer.js';
import { UtpSocket } from '../../src/utp/utp-socket.js';

const A = '10.0.0.1';
const B = '10.0.0.2';
const PORT = 6881;
const TIMEOUT = 5000;
const INFO_HASH = toInfoHash('0123456789abcdef0123456789abcdef01234567');
const OTHER_HASH = toInfoHash('fedcba9876543210fedcba9876543210fedcba98');

function handshakeOf(peerByte: number, infoHash: InfoHash = INFO_HASH): Handshake {
  return { reserved: makeReserved({ fast: true, extensions: true }), infoHash, peerId: new Uint8Array(20).fill(peerByte) };
}

const OURS = handshakeOf(0xaa);
const THEIRS = handshakeOf(0xbb);

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** Runs `acceptPeer` on each incoming connection and answers with `answer`; records what happened. */
function servePeers(runtime: Runtime, answer: Handshake, encryption: EncryptionPolicy = 'prefer') {
  const results: Settled<{ remote: Handshake; conn: TcpConnection }>[] = [];
  let incoming = 0;
  const handle = (conn: TcpConnection): void => {
    incoming++;
    void settle(
      acceptPeer(runtime, conn, () => [INFO_HASH], encryption, TIMEOUT).then((opened) => {
        opened.conn.write(encodeHandshake(answer));
        return { remote: opened.remote, conn: opened.conn };
      }),
    ).then((r) => results.push(r));
  };
  return { handle, results, incoming: () => incoming };
}

async function setup() {
  const net = new VirtualNetwork({ seed: 21, latency: () => 5 });
  const ra = net.runtime(A);
  const rb = net.runtime(B);
  const utpA = await net.clock.run(UtpSocket.bind(ra, { host: A, port: PORT }));
  const utpB = await net.clock.run(UtpSocket.bind(rb, { host: B, port: PORT }));
  const utpServed = servePeers(rb, THEIRS);
  utpB.onConnection(utpServed.handle);
  const to: Endpoint = { host: B, port: PORT };
  return { net, ra, rb, utpA, utpB, utpServed, to };
}

async function listen(net: VirtualNetwork, rb: Runtime): Promise<TcpServer> {
  return net.clock.run(rb.tcpListen({ host: B, port: PORT }));
}

function errorOf(result: Settled<unknown>): Error & { code?: string } {
  assert.equal(result.ok, false, 'expected the dial to fail');
  return (result as { error: Error & { code?: string } }).error;
}

describe('dialPeer', () => {
  test('no TCP listener: the peer is reached over uTP', async () => {
    const { net, ra, utpA, utpServed, to } = await setup();
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'prefer')));
    assert.ok(result.ok, result.ok ? '' : String(result.error));
    const dialed = result.value;
    assert.equal(dialed.transport, 'utp');
    assert.deepEqual(dialed.remote.peerId, THEIRS.peerId);
    assert.deepEqual(dialed.remote.infoHash, INFO_HASH);
    assert.equal(dialed.protection, 'mse', "'prefer' runs MSE over uTP too");
    await net.clock.runUntil(() => utpServed.results.length > 0, 1000);
    assert.equal(utpServed.incoming(), 1);
    const side = utpServed.results[0];
    assert.ok(side.ok);
    assert.deepEqual(side.value.remote.peerId, OURS.peerId);
    // The stream works both ways after the handshakes.
    const got: Uint8Array[] = [];
    side.value.conn.onData((d) => got.push(Uint8Array.from(d)));
    dialed.conn.write(new Uint8Array([1, 2, 3, 4]));
    await net.clock.advance(100);
    assert.deepEqual(Buffer.concat(got), Buffer.from([1, 2, 3, 4]));
  });

  test('a TCP listener that hangs up at once: falls back to uTP', async () => {
    const { net, ra, rb, utpA, utpServed, to } = await setup();
    const server = await listen(net, rb);
    let tcpConnections = 0;
    server.onConnection((conn) => {
      tcpConnections++;
      conn.close();
    });
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'prefer')));
    assert.ok(result.ok, result.ok ? '' : String(result.error));
    assert.equal(result.value.transport, 'utp');
    assert.deepEqual(result.value.remote.peerId, THEIRS.peerId);
    // MSE, then a plain handshake, were both tried on TCP first.
    assert.equal(tcpConnections, 2);
    assert.equal(utpServed.incoming(), 1);
  });

  test('a TCP listener that hangs up at once, plain handshakes: falls back to uTP', async () => {
    const { net, ra, rb, utpA, to } = await setup();
    const server = await listen(net, rb);
    server.onConnection((conn) => conn.close());
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'allow')));
    assert.ok(result.ok, result.ok ? '' : String(result.error));
    assert.equal(result.value.transport, 'utp');
    assert.equal(result.value.protection, 'plain');
  });

  test('a TCP peer that answers for another torrent: rejected, and uTP is not tried', async () => {
    const { net, ra, rb, utpA, utpB, utpServed, to } = await setup();
    const server = await listen(net, rb);
    const tcpServed = servePeers(rb, handshakeOf(0xbb, OTHER_HASH));
    server.onConnection(tcpServed.handle);
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'prefer')));
    const error = errorOf(result);
    assert.ok(error instanceof SwarmError, String(error));
    assert.equal(error.code, 'HANDSHAKE');
    assert.match(error.message, /another torrent/);
    await net.clock.advance(10_000);
    assert.equal(tcpServed.incoming(), 1);
    assert.equal(utpServed.incoming(), 0, 'no uTP connection reached B');
    assert.equal(utpB.connectionCount, 0);
    assert.equal(net.stats.datagramsSent, 0, 'not even a SYN was sent');
  });

  test('a TCP peer that never answers: rejected after the timeout, and uTP is not tried', async () => {
    const { net, ra, rb, utpA, utpServed, to } = await setup();
    const server = await listen(net, rb);
    server.onConnection(() => undefined);
    const start = net.clock.now();
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'allow')));
    const error = errorOf(result);
    assert.ok(error instanceof SwarmError, String(error));
    assert.equal(error.code, 'HANDSHAKE');
    assert.match(error.message, /timed out/);
    assert.ok(net.clock.now() - start >= TIMEOUT);
    assert.equal(utpServed.incoming(), 0);
    assert.equal(net.stats.datagramsSent, 0);
  });

  test('no uTP socket and no TCP listener: rejects with the TCP error', async () => {
    const { net, ra, utpServed, to } = await setup();
    const result = await net.clock.run(settle(dialPeer(ra, undefined, to, OURS, TIMEOUT, 'prefer')));
    const error = errorOf(result);
    assert.equal(error.code, 'ECONNREFUSED');
    assert.equal(utpServed.incoming(), 0);
    assert.equal(net.stats.datagramsSent, 0);
  });

  test('nobody on TCP nor uTP: rejects with the uTP error', async () => {
    const { net, ra, utpA, utpB, to } = await setup();
    utpB.close();
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'prefer')));
    const error = errorOf(result);
    assert.equal(error.code, 'ETIMEDOUT');
    assert.ok(net.stats.datagramsSent > 0, 'SYNs were sent');
    assert.equal(utpA.connectionCount, 0);
  });

  test('a peer that serves TCP: transport tcp, uTP not used', async () => {
    const { net, ra, rb, utpA, utpB, utpServed, to } = await setup();
    const server = await listen(net, rb);
    const tcpServed = servePeers(rb, THEIRS);
    server.onConnection(tcpServed.handle);
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'prefer')));
    assert.ok(result.ok, result.ok ? '' : String(result.error));
    assert.equal(result.value.transport, 'tcp');
    assert.equal(result.value.protection, 'mse');
    assert.deepEqual(result.value.remote.peerId, THEIRS.peerId);
    await net.clock.advance(1000);
    assert.equal(tcpServed.incoming(), 1);
    assert.equal(utpServed.incoming(), 0);
    assert.equal(utpB.connectionCount, 0);
    assert.equal(utpA.connectionCount, 0);
    assert.equal(net.stats.datagramsSent, 0);
  });

  test('over uTP, a peer answering for another torrent is rejected too', async () => {
    const { net, ra, rb, utpA, utpB, to } = await setup();
    const wrong = servePeers(rb, handshakeOf(0xbb, OTHER_HASH));
    utpB.onConnection(wrong.handle);
    const result = await net.clock.run(settle(dialPeer(ra, utpA, to, OURS, TIMEOUT, 'prefer')));
    const error = errorOf(result);
    assert.ok(error instanceof SwarmError, String(error));
    assert.equal(error.code, 'HANDSHAKE');
    assert.equal(wrong.incoming(), 1);
    // The rejected uTP connection is closed on both sides.
    await net.clock.runUntil(() => utpA.connectionCount === 0 && utpB.connectionCount === 0, 10_000);
    assert.equal(utpA.connectionCount, 0);
    assert.equal(utpB.connectionCount, 0);
  });
});

describe('dialPeer on real sockets', () => {
  test('a TCP connect nobody answers is given up after the timeout, and the peer is reached over uTP', { timeout: 20_000 }, async () => {
    const rt = createNodeRuntime();
    // The peer's TCP port drops SYNs (a listener that never accepts, its backlog full, held by
    // Python because Node's servers always accept); its uTP socket on the same port answers.
    const holder = spawn('/usr/bin/python3', ['-c', "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)"]);
    const sockets: UtpSocket[] = [];
    try {
      const port = await new Promise<number>((resolve) => holder.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      const filler = await rt.tcpConnect({ host: '127.0.0.1', port }, 2000);
      const peer = await UtpSocket.bind(rt, { host: '127.0.0.1', port });
      const us = await UtpSocket.bind(rt, { host: '127.0.0.1', port: 0 });
      sockets.push(peer, us);
      const served = servePeers(rt, THEIRS);
      peer.onConnection(served.handle);
      const started = performance.now();
      const dialed = await dialPeer(rt, us, { host: '127.0.0.1', port }, OURS, 500, 'allow');
      assert.equal(dialed.transport, 'utp');
      assert.deepEqual(dialed.remote.peerId, THEIRS.peerId);
      assert.ok(performance.now() - started < 5000, 'TCP was given up after its timeout, not the kernel’s minutes');
      dialed.conn.close();
      filler.close();
    } finally {
      for (const socket of sockets) socket.close();
      holder.kill();
    }
  });
});
