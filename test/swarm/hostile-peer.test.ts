/**
 * A seed meets peers that break the wire protocol: each is disconnected with a reason, and the
 * seed keeps serving others. A flood of BEP 52 hash requests is answered only within a budget.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeHandshake, encodeMessage, makeReserved, type PeerMessage } from '../../src/codec/peer-wire.js';
import { hashPeer, startV2Seed } from './v2-seed-peer.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { SwarmSession } from '../../src/swarm/session.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { toInfoHash } from '../../src/dht/types.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

const cases: [string, Uint8Array][] = [
  ['bitfield of the wrong length', encodeMessage({ type: 'bitfield', bitfield: new Uint8Array(3) })],
  ['bitfield with spare bits set', encodeMessage({ type: 'bitfield', bitfield: Uint8Array.of(0xff, 0xff) })],
  ['have for a piece that does not exist', encodeMessage({ type: 'have', index: 99 })],
  ['request beyond the end of a piece', encodeMessage({ type: 'request', index: 0, begin: 65536, length: 16384 })],
  ['request for a piece that does not exist', encodeMessage({ type: 'request', index: 500, begin: 0, length: 16384 })],
  ['oversized request', encodeMessage({ type: 'request', index: 0, begin: 0, length: 1 << 20 })],
  ['oversized length prefix', Uint8Array.of(0x7f, 0xff, 0xff, 0xff, 7)],
  ['unknown message id', Uint8Array.of(0, 0, 0, 1, 99)],
  ['have with the wrong length', Uint8Array.of(0, 0, 0, 3, 4, 0, 0)],
  // warren takes libtorrent's upload_only message under id 3: exactly one byte.
  ['upload_only message of 2 bytes', encodeMessage({ type: 'extended', id: 3, payload: Uint8Array.of(1, 1) })],
  ['empty upload_only message', encodeMessage({ type: 'extended', id: 3, payload: new Uint8Array(0) })],
];

test('protocol violations disconnect the peer with a reason; others are still served', async () => {
  const net = new VirtualNetwork({ seed: 3, latency: () => 2 });
  const rt = net.runtime('10.0.0.1');
  await rt.fs.mkdir('/s');
  const handle = await rt.fs.open('/s/f.bin', 'rw');
  await handle.write(new Mulberry32(1).bytes(10 * 65536 - 100), 0);
  await handle.close();
  const created = await net.clock.run(createTorrent(rt.fs, '/s/f.bin', { pieceLength: 65536 }));
  const infoHash = toInfoHash(created.infoHash);
  const reasons: string[] = [];
  const seed = new SwarmSession(
    { host: '10.0.0.1', port: 6881, log: (_level, message) => message.startsWith('peer disconnected') && reasons.push(message) },
    rt,
  );
  await net.clock.run(seed.start());
  await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true }));

  for (const [name, bytes] of cases) {
    const peer = net.runtime('10.0.9.9');
    const conn = await net.clock.run(peer.tcpConnect(seed.address));
    let closed = false;
    conn.onClose(() => (closed = true));
    conn.onData(() => undefined);
    conn.write(encodeHandshake({ reserved: makeReserved({ fast: true, extensions: true }), infoHash, peerId: new Uint8Array(20).fill(9) }));
    const interested: PeerMessage = { type: 'interested' };
    conn.write(encodeMessage(interested));
    await net.clock.advance(100);
    assert.equal(closed, false, `${name}: still connected before the bad message`);
    conn.write(bytes);
    await net.clock.runUntil(() => closed, 1000);
    assert.ok(closed, `${name}: the seed disconnected`);
  }
  assert.equal(reasons.length, cases.length);
  for (const reason of reasons) assert.match(reason, /protocol violation/);

  // A well-behaved leecher still gets the whole file afterwards.
  const leech = new SwarmSession({ host: '10.0.1.1', port: 6881 }, net.runtime('10.0.1.1'));
  await net.clock.run(leech.start());
  const t = await net.clock.run(leech.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address] }));
  assert.ok(await net.clock.runUntil(() => t.state === 'seeding', 60_000));
});

test('a flood of BEP 52 hash requests gets at most 64 answers a second, the rest (and oversized ones) hash-reject', async () => {
  const net = new VirtualNetwork({ seed: 5, latency: () => 2 });
  const { seed, created, infoHash } = await startV2Seed(net, new Mulberry32(2).bytes(600 * 16384 + 5), 16384);
  const { conn, answers } = await hashPeer(net, seed, infoHash);
  const shown = (from = 0): string[] => answers.slice(from).map((m) => `${m.type} ${(m as { length: number }).length}`);
  const root = created.info.files[0]!.piecesRoot!;
  // A valid request of 512 piece hashes: with 16 KiB pieces the piece layer is the block layer (0), and
  // the root is 10 layers above it (600 pieces: 1024 leaves).
  const request = (length: number): Uint8Array => encodeMessage({ type: 'hash-request', piecesRoot: root, baseLayer: 0, index: 0, length, proofLayers: 9 });
  const flood = Array.from({ length: 100 }, () => request(512));
  for (const bytes of [...flood, request(1024)]) conn.write(bytes);
  await net.clock.runUntil(() => answers.length === 101, 5000);
  assert.equal(shown().filter((a) => a === 'hashes 512').length, 64, 'answered within the budget');
  assert.equal(shown().filter((a) => a === 'hash-reject 512').length, 36, 'the rest rejected');
  assert.equal(shown().at(-1), 'hash-reject 1024', 'more than 512 hashes are never answered');
  await net.clock.advance(1500);
  conn.write(request(512));
  await net.clock.runUntil(() => answers.length === 102, 5000);
  assert.deepEqual(shown(101), ['hashes 512'], 'the budget comes back the next second');
  await net.clock.run(seed.close());
});
