/**
 * The MSE handshake on the virtual network: both sides of `mse-handshake.ts` against each other for
 * every method choice, the policies of `connectPeer`/`acceptPeer` end to end (with a fallback to a
 * plaintext-only peer), hostile peers on either side crafted byte by byte from the codec, and a
 * whole swarm download under `encryption: 'require'`.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { CRYPTO_PLAINTEXT, CRYPTO_RC4, decodeHead, encodeAnswer, encodeOffer, MSE_VC, msePublicKey, mseSecret, Rc4 } from '../../src/codec/mse.js';
import { encodeHandshake, makeReserved, type Handshake } from '../../src/codec/peer-wire.js';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import type { Endpoint, Runtime, TcpConnection, TcpServer } from '../../src/runtime/interfaces.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { CipherConnection } from '../../src/swarm/cipher-connection.js';
import { SwarmError } from '../../src/swarm/errors.js';
import { acceptPeer, connectPeer, type OpenedConnection } from '../../src/swarm/handshake.js';
import { isPlainHandshakeStart, mseAccept, mseConnect, type EncryptionPolicy, type MseResult } from '../../src/swarm/mse-handshake.js';
import { HandshakeReader } from '../../src/swarm/handshake-reader.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { SwarmSession } from '../../src/swarm/session.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { concat } from '../codec/bytes.js';
import { readAll, writeFile } from './memory-files.js';

const INFO_HASH = toInfoHash('0123456789abcdef0123456789abcdef01234567');
const OTHER_HASH = toInfoHash('fedcba9876543210fedcba9876543210fedcba98');
const TIMEOUT = 5000;

const sha1 = (...parts: (string | Uint8Array)[]): Uint8Array => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest());
};
const xor = (a: Uint8Array, b: Uint8Array): Uint8Array => a.map((x, i) => x ^ b[i]!);
const random = (seed: number, n: number): Uint8Array => new Mulberry32(seed).bytes(n);
const contains = (haystack: Uint8Array, needle: Uint8Array): boolean => Buffer.from(haystack).indexOf(Buffer.from(needle)) >= 0;

function handshakeOf(peerByte: number, infoHash: InfoHash = INFO_HASH): Handshake {
  return { reserved: makeReserved({ fast: true, extensions: true }), infoHash, peerId: new Uint8Array(20).fill(peerByte) };
}

type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/** Never rejects, so a failure can wait unobserved while the clock runs. */
function settle<T>(p: Promise<T>): Promise<Settled<T>> {
  return p.then(
    (value) => ({ ok: true as const, value }),
    (error: unknown) => ({ ok: false as const, error }),
  );
}

/** The error of a settled failure, checked to be a SwarmError with code ENCRYPTION. */
function encryptionError(result: Settled<unknown>, what: string): SwarmError {
  assert.equal(result.ok, false, `${what}: expected a failure`);
  const error = (result as { error: unknown }).error;
  assert.ok(error instanceof SwarmError, `${what}: ${String(error)}`);
  assert.equal(error.code, 'ENCRYPTION', `${what}: ${error.message}`);
  return error;
}

/** Everything a connection delivers (after `initial`), and whether it closed. */
class Sink {
  private chunks: Uint8Array[] = [];
  length = 0;
  closed = false;

  constructor(conn: TcpConnection, initial?: Uint8Array) {
    if (initial) this.push(initial);
    conn.onData((d) => this.push(d));
    conn.onClose(() => (this.closed = true));
  }

  bytes(): Uint8Array {
    return concat(...this.chunks);
  }

  private push(d: Uint8Array): void {
    this.chunks.push(d.slice());
    this.length += d.length;
  }
}

/** A connection that records every byte written through it (what goes on the wire). */
function tap(inner: TcpConnection): { conn: TcpConnection; sent: () => Uint8Array } {
  const sent: Uint8Array[] = [];
  const conn: TcpConnection = {
    local: inner.local,
    remote: inner.remote,
    write: (data) => {
      sent.push(data.slice());
      inner.write(data);
    },
    writev: (chunks, done) => {
      for (const c of chunks) sent.push(c.slice());
      inner.writev(chunks, done);
    },
    onData: (handler) => inner.onData(handler),
    onClose: (handler) => inner.onClose(handler),
    close: () => inner.close(),
  };
  if (inner.onTransientData) conn.onTransientData = (handler) => inner.onTransientData!(handler);
  return { conn, sent: () => concat(...sent) };
}

/** Two hosts and one TCP connection between them. */
async function tcpPair(seed = 1) {
  const net = new VirtualNetwork({ seed, latency: () => 7 });
  const ra = net.runtime('10.0.0.1');
  const rb = net.runtime('10.0.0.2');
  const server = await net.clock.run(rb.tcpListen({ host: '10.0.0.2', port: 6881 }));
  let accepted: TcpConnection | undefined;
  server.onConnection((c) => (accepted = c));
  const client = await net.clock.run(ra.tcpConnect(server.local));
  assert.ok(accepted);
  return { net, ra, rb, server, client, accepted };
}

/** Runs the clock until `sink` holds `n` bytes (or fails the test). */
async function waitFor(net: VirtualNetwork, sink: Sink, n: number): Promise<void> {
  assert.ok(await net.clock.runUntil(() => sink.length >= n, 60_000), `waited for ${n} bytes, have ${sink.length}`);
}

describe('mseConnect against mseAccept', () => {
  for (const connectorRc4Only of [false, true]) {
    for (const acceptorRc4Only of [false, true]) {
      const expectRc4 = connectorRc4Only || acceptorRc4Only;
      test(`connector rc4Only=${connectorRc4Only}, acceptor rc4Only=${acceptorRc4Only}: ${expectRc4 ? 'RC4' : 'plaintext'} payload, data intact both ways`, async () => {
        const { net, ra, rb, client, accepted } = await tcpPair(connectorRc4Only ? 2 : 3);
        const wireA = tap(client);
        const wireB = tap(accepted);
        const payload = encodeHandshake(handshakeOf(0xaa));
        const greeting = random(50, 333);
        const accepting = mseAccept(rb, wireB.conn, new HandshakeReader(rb, wireB.conn, TIMEOUT, 'ENCRYPTION'), () => [OTHER_HASH, INFO_HASH], { rc4Only: acceptorRc4Only }).then((r) => {
          // B speaks first after the handshake, as a session answering a BitTorrent handshake does.
          r.conn.write(greeting);
          return r;
        });
        const connecting = mseConnect(ra, wireA.conn, INFO_HASH, payload, { rc4Only: connectorRc4Only, timeoutMs: TIMEOUT });
        const [a, b] = await net.clock.run(Promise.all([connecting, accepting]));

        assert.equal(a.rc4, expectRc4, 'connector side method');
        assert.equal(b.rc4, expectRc4, 'acceptor side method');
        assert.equal(a.conn instanceof CipherConnection, expectRc4);
        assert.equal(b.conn instanceof CipherConnection, expectRc4);
        assert.deepEqual(b.infoHash, INFO_HASH, 'acceptor found the torrent among several');
        assert.ok(b.initial.length >= payload.length);
        assert.deepEqual(b.initial.subarray(0, payload.length), payload, "acceptor's initial starts with the connector's payload");

        const sinkA = new Sink(a.conn, a.initial);
        const sinkB = new Sink(b.conn, b.initial);
        // Several writes each way, interleaved, ending with 1 MiB as a writev of odd-sized chunks.
        const small1 = random(51, 1000);
        const small2 = random(52, 17);
        const sizes = [1, 16383, 65543, 300_000, 11, 1024 * 1024 - (1 + 16383 + 65543 + 300_000 + 11)];
        const bigA = sizes.map((n, i) => random(60 + i, n));
        const bigB = sizes.map((n, i) => random(70 + i, n));
        const copies = [small1, small2, ...bigA, ...bigB].map((c) => c.slice());
        a.conn.write(small1);
        b.conn.writev([small2, small1]);
        a.conn.writev(bigA);
        b.conn.writev(bigB);
        a.conn.write(small2);
        [small1, small2, ...bigA, ...bigB].forEach((c, i) => assert.deepEqual(c, copies[i], `caller's buffer ${i} untouched`));

        const expectedAtB = concat(payload, small1, ...bigA, small2);
        const expectedAtA = concat(greeting, small2, small1, ...bigB);
        await waitFor(net, sinkB, expectedAtB.length);
        await waitFor(net, sinkA, expectedAtA.length);
        await net.clock.advance(100);
        assert.ok(Buffer.from(sinkB.bytes()).equals(Buffer.from(expectedAtB)), 'A → B stream intact');
        assert.ok(Buffer.from(sinkA.bytes()).equals(Buffer.from(expectedAtA)), 'B → A stream intact');
        [small1, small2, ...bigA, ...bigB].forEach((c, i) => assert.deepEqual(c, copies[i], `caller's buffer ${i} untouched after delivery`));

        // On the wire: the BitTorrent handshake is never visible, the payload is only when plaintext was selected.
        const sample = bigA[3]!.subarray(12345, 12345 + 64);
        assert.equal(contains(wireA.sent(), payload.subarray(0, 20)), false, 'the handshake inside MSE is obfuscated');
        assert.equal(contains(wireA.sent(), sample), !expectRc4, 'A → B payload is encrypted exactly when RC4 was selected');
        assert.equal(contains(wireB.sent(), bigB[3]!.subarray(777, 777 + 64)), !expectRc4, 'B → A payload likewise');
        assert.equal(sinkA.closed || sinkB.closed, false);
      });
    }
  }

  test('CipherConnection leaves the chunks the runtime hands it and the buffers it is given unchanged', () => {
    let deliver: ((d: Uint8Array) => void) | undefined;
    const written: Uint8Array[] = [];
    let doneCalls = 0;
    const inner: TcpConnection = {
      local: { host: '10.0.0.1', port: 1 },
      remote: { host: '10.0.0.2', port: 2 },
      write: (d) => void written.push(d.slice()),
      writev: (chunks, done) => {
        written.push(concat(...chunks));
        done?.();
      },
      onData: (h) => (deliver = h),
      onClose: () => undefined,
      close: () => undefined,
    };
    const keyOut = random(100, 20);
    const keyIn = random(101, 20);
    const cipher = new CipherConnection(inner, new Rc4(keyOut), new Rc4(keyIn));
    assert.equal(cipher.onTransientData, undefined, 'no transient reads when the runtime has none');
    assert.deepEqual(cipher.remote, inner.remote);
    const got: Uint8Array[] = [];
    cipher.onData((d) => got.push(d.slice()));
    const chunk = random(102, 1000);
    const chunkCopy = chunk.slice();
    deliver!(chunk.subarray(0, 300));
    deliver!(chunk.subarray(300));
    assert.deepEqual(chunk, chunkCopy, "the runtime's chunks are not decrypted in place");
    assert.deepEqual(concat(...got), new Rc4(keyIn).apply(chunkCopy.slice()));

    const one = random(103, 50);
    const two = [random(104, 7), random(105, 4000)];
    const copies = [one, ...two].map((c) => c.slice());
    cipher.write(one);
    cipher.writev(two, () => doneCalls++);
    assert.deepEqual([one, ...two], copies);
    assert.equal(doneCalls, 1, 'done is passed on');
    assert.deepEqual(concat(...written), new Rc4(keyOut).apply(concat(...copies)), 'one keystream over all writes, in order');
  });

  test('RC4 connections decrypt what the runtime hands over through onTransientData', async () => {
    const { net, ra, rb, client, accepted } = await tcpPair(4);
    const [a, b] = await net.clock.run(
      Promise.all([
        mseConnect(ra, client, INFO_HASH, Uint8Array.of(1, 2, 3), { rc4Only: true, timeoutMs: TIMEOUT }),
        mseAccept(rb, accepted, new HandshakeReader(rb, accepted, TIMEOUT, 'ENCRYPTION'), () => [INFO_HASH], { rc4Only: true }),
      ]),
    );
    assert.deepEqual(b.initial, Uint8Array.of(1, 2, 3));
    assert.ok(b.conn.onTransientData, 'the cipher connection offers transient reads when the runtime does');
    const got: Uint8Array[] = [];
    b.conn.onTransientData!((d) => got.push(d.slice()));
    const data = random(80, 200_000);
    a.conn.write(data.subarray(0, 5));
    a.conn.writev([data.subarray(5, 100_000), data.subarray(100_000)]);
    await net.clock.advance(100);
    assert.ok(Buffer.from(concat(...got)).equals(Buffer.from(data)));
  });
});

/** Listens on B and runs `acceptPeer` for every connection, answering with B's handshake. */
async function policyPair(listener: EncryptionPolicy, seed = 5) {
  const net = new VirtualNetwork({ seed, latency: () => 4 });
  const ra = net.runtime('10.0.0.1');
  const rb = net.runtime('10.0.0.2');
  const server = await net.clock.run(rb.tcpListen({ host: '10.0.0.2', port: 6881 }));
  const accepted: Settled<Awaited<ReturnType<typeof acceptPeer>>>[] = [];
  server.onConnection((conn) => {
    void settle(
      acceptPeer(rb, conn, () => [INFO_HASH], listener, TIMEOUT).then((r) => {
        r.conn.write(encodeHandshake(handshakeOf(0xbb)));
        return r;
      }),
    ).then((r) => accepted.push(r));
  });
  return { net, ra, rb, server, accepted };
}

describe('connectPeer and acceptPeer with encryption policies', () => {
  const policies: EncryptionPolicy[] = ['allow', 'prefer', 'require'];
  for (const connector of policies) {
    for (const listener of policies) {
      const refused = connector === 'allow' && listener === 'require';
      const mse = connector !== 'allow';
      const rc4 = connector === 'require' || (mse && listener === 'require');
      test(`connector '${connector}' → listener '${listener}': ${refused ? 'refused' : rc4 ? 'RC4' : mse ? 'MSE, plaintext payload' : 'plain'}`, async () => {
        const { net, ra, server, accepted } = await policyPair(listener);
        const result = await net.clock.run(settle(connectPeer(ra, server.local, handshakeOf(0xaa), TIMEOUT, connector)));
        await net.clock.runUntil(() => accepted.length > 0, 1000);
        assert.equal(accepted.length, 1, 'one connection reached the listener');
        if (refused) {
          assert.equal(result.ok, false, 'connector fails');
          const error = encryptionError(accepted[0]!, 'listener');
          assert.match(error.message, /plain handshake refused/);
          return;
        }
        assert.ok(result.ok, `connector: ${result.ok ? '' : String(result.error)}`);
        const side = accepted[0]!;
        assert.ok(side.ok, `listener: ${side.ok ? '' : String(side.error)}`);
        const opened: OpenedConnection = result.value;
        assert.deepEqual(opened.remote.peerId, new Uint8Array(20).fill(0xbb));
        assert.deepEqual(side.value.remote.peerId, new Uint8Array(20).fill(0xaa));
        assert.deepEqual(side.value.remote.infoHash, INFO_HASH);
        assert.equal(opened.conn instanceof CipherConnection, rc4, 'connector encrypts iff RC4');
        assert.equal(side.value.conn instanceof CipherConnection, rc4, 'listener encrypts iff RC4');
        const protection = rc4 ? 'rc4' : mse ? 'mse' : 'plain';
        assert.equal(opened.protection, protection, 'connector reports its protection');
        assert.equal(side.value.protection, protection, 'listener reports its protection');
        // Messages flow both ways after the handshakes.
        const sinkA = new Sink(opened.conn, concat(...opened.after.chunks));
        const sinkB = new Sink(side.value.conn, concat(...side.value.after.chunks));
        const toB = random(90, 50_000);
        const toA = random(91, 40_000);
        opened.conn.write(toB);
        side.value.conn.writev([toA.subarray(0, 3), toA.subarray(3)]);
        await waitFor(net, sinkA, toA.length);
        await waitFor(net, sinkB, toB.length);
        assert.ok(Buffer.from(sinkB.bytes()).equals(Buffer.from(toB)));
        assert.ok(Buffer.from(sinkA.bytes()).equals(Buffer.from(toA)));
      });
    }
  }
});

/**
 * A peer that only speaks plain BitTorrent: answers a plain handshake with its own, closes any
 * connection that starts with anything else, and records what follows a handshake.
 */
function plainOnlyPeer(server: TcpServer) {
  const stats = { connections: 0, refused: 0, answered: 0, after: [] as Uint8Array[] };
  const header = encodeHandshake(handshakeOf(0xcc)).subarray(0, 20);
  server.onConnection((conn) => {
    stats.connections++;
    let buffered: Uint8Array = new Uint8Array(0);
    let answered = false;
    conn.onClose(() => undefined);
    conn.onData((d) => {
      if (answered) {
        stats.after.push(d.slice());
        return;
      }
      buffered = concat(buffered, d);
      const n = Math.min(20, buffered.length);
      if (!header.subarray(0, n).every((b, i) => b === buffered[i])) {
        stats.refused++;
        conn.close();
        return;
      }
      if (buffered.length < 68) return;
      answered = true;
      stats.answered++;
      if (buffered.length > 68) stats.after.push(buffered.slice(68));
      conn.write(encodeHandshake(handshakeOf(0xcc)));
    });
  });
  return stats;
}

describe('a plaintext-only peer', () => {
  async function setup() {
    const net = new VirtualNetwork({ seed: 6, latency: () => 4 });
    const ra = net.runtime('10.0.0.1');
    const server = await net.clock.run(net.runtime('10.0.0.3').tcpListen({ host: '10.0.0.3', port: 6881 }));
    return { net, ra, server, stats: plainOnlyPeer(server) };
  }

  test("'prefer' falls back to a plain handshake and succeeds", async () => {
    const { net, ra, server, stats } = await setup();
    const result = await net.clock.run(settle(connectPeer(ra, server.local, handshakeOf(0xaa), TIMEOUT, 'prefer')));
    assert.ok(result.ok, result.ok ? '' : String(result.error));
    assert.ok(net.clock.now() < TIMEOUT, 'the fallback follows the close, not a timeout');
    assert.equal(stats.connections, 2, 'an MSE attempt, then a plain one');
    assert.equal(stats.refused, 1);
    assert.equal(stats.answered, 1);
    const opened = result.value;
    assert.deepEqual(opened.remote.peerId, new Uint8Array(20).fill(0xcc));
    assert.equal(opened.conn instanceof CipherConnection, false);
    assert.equal(opened.protection, 'plain');
    const message = Uint8Array.of(0, 0, 0, 1, 2); // interested
    opened.conn.write(message);
    await net.clock.advance(50);
    assert.deepEqual(concat(...stats.after), message, 'payload goes out in plaintext');
  });

  test("'require' gives up with an ENCRYPTION error and does not retry in plaintext", async () => {
    const { net, ra, server, stats } = await setup();
    const result = await net.clock.run(settle(connectPeer(ra, server.local, handshakeOf(0xaa), TIMEOUT, 'require')));
    encryptionError(result, 'require connector');
    await net.clock.advance(1000);
    assert.equal(stats.connections, 1);
    assert.equal(stats.answered, 0);
  });

  test("'allow' talks plain from the start", async () => {
    const { net, ra, server, stats } = await setup();
    const result = await net.clock.run(settle(connectPeer(ra, server.local, handshakeOf(0xaa), TIMEOUT, 'allow')));
    assert.ok(result.ok);
    assert.equal(stats.connections, 1);
    assert.equal(stats.refused, 0);
  });
});

/** Sends the connector's side of an MSE handshake by hand. */
class CraftedConnector {
  readonly sink: Sink;
  readonly priv: Uint8Array;
  secret?: Uint8Array;

  constructor(
    private readonly net: VirtualNetwork,
    private readonly conn: TcpConnection,
    seed: number,
  ) {
    this.sink = new Sink(conn);
    this.priv = random(seed, 20);
  }

  get publicKey(): Uint8Array {
    return msePublicKey(this.priv);
  }

  /** Step 1. */
  sendKey(padA: Uint8Array = new Uint8Array(0)): void {
    this.conn.write(concat(this.publicKey, padA));
  }

  /** Waits for Yb, then sends step 3 for `infoHash`. */
  async sendOffer(options: { infoHash: Uint8Array; provide: number; padC?: Uint8Array; ia: Uint8Array; cipherKeyHash?: Uint8Array }): Promise<void> {
    await waitFor(this.net, this.sink, 96);
    const secret = mseSecret(this.sink.bytes().subarray(0, 96), this.priv);
    this.secret = secret;
    const aToB = new Rc4(sha1('keyA', secret, options.cipherKeyHash ?? options.infoHash));
    this.conn.write(
      concat(
        sha1('req1', secret),
        xor(sha1('req2', options.infoHash), sha1('req3', secret)),
        aToB.apply(encodeOffer(options.provide, options.padC ?? new Uint8Array(0), options.ia)),
      ),
    );
  }

  /** Finds and reads B's step 4 in what arrived after Yb. */
  readAnswer(infoHash: Uint8Array): { select: number; padLength: number } {
    const bToA = new Rc4(sha1('keyB', this.secret!, infoHash));
    const vc = bToA.apply(MSE_VC.slice());
    const rest = this.sink.bytes().subarray(96);
    const at = Buffer.from(rest).indexOf(Buffer.from(vc));
    assert.ok(at >= 0 && at <= 512, `encrypted VC at ${at}`);
    const head = concat(MSE_VC, bToA.apply(rest.slice(at + 8, at + 14)));
    const { crypto, padLength } = decodeHead(head);
    return { select: crypto, padLength };
  }
}

describe('hostile connectors (the accepting side must fail cleanly)', () => {
  async function acceptor(seed: number, options: { rc4Only?: boolean; viaAcceptPeer?: boolean } = {}) {
    const pair = await tcpPair(seed);
    const { rb, accepted } = pair;
    const result: Promise<Settled<unknown>> = options.viaAcceptPeer
      ? settle(acceptPeer(rb, accepted, () => [INFO_HASH], 'prefer', TIMEOUT))
      : settle(mseAccept(rb, accepted, new HandshakeReader(rb, accepted, TIMEOUT, 'ENCRYPTION'), () => [OTHER_HASH, INFO_HASH], { rc4Only: options.rc4Only ?? false }));
    return { ...pair, result, start: pair.net.clock.now() };
  }

  test('a correctly crafted offer is accepted (control for the cases below)', async () => {
    for (const [provide, rc4Only, expectRc4] of [
      [CRYPTO_RC4 | CRYPTO_PLAINTEXT, false, false],
      [CRYPTO_RC4, false, true],
      [CRYPTO_PLAINTEXT, false, false],
      [CRYPTO_RC4 | CRYPTO_PLAINTEXT, true, true],
    ] as const) {
      const { net, client, result } = await acceptor(10 + provide, { rc4Only });
      const a = new CraftedConnector(net, client, 20);
      a.sendKey(random(21, 512));
      const ia = random(22, 68);
      await a.sendOffer({ infoHash: INFO_HASH, provide, padC: random(23, 512), ia });
      const r = await net.clock.run(result);
      assert.ok(r.ok, r.ok ? '' : String(r.error));
      const value = r.value as MseResult;
      assert.equal(value.rc4, expectRc4, `provide ${provide} rc4Only ${rc4Only}`);
      assert.deepEqual(value.initial, ia);
      await net.clock.advance(50);
      assert.equal(a.readAnswer(INFO_HASH).select, expectRc4 ? CRYPTO_RC4 : CRYPTO_PLAINTEXT);
    }
  });

  test('2000 bytes of random garbage: ENCRYPTION error, connection closed', async () => {
    for (const viaAcceptPeer of [false, true]) {
      const { net, client, result, start } = await acceptor(30, { viaAcceptPeer });
      const sink = new Sink(client);
      client.write(random(31, 2000));
      const error = encryptionError(await net.clock.run(result), 'garbage');
      assert.match(error.message, /MSE request not found/);
      assert.ok(net.clock.now() - start < TIMEOUT, 'fails on the bytes, not by timing out');
      await net.clock.advance(50);
      assert.ok(sink.closed, 'the acceptor closed the connection');
    }
  });

  test('a valid key followed by more than 512 bytes of padding and no req1 fails', async () => {
    const { net, client, result, start } = await acceptor(32);
    const a = new CraftedConnector(net, client, 33);
    a.sendKey(random(34, 600));
    const error = encryptionError(await net.clock.run(result), 'long padding');
    assert.match(error.message, /not found in the first 512 bytes/);
    assert.ok(net.clock.now() - start < TIMEOUT);
    await net.clock.advance(50);
    assert.ok(a.sink.closed);
  });

  test('PadA of 512 bytes is accepted, 513 is not', async () => {
    for (const [pad, ok] of [
      [512, true],
      [513, false],
    ] as const) {
      const { net, client, result } = await acceptor(35 + pad);
      const a = new CraftedConnector(net, client, 36);
      a.sendKey(random(37, pad));
      await a.sendOffer({ infoHash: INFO_HASH, provide: CRYPTO_RC4, ia: random(38, 68) });
      const r = await net.clock.run(result);
      assert.equal(r.ok, ok, `PadA of ${pad} bytes: ${r.ok ? 'accepted' : String(r.error)}`);
    }
  });

  test('a correct handshake for a torrent the acceptor does not have fails', async () => {
    const { net, client, result } = await acceptor(40);
    const a = new CraftedConnector(net, client, 41);
    a.sendKey();
    const unknown = toInfoHash('1111111111111111111111111111111111111111');
    await a.sendOffer({ infoHash: unknown, provide: CRYPTO_RC4, ia: encodeHandshake(handshakeOf(1, unknown)) });
    const error = encryptionError(await net.clock.run(result), 'unknown torrent');
    assert.match(error.message, /torrent we do not have/);
    await net.clock.advance(50);
    assert.ok(a.sink.closed);
  });

  test('a public key of all zero bytes fails', async () => {
    const { net, client, result, start } = await acceptor(42);
    const sink = new Sink(client);
    client.write(new Uint8Array(96 + 100));
    const error = encryptionError(await net.clock.run(result), 'zero key');
    assert.match(error.message, /out of range/);
    assert.ok(net.clock.now() - start < TIMEOUT);
    await net.clock.advance(50);
    assert.ok(sink.closed);
  });

  test('an offer encrypted with the wrong key (VC not zero) fails', async () => {
    const { net, client, result } = await acceptor(43);
    const a = new CraftedConnector(net, client, 44);
    a.sendKey();
    await a.sendOffer({ infoHash: INFO_HASH, provide: CRYPTO_RC4, ia: random(45, 68), cipherKeyHash: OTHER_HASH });
    const error = encryptionError(await net.clock.run(result), 'wrong key');
    assert.match(error.message, /verification constant/);
  });

  test('an offer naming no known method, or only plaintext to an rc4Only acceptor, fails', async () => {
    for (const [provide, rc4Only, message] of [
      [0x04, false, /names no method/],
      [0, false, /names no method/],
      [CRYPTO_PLAINTEXT, true, /no MSE method we accept/],
    ] as const) {
      const { net, client, result } = await acceptor(46 + provide, { rc4Only });
      const a = new CraftedConnector(net, client, 47);
      a.sendKey();
      await a.sendOffer({ infoHash: INFO_HASH, provide, ia: random(48, 68) });
      const error = encryptionError(await net.clock.run(result), `provide ${provide}`);
      assert.match(error.message, message);
    }
  });

  test('a connector that stalls after its key times out with ENCRYPTION on the virtual clock', async () => {
    for (const viaAcceptPeer of [false, true]) {
      const { net, client, result, start } = await acceptor(50, { viaAcceptPeer });
      const a = new CraftedConnector(net, client, 51);
      a.sendKey(random(52, 100));
      const error = encryptionError(await net.clock.run(result), 'stall');
      assert.match(error.message, /timed out/);
      const elapsed = net.clock.now() - start;
      assert.ok(elapsed >= TIMEOUT && elapsed < TIMEOUT + 100, `failed after ${elapsed} ms`);
      await net.clock.advance(50);
      assert.ok(a.sink.closed);
      assert.ok(a.sink.length >= 96, 'the acceptor had answered with its key');
    }
  });

  test('a connection closed mid-handshake fails at once', async () => {
    for (const stage of ['after key', 'after req1'] as const) {
      const { net, client, result, start } = await acceptor(53);
      const a = new CraftedConnector(net, client, 54);
      a.sendKey(random(55, 10));
      if (stage === 'after req1') {
        await waitFor(net, a.sink, 96);
        client.write(sha1('req1', mseSecret(a.sink.bytes().subarray(0, 96), a.priv)));
      }
      client.close();
      const error = encryptionError(await net.clock.run(result), stage);
      assert.match(error.message, /connection closed during handshake/);
      assert.ok(net.clock.now() - start < TIMEOUT, `${stage}: did not wait for the timeout`);
    }
  });
});

describe('hostile acceptors (the connecting side must fail cleanly)', () => {
  /** Runs `mseConnect` on A; B's side is crafted by the test from what A sent. */
  async function connector(seed: number, rc4Only: boolean) {
    const pair = await tcpPair(seed);
    const { net, ra, client, accepted } = pair;
    const payload = encodeHandshake(handshakeOf(0xaa));
    const sinkB = new Sink(accepted);
    const result = settle(mseConnect(ra, client, INFO_HASH, payload, { rc4Only, timeoutMs: TIMEOUT }));
    await waitFor(net, sinkB, 96);
    const privB = random(seed + 1000, 20);
    const secret = mseSecret(sinkB.bytes().subarray(0, 96), privB);
    const bToA = new Rc4(sha1('keyB', secret, INFO_HASH));
    return { ...pair, payload, sinkB, result, privB, secret, bToA, start: net.clock.now() };
  }

  test('a correctly crafted answer is accepted, and the crafted side can read the offer (control)', async () => {
    for (const [rc4Only, select] of [
      [true, CRYPTO_RC4],
      [false, CRYPTO_RC4],
      [false, CRYPTO_PLAINTEXT],
    ] as const) {
      const { net, accepted, payload, sinkB, result, privB, secret, bToA } = await connector(60, rc4Only);
      const after = random(61, 100);
      const answer = bToA.apply(concat(encodeAnswer(select, random(62, 300)), after));
      if (select === CRYPTO_PLAINTEXT) answer.set(after, answer.length - after.length);
      accepted.write(concat(msePublicKey(privB), random(63, 512), answer));
      const r = await net.clock.run(result);
      assert.ok(r.ok, r.ok ? '' : String(r.error));
      assert.equal(r.value.rc4, select === CRYPTO_RC4);
      assert.deepEqual(r.value.initial, after, 'what followed PadD is the initial payload, decrypted');
      // A's offer, read independently once it has arrived.
      await net.clock.advance(50);
      const wire = sinkB.bytes().subarray(96);
      const at = Buffer.from(wire).indexOf(Buffer.from(sha1('req1', secret)));
      assert.ok(at >= 0 && at <= 512, `req1 at ${at}`);
      assert.deepEqual(wire.subarray(at + 20, at + 40), xor(sha1('req2', INFO_HASH), sha1('req3', secret)));
      const aToB = new Rc4(sha1('keyA', secret, INFO_HASH));
      const offer = aToB.apply(wire.slice(at + 40));
      const { crypto: provide, padLength } = decodeHead(offer.subarray(0, 14));
      assert.equal(provide, rc4Only ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT);
      const iaLength = new DataView(offer.buffer, offer.byteOffset).getUint16(14 + padLength);
      assert.deepEqual(offer.subarray(16 + padLength, 16 + padLength + iaLength), payload);
    }
  });

  test('an answer selecting a method that was not offered fails with ENCRYPTION', async () => {
    for (const [rc4Only, select, message] of [
      [true, CRYPTO_PLAINTEXT, /did not offer/],
      [false, CRYPTO_RC4 | CRYPTO_PLAINTEXT, /did not offer/],
      [true, CRYPTO_RC4 | 0x04, /did not offer/],
      [false, 0x08, /names no method/],
    ] as const) {
      const { net, accepted, sinkB, result, privB, bToA } = await connector(64 + select, rc4Only);
      accepted.write(concat(msePublicKey(privB), random(65, 20), bToA.apply(encodeAnswer(select, new Uint8Array(0)))));
      const error = encryptionError(await net.clock.run(result), `select ${select}`);
      assert.match(error.message, message);
      await net.clock.advance(50);
      assert.ok(sinkB.closed, 'the connector closed the connection');
    }
  });

  test('an acceptor that never sends the VC times out with ENCRYPTION', async () => {
    const { net, accepted, sinkB, result, privB, start } = await connector(70, true);
    accepted.write(concat(msePublicKey(privB), random(71, 200)));
    const error = encryptionError(await net.clock.run(result), 'no VC');
    assert.match(error.message, /timed out/);
    const elapsed = net.clock.now() - start;
    assert.ok(elapsed >= TIMEOUT - 50 && elapsed < TIMEOUT + 100, `failed after ${elapsed} ms`);
    await net.clock.advance(50);
    assert.ok(sinkB.closed);
  });

  test('an acceptor whose padding runs past 512 bytes fails without waiting for the timeout', async () => {
    const { net, accepted, result, privB, start } = await connector(72, false);
    accepted.write(concat(msePublicKey(privB), random(73, 700)));
    const error = encryptionError(await net.clock.run(result), 'long PadB');
    assert.match(error.message, /not found in the first 512 bytes/);
    assert.ok(net.clock.now() - start < TIMEOUT);
  });

  test('an acceptor answering with a key of zeros fails', async () => {
    const { net, accepted, result } = await connector(74, false);
    accepted.write(new Uint8Array(96));
    const error = encryptionError(await net.clock.run(result), 'zero Yb');
    assert.match(error.message, /out of range/);
  });

  test('isPlainHandshakeStart recognises only the BitTorrent header', () => {
    const header = encodeHandshake(handshakeOf(1)).subarray(0, 20);
    assert.equal(isPlainHandshakeStart(header), true);
    for (let i = 0; i < 20; i++) {
      const changed = header.slice();
      changed[i]! ^= 0x20;
      assert.equal(isPlainHandshakeStart(changed), false, `byte ${i}`);
    }
    assert.equal(isPlainHandshakeStart(msePublicKey(random(75, 20)).subarray(0, 20)), false);
  });
});

describe('a swarm download with encryption required on both sides', () => {
  /** A runtime whose accepted connections record the bytes they write. */
  function tappedRuntime(runtime: Runtime, sent: (() => Uint8Array)[]): Runtime {
    return {
      ...runtime,
      tcpListen: async (bind: Endpoint) => {
        const server = await runtime.tcpListen(bind);
        return {
          get local() {
            return server.local;
          },
          onConnection: (handler) =>
            server.onConnection((conn) => {
              const t = tap(conn);
              sent.push(t.sent);
              handler(t.conn);
            }),
          close: () => server.close(),
        };
      },
    };
  }

  async function download(seedPolicy: EncryptionPolicy, leechPolicy: EncryptionPolicy, seed: number) {
    const net = new VirtualNetwork({ seed, latency: () => 5 });
    const data = random(seed, 1024 * 1024 + 333);
    const sent: (() => Uint8Array)[] = [];
    const seedRt = tappedRuntime(net.runtime('10.0.0.1'), sent);
    await net.clock.run(writeFile(seedRt, '/s/file.bin', data));
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/file.bin', { pieceLength: 65536 }));
    const infoHash = toInfoHash(created.infoHash);
    const seedSession = new SwarmSession({ host: '10.0.0.1', port: 6881, encryption: seedPolicy }, seedRt);
    await net.clock.run(seedSession.start());
    await net.clock.run(seedSession.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true }));
    const leechRt = net.runtime('10.0.0.2');
    const leech = new SwarmSession({ host: '10.0.0.2', port: 6881, encryption: leechPolicy }, leechRt);
    await net.clock.run(leech.start());
    const torrent: Torrent = await net.clock.run(leech.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seedSession.address] }));
    const done = await net.clock.runUntil(() => torrent.state === 'seeding' || torrent.state === 'error', 120_000);
    const wire = concat(...sent.map((s) => s()));
    const got = done && torrent.state === 'seeding' ? await net.clock.run(readAll(leechRt, '/d/file.bin')) : undefined;
    await net.clock.run(Promise.all([leech.close(), seedSession.close()]));
    return { data, torrent, wire, got };
  }

  const samples = (data: Uint8Array): Uint8Array[] => [0, 70_000, 333_333, 700_001, data.length - 64].map((at) => data.subarray(at, at + 64));
  const sha = (d: Uint8Array): string => createHash('sha1').update(d).digest('hex');

  test("'require' on both sessions: the file arrives intact, and never in the clear on the wire", async () => {
    const { data, torrent, wire, got } = await download('require', 'require', 11);
    assert.equal(torrent.state, 'seeding', `leecher ended in ${torrent.state}`);
    assert.ok(got);
    assert.equal(sha(got), sha(data), 'exact data through RC4');
    assert.ok(wire.length > data.length, `the seed sent ${wire.length} bytes`);
    for (const sample of samples(data)) assert.equal(contains(wire, sample), false, 'no plaintext block on the wire');
    assert.equal(contains(wire, new TextEncoder().encode('\x13BitTorrent protocol')), false, 'no plain handshake on the wire');
  });

  test("control: with 'allow' on both sessions the same tap does see the file", async () => {
    const { data, torrent, wire, got } = await download('allow', 'allow', 12);
    assert.equal(torrent.state, 'seeding');
    assert.equal(sha(got!), sha(data));
    for (const sample of samples(data)) assert.equal(contains(wire, sample), true);
  });
});
