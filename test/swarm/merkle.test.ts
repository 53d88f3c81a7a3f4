import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import {
  FileMerkleBuilder,
  HASH_SIZE,
  MERKLE_BLOCK,
  PieceLayerAssembler,
  PieceLayerTree,
  blockHashes,
  merkleRoot,
  padHash,
  pieceHashV2,
  pieceLayerRequests,
  pieceLayerRoot,
  smallFileRoot,
  validHashRequest,
  verifyHashes,
  type HashRequest,
} from '../../src/swarm/merkle.js';

const KiB = 1024;
const MiB = 1024 * KiB;

// ---- an independent, naive tree: every level as an array of hashes, built from the leaves up ----

function sha(...parts: Uint8Array[]): Uint8Array {
  const h = createHash('sha256');
  for (const part of parts) h.update(part);
  return new Uint8Array(h.digest());
}

const zeroHash = new Uint8Array(32);

/** All levels (leaves first) of the tree over `leaves` padded with `pad` to a power of two. */
function naiveLevels(leaves: Uint8Array[], pad: Uint8Array = zeroHash): Uint8Array[][] {
  let width = 1;
  while (width < leaves.length) width *= 2;
  const bottom = [...leaves];
  while (bottom.length < width) bottom.push(pad);
  const levels = [bottom];
  while (levels[levels.length - 1]!.length > 1) {
    const below = levels[levels.length - 1]!;
    const next: Uint8Array[] = [];
    for (let i = 0; i < below.length; i += 2) next.push(sha(below[i]!, below[i + 1]!));
    levels.push(next);
  }
  return levels;
}

function naiveBlocks(data: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at < data.length; at += MERKLE_BLOCK) out.push(sha(data.subarray(at, at + MERKLE_BLOCK)));
  return out;
}

/** Root of 2^height zero leaves, by building that tree. */
function naivePad(height: number): Uint8Array {
  const levels = naiveLevels(new Array<Uint8Array>(2 ** height).fill(zeroHash));
  return levels[levels.length - 1]![0]!;
}

function concat(hashes: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(hashes.length * 32);
  hashes.forEach((h, i) => out.set(h, i * 32));
  return out;
}

function log2(n: number): number {
  return Math.round(Math.log2(n));
}

const made = new Map<string, Uint8Array>();

/** Deterministic bytes (the same array for the same arguments: do not modify). */
function bytes(length: number, seed: number): Uint8Array {
  const key = `${length}/${seed}`;
  const known = made.get(key);
  if (known) return known;
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  made.set(key, out);
  return out;
}

/** A small deterministic PRNG for chunk sizes and picks. */
function rng(seed: number): (n: number) => number {
  let x = seed >>> 0 || 1;
  return (n) => {
    x ^= x << 13;
    x >>>= 0;
    x ^= x >>> 17;
    x ^= x << 5;
    x >>>= 0;
    return x % n;
  };
}

function flipped(data: Uint8Array, at: number): Uint8Array {
  const copy = data.slice();
  copy[at]! ^= 0x01;
  return copy;
}

function hex(a: Uint8Array): string {
  return Buffer.from(a).toString('hex');
}

/** Piece layer and root of `data` by the naive tree, for pieces of 2^p blocks. */
function naiveFile(data: Uint8Array, pieceLength: number): { root: Uint8Array; layer?: Uint8Array } {
  const p = log2(pieceLength / MERKLE_BLOCK);
  const levels = naiveLevels(naiveBlocks(data));
  const root = levels[levels.length - 1]![0]!;
  if (data.length <= pieceLength) return { root };
  const count = Math.ceil(data.length / pieceLength);
  return { root, layer: concat(levels[p]!.slice(0, count)) };
}

// ---- file shapes ----

const SHAPES: Array<{ pieceLength: number; sizes: number[] }> = [
  { pieceLength: 16 * KiB, sizes: [1, 16383, 16384, 16385, 5 * 16384 + 100, 9 * 16384] },
  { pieceLength: 32 * KiB, sizes: [1, 16383, 16384, 16385, 32768, 32769, 7 * 32768 - 5, 3 * 32768 + 16384, 5 * 32768 + 16385] },
  { pieceLength: 64 * KiB, sizes: [1, 3 * 16384 + 7, 65536, 65537, 200_000, 9 * 65536 + 1] },
  { pieceLength: 4 * MiB, sizes: [1, 3 * 16384 + 7, 4 * MiB, 4 * MiB + 1] },
];

describe('merkle: pad hashes and roots', () => {
  test('padHash(0) is 32 zero bytes, padHash(1) the SHA-256 of 64 zero bytes', () => {
    assert.deepEqual(padHash(0), new Uint8Array(32));
    const expected = new Uint8Array(createHash('sha256').update(new Uint8Array(64)).digest());
    assert.equal(hex(padHash(1)), hex(expected));
    assert.equal(hex(padHash(2)), hex(sha(expected, expected)));
    for (const h of [3, 5, 9]) assert.equal(hex(padHash(h)), hex(naivePad(h)), `height ${h}`);
  });

  test('padHash hands out copies', () => {
    const a = padHash(3);
    a.fill(7);
    assert.equal(hex(padHash(3)), hex(naivePad(3)));
  });

  test('a 1-byte file: the root is the SHA-256 of that byte', () => {
    const data = new Uint8Array([0x61]);
    const expected = createHash('sha256').update(data).digest('hex');
    assert.equal(hex(smallFileRoot(data)), expected);
    assert.equal(expected, 'ca978112ca1bbdcafac231b39a23dc4da786eff8147c4e72b9807785afee48bb');
    const builder = new FileMerkleBuilder(4 * MiB);
    builder.update(data);
    const { root, pieceLayer } = builder.finish();
    assert.equal(hex(root), expected);
    assert.equal(pieceLayer, undefined);
  });

  test('merkleRoot pads short levels and an empty one', () => {
    const leaves = Array.from({ length: 5 }, (_, i) => sha(new Uint8Array([i])));
    const odd = sha(new Uint8Array([99]));
    for (const width of [8, 16]) {
      const levels = naiveLevels(leaves.concat(new Array<Uint8Array>(width - 5).fill(odd)));
      assert.equal(hex(merkleRoot(concat(leaves), width, odd)), hex(levels[levels.length - 1]![0]!));
    }
    assert.equal(hex(merkleRoot(new Uint8Array(0), 8, zeroHash)), hex(naivePad(3)));
    assert.equal(hex(merkleRoot(concat([odd]), 1, zeroHash)), hex(odd));
    assert.throws(() => merkleRoot(concat(leaves), 4, zeroHash), RangeError);
    assert.throws(() => merkleRoot(concat(leaves), 6, zeroHash), RangeError);
  });

  test('blockHashes: one SHA-256 per 16 KiB, the last block as is', () => {
    const data = bytes(2 * MERKLE_BLOCK + 10, 1);
    assert.equal(hex(blockHashes(data)), hex(concat(naiveBlocks(data))));
    assert.equal(blockHashes(new Uint8Array(0)).length, 0);
  });

  for (const { pieceLength, sizes } of SHAPES) {
    test(`roots and piece layers match the naive tree, pieces of ${pieceLength / KiB} KiB`, () => {
      for (const size of sizes) {
        const data = bytes(size, size);
        const naive = naiveFile(data, pieceLength);
        if (size <= pieceLength) {
          assert.equal(hex(smallFileRoot(data)), hex(naive.root), `root of ${size} bytes`);
          continue;
        }
        const count = Math.ceil(size / pieceLength);
        const pieces: Uint8Array[] = [];
        for (let i = 0; i < count; i++) pieces.push(pieceHashV2(data.subarray(i * pieceLength, (i + 1) * pieceLength), pieceLength));
        const layer = concat(pieces);
        assert.equal(hex(layer), hex(naive.layer!), `layer of ${size} bytes`);
        assert.equal(hex(pieceLayerRoot(layer, pieceLength)), hex(naive.root), `root of ${size} bytes`);
      }
    });
  }

  test('a file of exactly one piece: its root is the hash of that piece', () => {
    const data = bytes(64 * KiB, 3);
    assert.equal(hex(smallFileRoot(data)), hex(pieceHashV2(data, 64 * KiB)));
    // shorter than a piece: fewer leaves (2 here), not padded to the piece's width (4)
    const short = data.subarray(0, MERKLE_BLOCK + 5);
    assert.notEqual(hex(smallFileRoot(short)), hex(pieceHashV2(short, 64 * KiB)));
  });

  test('bad piece lengths and empty files are refused', () => {
    for (const bad of [0, 8192, 16384 * 3, 65535]) assert.throws(() => pieceLayerRoot(new Uint8Array(64), bad), RangeError);
    assert.throws(() => smallFileRoot(new Uint8Array(0)), RangeError);
    assert.throws(() => pieceHashV2(new Uint8Array(0), 16 * KiB), RangeError);
    assert.throws(() => pieceHashV2(new Uint8Array(16 * KiB + 1), 16 * KiB), RangeError);
    const builder = new FileMerkleBuilder(16 * KiB);
    assert.throws(() => builder.finish(), RangeError);
  });
});

describe('merkle: FileMerkleBuilder', () => {
  for (const { pieceLength, sizes } of SHAPES) {
    test(`gives the one-shot results for any chunking, pieces of ${pieceLength / KiB} KiB`, () => {
      const next = rng(pieceLength);
      for (const size of sizes) {
        const data = bytes(size, size);
        const naive = naiveFile(data, pieceLength);
        for (let round = 0; round < 3; round++) {
          const builder = new FileMerkleBuilder(pieceLength);
          const limit = [size > 100_000 ? 5000 : 7, 20_000, 300_000][round]!;
          for (let at = 0; at < size; ) {
            const n = Math.min(size - at, next(limit + 1)); // zero-length chunks included
            builder.update(data.subarray(at, at + n));
            at += n;
          }
          assert.equal(builder.length, size);
          const { root, pieceLayer } = builder.finish();
          assert.equal(hex(root), hex(naive.root), `root of ${size} bytes, round ${round}`);
          assert.equal(pieceLayer && hex(pieceLayer), naive.layer && hex(naive.layer), `layer of ${size} bytes, round ${round}`);
        }
      }
    });
  }

  test('one update with the whole file, then no more', () => {
    const data = bytes(5 * 32 * KiB + 1, 9);
    const builder = new FileMerkleBuilder(32 * KiB);
    builder.update(data);
    const { root, pieceLayer } = builder.finish();
    assert.equal(hex(root), hex(pieceLayerRoot(pieceLayer!, 32 * KiB)));
    assert.equal(pieceLayer!.length, 6 * HASH_SIZE);
    assert.throws(() => builder.update(data));
    assert.throws(() => builder.finish());
  });
});

// ---- hash requests ----

interface Synthetic {
  pieceLength: number;
  p: number;
  count: number;
  fileLength: number;
  layer: Uint8Array;
  /** levels[j]: the naive tree's nodes at height p + j (padded with the pads of that height). */
  levels: Uint8Array[][];
  root: Uint8Array;
}

/** A file of `count` pieces whose piece layer is made up (the tree above it is all that matters). */
function synthetic(count: number, pieceLength: number, lastBytes = 1): Synthetic {
  const p = log2(pieceLength / MERKLE_BLOCK);
  const hashes = Array.from({ length: count }, (_, i) => sha(new Uint8Array([i & 255, i >> 8, p, 1])));
  const levels = naiveLevels(hashes, naivePad(p));
  return {
    pieceLength,
    p,
    count,
    fileLength: (count - 1) * pieceLength + lastBytes,
    layer: concat(hashes),
    levels,
    root: levels[levels.length - 1]![0]!,
  };
}

/** What the answer to `r` must be, read off the naive tree: base hashes, then the uncles. */
function naiveAnswer(s: Synthetic, r: HashRequest): Uint8Array {
  const base = r.baseLayer - s.p;
  const out = s.levels[base]!.slice(r.index, r.index + r.length);
  for (let h = log2(r.length); h <= r.proofLayers; h++) out.push(s.levels[base + h]![(r.index >> h) ^ 1]!);
  return concat(out);
}

function numLayers(fileLength: number): number {
  let leaves = 1;
  while (leaves < Math.ceil(fileLength / MERKLE_BLOCK)) leaves *= 2;
  return log2(leaves);
}

describe('merkle: hash requests', () => {
  const CASES: Array<[number, number]> = [
    [2, 16 * KiB],
    [3, 16 * KiB],
    [511, 16 * KiB],
    [512, 16 * KiB],
    [513, 16 * KiB],
    [1500, 16 * KiB],
    [3, 64 * KiB],
    [513, 64 * KiB],
  ];

  test('a file of one piece needs no requests and has no layer tree', () => {
    const root = sha(new Uint8Array([1]));
    for (const fileLength of [1, 16 * KiB, 64 * KiB]) {
      assert.deepEqual(pieceLayerRequests(root, fileLength, 64 * KiB), []);
      assert.throws(() => new PieceLayerTree(new Uint8Array(32), fileLength, 64 * KiB), RangeError);
      assert.throws(() => new PieceLayerAssembler(root, fileLength, 64 * KiB), RangeError);
    }
    // a one-block file has a tree of height 0: nothing can be asked about it
    assert.equal(validHashRequest({ piecesRoot: root, baseLayer: 0, index: 0, length: 1, proofLayers: 0 }, 100), false);
  });

  test('pieceLayerRequests asks as libtorrent does', () => {
    const shape = (count: number, pieceLength = 16 * KiB) =>
      pieceLayerRequests(zeroHash, (count - 1) * pieceLength + 1, pieceLength).map((r) => [r.baseLayer, r.index, r.length, r.proofLayers]);
    assert.deepEqual(shape(2), [[0, 0, 2, 0]]);
    assert.deepEqual(shape(3), [[0, 0, 4, 1]]);
    assert.deepEqual(shape(512), [[0, 0, 512, 8]]);
    assert.deepEqual(shape(513), [[0, 0, 512, 9], [0, 512, 1, 9]]);
    assert.deepEqual(shape(1500), [[0, 0, 512, 10], [0, 512, 512, 10], [0, 1024, 512, 10]]);
    assert.deepEqual(shape(1100, 64 * KiB), [[2, 0, 512, 10], [2, 512, 512, 10], [2, 1024, 128, 10]]);
  });

  for (const [count, pieceLength] of CASES) {
    test(`${count} pieces of ${pieceLength / KiB} KiB: answers round-trip into exactly the layer`, () => {
      const s = synthetic(count, pieceLength);
      const tree = new PieceLayerTree(s.layer, s.fileLength, pieceLength);
      assert.equal(hex(tree.root), hex(s.root));
      assert.equal(hex(pieceLayerRoot(s.layer, pieceLength)), hex(s.root));
      const requests = pieceLayerRequests(s.root, s.fileLength, pieceLength);
      assert.equal(requests.length, Math.ceil(count / 512));
      const assembler = new PieceLayerAssembler(s.root, s.fileLength, pieceLength);
      const parts: Uint8Array[] = [];
      for (const r of requests) {
        assert.ok(validHashRequest(r, s.fileLength), `request at ${r.index}`);
        const answer = tree.answer(r)!;
        assert.ok(answer, `answer at ${r.index}`);
        assert.equal(hex(answer), hex(naiveAnswer(s, r)), `answer at ${r.index}`);
        const base = verifyHashes(r, answer, s.fileLength, pieceLength);
        assert.ok(base, `verified at ${r.index}`);
        parts.push(base);
        assert.equal(assembler.complete, false);
        assert.ok(assembler.add(r, answer));
      }
      const layer = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
      let at = 0;
      for (const part of parts) {
        layer.set(part, at);
        at += part.length;
      }
      assert.equal(hex(layer), hex(s.layer));
      assert.ok(assembler.complete);
      assert.deepEqual(assembler.missing(), []);
      assert.equal(hex(assembler.layer()!), hex(s.layer));
    });

    test(`${count} pieces of ${pieceLength / KiB} KiB: a tampered, short or long answer is refused`, () => {
      const s = synthetic(count, pieceLength);
      const tree = new PieceLayerTree(s.layer, s.fileLength, pieceLength);
      const pick = rng(count);
      for (const r of pieceLayerRequests(s.root, s.fileLength, pieceLength)) {
        const answer = tree.answer(r)!;
        const total = answer.length / 32;
        const spots = total <= 40 ? Array.from({ length: total }, (_, i) => i) : [0, 1, r.length >> 1, r.length - 1, pick(r.length), pick(r.length)];
        for (let u = r.length; u < total; u++) spots.push(u); // every uncle
        for (const spot of new Set(spots)) {
          const bad = flipped(answer, spot * 32 + (spot % 32));
          assert.equal(verifyHashes(r, bad, s.fileLength, pieceLength), undefined, `hash ${spot} of ${total} at ${r.index}`);
        }
        assert.equal(verifyHashes(r, answer.subarray(0, answer.length - 32), s.fileLength, pieceLength), undefined);
        assert.equal(verifyHashes(r, answer.subarray(0, answer.length - 1), s.fileLength, pieceLength), undefined);
        const longer = new Uint8Array(answer.length + 32);
        longer.set(answer);
        assert.equal(verifyHashes(r, longer, s.fileLength, pieceLength), undefined);
        assert.equal(verifyHashes(r, new Uint8Array(0), s.fileLength, pieceLength), undefined);
        const assembler = new PieceLayerAssembler(s.root, s.fileLength, pieceLength);
        assert.equal(assembler.add(r, flipped(answer, 5)), false);
        assert.equal(assembler.missing().length, Math.ceil(count / 512));
        // another file's root
        const other = { ...r, piecesRoot: sha(s.root) };
        assert.equal(tree.answer(other), undefined);
        assert.equal(verifyHashes(other, answer, s.fileLength, pieceLength), undefined);
      }
    });
  }

  test('each rule of a valid request', () => {
    const s = synthetic(13, 32 * KiB, 20_000); // 26 blocks: 32 leaves, 5 layers; pieces at height 1
    const tree = new PieceLayerTree(s.layer, s.fileLength, s.pieceLength);
    const good: HashRequest = { piecesRoot: s.root, baseLayer: 1, index: 4, length: 4, proofLayers: 3 };
    assert.equal(numLayers(s.fileLength), 5);
    assert.ok(validHashRequest(good, s.fileLength));
    assert.ok(tree.answer(good));
    assert.ok(verifyHashes(good, tree.answer(good)!, s.fileLength, s.pieceLength));
    const bad: Array<[string, Partial<HashRequest>]> = [
      ['negative base', { baseLayer: -1 }],
      ['negative index', { index: -4 }],
      ['zero length', { length: 0 }],
      ['negative proof layers', { proofLayers: -1 }],
      ['base at the root', { baseLayer: 5, index: 0, length: 1, proofLayers: 0 }],
      ['past the layer', { index: 16, length: 4, proofLayers: 2 }],
      ['proof layers up to the root', { proofLayers: 4 }],
      ['length not a power of two', { index: 0, length: 3 }],
      ['index not a multiple of length', { index: 2, length: 4 }],
      ['fractional index', { index: 0.5 }],
      ['NaN length', { length: Number.NaN }],
      ['short root', { piecesRoot: s.root.subarray(1) }],
    ];
    for (const [why, change] of bad) {
      const r = { ...good, ...change };
      assert.equal(validHashRequest(r, s.fileLength), false, why);
      assert.equal(tree.answer(r), undefined, why);
      assert.equal(verifyHashes(r, tree.answer(good)!, s.fileLength, s.pieceLength), undefined, why);
    }
    assert.equal(validHashRequest(good, 0), false, 'empty file');
    // below the piece layer: valid, but a seeder from the piece layer cannot answer
    const blocks: HashRequest = { piecesRoot: s.root, baseLayer: 0, index: 8, length: 8, proofLayers: 4 };
    assert.ok(validHashRequest(blocks, s.fileLength));
    assert.equal(tree.answer(blocks), undefined);
    // at most 8192 hashes
    const big = 16384 * MERKLE_BLOCK;
    assert.ok(validHashRequest({ piecesRoot: s.root, baseLayer: 0, index: 8192, length: 8192, proofLayers: 0 }, big));
    assert.equal(validHashRequest({ piecesRoot: s.root, baseLayer: 0, index: 0, length: 16384, proofLayers: 0 }, big), false);
  });

  test('answers at and above the piece layer carry the naive tree\'s uncles', () => {
    for (const [count, pieceLength] of [
      [13, 32 * KiB],
      [5, 64 * KiB],
      [9, 16 * KiB],
    ] as const) {
      const s = synthetic(count, pieceLength, 5);
      const layers = numLayers(s.fileLength);
      const tree = new PieceLayerTree(s.layer, s.fileLength, pieceLength);
      let checked = 0;
      let verified = 0;
      for (let base = s.p; base < layers; base++) {
        const size = 2 ** (layers - base);
        for (let length = 1; length <= size; length *= 2) {
          for (let index = 0; index + length <= size; index += length) {
            for (let proofLayers = 0; proofLayers < layers - base; proofLayers++) {
              const r: HashRequest = { piecesRoot: s.root, baseLayer: base, index, length, proofLayers };
              const where = `${count}x${pieceLength / KiB}K base ${base} index ${index} length ${length} proof ${proofLayers}`;
              assert.ok(validHashRequest(r, s.fileLength), where);
              const answer = tree.answer(r)!;
              assert.equal(hex(answer), hex(naiveAnswer(s, r)), where);
              assert.equal(answer.length / 32, length + Math.max(0, proofLayers - log2(length) + 1), where);
              // past the file's end the base hashes are pads of their height
              const real = Math.ceil(Math.ceil(s.fileLength / MERKLE_BLOCK) / 2 ** base);
              for (let i = Math.max(index, real); i < index + length; i++) {
                assert.equal(hex(answer.subarray((i - index) * 32, (i - index + 1) * 32)), hex(naivePad(base)), where);
              }
              // the downloader's check succeeds exactly when the uncles reach the root
              const reaches = Math.max(log2(length), proofLayers + 1) === layers - base;
              const got = verifyHashes(r, answer, s.fileLength, pieceLength);
              assert.equal(got !== undefined, reaches, where);
              if (got) {
                const end = Math.min(index + length, real);
                assert.equal(hex(got), hex(concat(s.levels[base - s.p]!.slice(index, Math.max(index, end)))), where);
                verified++;
              }
              checked++;
            }
          }
        }
      }
      assert.ok(checked > 50 && verified > 10, `${checked} checked, ${verified} verified`);
    }
  });

  test('proof layers at the most allowed, and one more', () => {
    const s = synthetic(1500, 16 * KiB);
    const layers = numLayers(s.fileLength); // 11
    const tree = new PieceLayerTree(s.layer, s.fileLength, s.pieceLength);
    for (const [base, index, length] of [
      [0, 1496, 1],
      [0, 1024, 256],
      [2, 12, 4],
      [4, 64, 64],
    ] as const) {
      const r: HashRequest = { piecesRoot: s.root, baseLayer: base, index, length, proofLayers: layers - base - 1 };
      assert.ok(validHashRequest(r, s.fileLength));
      const answer = tree.answer(r)!;
      assert.equal(hex(answer), hex(naiveAnswer(s, r)));
      const got = verifyHashes(r, answer, s.fileLength, s.pieceLength)!;
      const real = Math.ceil(s.count / 2 ** base);
      assert.equal(hex(got), hex(concat(s.levels[base]!.slice(index, Math.min(index + length, real)))));
      assert.equal(validHashRequest({ ...r, proofLayers: r.proofLayers + 1 }, s.fileLength), false);
    }
  });

  test('a one-hash answer without its lowest uncle (as libtorrent sends it) passes only when that uncle is a pad', () => {
    const s = synthetic(513, 16 * KiB);
    const tree = new PieceLayerTree(s.layer, s.fileLength, s.pieceLength);
    const last = pieceLayerRequests(s.root, s.fileLength, s.pieceLength)[1]!;
    assert.deepEqual([last.index, last.length, last.proofLayers], [512, 1, 9]);
    const full = tree.answer(last)!;
    assert.equal(full.length, (1 + 10) * 32);
    assert.equal(hex(full.subarray(32, 64)), hex(naivePad(0)));
    const libtorrents = new Uint8Array(full.length - 32);
    libtorrents.set(full.subarray(0, 32));
    libtorrents.set(full.subarray(64), 32);
    assert.equal(hex(verifyHashes(last, libtorrents, s.fileLength, s.pieceLength)!), hex(s.layer.subarray(512 * 32)));
    assert.equal(verifyHashes(last, flipped(libtorrents, 40), s.fileLength, s.pieceLength), undefined);
    // with a real sibling the missing uncle cannot be made up
    const inner: HashRequest = { ...last, index: 6 };
    const answer = tree.answer(inner)!;
    assert.ok(verifyHashes(inner, answer, s.fileLength, s.pieceLength));
    const cut = new Uint8Array(answer.length - 32);
    cut.set(answer.subarray(0, 32));
    cut.set(answer.subarray(64), 32);
    assert.equal(verifyHashes(inner, cut, s.fileLength, s.pieceLength), undefined);
  });

  test('a layer with a wrong hash does not give the file\'s root', () => {
    const s = synthetic(7, 32 * KiB);
    assert.notEqual(hex(pieceLayerRoot(flipped(s.layer, 6 * 32), s.pieceLength)), hex(s.root));
    assert.throws(() => new PieceLayerTree(s.layer.subarray(32), s.fileLength, s.pieceLength), RangeError);
  });
});
