/**
 * `Torrent.recheck()` on the virtual network: every piece is hashed again, damaged pieces are
 * fetched again, a torrent stopped by a vanished file runs again once the file is back, and a
 * recheck without metadata or during another check is refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { toInfoHash } from '../../src/dht/types.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { SwarmSession } from '../../src/swarm/session.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { readAll, writeFile } from './memory-files.js';

const SIZE = 600_000;
const PIECE = 32768;
const sha = (d: Uint8Array) => createHash('sha1').update(d).digest('hex');

async function session(net: VirtualNetwork, host: string, dataDir?: string): Promise<SwarmSession> {
  const s = new SwarmSession({ host, port: 6881, dataDir }, net.runtime(host));
  await net.clock.run(s.start());
  return s;
}

/** Two seeds of one file (10.0.0.1 and 10.0.0.2); returns the first's torrent and what else a test needs. */
async function twoSeeds(seedNumber: number) {
  const net = new VirtualNetwork({ seed: seedNumber, latency: () => 5 });
  const data = new Mulberry32(seedNumber).bytes(SIZE);
  const sessions: SwarmSession[] = [];
  const torrents: Torrent[] = [];
  let created;
  for (const host of ['10.0.0.1', '10.0.0.2']) {
    const rt = net.runtime(host);
    await writeFile(rt, '/s/file.bin', data);
    created = await net.clock.run(createTorrent(rt.fs, '/s/file.bin', { pieceLength: PIECE }));
    const s = await session(net, host, '/state');
    torrents.push(await net.clock.run(s.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: '/s', assumeComplete: true })));
    sessions.push(s);
  }
  return { net, data, sessions, torrents, created: created! };
}

describe('recheck', () => {
  test('a damaged piece is found, fetched again from another seed, and the torrent seeds again', async () => {
    const { net, data, sessions, torrents } = await twoSeeds(21);
    const [first] = torrents;
    const rt = net.runtime('10.0.0.1');
    const damaged = Uint8Array.from(data);
    damaged[5 * PIECE + 100] ^= 0xff;
    await writeFile(rt, '/s/file.bin', damaged);
    first!.addPeers([sessions[1]!.address]);
    const states: string[] = [];
    first!.on((e) => {
      if (e.type === 'state') states.push(e.state);
    });
    const checked = net.clock.run(first!.recheck());
    assert.equal(first!.state, 'checking');
    assert.throws(() => first!.recheck(), /being checked already/);
    await checked;
    assert.equal(first!.picker!.has(5), false, 'the damaged piece is missing');
    assert.equal(first!.stats().piecesHad, first!.info!.pieceCount - 1);
    assert.ok(await net.clock.runUntil(() => first!.state === 'seeding', 60_000), `stuck in ${first!.state}`);
    assert.deepEqual(states, ['checking', 'downloading', 'seeding']);
    assert.equal(sha(await readAll(rt, '/s/file.bin')), sha(data));
    assert.ok(first!.stats().downloaded >= PIECE && first!.stats().downloaded < 4 * PIECE, `downloaded ${first!.stats().downloaded}`);
  });

  test('a seed stopped by a vanished file runs again once the file is back and checked', async () => {
    const { net, data, sessions, torrents, created } = await twoSeeds(22);
    const [seed] = torrents;
    const rt = net.runtime('10.0.0.1');
    await rt.fs.remove('/s/file.bin');
    const leech = await session(net, '10.0.1.1');
    await net.clock.run(leech.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: '/d', peers: [sessions[0]!.address] }));
    await net.clock.runUntil(() => seed!.state === 'error', 60_000);
    assert.equal(seed!.state, 'error');
    await writeFile(rt, '/s/file.bin', data);
    await net.clock.run(seed!.recheck());
    assert.equal(seed!.state, 'seeding');
    assert.equal(seed!.error, undefined);
    assert.equal(seed!.stats().piecesHad, seed!.info!.pieceCount);
  });

  test('without metadata there is nothing to check', async () => {
    const net = new VirtualNetwork({ seed: 23 });
    const s = await session(net, '10.0.0.1');
    const t = await net.clock.run(s.add({ infoHash: toInfoHash('ab'.repeat(20)), dir: '/d' }));
    assert.throws(() => t.recheck(), /metadata is not known yet/);
  });

  test('a download whose files were deleted fetches them again after a recheck; the resume data follows', async () => {
    const { net, data, sessions, created } = await twoSeeds(24);
    const leech = await session(net, '10.0.1.1', '/state');
    const t = await net.clock.run(leech.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: '/d', peers: sessions.map((s) => s.address) }));
    assert.ok(await net.clock.runUntil(() => t.state === 'seeding', 60_000));
    const rt = net.runtime('10.0.1.1');
    await rt.fs.remove('/d/file.bin');
    await net.clock.run(t.recheck());
    assert.equal(t.stats().piecesHad, 0);
    assert.ok(await net.clock.runUntil(() => t.state === 'seeding', 60_000));
    assert.equal(sha(await readAll(rt, '/d/file.bin')), sha(data));
    // After a restart the resume data says every piece is had, and nothing is fetched.
    await net.clock.run(leech.close());
    const again = await session(net, '10.0.1.1', '/state');
    const t2 = await net.clock.run(again.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: '/d' }));
    assert.equal(t2.state, 'seeding');
  });
});
