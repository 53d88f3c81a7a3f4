/**
 * BitTorrent v2 (BEP 52) between warrens on the virtual network: a v2-only multi-file torrent
 * downloaded from a magnet link (metadata over BEP 9, piece layers over hash requests) with a
 * corrupt seed in the swarm, the same from a .torrent that carries its layers (no hash request at
 * all), a seed that lies about the hashes, a restart that takes the layers from the resume data,
 * and a hybrid torrent (checked by SHA-1, as v1).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { toHex, toInfoHash, type InfoHash } from '../../src/dht/types.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import type { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { createTorrent, type CreatedTorrent, type TorrentFormat } from '../../src/swarm/create-torrent.js';
import { verifyHashes, type HashRequest } from '../../src/swarm/merkle.js';
import { encodeMessage, type PeerMessage } from '../../src/codec/peer-wire.js';
import { hashPeer, startV2Seed } from './v2-seed-peer.js';
import { fileResumeStore, type ResumeStore } from '../../src/swarm/resume.js';
import { SwarmSession } from '../../src/swarm/session.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { readAll, writeFile } from './memory-files.js';

const PIECE = 16 * 1024;
/** Pieces of the long file: more than the 512 hashes one request asks for, so its layer takes two. */
const LONG_PIECES = 520;

const content = (seed: number, size: number): Uint8Array => new Mulberry32(seed).bytes(size);

/**
 * The torrent's files (path below the torrent's folder → bytes): one block, exactly one piece,
 * several pieces, two identical files (one root, one layer), an empty file, and a long file in a
 * subfolder. About 8.6 MiB in all.
 */
function v2Files(long = true): Map<string, Uint8Array> {
  const copy = content(24, 3 * PIECE + 5);
  return new Map([
    ['a-tiny.txt', content(21, 3000)],
    ['b-one-piece.bin', content(22, PIECE)],
    ['c-several.bin', content(23, 5 * PIECE + 999)],
    ['d-copy-1.bin', copy],
    ['d-copy-2.bin', copy.slice()],
    ['e-empty', new Uint8Array(0)],
    ...(long ? ([['sub/f-long.bin', content(25, LONG_PIECES * PIECE - 777)]] as const) : []),
  ]);
}

/** One byte in 5,000 flipped. */
function corrupted(data: Uint8Array): Uint8Array {
  return Uint8Array.from(data, (b, j) => (j % 5000 === 7 ? b ^ 0xff : b));
}

async function writeTree(net: VirtualNetwork, host: string, dir: string, files: Map<string, Uint8Array>): Promise<void> {
  const rt = net.runtime(host);
  await rt.fs.mkdir(dir);
  for (const [path, data] of files) await writeFile(rt, `${dir}/${path}`, data);
}

async function session(net: VirtualNetwork, host: string, options: { dataDir?: string; log?: string[]; resumeStore?: ResumeStore } = {}): Promise<SwarmSession> {
  const log = options.log;
  const s = new SwarmSession({ host, port: 6881, dataDir: options.dataDir, resumeStore: options.resumeStore, log: log && ((level, message) => log.push(`${level}: ${message}`)) }, net.runtime(host));
  await net.clock.run(s.start());
  return s;
}

function untilComplete(net: VirtualNetwork, torrent: Torrent, limitMs = 600_000): Promise<boolean> {
  return net.clock.runUntil(() => torrent.state === 'seeding' || torrent.state === 'error', limitMs);
}

const sha1 = (d: Uint8Array): string => createHash('sha1').update(d).digest('hex');

/** Every file of `files` under `dir` on `host` is exactly its bytes. */
async function assertExact(net: VirtualNetwork, host: string, dir: string, files: Map<string, Uint8Array>): Promise<void> {
  for (const [path, data] of files) {
    const got = await readAll(net.runtime(host), `${dir}/${path}`);
    assert.equal(got.length, data.length, `${host}: length of ${path}`);
    assert.equal(sha1(got), sha1(data), `${host}: content of ${path}`);
  }
}

/** Counts the hash requests a seed answers (every `hash request` it receives goes through `layers.answer`). */
function countAnswers(torrent: Torrent): { count: number } {
  const counter = { count: 0 };
  const layers = torrent.layers!;
  const answer = layers.answer.bind(layers);
  layers.answer = (r: HashRequest) => {
    counter.count++;
    return answer(r);
  };
  return counter;
}

interface Swarm {
  created: CreatedTorrent;
  infoHash: InfoHash;
  files: Map<string, Uint8Array>;
  seeds: { session: SwarmSession; torrent: Torrent; answered: { count: number } }[];
}

/**
 * Seeds at `10.0.0.<i>` (i from 1), each with the files in `/share/pack` and the torrent added
 * with its info dictionary and layers; `corrupt` lists the seeds whose files are damaged.
 */
async function seedSwarm(net: VirtualNetwork, count: number, options: { format?: TorrentFormat; corrupt?: number[]; long?: boolean } = {}): Promise<Swarm> {
  const files = v2Files(options.long ?? true);
  let created: CreatedTorrent | undefined;
  const seeds: Swarm['seeds'] = [];
  for (let i = 1; i <= count; i++) {
    const host = `10.0.0.${i}`;
    await writeTree(net, host, '/share/pack', files);
    created ??= await net.clock.run(createTorrent(net.runtime(host).fs, '/share/pack', { pieceLength: PIECE, format: options.format ?? 'v2' }));
    if (options.corrupt?.includes(i)) await writeTree(net, host, '/share/pack', new Map([...files].map(([p, d]) => [p, corrupted(d)])));
    const s = await session(net, host);
    const torrent = await net.clock.run(
      s.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, pieceLayers: created.pieceLayers, dir: '/share', assumeComplete: true }),
    );
    assert.equal(torrent.state, 'seeding');
    seeds.push({ session: s, torrent, answered: torrent.layers ? countAnswers(torrent) : { count: 0 } });
  }
  return { created: created!, infoHash: toInfoHash(created!.infoHash), files, seeds };
}

/** The layers a torrent holds, as a plain map (to compare with `createTorrent`'s). */
const layersOf = (t: Torrent): Map<string, Uint8Array> => new Map(t.layers!.known());

/** The file's first piece and its piece count in the torrent. */
function piecesOf(t: Torrent, path: string): { first: number; count: number } {
  const file = t.info!.files.find((f) => f.path.join('/') === path && !f.padding)!;
  return { first: file.offset / t.info!.pieceLength, count: Math.ceil(file.length / t.info!.pieceLength) };
}

describe('BitTorrent v2 on the virtual network', () => {
  test('a magnet link alone: metadata (BEP 9) and layers (hash requests) from the seeds, exact data, the corrupt seed banned', async () => {
    const net = new VirtualNetwork({ seed: 21, latency: () => 5 });
    const swarm = await seedSwarm(net, 3, { corrupt: [3] });
    const { created } = swarm;
    assert.equal(created.info.pieces, undefined, 'v2-only');
    assert.equal(created.pieceLayers.size, 3, 'layers for c-several, the d copies (one) and f-long');
    assert.equal(created.pieceLayers.get(toHex(created.info.files.find((f) => f.path.join('/') === 'sub/f-long.bin')!.piecesRoot!))!.length, LONG_PIECES * 32);

    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(leech.add({ infoHash: swarm.infoHash, dir: '/down', peers: swarm.seeds.map((s) => s.session.address) }));
    assert.equal(t.state, 'metadata');
    assert.equal(t.layers, undefined);
    const bans: string[] = [];
    t.on((e) => {
      if (e.type === 'banned') bans.push(e.peer);
    });
    let blocksBeforeLayers = 0;
    const blockArrived = t.blockArrived.bind(t);
    t.blockArrived = (key, index, begin, block) => {
      if (!t.layers?.complete) blocksBeforeLayers++;
      blockArrived(key, index, begin, block);
    };

    assert.ok(await untilComplete(net, t), `stuck in ${t.state}: ${t.stats().piecesHad}/${t.stats().pieceCount}`);
    assert.equal(t.state, 'seeding');
    assert.ok(t.infoHashV2 && Buffer.from(t.infoHashV2).equals(created.infoHashV2!), 'the metadata is the v2 torrent');
    await assertExact(net, '10.0.1.1', '/down/pack', swarm.files);
    assert.equal(t.layers!.complete, true);
    assert.deepEqual(layersOf(t), created.pieceLayers, 'exactly the layers of the torrent');
    const answered = swarm.seeds.map((s) => s.answered.count);
    // f-long takes 2 requests, c-several and the d copies 1 each.
    assert.ok(answered.reduce((a, b) => a + b) >= 4, `hash requests answered by the seeds: ${answered}`);
    assert.equal(blocksBeforeLayers, 0, 'no block was requested before the layers were known');
    const long = piecesOf(t, 'sub/f-long.bin');
    assert.deepEqual(t.pieceCheck(long.first + LONG_PIECES - 1)?.how, { kind: 'merkle', length: PIECE - 777, width: 1 });
    assert.ok(bans.length >= 1 && bans.every((b) => b.startsWith('10.0.0.3:')), `bans: ${bans}`);
  });

  test('a .torrent with its piece layers: every piece is checkable from the start, no hash request is sent', async () => {
    const net = new VirtualNetwork({ seed: 22, latency: () => 5 });
    const swarm = await seedSwarm(net, 2);
    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(
      leech.add({ infoHash: swarm.infoHash, infoBytes: swarm.created.infoBytes, pieceLayers: swarm.created.pieceLayers, dir: '/down', peers: swarm.seeds.map((s) => s.session.address) }),
    );
    assert.equal(t.links.size, 0, 'no peer connected yet');
    assert.equal(t.layers!.complete, true);
    assert.equal(t.hashesKnown, true);
    for (let i = 0; i < t.info!.pieceCount; i++) {
      assert.equal(t.pieceCheck(i)?.how.kind, 'merkle', `piece ${i} is checkable`);
    }
    let asked = 0;
    const requestsFor = t.layers!.requestsFor.bind(t.layers!);
    t.layers!.requestsFor = (key, max) => {
      const out = requestsFor(key, max);
      asked += out.length;
      return out;
    };
    assert.ok(await untilComplete(net, t));
    await assertExact(net, '10.0.1.1', '/down/pack', swarm.files);
    assert.equal(asked, 0, 'the leecher made no hash request');
    assert.deepEqual(
      swarm.seeds.map((s) => s.answered.count),
      [0, 0],
      'the seeds received none',
    );
  });

  test('a seed that lies about one hash is disconnected; the layer comes from an honest seed and the download is exact', async () => {
    const net = new VirtualNetwork({ seed: 23, latency: () => 5 });
    const swarm = await seedSwarm(net, 2);
    const [liar, honest] = swarm.seeds;
    const longRoot = swarm.created.info.files.find((f) => f.path.join('/') === 'sub/f-long.bin')!.piecesRoot!;
    let lies = 0;
    const layers = liar!.torrent.layers!;
    const answer = layers.answer.bind(layers);
    layers.answer = (r) => {
      const hashes = answer(r);
      if (!hashes || r.index !== 512 || !Buffer.from(r.piecesRoot).equals(longRoot)) return hashes;
      lies++;
      const bad = hashes.slice();
      bad[3]! ^= 0x40; // the first hash of the second chunk of f-long
      return bad;
    };

    const log: string[] = [];
    const leech = await session(net, '10.0.1.1', { log });
    // Only the liar at first, so it is the one asked for every chunk.
    const t = await net.clock.run(leech.add({ infoHash: swarm.infoHash, infoBytes: swarm.created.infoBytes, dir: '/down', peers: [liar!.session.address] }));
    const violation = (line: string) => /peer disconnected: protocol violation: hashes that do not match/.test(line);
    assert.ok(await net.clock.runUntil(() => log.some(violation), 60_000), `no violation in the log:\n${log.join('\n')}`);
    assert.equal(lies, 1);
    assert.equal(t.layers!.complete, false, "f-long's layer is not taken from the liar");
    assert.equal(t.layers!.known().has(toHex(longRoot)), false);
    assert.equal(t.stats().piecesHad, 0, 'nothing downloaded without the layers');
    assert.deepEqual([...t.links.keys()], [], 'the liar was dropped');
    // A minute with only the liar (redialled after 30 s): it is not asked for that chunk again, and
    // no block is requested while a layer is missing.
    await net.clock.advance(60_000);
    assert.equal(lies, 1);
    assert.equal(t.layers!.complete, false);
    assert.deepEqual([t.stats().downloaded, t.stats().piecesHad], [0, 0], 'nothing requested without the layers');

    t.addPeers([honest!.session.address]);
    assert.ok(await untilComplete(net, t), `stuck in ${t.state}: ${t.stats().piecesHad}/${t.stats().pieceCount}`);
    assert.equal(t.state, 'seeding');
    await assertExact(net, '10.0.1.1', '/down/pack', swarm.files);
    assert.deepEqual(layersOf(t), swarm.created.pieceLayers, 'no bad hash accepted');
    assert.equal(lies, 1, 'the liar was never asked for that chunk again');
    assert.ok(honest!.answered.count >= 1, 'the honest seed answered the chunk');
  });

  test('a seed that refuses hash requests is not asked again; no block is requested until another seed gives the layer', async () => {
    const net = new VirtualNetwork({ seed: 26, latency: () => 5 });
    const swarm = await seedSwarm(net, 2);
    const [refuser, honest] = swarm.seeds;
    const longRoot = swarm.created.info.files.find((f) => f.path.join('/') === 'sub/f-long.bin')!.piecesRoot!;
    let refused = 0;
    const layers = refuser!.torrent.layers!;
    const answer = layers.answer.bind(layers);
    layers.answer = (r) => {
      if (!Buffer.from(r.piecesRoot).equals(longRoot)) return answer(r);
      refused++;
      return undefined; // a hash reject
    };
    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(leech.add({ infoHash: swarm.infoHash, infoBytes: swarm.created.infoBytes, dir: '/down', peers: [refuser!.session.address] }));
    await net.clock.advance(60_000);
    assert.equal(refused, 2, "each of f-long's two chunks is asked of the refusing seed once");
    assert.equal(t.layers!.complete, false);
    assert.equal(t.layers!.known().size, 2, 'the other layers came from it');
    assert.equal(t.links.size, 1, 'a refusal is no offence: still connected');
    assert.deepEqual([t.stats().downloaded, t.stats().piecesHad], [0, 0], 'no block requested while a layer is missing');

    t.addPeers([honest!.session.address]);
    assert.ok(await untilComplete(net, t), `stuck in ${t.state}: ${t.stats().piecesHad}/${t.stats().pieceCount}`);
    await assertExact(net, '10.0.1.1', '/down/pack', swarm.files);
    assert.deepEqual(layersOf(t), swarm.created.pieceLayers);
    assert.equal(refused, 2);
    assert.ok(honest!.answered.count >= 2);
  });

  test('a restart takes the layers from the resume data: seeding without any peer; a changed byte fails only its piece', async () => {
    const net = new VirtualNetwork({ seed: 24, latency: () => 5 });
    const swarm = await seedSwarm(net, 2);
    const host = '10.0.1.1';
    const peers = swarm.seeds.map((s) => s.session.address);
    // The resume files, with the saves counted: the layers are written when one more is known.
    const files = fileResumeStore(net.runtime(host).fs, '/state/resume');
    const saves: number[] = [];
    const layerSaves: number[] = [];
    const counted: ResumeStore = {
      load: (infoHash) => files.load(infoHash),
      save: (record) => (saves.push(1), files.save(record)),
      saveLayers: (infoHash, layers) => (layerSaves.push(layers.size), files.saveLayers(infoHash, layers)),
    };
    const first = await session(net, host, { resumeStore: counted });
    const t1 = await net.clock.run(first.add({ infoHash: swarm.infoHash, dir: '/down', peers }));
    assert.ok(await untilComplete(net, t1));
    assert.equal(t1.state, 'seeding');
    await net.clock.run(first.close());
    const layerCount = swarm.created.pieceLayers.size;
    assert.ok(saves.length > layerSaves.length, `${saves.length} record saves, ${layerSaves.length} of the layers`);
    assert.ok(layerSaves.length >= 1 && layerSaves.length <= layerCount, `the layers were saved ${layerSaves.length} times for ${layerCount} layers`);
    assert.deepEqual(layerSaves, [...layerSaves].sort((a, b) => a - b).filter((n, i, all) => all.indexOf(n) === i), 'each save had more layers than the last');
    assert.equal(layerSaves.at(-1), layerCount);

    // No layers, no peers: only the info dictionary (the layers must come from the resume data).
    const second = await session(net, host, { dataDir: '/state' });
    const t2 = await net.clock.run(second.add({ infoHash: swarm.infoHash, infoBytes: swarm.created.infoBytes, dir: '/down' }));
    assert.equal(t2.state, 'seeding', `resumed as ${t2.state} with ${t2.stats().piecesHad}/${t2.stats().pieceCount} pieces`);
    assert.equal(t2.links.size, 0);
    assert.deepEqual(layersOf(t2), swarm.created.pieceLayers);
    await net.clock.run(second.close());

    // One byte of f-long, changed in place: its mtime changes, so its pieces are hashed again.
    const long = piecesOf(t2, 'sub/f-long.bin');
    const path = '/down/pack/sub/f-long.bin';
    const fs = net.runtime(host).fs as MemoryFileStore;
    const before = await fs.stat(path);
    const at = 100 * PIECE + 10;
    const handle = await fs.open(path, 'rw');
    await handle.write(new Uint8Array([swarm.files.get('sub/f-long.bin')![at]! ^ 0x01]), at);
    await handle.close();
    assert.notEqual((await fs.stat(path))!.mtimeMs, before!.mtimeMs);

    const third = await session(net, host, { dataDir: '/state' });
    const t3 = await net.clock.run(third.add({ infoHash: swarm.infoHash, infoBytes: swarm.created.infoBytes, dir: '/down' }));
    assert.equal(t3.state, 'downloading');
    const missing = Array.from({ length: t3.info!.pieceCount }, (_, i) => i).filter((i) => !t3.picker!.has(i));
    // Pieces of the padding-only tail do not exist in v2: every piece belongs to a file.
    assert.deepEqual(missing, [long.first + 100], 'only the changed piece is missing; the rest of f-long was re-checked and kept');
    assert.equal(t3.layers!.complete, true);

    t3.addPeers(peers);
    assert.ok(await untilComplete(net, t3));
    const downloaded = t3.stats().downloaded;
    assert.ok(downloaded >= PIECE && downloaded <= 2 * PIECE, `only that piece was fetched again (${downloaded} bytes, perhaps twice in endgame)`);
    await assertExact(net, host, '/down/pack', swarm.files);
  });

  test('a hybrid torrent between warrens: SHA-1 checks, no piece layers to fetch, exact data', async () => {
    const net = new VirtualNetwork({ seed: 25, latency: () => 5 });
    const swarm = await seedSwarm(net, 2, { format: 'hybrid', long: false });
    const { created } = swarm;
    assert.ok(created.info.pieces, 'a hybrid has v1 piece hashes');
    assert.equal(created.info.metaVersion, 2);
    assert.equal(toHex(created.infoHash), sha1(created.infoBytes), 'known by its SHA-1');
    assert.equal(swarm.seeds[0]!.torrent.layers, undefined);
    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(leech.add({ infoHash: swarm.infoHash, dir: '/down', peers: swarm.seeds.map((s) => s.session.address) }));
    assert.ok(await untilComplete(net, t));
    assert.equal(t.state, 'seeding');
    assert.equal(t.layers, undefined, 'no v2 layers for a hybrid');
    assert.equal(t.hashesKnown, true);
    for (let i = 0; i < t.info!.pieceCount; i++) {
      const check = t.pieceCheck(i)!;
      assert.deepEqual(check.how, { kind: 'sha1' });
      assert.ok(Buffer.from(check.digest).equals(created.info.pieces!.subarray(i * 20, (i + 1) * 20)), `piece ${i}`);
    }
    assert.ok(t.infoHashV2 && Buffer.from(t.infoHashV2).equals(created.infoHashV2!));
    await assertExact(net, '10.0.1.1', '/down/pack', swarm.files);
  });
});

describe('v2: block hashes', () => {
  test("a seed answers a request for a piece's block hashes (as libtorrent asks after a failed piece), with the proof to the root", async () => {
    const net = new VirtualNetwork({ seed: 31, latency: () => 2 });
    const pieceLength = 65536;
    const data = new Mulberry32(9).bytes(10 * pieceLength + 20_000); // 11 pieces, the last one short
    const { seed, created, infoHash } = await startV2Seed(net, data, pieceLength);
    const { conn, answers } = await hashPeer(net, seed, infoHash);
    const root = created.info.files[0]!.piecesRoot!;
    // 43 blocks: 64 leaves, 6 layers; a piece is 4 blocks (p = 2). libtorrent's request: the piece's
    // blocks, with uncles from the piece up to the root (proof layers = 6 - 1).
    const ask = async (r: Omit<HashRequest, 'piecesRoot'>): Promise<PeerMessage> => {
      const before = answers.length;
      conn.write(encodeMessage({ type: 'hash-request', piecesRoot: root, ...r }));
      assert.ok(await net.clock.runUntil(() => answers.length > before, 5000), 'no answer');
      return answers[answers.length - 1]!;
    };
    const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest();
    for (const piece of [0, 3, 10]) {
      const r = { baseLayer: 0, index: piece * 4, length: 4, proofLayers: 5 };
      const answer = await ask(r);
      assert.equal(answer.type, 'hashes', `piece ${piece}`);
      const proven = verifyHashes({ piecesRoot: root, ...r }, (answer as PeerMessage & { hashes: Uint8Array }).hashes, data.length, pieceLength);
      assert.ok(proven, `piece ${piece}: the answer proves out to the root`);
      const blocks = Math.min(4, Math.ceil((data.length - piece * pieceLength) / 16384));
      for (let b = 0; b < blocks; b++) {
        const at = piece * pieceLength + b * 16384;
        assert.deepEqual(Buffer.from(proven.subarray(b * 32, b * 32 + 32)), sha256(data.subarray(at, Math.min(at + 16384, data.length))), `piece ${piece} block ${b}`);
      }
    }
    // Not one whole piece, or not aligned: rejected.
    assert.equal((await ask({ baseLayer: 0, index: 2, length: 4, proofLayers: 5 })).type, 'hash-reject');
    assert.equal((await ask({ baseLayer: 0, index: 0, length: 2, proofLayers: 5 })).type, 'hash-reject');
    // Each costs a read from disk: they are answered one at a time, at most 16 waiting; more are rejected.
    await net.clock.advance(1500);
    const before = answers.length;
    for (let i = 0; i < 20; i++) conn.write(encodeMessage({ type: 'hash-request', piecesRoot: root, baseLayer: 0, index: 4 * (i % 11), length: 4, proofLayers: 5 }));
    assert.ok(await net.clock.runUntil(() => answers.length === before + 20, 5000));
    const types = answers.slice(before).map((m) => m.type);
    assert.equal(types.filter((t) => t === 'hashes').length, 16, types.join(' '));
    assert.equal(types.filter((t) => t === 'hash-reject').length, 4);
    await net.clock.run(seed.close());
  });
});
