/**
 * `PieceLayers`, the BEP 52 hashes of a v2-only torrent: how each piece is checked (small files
 * against their root, big files against their verified piece layer), which layers are accepted,
 * the hash requests for the missing ones (chunks, timeouts, refusals, lies), and the answers to
 * other peers' requests. The expectations come from real data hashed independently
 * (`createTorrent`, `FileMerkleBuilder`, `smallFileRoot`, `pieceHashV2`), never from the class.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { pieceSize, type InfoDict } from '../../src/codec/metainfo.js';
import { toHex } from '../../src/dht/types.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import {
  FileMerkleBuilder,
  HASH_SIZE,
  MERKLE_BLOCK,
  PIECE_LAYER_CHUNK,
  PieceLayerTree,
  pieceHashV2,
  pieceLayerRequests,
  smallFileRoot,
  verifyHashes,
  type HashRequest,
} from '../../src/swarm/merkle.js';
import { digestOf } from '../../src/swarm/piece-hasher.js';
import { PieceLayers } from '../../src/swarm/piece-layers.js';
import { TorrentStorage } from '../../src/swarm/storage.js';

const KiB = 1024;

/** A v2-only torrent made by `createTorrent` from `files` (name → bytes) in a folder `/src/t`. */
interface Fixture {
  fs: MemoryFileStore;
  info: InfoDict;
  /** The piece layers `createTorrent` made, by root hex. */
  pieceLayers: Map<string, Uint8Array>;
  data: Map<string, Uint8Array>;
  /** A file of the torrent by name: its index in `info.files`, bytes, root hex and first piece. */
  file(name: string): { index: number; bytes: Uint8Array; rootHex: string; root: Uint8Array; first: number; pieces: number };
}

async function fixture(pieceLength: number, files: [string, Uint8Array][]): Promise<Fixture> {
  const fs = new MemoryFileStore();
  await fs.mkdir('/src/t');
  for (const [name, bytes] of files) await fs.writeFile(`/src/t/${name}`, bytes);
  const created = await createTorrent(fs, '/src/t', { pieceLength, format: 'v2' });
  const { info } = created;
  assert.equal(info.pieces, undefined, 'v2-only');
  const data = new Map(files);
  return {
    fs,
    info,
    pieceLayers: created.pieceLayers,
    data,
    file(name) {
      const index = info.files.findIndex((f) => f.path[f.path.length - 1] === name && !f.padding);
      assert.ok(index >= 0, name);
      const f = info.files[index]!;
      return {
        index,
        bytes: data.get(name)!,
        root: f.piecesRoot!,
        rootHex: toHex(f.piecesRoot!),
        first: f.offset / pieceLength,
        pieces: Math.ceil(f.length / pieceLength),
      };
    },
  };
}

function bytes(seed: number, length: number): Uint8Array {
  return new Mulberry32(seed).bytes(length);
}

/** Piece `inFile` of a file as the torrent's data has it: the file's bytes, then zeros (padding) to the piece's size. */
function pieceData(info: InfoDict, fileBytes: Uint8Array, first: number, inFile: number): Uint8Array {
  const out = new Uint8Array(pieceSize(info, first + inFile));
  out.set(fileBytes.subarray(inFile * info.pieceLength, (inFile + 1) * info.pieceLength));
  return out;
}

/** The piece layer of `data` hashed independently of `createTorrent` (fed in odd chunks). */
function builderLayer(data: Uint8Array, pieceLength: number): Uint8Array {
  const builder = new FileMerkleBuilder(pieceLength);
  for (let at = 0; at < data.length; at += 12345) builder.update(data.subarray(at, at + 12345));
  return builder.finish().pieceLayer!;
}

function flipped(data: Uint8Array, at: number): Uint8Array {
  const out = data.slice();
  out[at]! ^= 0x01;
  return out;
}

/** `hashes` followed by one more (zero) hash. */
function withExtraHash(hashes: Uint8Array): Uint8Array {
  const out = new Uint8Array(hashes.length + HASH_SIZE);
  out.set(hashes);
  return out;
}

function randomHex(seed: number): string {
  return toHex(bytes(seed, 32));
}

const same = (a: Uint8Array | undefined, b: Uint8Array | undefined): boolean => a !== undefined && b !== undefined && Buffer.from(a).equals(b);

// 64 KiB pieces (4 blocks): files of one block, three blocks (width 4), exactly one piece, a big
// file (4 pieces, short last), an empty file, a copy of the big one (same root), and another big one.
const PIECE = 64 * KiB;
const mixedFiles = (): [string, Uint8Array][] => [
  ['a', bytes(1, 5000)],
  ['b', bytes(2, 40000)],
  ['c', bytes(3, PIECE)],
  ['d', bytes(4, 200_000)],
  ['e', new Uint8Array(0)],
  ['f', bytes(4, 200_000)],
  ['g', bytes(5, 150_000)],
];

describe('PieceLayers.check', () => {
  test('a file of at most one piece is checked against its root at once; width is the next power of two of its blocks', async () => {
    const fx = await fixture(PIECE, mixedFiles());
    const layers = new PieceLayers(fx.info, () => 0);
    const expected: [string, number, number][] = [
      ['a', 5000, 1],
      ['b', 40000, 4],
      ['c', PIECE, 4],
    ];
    for (const [name, length, width] of expected) {
      const f = fx.file(name);
      assert.equal(f.pieces, 1);
      const check = layers.check(f.first);
      assert.ok(check, `${name} is checkable without any layer`);
      assert.deepEqual(check.how, { kind: 'merkle', length, width }, name);
      assert.ok(same(check.digest, f.root), `${name}: the digest is its pieces root`);
      assert.ok(same(check.digest, smallFileRoot(f.bytes)), `${name}: and that root is its data's`);
      const piece = pieceData(fx.info, f.bytes, f.first, 0);
      assert.equal(piece.length, PIECE, 'the padding after the file fills its piece');
      assert.ok(same(digestOf(piece, check.how), check.digest), `${name}: its piece (data + zero padding) verifies`);
      assert.equal(same(digestOf(flipped(piece, length - 1), check.how), check.digest), false, `${name}: a changed last byte does not`);
    }
    assert.equal(layers.complete, false, 'the big files still need their layers');
  });

  test('a torrent of files of at most one piece needs no layer at all', async () => {
    const fx = await fixture(PIECE, [
      ['x', bytes(11, 100)],
      ['y', bytes(12, PIECE)],
      ['z', new Uint8Array(0)],
    ]);
    const layers = new PieceLayers(fx.info, () => 0);
    assert.equal(layers.complete, true);
    assert.deepEqual(layers.requestsFor('A', 10), []);
    assert.equal(fx.info.pieceCount, 2);
    assert.ok(layers.check(0) && layers.check(1));
  });

  test('a big file is not checkable until its layer is added; then each piece gets its slice (a copy shares it)', async () => {
    const fx = await fixture(PIECE, mixedFiles());
    const layers = new PieceLayers(fx.info, () => 0);
    const [d, f, g] = [fx.file('d'), fx.file('f'), fx.file('g')];
    assert.equal(d.rootHex, f.rootHex, 'identical files share a root');
    assert.deepEqual([d.first, d.pieces, f.first, f.pieces, g.first, g.pieces], [3, 4, 7, 4, 11, 3]);
    assert.equal(fx.info.pieceCount, 14);
    for (let i = 3; i < 14; i++) assert.equal(layers.check(i), undefined, `piece ${i} before any layer`);

    assert.equal(layers.add(d.rootHex, fx.pieceLayers.get(d.rootHex)!), true);
    assert.equal(layers.complete, false, 'g is still missing');
    for (let i = 11; i < 14; i++) assert.equal(layers.check(i), undefined, `piece ${i} of g`);
    assert.equal(layers.add(g.rootHex, builderLayer(g.bytes, PIECE)), true);
    assert.equal(layers.complete, true);

    for (const file of [d, f, g]) {
      const layer = builderLayer(file.bytes, PIECE);
      for (let k = 0; k < file.pieces; k++) {
        const check = layers.check(file.first + k)!;
        const length = Math.min(PIECE, file.bytes.length - k * PIECE);
        assert.deepEqual(check.how, { kind: 'merkle', length, width: PIECE / MERKLE_BLOCK }, `piece ${k} of a file of ${file.bytes.length}`);
        assert.ok(same(check.digest, layer.subarray(k * HASH_SIZE, (k + 1) * HASH_SIZE)), 'the layer slice');
        assert.ok(same(check.digest, pieceHashV2(file.bytes.subarray(k * PIECE, (k + 1) * PIECE), PIECE)), 'its data hashes to it');
        const piece = pieceData(fx.info, file.bytes, file.first, k);
        assert.ok(same(digestOf(piece, check.how), check.digest), `piece ${file.first + k} verifies`);
        assert.equal(same(digestOf(flipped(piece, length - 1), check.how), check.digest), false);
      }
    }
    // The last piece of d holds 3392 bytes of data and padding to 64 KiB.
    assert.deepEqual(layers.check(6)!.how, { kind: 'merkle', length: 200_000 - 3 * PIECE, width: 4 });
    assert.equal(layers.check(fx.info.pieceCount), undefined);
    assert.equal(layers.check(-1), undefined);
  });

  test('the storage, padding read as zeros, verifies every piece with these checks; a changed byte fails only its piece', async () => {
    const fx = await fixture(PIECE, mixedFiles());
    const layers = new PieceLayers(fx.info, () => 0);
    for (const [root, layer] of fx.pieceLayers) assert.equal(layers.add(root, layer), true);
    const storage = new TorrentStorage(fx.fs, fx.info, '/src');
    for (let i = 0; i < fx.info.pieceCount; i++) assert.equal(await storage.verifyPiece(i, layers.check(i)!), true, `piece ${i}`);
    // One byte of g's second piece, changed in place.
    const handle = await fx.fs.open('/src/t/g', 'rw');
    await handle.write(new Uint8Array([fx.data.get('g')![PIECE + 100]! ^ 0x01]), PIECE + 100);
    await handle.close();
    const bad: number[] = [];
    for (let i = 0; i < fx.info.pieceCount; i++) if (!(await storage.verifyPiece(i, layers.check(i)!))) bad.push(i);
    assert.deepEqual(bad, [12]);
    await storage.close();
  });
});

describe('PieceLayers.add', () => {
  test('rejects a layer of the wrong length, a tampered one, an unknown root, a file that has no layer', async () => {
    const fx = await fixture(PIECE, mixedFiles());
    const layers = new PieceLayers(fx.info, () => 0);
    const d = fx.file('d');
    const good = fx.pieceLayers.get(d.rootHex)!;
    assert.equal(good.length, 4 * HASH_SIZE);
    const longer = withExtraHash(good);
    assert.equal(layers.add(d.rootHex, good.subarray(0, good.length - HASH_SIZE)), false, 'one hash short');
    assert.equal(layers.add(d.rootHex, longer), false, 'one hash too many');
    assert.equal(layers.add(d.rootHex, good.subarray(0, good.length - 1)), false, 'not whole hashes');
    assert.equal(layers.add(d.rootHex, new Uint8Array(0)), false, 'empty');
    for (const at of [0, 31, 32, good.length - 1]) assert.equal(layers.add(d.rootHex, flipped(good, at)), false, `byte ${at} changed`);
    assert.equal(layers.add(randomHex(99), good), false, 'no file has that root');
    assert.equal(layers.add(fx.file('g').rootHex, good), false, "d's layer is not g's");
    assert.equal(layers.add(fx.file('a').rootHex, fx.file('a').root), false, 'a file of one piece has no layer');
    assert.equal(layers.known().size, 0, 'nothing kept');
    assert.equal(layers.check(d.first), undefined);
    assert.equal(layers.complete, false);

    const mine = good.slice();
    assert.equal(layers.add(d.rootHex, mine), true);
    mine.fill(0); // the caller's buffer is not kept
    assert.ok(same(layers.check(d.first)!.digest, good.subarray(0, HASH_SIZE)));
    assert.ok(same(layers.check(fx.file('f').first + 3)!.digest, good.subarray(3 * HASH_SIZE)), 'the copy f uses the same layer');
    assert.equal(layers.add(d.rootHex, good), true, 'the same layer again is fine');
    assert.equal(layers.add(d.rootHex, flipped(good, 5)), false, 'another one is not, and does not replace it');
    assert.ok(same(layers.known().get(d.rootHex), good));
    assert.deepEqual([...layers.known().keys()], [d.rootHex], 'one layer for the two identical files');
  });
});

// 16 KiB pieces: a file of 520 pieces needs two requests (512 + 8 hashes); one of 4 pieces, one.
const LONG_PIECES = 520;
const chunkFiles = (): [string, Uint8Array][] => [
  ['long.bin', bytes(7, LONG_PIECES * 16 * KiB - 1000)],
  ['mid.bin', bytes(8, 3 * 16 * KiB + 7)],
  ['small.bin', bytes(9, 100)],
];

let chunkFixtureMade: Promise<Fixture> | undefined;
/** Made once (8 MiB to hash); the tests only read it. */
const chunkFixture = (): Promise<Fixture> => (chunkFixtureMade ??= fixture(16 * KiB, chunkFiles()));

/** What an honest seeder answers: from a `PieceLayerTree` over the real layer. */
function honest(fx: Fixture): (r: HashRequest) => Uint8Array {
  const trees = new Map<string, PieceLayerTree>();
  for (const name of ['long.bin', 'mid.bin']) {
    const f = fx.file(name);
    trees.set(f.rootHex, new PieceLayerTree(fx.pieceLayers.get(f.rootHex)!, f.bytes.length, fx.info.pieceLength));
  }
  return (r) => trees.get(toHex(r.piecesRoot))!.answer(r)!;
}

describe('PieceLayers hash requests', () => {
  test('the missing layers are asked for in chunks of 512 hashes, each once; the answers assemble the exact layers', async () => {
    const fx = await chunkFixture();
    const [long, mid] = [fx.file('long.bin'), fx.file('mid.bin')];
    const expected = [...pieceLayerRequests(long.root, long.bytes.length, 16 * KiB), ...pieceLayerRequests(mid.root, mid.bytes.length, 16 * KiB)];
    assert.deepEqual(
      expected.map((r) => [r.index, r.length]),
      [
        [0, PIECE_LAYER_CHUNK],
        [512, 8],
        [0, 4],
      ],
    );
    const layers = new PieceLayers(fx.info, () => 0);
    assert.deepEqual(layers.requestsFor('A', 2), expected.slice(0, 2), 'at most max');
    assert.deepEqual(layers.requestsFor('A', 10), expected.slice(2));
    assert.deepEqual(layers.requestsFor('A', 10), [], 'all asked');
    assert.deepEqual(layers.requestsFor('B', 10), [], 'and none timed out');

    const answer = honest(fx);
    assert.equal(layers.received('A', expected[0]!, answer(expected[0]!)), 'verified');
    assert.equal(layers.received('A', expected[0]!, answer(expected[0]!)), 'unexpected', 'a chunk already had');
    assert.equal(layers.check(long.first), undefined, 'half a layer checks nothing');
    assert.equal(layers.known().size, 0);
    assert.equal(layers.received('A', expected[2]!, answer(expected[2]!)), 'verified');
    assert.ok(layers.check(mid.first + 3), 'mid is complete');
    assert.equal(layers.complete, false);
    assert.equal(layers.received('A', expected[1]!, answer(expected[1]!)), 'verified');
    assert.equal(layers.complete, true);
    const layer = layers.known().get(long.rootHex)!;
    assert.equal(layer.length, LONG_PIECES * HASH_SIZE, 'the pad hashes past the last piece are cut off');
    assert.ok(same(layer, fx.pieceLayers.get(long.rootHex)), "createTorrent's layer");
    assert.ok(same(layer, builderLayer(long.bytes, 16 * KiB)), "FileMerkleBuilder's layer");
    assert.ok(same(layers.known().get(mid.rootHex), builderLayer(mid.bytes, 16 * KiB)));
    assert.ok(same(layers.check(long.first + LONG_PIECES - 1)!.digest, layer.subarray(-HASH_SIZE)));
    assert.equal(layers.received('B', expected[1]!, answer(expected[1]!)), 'unexpected', 'after completion');
    assert.deepEqual(layers.requestsFor('C', 10), []);
  });

  test('answers to requests never made are unexpected, and change nothing', async () => {
    const fx = await chunkFixture();
    const long = fx.file('long.bin');
    const layers = new PieceLayers(fx.info, () => 0);
    const answer = honest(fx);
    const [first] = layers.requestsFor('A', 1);
    const odd: HashRequest[] = [
      { ...first!, index: 256, length: 256 }, // valid, with a proof, but not ours
      { ...first!, proofLayers: first!.proofLayers - 1 },
      { ...first!, piecesRoot: fx.file('small.bin').root },
      { ...first!, piecesRoot: bytes(3, 32) },
    ];
    for (const r of odd) assert.equal(layers.received('A', r, new Uint8Array(0)), 'unexpected', JSON.stringify({ ...r, piecesRoot: undefined }));
    const sub = { ...first!, index: 256, length: 256 };
    assert.equal(layers.received('A', sub, answer(sub)), 'unexpected', 'even when it proves out');
    assert.equal(layers.known().size, 0);
    assert.equal(layers.check(long.first), undefined);
  });

  test('a request unanswered for 10 s goes to another peer (the injected clock)', async () => {
    const fx = await chunkFixture();
    let now = 1_000_000;
    const layers = new PieceLayers(fx.info, () => now);
    const all = layers.requestsFor('A', 10);
    assert.equal(all.length, 3);
    now += 9_999;
    assert.deepEqual(layers.requestsFor('B', 10), []);
    now += 1;
    assert.deepEqual(layers.requestsFor('B', 10), all, 'after 10 s');
    now += 5_000;
    assert.deepEqual(layers.requestsFor('A', 10), [], 'B has them now');
    now += 5_000;
    assert.deepEqual(layers.requestsFor('A', 10), all, 'and B timed out too');
  });

  test('a peer that refuses a request is not asked for it again; a peer that left frees its requests at once', async () => {
    const fx = await chunkFixture();
    let now = 0;
    const layers = new PieceLayers(fx.info, () => now);
    const [r0, r1, r2] = layers.requestsFor('A', 10);
    layers.rejected('A', r0!);
    assert.deepEqual(layers.requestsFor('A', 10), [], 'A refused r0 and still has r1, r2');
    assert.deepEqual(layers.requestsFor('B', 10), [r0], 'r0 goes to B at once');
    now = 10_000;
    assert.deepEqual(layers.requestsFor('A', 10), [r1, r2], 'after the timeout, A is asked again, but never for r0');
    layers.rejected('B', r0!);
    assert.deepEqual(layers.requestsFor('A', 10), []);
    assert.deepEqual(layers.requestsFor('C', 10), [r0]);
    layers.peerGone('A');
    assert.deepEqual(layers.requestsFor('D', 10), [r1, r2], "A's requests are free as soon as it is gone");
    layers.rejected('X', { ...r0!, index: 8 }); // not a request of ours: ignored
    layers.rejected('X', { ...r0!, piecesRoot: bytes(1, 32) });
    now = 30_000;
    assert.deepEqual(layers.requestsFor('X', 10), [r0, r1, r2]);
  });

  test('a bad answer is refused: the liar is not asked again, another peer is asked at once, nothing is kept', async () => {
    const fx = await chunkFixture();
    const long = fx.file('long.bin');
    const layers = new PieceLayers(fx.info, () => 0);
    const answer = honest(fx);
    const [r0, r1, r2] = layers.requestsFor('A', 10);
    const good = answer(r0!);
    assert.equal(good.length, (512 + 1) * HASH_SIZE, 'base hashes and one uncle (to the root)');
    const lies = [
      flipped(good, 7), // a base hash
      flipped(good, good.length - 1), // the uncle
      good.subarray(0, good.length - HASH_SIZE), // no uncle
      withExtraHash(good), // one hash too many
      new Uint8Array(good.length), // zeros
    ];
    for (const [i, lie] of lies.entries()) assert.equal(layers.received(`L${i}`, r0!, lie), 'bad', `lie ${i}`);
    assert.equal(layers.received('A', r0!, flipped(good, 40)), 'bad', 'the peer asked lies too');
    assert.equal(layers.known().size, 0, 'nothing kept');
    assert.deepEqual(layers.requestsFor('L0', 10), [], 'a liar is not asked for what it lied about (and A still has r1, r2)');
    assert.deepEqual(layers.requestsFor('A', 10), []);
    assert.deepEqual(layers.requestsFor('B', 10), [r0], "A's lie frees r0 for B at once");
    assert.equal(layers.received('B', r0!, good), 'verified');
    assert.equal(layers.received('A', r1!, answer(r1!)), 'verified');
    assert.equal(layers.received('A', r2!, answer(r2!)), 'verified');
    assert.equal(layers.complete, true);
    assert.ok(same(layers.known().get(long.rootHex), fx.pieceLayers.get(long.rootHex)), 'the layer is exact');
  });
});

describe('PieceLayers.answer', () => {
  test("a seeder's answers prove out with verifyHashes for every request a downloader makes", async () => {
    const fx = await chunkFixture();
    const seeder = new PieceLayers(fx.info, () => 0);
    const [long, mid, small] = [fx.file('long.bin'), fx.file('mid.bin'), fx.file('small.bin')];
    const first = pieceLayerRequests(long.root, long.bytes.length, 16 * KiB)[0]!;
    assert.equal(seeder.answer(first), undefined, 'no layer yet: rejected');
    for (const [root, layer] of fx.pieceLayers) assert.equal(seeder.add(root, layer), true);

    for (const f of [long, mid]) {
      const layer = fx.pieceLayers.get(f.rootHex)!;
      for (const r of pieceLayerRequests(f.root, f.bytes.length, 16 * KiB)) {
        const hashes = seeder.answer(r);
        assert.ok(hashes, `answer for ${r.index}+${r.length}`);
        const base = verifyHashes(r, hashes, f.bytes.length, 16 * KiB);
        assert.ok(base, 'proves out');
        assert.ok(same(base, layer.subarray(r.index * HASH_SIZE, (r.index + r.length) * HASH_SIZE)), 'and is the layer');
      }
    }
    // A downloader fed only by the seeder's answers ends with the exact layers.
    const leecher = new PieceLayers(fx.info, () => 0);
    for (let round = 0; round < 3 && !leecher.complete; round++) {
      for (const r of leecher.requestsFor('seeder', 4)) assert.equal(leecher.received('seeder', r, seeder.answer(r)!), 'verified');
    }
    assert.equal(leecher.complete, true);
    assert.deepEqual(new Map(leecher.known()), fx.pieceLayers);

    assert.equal(seeder.answer({ ...first, piecesRoot: small.root }), undefined, 'a file of one piece has no layer to give');
    assert.equal(seeder.answer({ ...first, piecesRoot: bytes(5, 32) }), undefined, 'unknown root');
    assert.equal(seeder.answer({ ...first, index: 3, length: 2 }), undefined, 'index not a multiple of length');
    assert.equal(seeder.answer({ ...first, length: 3 }), undefined, 'length not a power of two');
    assert.equal(seeder.answer({ ...first, index: 1024 }), undefined, 'past the tree');
    assert.equal(seeder.answer({ ...first, baseLayer: first.baseLayer + 20 }), undefined, 'above the root');
  });
});
