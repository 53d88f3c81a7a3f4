/**
 * Hostile input against a live node on real UDP (127.0.0.1): 100,000 mutated and random
 * datagrams. Afterwards the node still answers ping, counted every bad datagram, and its stores,
 * table and heap stayed within bounds. Then the same over IPv6 on the virtual network (BEP 32
 * fields mutated too), and a hostile IPv6 node answering lookups with broken nodes6 and values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { once } from 'node:events';
import { bencode } from '../../src/codec/bencode.js';
import { encodeError, encodeQuery, encodeResponse } from '../../src/codec/krpc.js';
import { Dht } from '../../src/dht/dht.js';
import { toInfoHash } from '../../src/dht/types.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { decodeKrpc } from '../../src/codec/krpc.js';
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
  // BEP 32
  encodeQuery({ transactionId: t, method: 'find_node', args: { target: id, want: ['n4', 'n6'] }, senderId: id }),
  encodeQuery({ transactionId: t, method: 'get_peers', args: { info_hash: id, want: ['n6'] }, senderId: id }),
  encodeResponse({
    transactionId: t,
    values: { nodes6: new Uint8Array(38 * 8), values: [new Uint8Array(18), new Uint8Array(6)], token: 'tok' },
    senderId: id,
    ip: { host: 'fd57::1', port: 6881 },
  }),
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

test('20,000 hostile datagrams to the IPv6 socket of a dual-stack node (virtual network): dropped and counted', async () => {
  const net = new VirtualNetwork({ seed: 3 });
  const dht = new Dht(
    { host: '10.0.0.1', host6: 'fd57::1', port: 6881, bootstrap: false, rateLimit: { perSecond: 1e9, burst: 1e9 } },
    net.runtime('10.0.0.1'),
    net.runtime('fd57::1'),
  );
  await net.clock.run(dht.start());
  const attacker = await net.clock.run(net.runtime('fd57::66').udp({ host: 'fd57::66', port: 7000 }));
  let replies = 0;
  attacker.onMessage(() => replies++);
  const m = new Mulberry32(54321);
  const random = () => m.next();
  for (let i = 0; i < 20_000; i++) attacker.send(mutate(random), { host: 'fd57::1', port: 6881 });
  await net.clock.advance(1000);
  const stats = dht.stats();
  assert.equal(stats.counters.datagramsIn, 20_000);
  assert.ok(stats.counters.malformed > 10_000, `only ${stats.counters.malformed} counted malformed`);
  assert.ok(replies > 100 && stats.counters.errorsOut > 100);
  assert.ok(stats.tableSize <= 160 * 8);
  // Both families still answer.
  for (const [host, to] of [['fd57::67', 'fd57::1'], ['10.0.0.67', '10.0.0.1']] as const) {
    const probe = await net.clock.run(net.runtime(host).udp({ host, port: 7001 }));
    let pong: Uint8Array | undefined;
    probe.onMessage((data) => (pong = data));
    probe.send(encodeQuery({ transactionId: t, method: 'ping', args: {}, senderId: id }), { host: to, port: 6881 });
    await net.clock.runUntil(() => pong !== undefined, 1000);
    assert.equal(decodeKrpc(pong!).kind, 'response', `no pong over ${to}`);
  }
  await net.clock.run(dht.close());
});

test('a hostile IPv6 node answering with broken nodes6 and values: counted, and lookups still end', async () => {
  const net = new VirtualNetwork({ seed: 4 });
  const liar = await net.clock.run(net.runtime('fd57::66').udp({ host: 'fd57::66', port: 7000 }));
  const lies = [
    { nodes6: new Uint8Array(37) },
    { nodes6: new Uint8Array(38 * 3 + 1), values: [new Uint8Array(18)] },
    { nodes6: 'not bytes but fine length'.padEnd(38, '!'), values: [new Uint8Array(17), new Uint8Array(19), 7], token: 'tok' },
    { nodes: new Uint8Array(38), values: 'not a list' },
  ];
  let told = 0;
  liar.onMessage((data, from) => {
    const query = decodeKrpc(data);
    if (query.kind !== 'query') return;
    liar.send(encodeResponse({ transactionId: query.transactionId, values: lies[told++ % lies.length]!, senderId: new Uint8Array(20).fill(0x66) }), from);
  });
  const dht = new Dht({ host: 'fd57::1', port: 6881, bootstrap: ['[fd57::66]:7000'], queryTimeoutMs: 500 }, net.runtime('fd57::1'));
  await net.clock.run(dht.start());
  assert.equal(dht.table.size, 1, 'the liar answered, so it is in the table');
  const peers: unknown[] = [];
  await net.clock.run((async () => {
    for await (const peer of dht.lookup(toInfoHash(new Uint8Array(20).fill(9)))) peers.push(peer);
  })());
  const found = await net.clock.run(dht.findNode(new Uint8Array(20).fill(3)));
  assert.ok(found.length <= 1);
  assert.ok(dht.stats().counters.malformed >= 3, `malformed: ${dht.stats().counters.malformed}`);
  // No value was a well-formed peer: nothing is reported.
  assert.deepEqual(peers, []);
  await net.clock.run(dht.close());
});
