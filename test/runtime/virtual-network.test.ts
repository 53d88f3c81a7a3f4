import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { Endpoint, UdpSocket } from '../../src/runtime/interfaces.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';

type Received = { data: number[]; from: Endpoint; at: number };

function collect(net: VirtualNetwork, socket: UdpSocket): Received[] {
  const got: Received[] = [];
  socket.onMessage((data, from) => got.push({ data: [...data], from, at: net.clock.now() }));
  return got;
}

function hasCode(code: string): (e: unknown) => boolean {
  return (e) => (e as { code?: string }).code === code;
}

describe('VirtualNetwork UDP', () => {
  test('delivers after the default 10 ms latency, copying bytes at send time', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const a = await net.runtime('10.0.0.1').udp({ host: '0.0.0.0', port: 6881 });
    const b = await net.runtime('10.0.0.2').udp({ host: '10.0.0.2', port: 0 });
    assert.deepEqual(a.local, { host: '10.0.0.1', port: 6881 });
    assert.deepEqual(b.local, { host: '10.0.0.2', port: 49152 });
    const got = collect(net, a);
    const buf = new Uint8Array([1, 2, 3]);
    b.send(buf, a.local);
    buf[0] = 99; // the sender reuses its buffer
    await net.clock.advance(9);
    assert.equal(got.length, 0);
    await net.clock.advance(1);
    assert.deepEqual(got, [{ data: [1, 2, 3], from: { host: '10.0.0.2', port: 49152 }, at: 10 }]);
    assert.deepEqual(net.stats, { datagramsSent: 1, datagramsDelivered: 1, datagramsLost: 0, bytesSent: 3 });
  });

  test('uses the latency function and per-host extra latency', async () => {
    const net = new VirtualNetwork({ seed: 1, latency: (from, to) => (from.host < to.host ? 5 : 20) });
    const a = await net.runtime('10.0.0.1').udp({ host: '0.0.0.0', port: 1 });
    const b = await net.runtime('10.0.0.2').udp({ host: '0.0.0.0', port: 2 });
    const atA = collect(net, a);
    const atB = collect(net, b);
    a.send(new Uint8Array([1]), b.local);
    b.send(new Uint8Array([2]), a.local);
    await net.clock.advance(100);
    assert.deepEqual([atB[0].at, atA[0].at], [5, 20]);
    net.setExtraLatency('10.0.0.2', 50);
    a.send(new Uint8Array([3]), b.local);
    b.send(new Uint8Array([4]), a.local);
    await net.clock.advance(100);
    assert.deepEqual([atB[1].at, atA[1].at], [155, 170]);
  });

  test('allocates ephemeral ports, refuses taken ports and foreign addresses, frees on close', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const rt = net.runtime('10.0.0.1');
    const s1 = await rt.udp({ host: '0.0.0.0', port: 0 });
    const s2 = await rt.udp({ host: '0.0.0.0', port: 0 });
    assert.deepEqual([s1.local.port, s2.local.port], [49152, 49153]);
    const fixed = await rt.udp({ host: '0.0.0.0', port: 7000 });
    await assert.rejects(rt.udp({ host: '0.0.0.0', port: 7000 }), hasCode('EADDRINUSE'));
    await assert.rejects(rt.udp({ host: '10.0.0.9', port: 7001 }), hasCode('EADDRNOTAVAIL'));
    // TCP has its own port space.
    const server = await rt.tcpListen({ host: '0.0.0.0', port: 7000 });
    server.close();
    fixed.close();
    const again = await rt.udp({ host: '0.0.0.0', port: 7000 });
    assert.equal(again.local.port, 7000);
    assert.throws(() => net.runtime('not-an-ip'), TypeError);
  });

  test('drops datagrams to unbound ports, unknown hosts and closed sockets', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const a = await net.runtime('10.0.0.1').udp({ host: '0.0.0.0', port: 1000 });
    const b = await net.runtime('10.0.0.2').udp({ host: '0.0.0.0', port: 2000 });
    const got = collect(net, b);
    a.send(new Uint8Array(1), { host: '10.0.0.2', port: 2001 });
    a.send(new Uint8Array(1), { host: '10.9.9.9', port: 2000 });
    a.send(new Uint8Array(1), b.local);
    b.close(); // closed while the datagram is in flight
    await net.clock.advance(50);
    assert.equal(got.length, 0);
    assert.deepEqual(net.stats, { datagramsSent: 3, datagramsDelivered: 0, datagramsLost: 3, bytesSent: 3 });
  });

  test('random loss is near the configured rate and reproducible with a fixed seed', async () => {
    const run = async (): Promise<number> => {
      const net = new VirtualNetwork({ seed: 42, lossRate: 0.2 });
      const a = await net.runtime('10.0.0.1').udp({ host: '0.0.0.0', port: 1 });
      const b = await net.runtime('10.0.0.2').udp({ host: '0.0.0.0', port: 2 });
      const got = collect(net, b);
      for (let i = 0; i < 10_000; i++) a.send(new Uint8Array([i & 0xff]), b.local);
      await net.clock.advance(20);
      assert.equal(net.stats.datagramsDelivered, got.length);
      assert.equal(net.stats.datagramsDelivered + net.stats.datagramsLost, 10_000);
      return got.length;
    };
    const first = await run();
    assert.ok(Math.abs(first / 10_000 - 0.8) < 0.02, `delivered ${first} of 10000`);
    assert.equal(await run(), first);
  });

  test('dead hosts receive nothing and send nothing, until revived', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const a = await net.runtime('10.0.0.1').udp({ host: '0.0.0.0', port: 1 });
    const b = await net.runtime('10.0.0.2').udp({ host: '0.0.0.0', port: 2 });
    const atA = collect(net, a);
    const atB = collect(net, b);
    net.setDead('10.0.0.2', true);
    a.send(new Uint8Array([1]), b.local);
    b.send(new Uint8Array([2]), a.local);
    await net.clock.advance(50);
    assert.deepEqual([atA.length, atB.length], [0, 0]);
    a.send(new Uint8Array([3]), b.local);
    await net.clock.advance(5);
    net.setDead('10.0.0.2', true); // still dead when it arrives
    await net.clock.advance(50);
    net.setDead('10.0.0.2', false);
    a.send(new Uint8Array([4]), b.local);
    b.send(new Uint8Array([5]), a.local);
    await net.clock.advance(50);
    assert.deepEqual([atA.map((r) => r.data[0]), atB.map((r) => r.data[0])], [[5], [4]]);
    assert.equal(net.stats.datagramsLost, 3);
  });

  test('same seed, same trace; different seed, different trace', async () => {
    const simulate = async (seed: number): Promise<string[]> => {
      const net = new VirtualNetwork({ seed, lossRate: 0.1, latency: (f, t) => 5 + ((f.port * 31 + t.port) % 17) });
      const trace: string[] = [];
      const hosts = ['10.0.0.1', '10.0.0.2', '10.0.0.3', '10.0.0.4'];
      const sockets: UdpSocket[] = [];
      for (const host of hosts) {
        const rt = net.runtime(host);
        const s = await rt.udp({ host: '0.0.0.0', port: 0 });
        sockets.push(s);
        s.onMessage((data, from) => {
          trace.push(`${net.clock.now()} ${from.host}->${host} ${data[0]}`);
          if (data[0] > 0) {
            const next = sockets[Math.floor(rt.random() * sockets.length)];
            rt.setTimer(rt.random() * 3, () => s.send(new Uint8Array([data[0] - 1, ...rt.randomBytes(2)]), next.local));
          }
        });
      }
      for (const s of sockets) s.send(new Uint8Array([40]), sockets[(sockets.indexOf(s) + 1) % sockets.length].local);
      await net.clock.advance(10_000);
      trace.push(JSON.stringify(net.stats));
      return trace;
    };
    const one = await simulate(7);
    assert.ok(one.length > 20, `trace too short: ${one.length}`);
    assert.deepEqual(await simulate(7), one);
    assert.notDeepEqual(await simulate(8), one);
  });

  test('per-host random streams are deterministic, distinct, and in range', () => {
    const a1 = new VirtualNetwork({ seed: 3 }).runtime('10.0.0.1');
    const a2 = new VirtualNetwork({ seed: 3 }).runtime('10.0.0.1');
    const b = new VirtualNetwork({ seed: 3 }).runtime('10.0.0.2');
    const xs = Array.from({ length: 1000 }, () => a1.random());
    assert.deepEqual(Array.from({ length: 1000 }, () => a2.random()), xs);
    assert.notDeepEqual(Array.from({ length: 1000 }, () => b.random()), xs);
    assert.ok(xs.every((x) => x >= 0 && x < 1));
    const mean = xs.reduce((s, x) => s + x, 0) / xs.length;
    assert.ok(Math.abs(mean - 0.5) < 0.05, `mean ${mean}`);
    assert.equal(a1.randomBytes(33).length, 33);
  });

  test('10,000 hosts exchanging 100,000 datagrams all get delivered', async () => {
    const net = new VirtualNetwork({ seed: 99, latency: (f, t) => 1 + ((f.port ^ t.port) & 63) });
    const hosts = 10_000;
    const perHost = 10;
    const sockets: UdpSocket[] = [];
    const received = new Uint32Array(hosts);
    const payload = new Uint8Array(60);
    for (let i = 0; i < hosts; i++) {
      const host = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      const s = await net.runtime(host).udp({ host: '0.0.0.0', port: 6881 + (i % 100) });
      s.onMessage(() => received[i]++);
      sockets.push(s);
    }
    for (let i = 0; i < hosts; i++) {
      const rt = net.runtime(sockets[i].local.host);
      for (let k = 0; k < perHost; k++) {
        const to = sockets[Math.floor(rt.random() * hosts)].local;
        rt.setTimer(k * 3, () => sockets[i].send(payload, to));
      }
    }
    await net.clock.advance(1_000);
    assert.equal(net.stats.datagramsSent, hosts * perHost);
    assert.equal(net.stats.datagramsDelivered, hosts * perHost);
    assert.equal(received.reduce((s, n) => s + n, 0), hosts * perHost);
    assert.equal(net.stats.bytesSent, hosts * perHost * payload.length);
    assert.equal(net.clock.pending, 0);
  });
});
