/**
 * Choosing which files of a torrent to download: the piece mask, and the engine on the virtual
 * network (only the chosen files' pieces are fetched, a choice made later, a partial seed, resume).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { parseInfoDict, type InfoDict } from '../../src/codec/metainfo.js';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { createTorrent, type CreatedTorrent, type TorrentFormat } from '../../src/swarm/create-torrent.js';
import { SwarmError } from '../../src/swarm/errors.js';
import { chosenFileFlags, selectableFiles, wantedPieceMask } from '../../src/swarm/file-selection.js';
import { SwarmSession } from '../../src/swarm/session.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { readAll, writeFile } from './memory-files.js';

const PIECE = 65536;
/** The folder shared in these tests: lengths chosen so pieces span file boundaries. */
const FILES: [string, number][] = [
  ['a.bin', 100_000],
  ['b.bin', 300_000],
  ['c.txt', 0],
  ['d.bin', 200_000],
  ['e.bin', 1],
  ['f.bin', 150_000],
];

const sha = (d: Uint8Array) => createHash('sha1').update(d).digest('hex');
const maskText = (mask: Uint8Array) => Array.from(mask, (b) => (b ? '1' : '.')).join('');

/** A v1 torrent's info of the given file lengths (no data needed to lay it out). */
function layout(lengths: number[], pieceLength = PIECE): InfoDict {
  let offset = 0;
  const files = lengths.map((length, i) => {
    const file = { path: [`f${i}`], length, offset };
    offset += length;
    return file;
  });
  return { name: 't', pieceLength, pieceCount: Math.ceil(offset / pieceLength), totalLength: offset, files, multiFile: true, private: false, metaVersion: 1 } as unknown as InfoDict;
}

describe('wantedPieceMask', () => {
  test('a piece is wanted when it holds any byte of a chosen file', () => {
    const info = layout([100, 300, 0, 50], 128); // bytes 0-99, 100-399, (none), 400-449: pieces 0..3
    assert.equal(maskText(wantedPieceMask(info, [0])), '1...');
    assert.equal(maskText(wantedPieceMask(info, [1])), '1111');
    assert.equal(maskText(wantedPieceMask(info, [3])), '...1');
    assert.equal(maskText(wantedPieceMask(info, [2])), '....', 'an empty file needs no piece');
    assert.equal(maskText(wantedPieceMask(info, [])), '....');
    assert.deepEqual(chosenFileFlags(info, [1, 2]), [false, true, true, false]);
    assert.deepEqual(chosenFileFlags(info, undefined), [true, true, true, true]);
  });

  test('padding files are not counted: indices are of the files a user sees', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const rt = net.runtime('10.0.0.1');
    await writeFile(rt, '/s/t/x.bin', new Uint8Array(70_000));
    await writeFile(rt, '/s/t/y.bin', new Uint8Array(10));
    const created = await net.clock.run(createTorrent(rt.fs, '/s/t', { pieceLength: PIECE, format: 'hybrid' }));
    const info = parseInfoDict(created.infoBytes);
    assert.ok(info.files.some((f) => f.padding), 'the hybrid has padding files');
    assert.deepEqual(selectableFiles(info).map((f) => f.path.join('/')), ['x.bin', 'y.bin']);
    assert.equal(maskText(wantedPieceMask(info, [1])), '..1', 'y.bin starts a piece of its own after the padding');
    assert.deepEqual(chosenFileFlags(info, [1]).filter((_, i) => !info.files[i]!.padding), [false, true]);
    assert.ok(chosenFileFlags(info, undefined).every((chosen, i) => chosen !== info.files[i]!.padding));
  });

  test('an index that names no file is refused with the file count', () => {
    const info = layout([10, 20, 30]);
    for (const bad of [3, -1, 1.5, Number.NaN]) {
      assert.throws(
        () => wantedPieceMask(info, [0, bad]),
        (e: unknown) => e instanceof SwarmError && e.code === 'FILE_INDEX' && /the torrent has 3 files/.test(e.message),
        String(bad),
      );
    }
  });
});

interface Shared {
  net: VirtualNetwork;
  seed: SwarmSession;
  infoHash: InfoHash;
  infoBytes: Uint8Array;
  info: InfoDict;
  /** Content by file name. */
  data: Map<string, Uint8Array>;
}

async function session(net: VirtualNetwork, host: string, dataDir?: string): Promise<SwarmSession> {
  const s = new SwarmSession({ host, port: 6881, dataDir }, net.runtime(host));
  await net.clock.run(s.start());
  return s;
}

/** A seed on 10.0.0.1 of the folder `FILES`, as a torrent of `format`. */
async function sharedFolder(seedNumber: number, format: TorrentFormat = 'v1'): Promise<Shared & { created: CreatedTorrent }> {
  const net = new VirtualNetwork({ seed: seedNumber, latency: () => 5 });
  const rt = net.runtime('10.0.0.1');
  const rng = new Mulberry32(seedNumber);
  const data = new Map<string, Uint8Array>();
  for (const [name, length] of FILES) {
    data.set(name, rng.bytes(length));
    await writeFile(rt, `/share/folder/${name}`, data.get(name)!);
  }
  const created = await net.clock.run(createTorrent(rt.fs, '/share/folder', { pieceLength: PIECE, format }));
  const infoHash = toInfoHash(created.infoHash);
  const seed = await session(net, '10.0.0.1');
  await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, pieceLayers: created.pieceLayers, dir: '/share', assumeComplete: true }));
  return { net, seed, infoHash, infoBytes: created.infoBytes, info: parseInfoDict(created.infoBytes), data, created };
}

/** The index among the selectable files of the file named `name`. */
function fileIndex(info: InfoDict, name: string): number {
  return selectableFiles(info).findIndex((f) => f.path.at(-1) === name);
}

/** 10.0.1.1 downloads only d.bin from the seed, which then leaves: 10.0.1.1 is the one partial seed. */
async function partialSeedOfD(seedNumber: number) {
  const shared = await sharedFolder(seedNumber);
  const { net, seed, infoHash, infoBytes, info } = shared;
  const chosen = [fileIndex(info, 'd.bin')];
  const first = await session(net, '10.0.1.1');
  const t1 = await net.clock.run(first.add({ infoHash, infoBytes, dir: '/down', peers: [seed.address], wantedFiles: chosen }));
  assert.ok(await untilSettled(net, t1));
  await net.clock.run(seed.close());
  return { ...shared, chosen, first, t1 };
}

function untilSettled(net: VirtualNetwork, torrent: Torrent): Promise<boolean> {
  return net.clock.runUntil(() => torrent.state === 'seeding' || torrent.state === 'error', 600_000);
}

async function fileOn(net: VirtualNetwork, host: string, path: string): Promise<Uint8Array | undefined> {
  const rt = net.runtime(host);
  return (await rt.fs.stat(path)) ? readAll(rt, path) : undefined;
}

describe('choosing files on the virtual network', () => {
  test('only the chosen files are fetched; choosing the rest later fetches the rest', async () => {
    const { net, seed, infoHash, infoBytes, info, data } = await sharedFolder(11);
    const chosen = [fileIndex(info, 'b.bin')];
    const mask = wantedPieceMask(info, chosen);
    const wantedPieces = mask.reduce((n, b) => n + b, 0);
    assert.ok(wantedPieces > 0 && wantedPieces < info.pieceCount);

    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(leech.add({ infoHash, infoBytes, dir: '/down', peers: [seed.address], wantedFiles: chosen }));
    let completions = 0;
    t.on((e) => {
      if (e.type === 'complete') completions++;
    });
    assert.ok(await untilSettled(net, t), `stuck in ${t.state}`);
    assert.equal(t.state, 'seeding');
    assert.equal(completions, 1);
    const stats = t.stats();
    assert.equal(stats.piecesHad, wantedPieces, 'exactly the wanted pieces are had');
    for (let i = 0; i < info.pieceCount; i++) assert.equal(t.picker!.has(i), mask[i] === 1, `piece ${i}`);
    assert.equal(stats.bytesLeft, 0);
    assert.ok(stats.wantedLength < stats.totalLength && stats.wantedLength >= 300_000);
    // a.bin shares its last piece with b.bin: that piece's bytes of it are written, as the piece must be whole to be checked
    const a = await fileOn(net, '10.0.1.1', '/down/folder/a.bin');
    assert.ok(a !== undefined && sha(a.subarray(PIECE, 100_000)) === sha(data.get('a.bin')!.subarray(PIECE)));
    assert.ok(stats.downloaded <= stats.wantedLength, `downloaded ${stats.downloaded} of ${stats.wantedLength} wanted`);
    for (const name of ['b.bin']) assert.equal(sha((await fileOn(net, '10.0.1.1', `/down/folder/${name}`))!), sha(data.get(name)!), name);
    assert.equal(await fileOn(net, '10.0.1.1', '/down/folder/c.txt'), undefined, 'an unchosen empty file is not made');
    assert.equal(await fileOn(net, '10.0.1.1', '/down/folder/f.bin'), undefined, 'a file sharing no piece with the chosen ones is not made');

    t.setWantedFiles(undefined);
    assert.equal(t.state, 'downloading');
    assert.ok(await untilSettled(net, t), `stuck in ${t.state}`);
    assert.equal(t.stats().piecesHad, info.pieceCount);
    assert.equal(completions, 2);
    for (const [name, content] of data) assert.equal(sha((await fileOn(net, '10.0.1.1', `/down/folder/${name}`))!), sha(content), name);
  });

  test('a choice given with a magnet is applied when the metadata arrives; a bad one stops the torrent with the reason', async () => {
    const { net, seed, infoHash, info, data } = await sharedFolder(12);
    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(leech.add({ infoHash, dir: '/down', peers: [seed.address], wantedFiles: [fileIndex(info, 'f.bin')] }));
    assert.equal(t.state, 'metadata');
    assert.ok(await untilSettled(net, t));
    assert.equal(t.state, 'seeding');
    assert.equal(sha((await fileOn(net, '10.0.1.1', '/down/folder/f.bin'))!), sha(data.get('f.bin')!));
    assert.equal(await fileOn(net, '10.0.1.1', '/down/folder/a.bin'), undefined);

    const other = await session(net, '10.0.1.2');
    const bad = await net.clock.run(other.add({ infoHash, dir: '/down', peers: [seed.address], wantedFiles: [0, 9] }));
    assert.ok(await untilSettled(net, bad));
    assert.equal(bad.state, 'error');
    assert.match(bad.error!.message, /no file number 10: the torrent has 6 files/);
    // The refused metadata is kept: a new choice is checked against it, and resume goes on with it.
    assert.throws(() => bad.setWantedFiles([6]), /no file number 7: the torrent has 6 files/);
    bad.setWantedFiles([fileIndex(info, 'a.bin')]);
    other.resume(infoHash);
    assert.ok(await untilSettled(net, bad));
    assert.equal(bad.state, 'seeding', bad.error?.message);
    assert.equal(sha((await fileOn(net, '10.0.1.2', '/down/folder/a.bin'))!), sha(data.get('a.bin')!));
    assert.throws(() => t.setWantedFiles([6]), /no file number 7/);
    assert.equal(t.state, 'seeding', 'a refused choice changes nothing');
  });

  test('a v2-only torrent from its magnet: the layers come first, then only the chosen file', async () => {
    const { net, seed, infoHash, info, data, created } = await sharedFolder(17, 'v2');
    const chosen = [fileIndex(info, 'd.bin')];
    const mask = wantedPieceMask(info, chosen);
    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(leech.add({ infoHash, infoHashV2: created.infoHashV2, dir: '/down', peers: [seed.address], wantedFiles: chosen }));
    assert.ok(await untilSettled(net, t), `stuck in ${t.state}`);
    assert.equal(t.state, 'seeding', t.error?.message);
    for (let i = 0; i < info.pieceCount; i++) assert.equal(t.picker!.has(i), mask[i] === 1, `piece ${i}`);
    assert.equal(sha((await fileOn(net, '10.0.1.1', '/down/folder/d.bin'))!), sha(data.get('d.bin')!));
    for (const other of ['a.bin', 'b.bin', 'f.bin']) assert.equal(await fileOn(net, '10.0.1.1', `/down/folder/${other}`), undefined, `${other}: v2 pieces hold one file each`);
    const rootOf = (name: string) => Buffer.from(info.files[info.files.findIndex((f) => f.path.at(-1) === name)]!.piecesRoot!).toString('hex');
    assert.deepEqual([...t.layers!.known().keys()], [rootOf('d.bin')], 'only the chosen file\'s piece layer was asked for');

    // Choosing one more file later: its layer is fetched, then its pieces.
    t.setWantedFiles([...chosen, fileIndex(info, 'a.bin')]);
    assert.equal(t.state, 'downloading');
    assert.equal(t.hashesKnown, false, 'a.bin spans 2 pieces: its layer is needed first');
    assert.ok(await untilSettled(net, t), `stuck in ${t.state}`);
    assert.equal(t.state, 'seeding', t.error?.message);
    assert.equal(sha((await fileOn(net, '10.0.1.1', '/down/folder/a.bin'))!), sha(data.get('a.bin')!));
    assert.deepEqual(new Set(t.layers!.known().keys()), new Set([rootOf('d.bin'), rootOf('a.bin')]));
  });

  test('changing the choice while downloading: dropping the last wanted file finishes at once', async () => {
    const { net, seed, infoHash, infoBytes, info } = await sharedFolder(13);
    const leech = await session(net, '10.0.1.1');
    const t = await net.clock.run(leech.add({ infoHash, infoBytes, dir: '/down', peers: [seed.address], wantedFiles: [fileIndex(info, 'a.bin'), fileIndex(info, 'f.bin')] }));
    await net.clock.runUntil(() => t.picker!.has(0), 600_000);
    t.setWantedFiles([fileIndex(info, 'a.bin')]);
    assert.ok(await untilSettled(net, t));
    assert.equal(t.state, 'seeding');
    assert.ok(t.picker!.has(0) && t.picker!.has(1), 'a.bin is pieces 0 and 1');
    assert.equal(t.stats().bytesLeft, 0);
  });

  test('a partial seed serves the pieces it has to a leecher wanting the same file', async () => {
    const { net, infoHash, infoBytes, data, chosen, first, t1 } = await partialSeedOfD(14);
    const second = await session(net, '10.0.1.2');
    const t2 = await net.clock.run(second.add({ infoHash, infoBytes, dir: '/down', peers: [first.address], wantedFiles: chosen }));
    assert.ok(await untilSettled(net, t2), `stuck in ${t2.state}`);
    assert.equal(t2.state, 'seeding');
    assert.equal(sha((await fileOn(net, '10.0.1.2', '/down/folder/d.bin'))!), sha(data.get('d.bin')!));
    // Both now want nothing: t1 said so in its extended handshake (BEP 21 upload_only), so t2 hangs up.
    assert.ok(await net.clock.runUntil(() => t1.links.size === 0 && t2.links.size === 0, 10_000), 'the two partial seeds stay connected');
  });

  test("a partial seed that chooses more files says so (libtorrent's upload_only message): its leecher, done, stays connected", async () => {
    const { net, infoHash, infoBytes, data, chosen, first, t1 } = await partialSeedOfD(16);
    const second = await session(net, '10.0.1.2');
    // Slow enough (20 KB/s) to change t1's choice while t2 still downloads from it.
    const t2 = await net.clock.run(second.add({ infoHash, infoBytes, dir: '/down', peers: [first.address], wantedFiles: chosen, downloadLimit: 20_000 }));
    assert.ok(await net.clock.runUntil(() => t2.stats().piecesHad >= 1, 60_000));
    assert.equal(t2.state, 'downloading');
    t1.setWantedFiles(undefined);
    assert.equal(t1.state, 'downloading');
    assert.ok(await untilSettled(net, t2));
    assert.equal(sha((await fileOn(net, '10.0.1.2', '/down/folder/d.bin'))!), sha(data.get('d.bin')!));
    await net.clock.advance(5_000);
    assert.equal(t2.links.size, 1, 't2 knows t1 wants pieces again, so it keeps the connection');
    assert.equal(t1.links.size, 1);
  });

  test('restarted with the same choice, a finished download checks its data and fetches nothing', async () => {
    const { net, seed, infoHash, infoBytes, info } = await sharedFolder(15);
    const chosen = [fileIndex(info, 'b.bin')];
    const first = await session(net, '10.0.1.1', '/state');
    const t1 = await net.clock.run(first.add({ infoHash, infoBytes, dir: '/down', peers: [seed.address], wantedFiles: chosen }));
    assert.ok(await untilSettled(net, t1));
    const had = t1.stats().piecesHad;
    await net.clock.run(first.close());
    const second = await session(net, '10.0.1.1', '/state');
    const t2 = await net.clock.run(second.add({ infoHash, infoBytes, dir: '/down', peers: [seed.address], wantedFiles: chosen }));
    assert.equal(t2.state, 'seeding');
    assert.equal(t2.stats().piecesHad, had);
    await net.clock.advance(5_000);
    assert.equal(t2.stats().downloaded, 0);
  });
});
