/**
 * uTP connections on the simulated network: transfers that must arrive whole and in order through
 * loss, reordering and duplication, connection setup and teardown, and refusal of what is not uTP.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import type { TcpConnection } from '../../src/runtime/interfaces.js';
import { UtpSocket } from '../../src/utp/utp-socket.js';

function pattern(length: number, seed: number): Uint8Array {
  const prng = new Mulberry32(seed);
  return prng.bytes(length);
}

/** Collects what a connection receives, and its end. */
function collect(conn: TcpConnection) {
  const chunks: Uint8Array[] = [];
  const state = { bytes: 0, closed: false, error: undefined as Error | undefined };
  conn.onData((data) => {
    chunks.push(Uint8Array.from(data));
    state.bytes += data.length;
  });
  conn.onClose((error) => {
    state.closed = true;
    state.error = error;
  });
  return { state, data: () => Buffer.concat(chunks) };
}

async function pair(net: VirtualNetwork) {
  const a = await UtpSocket.bind(net.runtime('10.0.0.1'), { host: '10.0.0.1', port: 6881 });
  const b = await UtpSocket.bind(net.runtime('10.0.0.2'), { host: '10.0.0.2', port: 6881 });
  const accepted: TcpConnection[] = [];
  b.onConnection((conn) => accepted.push(conn));
  // Under heavy loss all three SYNs (or their answers) may be lost: dial again, as a caller would.
  let dialled: TcpConnection | undefined;
  for (let attempt = 0; !dialled && attempt < 5; attempt++) {
    dialled = await net.clock.run(a.connect({ host: '10.0.0.2', port: 6881 })).catch(() => undefined);
  }
  assert.ok(dialled, 'could not connect');
  await net.clock.runUntil(() => accepted.length > 0, 5000);
  return { a, b, dialled, accepted: accepted[accepted.length - 1] };
}

describe('uTP on the simulated network', () => {
  test('a connection carries bytes both ways, whole and in order', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const { dialled, accepted } = await pair(net);
    const toB = pattern(300_000, 1);
    const toA = pattern(100_000, 2);
    const atB = collect(accepted);
    const atA = collect(dialled);
    dialled.write(toB.subarray(0, 1000));
    dialled.writev([toB.subarray(1000, 150_000), toB.subarray(150_000)]);
    accepted.write(toA);
    await net.clock.runUntil(() => atB.state.bytes === toB.length && atA.state.bytes === toA.length, 60_000);
    assert.deepEqual(atB.data(), Buffer.from(toB));
    assert.deepEqual(atA.data(), Buffer.from(toA));
  });

  for (const lossRate of [0.05, 0.2]) {
    test(`2 MB arrive intact through ${lossRate * 100}% loss and reordering`, async () => {
      const jitter = new Mulberry32(9);
      const net = new VirtualNetwork({ seed: 3, lossRate, latency: () => 5 + jitter.next() * 20 });
      const { dialled, accepted } = await pair(net);
      const payload = pattern(2_000_000, 3);
      const atB = collect(accepted);
      dialled.write(payload);
      const ok = await net.clock.runUntil(() => atB.state.bytes === payload.length, 600_000);
      assert.ok(ok, `only ${atB.state.bytes} of ${payload.length} bytes arrived`);
      assert.deepEqual(atB.data(), Buffer.from(payload));
    });
  }

  test('close sends FIN: the peer sees the end after all the data', async () => {
    const net = new VirtualNetwork({ seed: 4 });
    const { a, b, dialled, accepted } = await pair(net);
    const atB = collect(accepted);
    const atA = collect(dialled);
    const payload = pattern(50_000, 4);
    dialled.write(payload);
    dialled.close();
    await net.clock.runUntil(() => atB.state.closed && atA.state.closed, 30_000);
    assert.equal(atB.state.bytes, payload.length);
    assert.equal(atB.state.error, undefined);
    assert.equal(atA.state.error, undefined);
    await net.clock.advance(1000);
    assert.equal(a.connectionCount, 0);
    assert.equal(b.connectionCount, 0);
  });

  test('connecting to a port nobody listens on fails with ETIMEDOUT', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const a = await UtpSocket.bind(net.runtime('10.0.0.1'), { host: '10.0.0.1', port: 6881 });
    await assert.rejects(net.clock.run(a.connect({ host: '10.0.0.9', port: 6881 })), (error: Error & { code?: string }) => error.code === 'ETIMEDOUT');
    assert.equal(a.connectionCount, 0);
  });

  test('a socket without a handler refuses with RESET: connect fails with ECONNRESET', async () => {
    const net = new VirtualNetwork({ seed: 6 });
    const a = await UtpSocket.bind(net.runtime('10.0.0.1'), { host: '10.0.0.1', port: 6881 });
    const b = await UtpSocket.bind(net.runtime('10.0.0.2'), { host: '10.0.0.2', port: 6881 });
    await assert.rejects(net.clock.run(a.connect({ host: '10.0.0.2', port: 6881 })), (error: Error & { code?: string }) => error.code === 'ECONNRESET');
    assert.equal(b.stats.refused, 1);
  });
});
