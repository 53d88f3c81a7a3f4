import { spawn } from 'node:child_process';
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Endpoint } from '../../src/runtime/interfaces.js';
import { createNodeRuntime, NodeUdpSocket, parseRouteTable } from '../../src/runtime/node-runtime.js';

const rt = createNodeRuntime();

describe('createNodeRuntime', () => {
  test('UDP round trip on 127.0.0.1 with an ephemeral port', async () => {
    const a = await rt.udp({ host: '127.0.0.1', port: 0 });
    const b = await rt.udp({ host: '127.0.0.1', port: 0 });
    try {
      assert.equal(a.local.host, '127.0.0.1');
      assert.ok(a.local.port > 0 && a.local.port !== b.local.port);
      const echoed = new Promise<{ data: Uint8Array; from: Endpoint }>((resolve) => {
        a.onMessage((data, from) => a.send(data, from));
        b.onMessage((data, from) => resolve({ data, from }));
      });
      b.send(new Uint8Array([1, 2, 3]), a.local);
      const { data, from } = await echoed;
      assert.deepEqual([...data], [1, 2, 3]);
      assert.deepEqual(from, a.local);
    } finally {
      a.close();
      b.close();
    }
  });

  test('binding a taken UDP port rejects with EADDRINUSE', async () => {
    const a = await rt.udp({ host: '127.0.0.1', port: 0 });
    try {
      await assert.rejects(rt.udp({ host: '127.0.0.1', port: a.local.port }), (e: NodeJS.ErrnoException) => e.code === 'EADDRINUSE');
    } finally {
      a.close();
    }
  });

  test('send to an invalid port or after close never throws; failures are counted', async () => {
    const a = await rt.udp({ host: '127.0.0.1', port: 0 });
    assert.ok(a instanceof NodeUdpSocket);
    a.send(new Uint8Array([1]), { host: '127.0.0.1', port: 0 });
    a.send(new Uint8Array([1]), { host: '127.0.0.1', port: 70000 });
    assert.equal(a.sendErrors, 2);
    a.close();
    a.close();
    a.send(new Uint8Array([1]), { host: '127.0.0.1', port: 9 });
    assert.equal(a.sendErrors, 3);
  });

  test('TCP echo; onClose fires once on each side', async () => {
    const server = await rt.tcpListen({ host: '127.0.0.1', port: 0 });
    const serverClosed = new Promise<Error | undefined>((resolve) => {
      server.onConnection((conn) => {
        conn.onData((d) => conn.write(d));
        conn.onClose(resolve);
      });
    });
    const client = await rt.tcpConnect(server.local);
    assert.deepEqual(client.remote, server.local);
    let closes = 0;
    const clientClosed = new Promise<Error | undefined>((resolve) =>
      client.onClose((e) => {
        closes++;
        resolve(e);
      }),
    );
    const received: number[] = [];
    const gotAll = new Promise<void>((resolve) =>
      client.onData((d) => {
        received.push(...d);
        if (received.length >= 1000) resolve();
      }),
    );
    const block = new Uint8Array(1000).map((_, i) => i & 0xff);
    client.write(block.subarray(0, 400));
    client.write(block.subarray(400));
    await gotAll;
    assert.deepEqual(received, [...block]);
    client.close();
    assert.equal(await clientClosed, undefined);
    assert.equal(await serverClosed, undefined);
    client.close();
    assert.equal(closes, 1);
    server.close();
    await assert.rejects(rt.tcpConnect(server.local), (e: NodeJS.ErrnoException) => e.code === 'ECONNREFUSED');
  });

  test('a connect nobody answers rejects with ETIMEDOUT after timeoutMs', { timeout: 15_000 }, async () => {
    // A listener that never accepts, with a backlog of 0: Linux queues one connection, then drops
    // further SYNs, as a firewall would; Node's own servers always accept, so Python holds it.
    const holder = spawn('/usr/bin/python3', ['-c', "import socket,time\ns=socket.socket()\ns.bind(('127.0.0.1',0))\ns.listen(0)\nprint(s.getsockname()[1],flush=True)\ntime.sleep(30)"]);
    try {
      const port = await new Promise<number>((resolve) => holder.stdout.once('data', (d: Buffer) => resolve(Number(d.toString().trim()))));
      const first = await rt.tcpConnect({ host: '127.0.0.1', port }, 2000);
      const started = performance.now();
      await assert.rejects(rt.tcpConnect({ host: '127.0.0.1', port }, 300), (e: NodeJS.ErrnoException) => e.code === 'ETIMEDOUT' && /no answer within 300 ms/.test(e.message));
      const waited = performance.now() - started;
      assert.ok(waited >= 290 && waited < 5000, `gave up after ${waited} ms`);
      first.close();
    } finally {
      holder.kill();
    }
  });

  test('an outgoing connection: onTransientData sees every byte, onData gets copies; writev calls done', async () => {
    const server = await rt.tcpListen({ host: '127.0.0.1', port: 0 });
    const total = 3 * 1024 * 1024 + 7;
    const pattern = (i: number): number => (i * 7 + (i >> 11)) & 0xff;
    const data = new Uint8Array(total).map((_, i) => pattern(i));
    let doneCalls = 0;
    const sent = new Promise<void>((resolve) => {
      server.onConnection((conn) => {
        // Early bytes, before the client installs a handler, must not be lost either.
        conn.writev([data.subarray(0, 1000), data.subarray(1000, total)], () => {
          doneCalls++;
          resolve();
        });
      });
    });
    const client = await rt.tcpConnect(server.local);
    try {
      await new Promise((resolve) => setTimeout(resolve, 20));
      const first: Uint8Array[] = [];
      let received = 0;
      let mismatches = 0;
      const all = new Promise<void>((resolve) => {
        client.onData((d) => {
          first.push(d);
          // Hand over to a transient handler after the first chunk.
          client.onTransientData!((t) => {
            for (let k = 0; k < t.length; k++) if (t[k] !== pattern(received + k)) mismatches++;
            received += t.length;
            if (received === total) resolve();
          });
          for (let k = 0; k < d.length; k++) if (d[k] !== pattern(k)) mismatches++;
          received += d.length;
        });
      });
      await all;
      await sent;
      assert.equal(mismatches, 0);
      assert.equal(doneCalls, 1);
      assert.ok(first[0]!.every((b, k) => b === pattern(k)), 'an onData chunk stays valid after later reads');
      client.close();
      // done is called for a write on a closed connection too (else this never resolves).
      await new Promise<void>((resolve) => client.writev([new Uint8Array(4)], resolve));
    } finally {
      client.close();
      server.close();
    }
  });

  test('atomic writeFile / readFile; a missing file reads as undefined', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-rt-'));
    try {
      const sub = join(dir, 'a', 'b');
      await rt.fs.mkdir(sub);
      await rt.fs.mkdir(sub);
      const path = join(sub, 'state.dat');
      assert.equal(await rt.fs.readFile(path), undefined);
      await rt.fs.writeFile(path, new Uint8Array([1, 2, 3]));
      await rt.fs.writeFile(path, new Uint8Array([4, 5]));
      assert.deepEqual([...((await rt.fs.readFile(path)) ?? [])], [4, 5]);
      assert.deepEqual(await readdir(sub), ['state.dat'], 'no temp files left behind');
      await assert.rejects(rt.fs.readFile(sub), (e: NodeJS.ErrnoException) => e.code === 'EISDIR');
      await assert.rejects(rt.fs.writeFile(join(dir, 'missing', 'x'), new Uint8Array(1)), (e: NodeJS.ErrnoException) => e.code === 'ENOENT');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  test('clock, timers, randomness and name resolution', async () => {
    const t0 = rt.now();
    const cancelled = rt.setTimer(0, () => assert.fail('cancelled timer fired'));
    cancelled.cancel();
    await new Promise<void>((resolve) => rt.setTimer(1, resolve));
    assert.ok(rt.now() >= t0);
    const xs = Array.from({ length: 2000 }, () => rt.random());
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    assert.ok(new Set(xs).size > 1990);
    assert.equal(rt.randomBytes(20).length, 20);
    assert.equal(await rt.resolveHost('127.0.0.5'), '127.0.0.5');
    assert.equal(await rt.resolveHost('localhost'), '127.0.0.1');
  });
});

test('parseRouteTable: the default gateway from /proc/net/route, least significant byte first', () => {
  const header = 'Iface\tDestination\tGateway \tFlags\tRefCnt\tUse\tMetric\tMask\t\tMTU\tWindow\tIRTT\n';
  const table = `${header}eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\neth0\t00000000\t0101A8C0\t0003\t0\t0\t0\t00000000\t0\t0\t0\n`;
  assert.equal(parseRouteTable(table), '192.168.1.1');
  assert.equal(parseRouteTable(`${header}eth0\t000200C0\t00000000\t0001\t0\t0\t0\t00FFFFFF\t0\t0\t0\n`), undefined, 'no default route');
  assert.equal(parseRouteTable(`${header}eth0\t00000000\t0101A8C0\t0002\t0\t0\t0\t00000000\t0\t0\t0\n`), undefined, 'a route that is not up');
  assert.equal(parseRouteTable(`${header}eth0\t00000000\tZZZZ\t0003\n`), undefined, 'garbage');
  assert.equal(parseRouteTable(''), undefined);
});
