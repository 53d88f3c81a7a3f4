/**
 * Hostile input against a live node on real UDP (127.0.0.1): 100,000 mutated and random
 * datagrams. Afterwards the node still answers ping, counted every bad datagram, and its stores,
 * table and heap stayed within bounds.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { bencode } from '../../src/codec/bencode.js';
import { encodeError, encodeQuery, encodeResponse } from '../../src/codec/krpc.js';
import { Dht } from '../../src/dht/dht.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

const TOTAL = 100_000;
const BATCH = 500;


const id = new Uint8Array(20).fill(1);
const t = Uint8Array.of(1, 2);
const SAMPLES: Uint8Array[] = [
  encodeQuery({ transactionId: t, method: 'ping', args: {}, senderId: id }),
  encodeQuery({ transactionId: t, method: 'find_node', args: { target: id }, senderId: id }),
  encodeQuery({ transactionId: t, method: 'get_peers', args: { info_hash: id }, senderId: id }),
  encodeQuery({ transactionId: t, method: 'announce_peer', args: { info_hash: id, port: 6881, token: 'abcdefgh', implied_port: 1 }, senderId: id }),
  encodeQuery({ transactionId: t, method: 'get', args: { target: id, seq: 3 }, senderId: id }),
  encodeQuery({ transactionId: t, method: 'put', args: { token: 'abcdefgh', v: 'x', k: new Uint8Array(32), sig: new Uint8Array(64), seq: 1, salt: 's' }, senderId: id }),
  encodeResponse({ transactionId: t, values: { nodes: new Uint8Array(26 * 8), values: [new Uint8Array(6)], token: 'tok' }, senderId: id }),
  encodeError({ transactionId: t, code: 201, message: 'oops' }),
];

function mutate(random: () => number): Uint8Array {
  const pick = (n: number) => Math.floor(random() * n);
  const kind = pick(8);
  if (kind === 0) return Uint8Array.from({ length: pick(1500) }, () => pick(256));
  if (kind === 1) return new TextEncoder().encode('l'.repeat(pick(1400)) + 'e'.repeat(pick(10)));
  if (kind === 2) return bencode({ t: 'aa', y: 'q', q: 'find_node', a: { id, target: Array.from({ length: 300 }, () => 1) } });
  if (kind === 3) return new TextEncoder().encode(`d1:t2:aa1:y1:q1:q4:ping1:ad2:id${pick(99999999)}:`);
  const bytes = Uint8Array.from(SAMPLES[pick(SAMPLES.length)]!);
  if (kind === 4) return bytes.subarray(0, pick(bytes.length));
  const flips = 1 + pick(4);
  for (let i = 0; i < flips; i++) {
    const at = pick(bytes.length);
    bytes[at] = kind === 5 ? bytes[at]! ^ (1 << pick(8)) : '0123456789:eldi'.charCodeAt(pick(15));
  }
  return bytes;
}

test('100,000 hostile datagrams: dropped, counted, answered with 203 where possible, no growth', { timeout: 300_000 }, async () => {
  const dht = new Dht(
    { host: '127.0.0.1', port: 0, bootstrap: false, rateLimit: { perSecond: 1e9, burst: 1e9 } },
    createNodeRuntime(),
  );
  await dht.start();
  const target = dht.address;
  const socket = createSocket('udp4');
  socket.bind(0, '127.0.0.1');
  await once(socket, 'listening');
  let replies = 0;
  let pongs = 0;
  let waitPong: (() => void) | undefined;
  const ping = encodeQuery({ transactionId: Uint8Array.of(0xff, 0xee), method: 'ping', args: {}, senderId: id });
  socket.on('message', (msg) => {
    replies++;
    if (msg.includes(Buffer.from('2:\xff\xee', 'latin1'))) {
      pongs++;
      waitPong?.();
    }
  });
  /** A ping's answer proves every datagram sent before it was processed (UDP on loopback keeps order). */
  const roundTrip = async () => {
    const expected = pongs + 1;
    const answered = new Promise<void>((resolve) => (waitPong = () => pongs >= expected && resolve()));
    socket.send(ping, target.port, target.host);
    await answered;
  };
  const heapBefore = process.memoryUsage().heapUsed;
  const m = new Mulberry32(12345);
  const random = () => m.next();
  for (let sent = 0; sent < TOTAL; sent += BATCH) {
    for (let i = 0; i < BATCH; i++) socket.send(mutate(random), target.port, target.host);
    await roundTrip();
  }
  const stats = dht.stats();
  assert.equal(stats.counters.datagramsIn, TOTAL + TOTAL / BATCH, 'every datagram reached the node (none lost on loopback)');
  assert.ok(stats.counters.malformed > TOTAL / 2, `only ${stats.counters.malformed} counted malformed`);
  assert.ok(stats.counters.errorsOut > 1000, 'malformed queries with a readable transaction id get error replies');
  assert.ok(replies > 1000);
  assert.ok(stats.tableSize <= 160 * 8, 'table within its bounds');
  assert.ok(stats.peersStored <= 5000 * 200 && stats.itemsStored <= 2000);
  const heapGrowth = process.memoryUsage().heapUsed - heapBefore;
  assert.ok(heapGrowth < 64 * 1024 * 1024, `heap grew by ${heapGrowth} bytes`);
  await roundTrip(); // still answers ping
  socket.close();
  await dht.close();
});
