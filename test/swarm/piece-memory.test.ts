/**
 * Piece memory is capped (`maxPieceMemory`): past it the leecher begins no new piece, and finishes
 * those begun. A peer that begins pieces and leaves must not stall a download from another peer
 * that has none of them: a peer with nothing in flight may still begin a piece.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, makeReserved, type PeerMessage } from '../../src/codec/peer-wire.js';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import type { TcpConnection } from '../../src/runtime/interfaces.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { SwarmSession } from '../../src/swarm/session.js';
import { writeFile } from './memory-files.js';
import { barePeer } from './v2-seed-peer.js';

const PIECE = 65536;
const PIECES = 16;

/**
 * A scripted seed on `host` that connects to `to` and has the pieces `has`; `answer` says which
 * requested blocks it sends (the others it leaves unanswered).
 */
async function scriptedSeed(
  net: VirtualNetwork,
  host: string,
  to: { host: string; port: number },
  infoHash: InfoHash,
  data: Uint8Array,
  has: (index: number) => boolean,
  answer: (m: { index: number; begin: number }) => boolean,
): Promise<{ conn: TcpConnection; requests: PeerMessage[] }> {
  const requests: PeerMessage[] = [];
  const conn = await barePeer(net, host, to, { reserved: makeReserved({}), infoHash, peerId: new Uint8Array(20).fill(host.length) }, (m) => {
    if (m.type !== 'request') return;
    requests.push(m);
    if (answer(m)) conn.write(encodeMessage({ type: 'piece', index: m.index, begin: m.begin, block: data.subarray(m.index * PIECE + m.begin, m.index * PIECE + m.begin + m.length) }));
  });
  const bitfield = new Uint8Array(PIECES / 8);
  for (let i = 0; i < PIECES; i++) if (has(i)) bitfield[i >>> 3]! |= 0x80 >>> (i & 7);
  conn.write(encodeMessage({ type: 'bitfield', bitfield }));
  conn.write(encodeMessage({ type: 'unchoke' }));
  return { conn, requests };
}

test('pieces begun by a peer that left do not stall the download from another peer past the memory cap', async () => {
  const net = new VirtualNetwork({ seed: 31, latency: () => 5 });
  const data = new Mulberry32(5).bytes(PIECES * PIECE);
  const maker = net.runtime('10.0.0.1');
  await writeFile(maker, '/s/f.bin', data);
  const created = await net.clock.run(createTorrent(maker.fs, '/s/f.bin', { pieceLength: PIECE }));
  const infoHash = toInfoHash(created.infoHash);
  const leecher = new SwarmSession({ host: '10.0.1.1', port: 6881 }, net.runtime('10.0.1.1'));
  await net.clock.run(leecher.start());
  const torrent = await net.clock.run(leecher.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', maxPieceMemory: 4 * PIECE }));

  // The first seed has pieces 0-7 and sends only the first block of each piece asked for, then leaves.
  const first = await scriptedSeed(net, '10.0.5.1', leecher.address, infoHash, data, (i) => i < 8, (m) => m.begin === 0);
  await net.clock.advance(2000);
  const begun = new Set(first.requests.map((m) => (m as { index: number }).index));
  assert.ok(begun.size >= 4, `the leecher began ${begun.size} pieces with the first seed`);
  first.conn.close();
  await net.clock.advance(1000);
  assert.equal(torrent.stats().piecesHad, 0);

  // The second has pieces 8-15, none of those begun, and answers everything.
  await scriptedSeed(net, '10.0.5.2', leecher.address, infoHash, data, (i) => i >= 8, () => true);
  await net.clock.runUntil(() => torrent.stats().piecesHad === 8, 120_000);
  const had = Array.from({ length: PIECES }, (_, i) => i).filter((i) => torrent.picker!.has(i));
  assert.deepEqual(had, [8, 9, 10, 11, 12, 13, 14, 15], 'every piece of the second seed, despite the memory held by the first one\'s');
  await net.clock.run(leecher.close());
});
