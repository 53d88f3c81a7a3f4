import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { choosePieceLength, createTorrent } from '../../src/swarm/create-torrent.js';

const KiB = 1024;
const MiB = 1024 * KiB;
const GiB = 1024 * MiB;

function data(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed >>> 0;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

/** Independent piece hashes of the concatenated data. */
function expectedPieces(all: Uint8Array, pieceLength: number): string[] {
  const out: string[] = [];
  for (let at = 0; at < all.length; at += pieceLength) {
    out.push(createHash('sha1').update(all.subarray(at, at + pieceLength)).digest('hex'));
  }
  return out;
}

function piecesHex(pieces: Uint8Array): string[] {
  const out: string[] = [];
  for (let i = 0; i < pieces.length; i += 20) out.push(Buffer.from(pieces.subarray(i, i + 20)).toString('hex'));
  return out;
}

const tempDirs: string[] = [];
after(async () => {
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

describe('choosePieceLength', () => {
  test('smallest power of two from 16 KiB to 16 MiB giving at most 1500 pieces', () => {
    assert.equal(choosePieceLength(1), 16 * KiB);
    assert.equal(choosePieceLength(1500 * 16 * KiB), 16 * KiB);
    assert.equal(choosePieceLength(1500 * 16 * KiB + 1), 32 * KiB);
    assert.equal(choosePieceLength(10 * MiB), 16 * KiB);
    assert.equal(choosePieceLength(100 * MiB), 128 * KiB);
    assert.equal(choosePieceLength(GiB), MiB);
    assert.equal(choosePieceLength(4 * GiB), 4 * MiB);
    assert.equal(choosePieceLength(100 * GiB), 16 * MiB); // capped: more than 1500 pieces then
    for (const size of [12345, 7 * MiB, 3 * GiB + 17]) {
      const pl = choosePieceLength(size);
      assert.ok(Math.ceil(size / pl) <= 1500);
      assert.ok(pl === 16 * KiB || Math.ceil(size / (pl / 2)) > 1500);
    }
  });
});

describe('createTorrent', () => {
  test('a folder on the real disk: sorted recursive files, hashes, and a parseMetainfo round trip', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-create-'));
    tempDirs.push(dir);
    const root = join(dir, 'album');
    await mkdir(join(root, 'a', 'deep'), { recursive: true });
    await mkdir(join(root, 'empty-dir'));
    const files: [string[], Uint8Array][] = [
      [['a', 'deep', 'x.bin'], data(20000, 1)],
      [['a', 'y.bin'], data(3, 2)],
      [['b.bin'], data(0, 3)],
      [['c.bin'], data(50000, 4)],
    ];
    for (const [path, bytes] of [...files].reverse()) await writeFile(join(root, ...path), bytes);

    const made = await createTorrent(createNodeRuntime().fs, `${root}/`, {
      trackers: ['http://t1.example/announce', 'udp://t2.example:6969'],
      comment: 'hello',
      private: true,
      createdBy: 'warren-test',
      creationDate: 1700000000,
    });
    assert.equal(made.info.name, 'album');
    assert.equal(made.info.multiFile, true);
    assert.equal(made.info.pieceLength, 16 * KiB);
    assert.deepEqual(
      made.info.files.map((f) => [f.path, f.length, f.offset]),
      [
        [['a', 'deep', 'x.bin'], 20000, 0],
        [['a', 'y.bin'], 3, 20000],
        [['b.bin'], 0, 20003],
        [['c.bin'], 50000, 20003],
      ],
    );
    const all = Buffer.concat(files.map(([, b]) => b));
    assert.deepEqual(piecesHex(made.info.pieces!), expectedPieces(all, 16 * KiB));
    assert.equal(Buffer.from(made.infoHash).toString('hex'), createHash('sha1').update(made.infoBytes).digest('hex'));

    const parsed = parseMetainfo(made.bytes);
    assert.deepEqual(parsed.info, made.info);
    assert.deepEqual(Buffer.from(parsed.infoBytes), Buffer.from(made.infoBytes));
    assert.equal(parsed.info.private, true);
    assert.equal(parsed.announce, 'http://t1.example/announce');
    assert.deepEqual(parsed.announceList, [['http://t1.example/announce'], ['udp://t2.example:6969']]);
    assert.equal(parsed.comment, 'hello');
    assert.equal(parsed.createdBy, 'warren-test');
    assert.equal(parsed.creationDate, 1700000000);
  });

  test('a single file; pieces larger than the 4 MiB read chunk; tiers as given; no creation date by default', async () => {
    const fs = new MemoryFileStore();
    const content = data(9 * MiB + 12345, 7);
    await fs.writeFile('/big.iso', content);
    const made = await createTorrent(fs, '/big.iso', { pieceLength: 8 * MiB, trackers: [['http://a/announce']], name: 'renamed.iso' });
    assert.equal(made.info.multiFile, false);
    assert.equal(made.info.name, 'renamed.iso');
    assert.deepEqual(made.info.files, [{ path: ['renamed.iso'], length: content.length, offset: 0 }]);
    assert.equal(made.info.pieceCount, 2);
    assert.deepEqual(piecesHex(made.info.pieces!), expectedPieces(content, 8 * MiB));
    const parsed = parseMetainfo(made.bytes);
    assert.equal(parsed.announce, 'http://a/announce');
    assert.deepEqual(parsed.announceList, []); // one tracker: `announce` alone
    assert.equal(parsed.creationDate, undefined);
    assert.equal(parsed.createdBy, 'warren');
    assert.equal(parsed.info.private, false);
  });

  test('the automatic piece length follows the total size', async () => {
    const fs = new MemoryFileStore();
    await fs.writeFile('/f', new Uint8Array(1500 * 16 * KiB + 1));
    const made = await createTorrent(fs, '/f', {});
    assert.equal(made.info.pieceLength, 32 * KiB);
    assert.equal(made.info.pieceCount, 751);
  });

  test('FIFOs in a folder are skipped (reading one would block); a FIFO on its own is refused', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-create-'));
    tempDirs.push(dir);
    const root = join(dir, 'with-fifo');
    await mkdir(root);
    await writeFile(join(root, 'a.bin'), data(5000, 9));
    execFileSync('mkfifo', [join(root, 'pipe'), join(dir, 'lone-pipe')]);
    const made = await createTorrent(createNodeRuntime().fs, root);
    assert.deepEqual(made.info.files.map((f) => f.path.join('/')), ['a.bin']);
    await assert.rejects(createTorrent(createNodeRuntime().fs, join(dir, 'lone-pipe')), /lone-pipe is not a regular file or a folder/);
  });

  test('helpful errors: missing path, nothing to share, bad piece length', async () => {
    const fs = new MemoryFileStore();
    await fs.mkdir('/empty/sub');
    await fs.mkdir('/zeros');
    await fs.writeFile('/zeros/z', new Uint8Array(0));
    await fs.writeFile('/ok', new Uint8Array(10));
    await assert.rejects(createTorrent(fs, '/nope', {}), { message: '/nope does not exist' });
    await assert.rejects(createTorrent(fs, '/empty', {}), { message: 'nothing to share: /empty is empty' });
    await assert.rejects(createTorrent(fs, '/zeros', {}), { message: 'nothing to share: /zeros is empty' });
    await assert.rejects(createTorrent(fs, '/ok', { pieceLength: 1000 }), RangeError);
    await assert.rejects(createTorrent(fs, '/ok', { pieceLength: 8 * KiB }), RangeError);
    await assert.rejects(createTorrent(fs, '/ok', { pieceLength: 24 * KiB }), RangeError);
  });
});

describe('createTorrent: BitTorrent v2 (BEP 52) and hybrid', () => {
  /** A naive merkle root (independent of merkle.ts): SHA-256 leaves of 16 KiB blocks, zero leaves to `width`. */
  function naiveRoot(bytes: Uint8Array, width: number): Buffer {
    let level: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += 16 * KiB) level.push(createHash('sha256').update(bytes.subarray(at, at + 16 * KiB)).digest());
    const zero = Buffer.alloc(32);
    let pad = zero;
    while (level.length < width) level.push(zero);
    while (level.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(createHash('sha256').update(Buffer.concat([level[i]!, level[i + 1] ?? pad])).digest());
      level = next;
      pad = createHash('sha256').update(Buffer.concat([pad, pad])).digest();
    }
    return level[0]!;
  }
  const pow2 = (n: number) => 2 ** Math.ceil(Math.log2(Math.max(1, n)));
  /** A file's root from its bytes: its piece layer folded up (pieces of `pieceLength`), or the small-file root. */
  function fileRoot(bytes: Uint8Array, pieceLength: number): { root: Buffer; layer?: Buffer } {
    const perPiece = pieceLength / (16 * KiB);
    if (bytes.length <= pieceLength) return { root: naiveRoot(bytes, pow2(Math.ceil(bytes.length / (16 * KiB)))) };
    const layer: Buffer[] = [];
    for (let at = 0; at < bytes.length; at += pieceLength) layer.push(naiveRoot(bytes.subarray(at, at + pieceLength), perPiece));
    const padPiece = naiveRoot(new Uint8Array(0), perPiece);
    let level = [...layer];
    while (level.length < pow2(layer.length)) level.push(padPiece);
    while (level.length > 1) {
      const next: Buffer[] = [];
      for (let i = 0; i < level.length; i += 2) next.push(createHash('sha256').update(Buffer.concat([level[i]!, level[i + 1]!])).digest());
      level = next;
    }
    return { root: level[0]!, layer: Buffer.concat(layer) };
  }
  const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');

  // U+FF21 sorts after U+1F600 in UTF-16 (a surrogate, 0xD83D, comes first) but before it in UTF-8
  // (0xEF < 0xF0): the file tree's order is the UTF-8 one, and a hybrid's v1 list must follow it.
  const files: [string, Uint8Array][] = [
    ['share/😀.bin', data(40000, 1)],
    ['share/Ａ.bin', data(16 * KiB, 2)],
    ['share/big/x.bin', data(5 * 16 * KiB + 99, 3)],
    ['share/empty', new Uint8Array(0)],
  ];
  const memory = async () => {
    const fs = new MemoryFileStore();
    for (const [path, bytes] of files) {
      await fs.mkdir(`/${path.slice(0, path.lastIndexOf('/'))}`);
      await fs.writeFile(`/${path}`, bytes);
    }
    return fs;
  };

  test('v2: files in UTF-8 order on piece boundaries, roots and piece layers that hash right, the truncated SHA-256 as its id', async () => {
    const made = await createTorrent(await memory(), '/share', { pieceLength: 32 * KiB, format: 'v2' });
    assert.equal(made.info.metaVersion, 2);
    assert.equal(made.info.pieces, undefined);
    const real = made.info.files.filter((f) => !f.padding);
    assert.deepEqual(real.map((f) => f.path.join('/')), ['big/x.bin', 'empty', 'Ａ.bin', '😀.bin']);
    for (const f of real) if (f.length > 0) assert.equal(f.offset % (32 * KiB), 0, `${f.path.join('/')} starts a piece`);
    const sha256 = createHash('sha256').update(made.infoBytes).digest();
    assert.equal(hex(made.infoHashV2!), sha256.toString('hex'));
    assert.equal(hex(made.infoHash), sha256.subarray(0, 20).toString('hex'));
    for (const f of real) {
      const bytes = files.find(([p]) => p === `share/${f.path.join('/')}`)![1];
      if (bytes.length === 0) {
        assert.equal(f.piecesRoot, undefined);
        continue;
      }
      const expected = fileRoot(bytes, 32 * KiB);
      assert.equal(hex(f.piecesRoot!), expected.root.toString('hex'), `root of ${f.path.join('/')}`);
      assert.equal(made.pieceLayers.get(hex(f.piecesRoot!)) && hex(made.pieceLayers.get(hex(f.piecesRoot!))!), expected.layer?.toString('hex'));
    }
    assert.equal(made.pieceLayers.size, 2, 'layers only for the files longer than a piece');
    const parsed = parseMetainfo(made.bytes);
    assert.deepEqual(parsed.info, made.info);
    assert.deepEqual([...parsed.pieceLayers.keys()].sort(), [...made.pieceLayers.keys()].sort());
  });

  test('hybrid: SHA-1 pieces over the files and zero padding, the same file tree, both infohashes', async () => {
    const made = await createTorrent(await memory(), '/share', { pieceLength: 32 * KiB, format: 'hybrid' });
    assert.equal(made.info.metaVersion, 2);
    const layout = made.info.files.map((f) => [f.path.join('/'), f.length, f.padding === true]);
    assert.deepEqual(layout, [
      ['big/x.bin', 5 * 16 * KiB + 99, false],
      [`.pad/${32 * KiB - 99 - 16 * KiB}`, 32 * KiB - 99 - 16 * KiB, true],
      ['empty', 0, false],
      ['Ａ.bin', 16 * KiB, false],
      [`.pad/${16 * KiB}`, 16 * KiB, true],
      ['😀.bin', 40000, false],
    ]);
    const stream = Buffer.concat(made.info.files.map((f) => (f.padding ? Buffer.alloc(f.length) : Buffer.from(files.find(([p]) => p === `share/${f.path.join('/')}`)![1]))));
    assert.deepEqual(piecesHex(made.info.pieces!), expectedPieces(stream, 32 * KiB));
    assert.equal(hex(made.infoHash), createHash('sha1').update(made.infoBytes).digest('hex'));
    assert.equal(hex(made.infoHashV2!), createHash('sha256').update(made.infoBytes).digest('hex'));
    const v2 = await createTorrent(await memory(), '/share', { pieceLength: 32 * KiB, format: 'v2' });
    assert.deepEqual(
      made.info.files.filter((f) => !f.padding).map((f) => f.piecesRoot && hex(f.piecesRoot)),
      v2.info.files.filter((f) => !f.padding).map((f) => f.piecesRoot && hex(f.piecesRoot)),
    );
  });

  test('a single file as v2: named by its tree key, padded to a whole last piece', async () => {
    const fs = new MemoryFileStore();
    await fs.writeFile('/one.bin', data(50000, 4));
    const made = await createTorrent(fs, '/one.bin', { pieceLength: 16 * KiB, format: 'v2' });
    assert.equal(made.info.name, 'one.bin');
    assert.equal(made.info.multiFile, false);
    assert.deepEqual(made.info.files.map((f) => [f.path.join('/'), f.length, f.padding === true]), [['one.bin', 50000, false], [`.pad/${4 * 16 * KiB - 50000}`, 4 * 16 * KiB - 50000, true]]);
    assert.equal(made.info.pieceCount, 4);
    assert.equal(hex(made.info.files[0]!.piecesRoot!), fileRoot(data(50000, 4), 16 * KiB).root.toString('hex'));
  });
});
