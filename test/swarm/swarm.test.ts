/**
 * The swarm engine on the virtual network: several seeds and leechers, one seed sending corrupt
 * data (it must be banned and the download still be exact), a magnet-only download (metadata over
 * BEP 9), and a restart that re-downloads nothing already verified.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { decodePex, encodeExtendedHandshake, EXTENDED_HANDSHAKE_ID, PEX_ENCRYPTION, PEX_REACHABLE, PEX_SEED, PEX_UTP, type PexMessage } from '../../src/codec/peer-extensions.js';
import { encodeHandshake, encodeMessage, HANDSHAKE_LENGTH, makeReserved, WireFramer } from '../../src/codec/peer-wire.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { MAX_INCOMING_HANDSHAKES, SwarmSession } from '../../src/swarm/session.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { toInfoHash } from '../../src/dht/types.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import type { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { readAll, writeFile } from './memory-files.js';

const FILE_SIZE = 3 * 1024 * 1024 + 12345;

function content(seed: number, size = FILE_SIZE): Uint8Array {
  return new Mulberry32(seed).bytes(size);
}

function untilComplete(net: VirtualNetwork, torrent: Torrent, limitMs = 600_000): Promise<boolean> {
  return net.clock.runUntil(() => torrent.state === 'seeding' || torrent.state === 'error', limitMs);
}

const sha = (d: Uint8Array) => createHash('sha1').update(d).digest('hex');

async function session(net: VirtualNetwork, host: string, dataDir?: string): Promise<SwarmSession> {
  const s = new SwarmSession({ host, port: 6881, dataDir }, net.runtime(host));
  await net.clock.run(s.start());
  return s;
}

describe('swarm on the virtual network', () => {
  test('3 seeds, 1 corrupt seed, 2 leechers: exact data, the corrupt seed is banned', async () => {
    const net = new VirtualNetwork({ seed: 4, latency: () => 5 });
    const data = content(1);
    const seeds: SwarmSession[] = [];
    let infoHash;
    let infoBytes: Uint8Array | undefined;
    for (let i = 1; i <= 4; i++) {
      const host = `10.0.0.${i}`;
      const rt = net.runtime(host);
      await writeFile(rt, '/share/file.bin', data);
      const created = await net.clock.run(createTorrent(rt.fs, '/share/file.bin', { pieceLength: 65536 }));
      infoHash = toInfoHash(created.infoHash);
      infoBytes = created.infoBytes;
      if (i === 4) {
        // The liar serves the honest torrent with one byte in 5000 flipped.
        await writeFile(rt, '/share/file.bin', Uint8Array.from(data, (b, j) => (j % 5000 === 7 ? b ^ 0xff : b)));
      }
      const s = await session(net, host);
      await net.clock.run(s.add({ infoHash, infoBytes, dir: '/share', assumeComplete: true }));
      seeds.push(s);
    }
    const peers = seeds.map((s) => s.address);
    const leechers: Torrent[] = [];
    const bans: string[] = [];
    for (const host of ['10.0.1.1', '10.0.1.2']) {
      const s = await session(net, host);
      const t = await net.clock.run(s.add({ infoHash: infoHash!, infoBytes, dir: '/down', peers }));
      t.on((e) => {
        if (e.type === 'banned') bans.push(e.peer);
      });
      leechers.push(t);
    }
    for (const t of leechers) assert.ok(await untilComplete(net, t), `leecher stuck in ${t.state}: ${t.stats().piecesHad}/${t.stats().pieceCount}`);
    for (const host of ['10.0.1.1', '10.0.1.2']) {
      assert.equal(sha(await readAll(net.runtime(host), '/down/file.bin')), sha(data), `${host} got exact data`);
    }
    assert.ok(bans.length >= 1 && bans.every((b) => b.startsWith('10.0.0.4:')), `bans: ${bans}`);
  });

  test('requests in flight over all peers stay under the per-torrent cap', async () => {
    const net = new VirtualNetwork({ seed: 9, latency: () => 20 });
    const data = content(3);
    const seeds: SwarmSession[] = [];
    let created;
    for (let i = 1; i <= 4; i++) {
      const rt = net.runtime(`10.0.0.${i}`);
      await writeFile(rt, '/share/file.bin', data);
      created = await net.clock.run(createTorrent(rt.fs, '/share/file.bin', { pieceLength: 65536 }));
      const s = await session(net, `10.0.0.${i}`);
      await net.clock.run(s.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: '/share', assumeComplete: true }));
      seeds.push(s);
    }
    const leech = await session(net, '10.0.1.1');
    const cap = 40;
    const t = await net.clock.run(
      leech.add({ infoHash: toInfoHash(created!.infoHash), infoBytes: created!.infoBytes, dir: '/down', peers: seeds.map((s) => s.address), maxRequestsInFlight: cap }),
    );
    let most = 0;
    t.on((e) => {
      if (e.type === 'piece') most = Math.max(most, t.outstandingRequests());
    });
    assert.ok(await untilComplete(net, t));
    assert.equal(sha(await readAll(net.runtime('10.0.1.1'), '/down/file.bin')), sha(data));
    assert.ok(most > 16 && most <= cap, `at most ${most} requests in flight (cap ${cap})`);
  });

  test('a magnet link alone is enough: metadata comes from the seed (BEP 9)', async () => {
    const net = new VirtualNetwork({ seed: 5, latency: () => 3 });
    const seedRt = net.runtime('10.0.0.1');
    const data = content(2, 700_000);
    await writeFile(seedRt, '/s/movie.mkv', data);
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/movie.mkv', {}));
    const infoHash = toInfoHash(created.infoHash);
    const seed = await session(net, '10.0.0.1');
    await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true }));
    const leech = await session(net, '10.0.0.2');
    const t = await net.clock.run(leech.add({ infoHash, dir: '/d', peers: [seed.address] }));
    assert.equal(t.state, 'metadata');
    assert.ok(await untilComplete(net, t));
    assert.equal(t.info?.name, 'movie.mkv');
    assert.equal(sha(await readAll(net.runtime('10.0.0.2'), '/d/movie.mkv')), sha(data));
  });

  test('a restarted download keeps its verified pieces and fetches only the rest', async () => {
    const net = new VirtualNetwork({ seed: 6, latency: () => 5 });
    const seedRt = net.runtime('10.0.0.1');
    const data = content(3, 2 * 1024 * 1024);
    await writeFile(seedRt, '/s/a.bin', data);
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/a.bin', { pieceLength: 32768 }));
    const infoHash = toInfoHash(created.infoHash);
    const seed = await session(net, '10.0.0.1');
    await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true }));

    const first = await session(net, '10.0.0.2', '/state');
    const t1 = await net.clock.run(first.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address] }));
    await net.clock.runUntil(() => t1.stats().piecesHad >= 20, 600_000);
    await net.clock.run(first.close());
    const had = t1.stats().piecesHad;
    assert.ok(had >= 20 && had < 64, `had ${had}`);

    const second = await session(net, '10.0.0.2', '/state');
    const t2 = await net.clock.run(second.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address] }));
    assert.ok(t2.stats().piecesHad >= had, `resumed with ${t2.stats().piecesHad} of ${had}`);
    assert.ok(await untilComplete(net, t2));
    assert.ok(t2.stats().downloaded <= data.length - had * 32768, 'nothing verified was fetched again');
    assert.equal(sha(await readAll(net.runtime('10.0.0.2'), '/d/a.bin')), sha(data));
  });

  test('a full disk stops the torrent with a clear error; freed space lets it finish with nothing lost', async () => {
    const net = new VirtualNetwork({ seed: 7, latency: () => 5 });
    const seedRt = net.runtime('10.0.0.1');
    const data = content(4, 1024 * 1024);
    await writeFile(seedRt, '/s/big.iso', data);
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/big.iso', { pieceLength: 32768 }));
    const infoHash = toInfoHash(created.infoHash);
    const seed = await session(net, '10.0.0.1');
    await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true }));
    const leechRt = net.runtime('10.0.0.2');
    const disk = leechRt.fs as MemoryFileStore;
    disk.quotaBytes = disk.usedBytes + 400 * 1024;
    const leech = await session(net, '10.0.0.2', '/state');
    // In order, so the file grows piece by piece (a random first piece near its end would fill the quota at once).
    const t = await net.clock.run(leech.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address], sequential: true }));
    await net.clock.runUntil(() => t.state === 'error', 600_000);
    assert.equal(t.state, 'error');
    assert.match(t.error!.message, /disk full/);
    assert.equal(t.stats().peers.length, 0, 'peers are let go while stopped');
    const had = t.stats().piecesHad;
    assert.ok(had > 0 && had < 32, `had ${had}`);
    disk.quotaBytes = undefined;
    t.resume();
    assert.ok(await untilComplete(net, t));
    assert.equal(t.stats().downloaded, data.length, 'nothing verified (on disk or waiting in memory) was fetched again');
    assert.equal(sha(await readAll(leechRt, '/d/big.iso')), sha(data));
  });

  test('peer exchange (BEP 11): a leecher that only knows another leecher finds the seed', async () => {
    const net = new VirtualNetwork({ seed: 8, latency: () => 5 });
    const seedRt = net.runtime('10.0.0.1');
    const data = content(5, 4 * 1024 * 1024);
    await writeFile(seedRt, '/s/f.bin', data);
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/f.bin', { pieceLength: 16384 }));
    const infoHash = toInfoHash(created.infoHash);
    const seed = await session(net, '10.0.0.1');
    const seeding = await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true, uploadLimit: 64 * 1024 }));
    const a = await session(net, '10.0.0.2');
    const ta = await net.clock.run(a.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address] }));
    await net.clock.runUntil(() => ta.stats().piecesHad > 0, 60_000);
    const b = await session(net, '10.0.0.3');
    const tb = await net.clock.run(b.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [a.address] }));
    await net.clock.runUntil(() => tb.stats().peers.some((p) => p.address.startsWith('10.0.0.1:')), 180_000);
    assert.ok(tb.stats().peers.some((p) => p.address.startsWith('10.0.0.1:')), 'b learned the seed through a');
    assert.ok(seeding.stats().peers.some((p) => p.address.startsWith('10.0.0.3:')));
  });

  test('peer exchange says how each peer was reached (BEP 11 added.f): seed, reachable, encrypted', async () => {
    const net = new VirtualNetwork({ seed: 9, latency: () => 5 });
    const seedRt = net.runtime('10.0.0.1');
    await writeFile(seedRt, '/s/f.bin', content(9, 4 * 1024 * 1024));
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/f.bin', { pieceLength: 16384 }));
    const infoHash = toInfoHash(created.infoHash);
    const seed = await session(net, '10.0.0.1');
    // Slow, so the leecher is still connected to the seed when it sends peer exchange (every 60 s).
    await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true, uploadLimit: 32 * 1024 }));
    const leecher = await session(net, '10.0.0.2');
    await net.clock.run(leecher.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address] }));
    // A bare peer that asks the leecher for peer exchange and reads what it sends.
    const conn = await net.clock.run(net.runtime('10.0.0.3').tcpConnect(leecher.address));
    const framer = new WireFramer();
    const exchanged: PexMessage[] = [];
    let handshakeLeft = HANDSHAKE_LENGTH;
    conn.onData((chunk) => {
      const skip = Math.min(handshakeLeft, chunk.length);
      handshakeLeft -= skip;
      framer.push(chunk.subarray(skip));
      for (let m = framer.next(); m; m = framer.next()) if (m.type === 'extended' && m.id === 7) exchanged.push(decodePex(m.payload));
    });
    conn.write(encodeHandshake({ reserved: makeReserved({ extensions: true }), infoHash, peerId: new Uint8Array(20).fill(3) }));
    await net.clock.advance(50);
    conn.write(encodeMessage({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload: encodeExtendedHandshake({ m: { ut_pex: 7 } }) }));
    await net.clock.runUntil(() => exchanged.length > 0, 120_000);
    const entry = exchanged.flatMap((m) => m.added).find((p) => p.host === '10.0.0.1');
    assert.ok(entry, `the seed is in the peer exchange: ${JSON.stringify(exchanged)}`);
    // The leecher dialled the seed (reachable), with the MSE handshake ('prefer'), over TCP.
    assert.equal(entry.flags, PEX_SEED | PEX_REACHABLE | PEX_ENCRYPTION);
    assert.equal(entry.flags & PEX_UTP, 0);
  });

  test('a download limit holds the rate to it; without one the same transfer is far faster', async () => {
    const net = new VirtualNetwork({ seed: 12, latency: () => 5 });
    const seedRt = net.runtime('10.0.0.1');
    const data = content(12, 1024 * 1024);
    await writeFile(seedRt, '/s/limited.bin', data);
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/limited.bin', { pieceLength: 32768 }));
    const infoHash = toInfoHash(created.infoHash);
    const seed = await session(net, '10.0.0.1');
    await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true }));
    const limit = 128 * 1024;
    const timed = async (host: string, downloadLimit?: number) => {
      const leech = await session(net, host);
      const t = await net.clock.run(leech.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address], downloadLimit }));
      const start = net.clock.now();
      assert.ok(await untilComplete(net, t));
      assert.equal(sha(await readAll(net.runtime(host), '/d/limited.bin')), sha(data));
      return net.clock.now() - start;
    };
    const limitedMs = await timed('10.0.0.2', limit);
    // The bucket starts with one second's worth; the rest arrives at the limit.
    const expectedMs = ((data.length - limit) / limit) * 1000;
    assert.ok(limitedMs >= expectedMs * 0.9 && limitedMs <= expectedMs * 1.3, `took ${limitedMs} ms at ${limit} B/s, expected about ${expectedMs}`);
    const freeMs = await timed('10.0.0.3');
    assert.ok(freeMs * 4 < limitedMs, `unlimited took ${freeMs} ms, limited ${limitedMs} ms`);
  });

  test('a paused torrent resumed while its data is checked waits for the check before downloading', async () => {
    const net = new VirtualNetwork({ seed: 13, latency: () => 5 });
    const rt = net.runtime('10.0.0.1');
    const data = content(13, 512 * 1024);
    await writeFile(rt, '/d/checked.bin', data);
    const created = await net.clock.run(createTorrent(rt.fs, '/d/checked.bin', { pieceLength: 16384 }));
    const infoHash = toInfoHash(created.infoHash);
    const s = await session(net, '10.0.0.1');
    const adding = s.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', paused: true });
    const t = s.get(infoHash)!;
    const states: string[] = [];
    t.on((event) => {
      if (event.type === 'state') states.push(event.state);
    });
    await Promise.resolve();
    assert.deepEqual([t.stats().state, t.stats().paused], ['checking', true], 'a paused torrent checking its data says so');
    t.resume();
    assert.deepEqual([t.stats().state, t.stats().paused], ['checking', false]);
    await net.clock.run(adding);
    assert.deepEqual(states, ['checking', 'seeding'], 'never "downloading" while the data on disk was unchecked');
    assert.equal(t.stats().piecesHad, 32);
  });

  test('incoming connections stuck in their handshakes are capped; the rest are closed at once', async () => {
    const net = new VirtualNetwork({ seed: 14, latency: () => 5 });
    const s = await session(net, '10.0.0.1');
    const attacker = net.runtime('10.0.0.66');
    const closedAt: number[] = [];
    const conns = await net.clock.run(Promise.all(Array.from({ length: MAX_INCOMING_HANDSHAKES + 6 }, () => attacker.tcpConnect(s.address))));
    for (const conn of conns) conn.onClose(() => closedAt.push(net.clock.now()));
    await net.clock.runUntil(() => closedAt.length >= 6, 1000);
    assert.equal(closedAt.length, 6, 'only the connections over the cap are closed before any handshake times out');
    // Once the silent ones time out, new connections are taken again.
    await net.clock.runUntil(() => closedAt.length === conns.length, 60_000);
    const late = await net.clock.run(attacker.tcpConnect(s.address));
    let lateClosed = false;
    late.onClose(() => (lateClosed = true));
    await net.clock.runUntil(() => lateClosed, 1000);
    assert.equal(lateClosed, false, 'a new connection waits for its handshake again');
  });

  test('the overall connection limit holds across torrents', async () => {
    const net = new VirtualNetwork({ seed: 9, latency: () => 5 });
    const seeds: SwarmSession[] = [];
    const torrents: { infoHash: ReturnType<typeof toInfoHash>; infoBytes: Uint8Array }[] = [];
    for (let i = 0; i < 2; i++) {
      const rt = net.runtime(`10.0.0.${i + 1}`);
      await writeFile(rt, `/s/f${i}.bin`, content(10 + i, 200_000));
      const created = await net.clock.run(createTorrent(rt.fs, `/s/f${i}.bin`, {}));
      const s = await session(net, `10.0.0.${i + 1}`);
      await net.clock.run(s.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: '/s', assumeComplete: true, uploadLimit: 20_000 }));
      seeds.push(s);
      torrents.push({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes });
    }
    const leech = new SwarmSession({ host: '10.0.1.1', port: 6881, maxConnections: 1 }, net.runtime('10.0.1.1'));
    await net.clock.run(leech.start());
    for (const t of torrents) await net.clock.run(leech.add({ ...t, dir: '/d', peers: seeds.map((s) => s.address) }));
    await net.clock.advance(5000);
    assert.equal(leech.connectionCount(), 1);
  });

  test('a seed whose file vanished stops with a clear error instead of failing peers', async () => {
    const net = new VirtualNetwork({ seed: 10, latency: () => 5 });
    const seedRt = net.runtime('10.0.0.1');
    await writeFile(seedRt, '/s/gone.bin', content(6, 300_000));
    const created = await net.clock.run(createTorrent(seedRt.fs, '/s/gone.bin', {}));
    const infoHash = toInfoHash(created.infoHash);
    const seed = await session(net, '10.0.0.1');
    const seeding = await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/s', assumeComplete: true }));
    await seedRt.fs.remove('/s/gone.bin');
    const leech = await session(net, '10.0.0.2');
    await net.clock.run(leech.add({ infoHash, infoBytes: created.infoBytes, dir: '/d', peers: [seed.address] }));
    await net.clock.runUntil(() => seeding.state === 'error', 60_000);
    assert.equal(seeding.state, 'error');
    assert.match(seeding.error!.message, /gone\.bin/);
  });
});
