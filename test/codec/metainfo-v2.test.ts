import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bdecode, bencode, bytesToLatin1, latin1ToBytes, type BDict, type BEncodable } from '../../src/codec/bencode.js';
import {
  encodeMetainfo,
  isV2Only,
  MetainfoError,
  parseInfoDict,
  parseMetainfo,
  pieceHash,
  pieceSize,
  V2_BLOCK_SIZE,
  type InfoDict,
  type Metainfo,
  type MetainfoInput,
  type TorrentFile,
} from '../../src/codec/metainfo.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { assertMetainfoError, torrent, type Dict } from './metainfo-helpers.js';

const enc = new TextEncoder();
const b64 = (...lines: string[]): Uint8Array => new Uint8Array(Buffer.from(lines.join(''), 'base64'));
const hex = (b: Uint8Array): string => Buffer.from(b).toString('hex');
const unhex = (h: string): Uint8Array => new Uint8Array(Buffer.from(h, 'hex'));
/** A dict key (latin1, one char per byte) for a UTF-8 path component. */
const key = (s: string): string => bytesToLatin1(enc.encode(s));
const sha1 = (b: Uint8Array): string => createHash('sha1').update(b).digest('hex');
const sha256 = (b: Uint8Array): string => createHash('sha256').update(b).digest('hex');

/*
 * Made by libtorrent 2.0.8 (Debian's python3-libtorrent): create_torrent(file_storage, 16384,
 * flags=v2_only or 0 for hybrid), set_piece_hashes, generate(); "creation date" and "created by"
 * removed. The multi-file ones hold directory "album": 10 (1 byte), 9 (1), a.txt (100),
 * b.bin (40000), empty (0), sub/c.dat (16384), é.txt (5); the single-file ones b.bin alone.
 */
const LT_SINGLE_V2 = b64(
  'ZDQ6aW5mb2Q5OmZpbGUgdHJlZWQ1OmIuYmluZDA6ZDY6bGVuZ3RoaTQwMDAwZTExOnBpZWNlcyByb290MzI6WuPZogk22hUl',
  'Sdgj9kQlkOumQHJbLDmGBgqA9WrhDhplZWUxMjptZXRhIHZlcnNpb25pMmU0Om5hbWU1OmIuYmluMTI6cGllY2UgbGVuZ3Ro',
  'aTE2Mzg0ZWUxMjpwaWVjZSBsYXllcnNkMzI6WuPZogk22hUlSdgj9kQlkOumQHJbLDmGBgqA9WrhDho5NjoJtHD12XQbVR8r',
  'y8RWKkocO6G+xB7ct5EPrnb54IEPAQm0cPXZdBtVHyvLxFYqShw7ob7EHty3kQ+udvnggQ8B9F2rVQjqjCGO9YyNM8HOsZgM',
  '4hBQH33pAvIyD6L5zVRlZQ==',
);
const LT_SINGLE_HYBRID = b64(
  'ZDQ6aW5mb2Q5OmZpbGUgdHJlZWQ1OmIuYmluZDA6ZDY6bGVuZ3RoaTQwMDAwZTExOnBpZWNlcyByb290MzI6WuPZogk22hUl',
  'Sdgj9kQlkOumQHJbLDmGBgqA9WrhDhplZWU2Omxlbmd0aGk0MDAwMGUxMjptZXRhIHZlcnNpb25pMmU0Om5hbWU1OmIuYmlu',
  'MTI6cGllY2UgbGVuZ3RoaTE2Mzg0ZTY6cGllY2VzNjA6r7sdhhI56qN0hFnSffrv/aY9kYavux2GEjnqo3SEWdJ9+u/9pj2R',
  'hjykRCZ5vjg4/d7BlAgNQdscM6o5ZTEyOnBpZWNlIGxheWVyc2QzMjpa49miCTbaFSVJ2CP2RCWQ66ZAclssOYYGCoD1auEO',
  'Gjk2Ogm0cPXZdBtVHyvLxFYqShw7ob7EHty3kQ+udvnggQ8BCbRw9dl0G1UfK8vEVipKHDuhvsQe3LeRD652+eCBDwH0XatV',
  'COqMIY71jI0zwc6xmAziEFAffekC8jIPovnNVGVl',
);
const LT_MULTI_V2 = b64(
  'ZDQ6aW5mb2Q5OmZpbGUgdHJlZWQyOjEwZDA6ZDY6bGVuZ3RoaTFlMTE6cGllY2VzIHJvb3QzMjpnWG6Y+tJ9oLmWi8A5oe80',
  'yTm5uOUjqL74nUeGCMXs9mVlMTo5ZDA6ZDY6bGVuZ3RoaTFlMTE6cGllY2VzIHJvb3QzMjrKNYdY9tJ+bPRScpN5d6dI/Yg5',
  'HbZ5ztp9x78fAF7oeWVlNTphLnR4dGQwOmQ2Omxlbmd0aGkxMDBlMTE6cGllY2VzIHJvb3QzMjrG2pm5YATSVwBxsx9HuHje',
  'jcZ//Zq0sR1wYWFKsyYfFWVlNTpiLmJpbmQwOmQ2Omxlbmd0aGk0MDAwMGUxMTpwaWVjZXMgcm9vdDMyOlrj2aIJNtoVJUnY',
  'I/ZEJZDrpkByWyw5hgYKgPVq4Q4aZWU1OmVtcHR5ZDA6ZDY6bGVuZ3RoaTBlZWUzOnN1YmQ1OmMuZGF0ZDA6ZDY6bGVuZ3Ro',
  'aTE2Mzg0ZTExOnBpZWNlcyByb290MzI6P/Ta63bI7AnuV2sJF0ioSe5uclHsvdg4RYFc5peELTBlZWU2OsOpLnR4dGQwOmQ2',
  'Omxlbmd0aGk1ZTExOnBpZWNlcyByb290MzI65KH5SjKTZoMA7DPKTTyLD65NU+cbcDhX2PKE212n4DllZWUxMjptZXRhIHZl',
  'cnNpb25pMmU0Om5hbWU1OmFsYnVtMTI6cGllY2UgbGVuZ3RoaTE2Mzg0ZWUxMjpwaWVjZSBsYXllcnNkMzI6WuPZogk22hUl',
  'Sdgj9kQlkOumQHJbLDmGBgqA9WrhDho5NjoJtHD12XQbVR8ry8RWKkocO6G+xB7ct5EPrnb54IEPAQm0cPXZdBtVHyvLxFYq',
  'Shw7ob7EHty3kQ+udvnggQ8B9F2rVQjqjCGO9YyNM8HOsZgM4hBQH33pAvIyD6L5zVRlZQ==',
);
const LT_MULTI_HYBRID = b64(
  'ZDQ6aW5mb2Q5OmZpbGUgdHJlZWQyOjEwZDA6ZDY6bGVuZ3RoaTFlMTE6cGllY2VzIHJvb3QzMjpnWG6Y+tJ9oLmWi8A5oe80',
  'yTm5uOUjqL74nUeGCMXs9mVlMTo5ZDA6ZDY6bGVuZ3RoaTFlMTE6cGllY2VzIHJvb3QzMjrKNYdY9tJ+bPRScpN5d6dI/Yg5',
  'HbZ5ztp9x78fAF7oeWVlNTphLnR4dGQwOmQ2Omxlbmd0aGkxMDBlMTE6cGllY2VzIHJvb3QzMjrG2pm5YATSVwBxsx9HuHje',
  'jcZ//Zq0sR1wYWFKsyYfFWVlNTpiLmJpbmQwOmQ2Omxlbmd0aGk0MDAwMGUxMTpwaWVjZXMgcm9vdDMyOlrj2aIJNtoVJUnY',
  'I/ZEJZDrpkByWyw5hgYKgPVq4Q4aZWU1OmVtcHR5ZDA6ZDY6bGVuZ3RoaTBlZWUzOnN1YmQ1OmMuZGF0ZDA6ZDY6bGVuZ3Ro',
  'aTE2Mzg0ZTExOnBpZWNlcyByb290MzI6P/Ta63bI7AnuV2sJF0ioSe5uclHsvdg4RYFc5peELTBlZWU2OsOpLnR4dGQwOmQ2',
  'Omxlbmd0aGk1ZTExOnBpZWNlcyByb290MzI65KH5SjKTZoMA7DPKTTyLD65NU+cbcDhX2PKE212n4DllZWU1OmZpbGVzbGQ2',
  'Omxlbmd0aGkxZTQ6cGF0aGwyOjEwZWVkNDphdHRyMTpwNjpsZW5ndGhpMTYzODNlNDpwYXRobDQ6LnBhZDU6MTYzODNlZWQ2',
  'Omxlbmd0aGkxZTQ6cGF0aGwxOjllZWQ0OmF0dHIxOnA2Omxlbmd0aGkxNjM4M2U0OnBhdGhsNDoucGFkNToxNjM4M2VlZDY6',
  'bGVuZ3RoaTEwMGU0OnBhdGhsNTphLnR4dGVlZDQ6YXR0cjE6cDY6bGVuZ3RoaTE2Mjg0ZTQ6cGF0aGw0Oi5wYWQ1OjE2Mjg0',
  'ZWVkNjpsZW5ndGhpNDAwMDBlNDpwYXRobDU6Yi5iaW5lZWQ0OmF0dHIxOnA2Omxlbmd0aGk5MTUyZTQ6cGF0aGw0Oi5wYWQ0',
  'OjkxNTJlZWQ2Omxlbmd0aGkwZTQ6cGF0aGw1OmVtcHR5ZWVkNjpsZW5ndGhpMTYzODRlNDpwYXRobDM6c3ViNTpjLmRhdGVl',
  'ZDY6bGVuZ3RoaTVlNDpwYXRobDY6w6kudHh0ZWVkNDphdHRyMTpwNjpsZW5ndGhpMTYzNzllNDpwYXRobDQ6LnBhZDU6MTYz',
  'NzllZWUxMjptZXRhIHZlcnNpb25pMmU0Om5hbWU1OmFsYnVtMTI6cGllY2UgbGVuZ3RoaTE2Mzg0ZTY6cGllY2VzMTYwOolR',
  'gLDGBKrNeW0vwZjCx9Md90+oYEF0TIpVFCDS+YBGI/TnsG5f1wi1nyhRYOw3n7Hf5E36TybokDUqxq+7HYYSOeqjdIRZ0n36',
  '7/2mPZGGr7sdhhI56qN0hFnSffrv/aY9kYYCj8k5OPc/FSXAETONjKECUWrwnIG53Jx1SrU+4+tPJCSO0tLY+8eM4chmjDar',
  'EV0cSb8ut4unjMahOWRlMTI6cGllY2UgbGF5ZXJzZDMyOlrj2aIJNtoVJUnYI/ZEJZDrpkByWyw5hgYKgPVq4Q4aOTY6CbRw',
  '9dl0G1UfK8vEVipKHDuhvsQe3LeRD652+eCBDwEJtHD12XQbVR8ry8RWKkocO6G+xB7ct5EPrnb54IEPAfRdq1UI6owhjvWM',
  'jTPBzrGYDOIQUB996QLyMg+i+c1UZWU=',
);

/** Pieces roots libtorrent reported for the files above (`file_storage.root(i)`). */
const LT_ROOTS: Record<string, string> = {
  '10': '67586e98fad27da0b9968bc039a1ef34c939b9b8e523a8bef89d478608c5ecf6',
  '9': 'ca358758f6d27e6cf45272937977a748fd88391db679ceda7dc7bf1f005ee879',
  'a.txt': 'c6da99b96004d2570071b31f47b878de8dc67ffd9ab4b11d7061614ab3261f15',
  'b.bin': '5ae3d9a20936da152549d823f6442590eba640725b2c3986060a80f56ae10e1a',
  'sub/c.dat': '3ff4daeb76c8ec09ee576b091748a849ee6e7251ecbdd83845815ce697842d30',
  'é.txt': 'e4a1f94a3293668300ec33ca4d3c8b0fae4d53e71b703857d8f284db5da7e039',
};

/**
 * How libtorrent 2.0.8 lays out a torrent: `torrent_info(...).files()` as [file_path(i),
 * file_size(i), file_offset(i), pad file] per file, then total_size(), num_pieces() and the
 * piece_size() of the last piece.
 */
interface LtLayout {
  files: [string, number, number, boolean][];
  total: number;
  pieces: number;
  lastPiece: number;
}

/** What libtorrent reported for the album vectors, v2-only and hybrid alike. */
const LT_ALBUM_LAYOUT: LtLayout = {
  files: [
    ['album/10', 1, 0, false],
    ['album/.pad/16383', 16383, 1, true],
    ['album/9', 1, 16384, false],
    ['album/.pad/16383', 16383, 16385, true],
    ['album/a.txt', 100, 32768, false],
    ['album/.pad/16284', 16284, 32868, true],
    ['album/b.bin', 40000, 49152, false],
    ['album/.pad/9152', 9152, 89152, true],
    ['album/empty', 0, 98304, false],
    ['album/sub/c.dat', 16384, 98304, false],
    ['album/é.txt', 5, 114688, false],
    ['album/.pad/16379', 16379, 114693, true],
  ],
  total: 131072,
  pieces: 8,
  lastPiece: 16384,
};

/** Our layout in libtorrent's terms: paths start with the name (a single file's is the name alone, its padding's is not). */
function asLibtorrent(info: InfoDict): LtLayout {
  const files = info.files.map((f): [string, number, number, boolean] => {
    const path = info.multiFile || f.padding === true ? [info.name, ...f.path] : f.path;
    return [path.join('/'), f.length, f.offset, f.padding === true];
  });
  return { files, total: info.totalLength, pieces: info.pieceCount, lastPiece: pieceSize(info, info.pieceCount - 1) };
}


/** A 32-byte pieces root filled with `seed`. */
const root = (seed: number): Uint8Array => new Uint8Array(32).fill(seed);
/** A file node of a file tree: `{ '': { length, 'pieces root' } }` (root only for length > 0 unless given). */
const file = (length: number, r: Uint8Array | undefined = length > 0 ? root(length % 251) : undefined): Dict => ({
  '': { length, 'pieces root': r },
});
/** `n` distinct 32-byte hashes: hash i is filled with byte (i + 7) & 0xff. */
function layer(n: number): Uint8Array {
  const out = new Uint8Array(32 * n);
  for (let i = 0; i < n; i++) out.fill((i + 7) & 0xff, 32 * i, 32 * i + 32);
  return out;
}
/** `n` distinct 20-byte v1 hashes. */
function sha1s(n: number): Uint8Array {
  const out = new Uint8Array(20 * n);
  for (let i = 0; i < n; i++) out.fill((i + 1) & 0xff, 20 * i, 20 * i + 20);
  return out;
}

function v2Info(tree: BEncodable, over: Dict = {}): Dict {
  return { name: 'album', 'piece length': 16384, 'meta version': 2, 'file tree': tree, ...over };
}



function assertTypeError(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof TypeError, `expected TypeError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

/** Compact view of a file list: [path, length, offset, padding, root hex or ''] per file. */
const shape = (files: TorrentFile[]): [string, number, number, boolean, string][] =>
  files.map((f) => [f.path.join('/'), f.length, f.offset, f.padding === true, f.piecesRoot === undefined ? '' : hex(f.piecesRoot)]);

/** Invariants every parsed torrent holds, v1, v2-only or hybrid. */
function checkInvariants(m: Metainfo): void {
  const { info } = m;
  assert.equal(info.pieceCount, Math.ceil(info.totalLength / info.pieceLength));
  let offset = 0;
  for (const f of info.files) {
    assert.equal(f.offset, offset);
    offset += f.length;
    if (info.metaVersion === 2 && f.padding !== true) {
      assert.equal(f.piecesRoot?.length, f.length > 0 ? 32 : undefined);
      if (f.length > 0) assert.equal(f.offset % info.pieceLength, 0, 'v2 files start at piece boundaries');
    }
  }
  assert.equal(offset, info.totalLength);
  if (info.pieces !== undefined) assert.equal(info.pieces.length, 20 * info.pieceCount);
  else assert.equal(info.metaVersion, 2);
  assert.equal(isV2Only(info), info.pieces === undefined);
  for (const [rootHex, hashes] of m.pieceLayers) {
    const owner = info.files.find((f) => f.piecesRoot !== undefined && hex(f.piecesRoot) === rootHex);
    assert.ok(owner !== undefined && owner.length > info.pieceLength);
    assert.equal(hashes.length, 32 * Math.ceil(owner.length / info.pieceLength));
  }
  assert.deepEqual(parseInfoDict(m.infoBytes), info);
}

describe('libtorrent-made v2 torrents (captured vectors)', () => {
  const albumV2 = [
    ['10', 1, 0, false, LT_ROOTS['10']],
    ['.pad/16383', 16383, 1, true, ''],
    ['9', 1, 16384, false, LT_ROOTS['9']],
    ['.pad/16383', 16383, 16385, true, ''],
    ['a.txt', 100, 32768, false, LT_ROOTS['a.txt']],
    ['.pad/16284', 16284, 32868, true, ''],
    ['b.bin', 40000, 49152, false, LT_ROOTS['b.bin']],
    ['.pad/9152', 9152, 89152, true, ''],
    ['empty', 0, 98304, false, ''],
    ['sub/c.dat', 16384, 98304, false, LT_ROOTS['sub/c.dat']],
    ['é.txt', 5, 114688, false, LT_ROOTS['é.txt']],
    ['.pad/16379', 16379, 114693, true, ''],
  ];

  test('our layout is libtorrent\'s: padding (after the last file too), offsets, total length, piece sizes', () => {
    const layouts: [string, Uint8Array, LtLayout][] = [
      ['multi-file v2-only', LT_MULTI_V2, LT_ALBUM_LAYOUT],
      ['multi-file hybrid', LT_MULTI_HYBRID, LT_ALBUM_LAYOUT],
      // v2-only: a single file is padded to a whole piece as well.
      ['single-file v2-only', LT_SINGLE_V2, { files: [['b.bin', 40000, 0, false], ['b.bin/.pad/9152', 9152, 40000, true]], total: 49152, pieces: 3, lastPiece: 16384 }],
      // Hybrid: the v1 file list is the layout, and this one has no padding.
      ['single-file hybrid', LT_SINGLE_HYBRID, { files: [['b.bin', 40000, 0, false]], total: 40000, pieces: 3, lastPiece: 7232 }],
    ];
    for (const [label, bytes, lt] of layouts) assert.deepEqual(asLibtorrent(parseMetainfo(bytes).info), lt, label);
  });

  test('multi-file v2-only: tree order, padding, offsets, roots, layers, infohash', () => {
    const m = parseMetainfo(LT_MULTI_V2);
    const { info } = m;
    assert.equal(sha256(m.infoBytes), 'd2d09cd8654b64ca2423624327240d0012b16704e07ca1917f1587ec350b9997');
    assert.equal(info.metaVersion, 2);
    assert.equal(isV2Only(info), true);
    assert.equal(info.pieces, undefined);
    assert.equal('pieces' in info, false);
    assert.equal(info.name, 'album');
    assert.equal(info.multiFile, true);
    assert.equal(info.pieceLength, 16384);
    // Padded after the last file too, as libtorrent: the last piece is a whole one.
    assert.equal(info.totalLength, 131072);
    assert.equal(info.pieceCount, 8);
    assert.deepEqual(shape(info.files), albumV2);
    assert.deepEqual([...m.pieceLayers.keys()], [LT_ROOTS['b.bin']]);
    assert.equal(m.pieceLayers.get(LT_ROOTS['b.bin'])?.length, 96);
    assert.equal(pieceSize(info, 7), 16384);
    assert.equal(pieceSize(info, 6), 16384);
    assertTypeError(() => pieceHash(info, 0), /v2-only torrent has no SHA-1/);
    checkInvariants(m);
  });

  test('multi-file hybrid: v1 files with their pad files, roots attached, both infohashes', () => {
    const m = parseMetainfo(LT_MULTI_HYBRID);
    const { info } = m;
    assert.equal(sha1(m.infoBytes), 'd4a30288d98f6fd01cebb11fae4dd47e8264c902');
    assert.equal(sha256(m.infoBytes), '5627e9fb62ed1741f9cbcabe302ee2df0a39a69d66da18f7bded9070c92a4926');
    assert.equal(info.metaVersion, 2);
    assert.equal(isV2Only(info), false);
    assert.equal(info.pieces?.length, 8 * 20);
    assert.equal(info.totalLength, 131072);
    assert.equal(info.pieceCount, 8);
    // libtorrent's v1 file list pads the last file too: the same layout as the v2-only one.
    assert.deepEqual(shape(info.files), albumV2);
    assert.equal(pieceHash(info, 7).length, 20);
    assert.deepEqual(m.pieceLayers, parseMetainfo(LT_MULTI_V2).pieceLayers);
    checkInvariants(m);
  });

  test('single-file v2-only and hybrid', () => {
    const v2 = parseMetainfo(LT_SINGLE_V2);
    assert.equal(sha256(v2.infoBytes), 'c75111a19952474333a727fbb39b903ebaf1be0a15443d01724ad41db55bee86');
    const hybrid = parseMetainfo(LT_SINGLE_HYBRID);
    assert.equal(sha1(hybrid.infoBytes), '49907f481d878ada1cc812cb444e8075c2d4d9b1');
    assert.equal(sha256(hybrid.infoBytes), '8302d6fd1831975a7f1aa4ee0c8aab43d02e63f9e7d0181cab35a367d0f179b0');
    for (const m of [v2, hybrid]) {
      assert.equal(m.info.multiFile, false);
      assert.equal(m.info.name, 'b.bin');
      assert.deepEqual(shape(m.info.files)[0], ['b.bin', 40000, 0, false, LT_ROOTS['b.bin']]);
      assert.equal(m.info.pieceCount, 3);
      assert.equal(m.pieceLayers.get(LT_ROOTS['b.bin'])?.length, 96);
      checkInvariants(m);
    }
    // v2-only: padded to a whole last piece; hybrid: the v1 layout, which has no padding here.
    assert.deepEqual(shape(v2.info.files).slice(1), [['.pad/9152', 9152, 40000, true, '']]);
    assert.equal(v2.info.totalLength, 49152);
    assert.equal(pieceSize(v2.info, 2), 16384);
    assert.equal(hybrid.info.files.length, 1);
    assert.equal(hybrid.info.totalLength, 40000);
    assert.equal(pieceSize(hybrid.info, 2), 7232);
    assert.equal(isV2Only(v2.info), true);
    assert.equal(isV2Only(hybrid.info), false);
  });

  test('encode(parse(x)) gives libtorrent\'s bytes back, byte for byte', () => {
    for (const bytes of [LT_SINGLE_V2, LT_SINGLE_HYBRID, LT_MULTI_V2, LT_MULTI_HYBRID]) {
      const m = parseMetainfo(bytes);
      const out = encodeMetainfo(m);
      assert.deepEqual(out.bytes, bytes);
      assert.deepEqual(out.infoBytes, m.infoBytes);
    }
  });

  test('parseInfoDict (BEP 9 metadata) gives the same info', () => {
    for (const bytes of [LT_SINGLE_V2, LT_MULTI_V2, LT_MULTI_HYBRID]) {
      const m = parseMetainfo(bytes);
      assert.deepEqual(parseInfoDict(m.infoBytes), m.info);
    }
  });

  test('roots and piece layers are copies: nothing refers to the input afterwards', () => {
    for (const original of [LT_MULTI_V2, LT_MULTI_HYBRID]) {
      const bytes = original.slice();
      const m = parseMetainfo(bytes);
      const before = structuredClone(m);
      bytes.fill(0);
      assert.deepEqual(m, before);
      for (const f of m.info.files) if (f.piecesRoot) assert.notEqual(f.piecesRoot.buffer, bytes.buffer);
      for (const l of m.pieceLayers.values()) assert.notEqual(l.buffer, bytes.buffer);
      if (m.info.pieces) assert.equal(m.info.pieces.buffer, m.infoBytes.buffer);
    }
  });

  test('a Node Buffer input is copied too (a Buffer\'s slice is a view, not a copy)', () => {
    for (const original of [LT_MULTI_V2, LT_MULTI_HYBRID]) {
      const buffer = Buffer.from(original);
      const m = parseMetainfo(buffer);
      buffer.fill(0);
      // infoBytes, pieces, pieces roots and piece layers all as parsed from an untouched input.
      assert.deepEqual(m, parseMetainfo(original));
      assert.equal(m.pieceLayers.size, 1);

      // parseInfoDict (BEP 9 metadata): the roots are copies (`pieces` is documented as a view into its input).
      const infoBuffer = Buffer.from(m.infoBytes);
      const info = parseInfoDict(infoBuffer);
      infoBuffer.fill(0);
      const roots = info.files.filter((f) => f.piecesRoot !== undefined).map((f) => [f.path.join('/'), hex(f.piecesRoot!)]);
      assert.deepEqual(Object.fromEntries(roots), LT_ROOTS);
    }
  });
});

describe('v2-only parsing', () => {
  test('single file: path is the tree\'s key, padded to a whole last piece (as libtorrent)', () => {
    const m = parseMetainfo(torrent(v2Info({ 'movie.mkv': file(40000, root(9)) }, { name: 'movie.mkv', private: 1 })));
    assert.equal(m.info.multiFile, false);
    assert.equal(m.info.private, true);
    assert.deepEqual(m.info.files, [
      { path: ['movie.mkv'], length: 40000, offset: 0, piecesRoot: root(9) },
      { path: ['.pad', '9152'], length: 9152, offset: 40000, padding: true },
    ]);
    assert.equal(m.info.totalLength, 49152);
    assert.equal(m.info.pieceCount, 3);
    assert.equal(pieceSize(m.info, 2), 16384);
    assert.deepEqual(m.pieceLayers, new Map());
  });

  test('single file whose key differs from name: the key names the file and the torrent (as libtorrent)', () => {
    const m = parseMetainfo(torrent(v2Info({ 'real.bin': file(5) }, { name: 'shown' })));
    assert.equal(m.info.name, 'real.bin');
    assert.equal(m.info.multiFile, false);
    assert.deepEqual(m.info.files[0].path, ['real.bin']);
  });

  test('one file in a directory is a multi-file torrent', () => {
    const m = parseMetainfo(torrent(v2Info({ dir: { 'x.bin': file(5) } })));
    assert.equal(m.info.multiFile, true);
    assert.deepEqual(m.info.files.map((f) => f.path), [['dir', 'x.bin'], ['.pad', '16379']]);
  });

  test('padding: after every file not a multiple of the piece length, the last too; zero-length files take no space', () => {
    const tree = {
      a: file(0), // first, empty: no padding
      b: file(32768), // a multiple: no padding
      c: file(100), // padded to 32768
      d: { e: file(0), f: { g: file(32769) } }, // nested; g padded by 32767
      h: file(7), // last: padded too (as libtorrent)
    };
    const m = parseMetainfo(torrent(v2Info(tree, { 'piece length': 32768 })));
    assert.deepEqual(shape(m.info.files), [
      ['a', 0, 0, false, ''],
      ['b', 32768, 0, false, hex(root(32768 % 251))],
      ['c', 100, 32768, false, hex(root(100))],
      ['.pad/32668', 32668, 32868, true, ''],
      ['d/e', 0, 65536, false, ''],
      ['d/f/g', 32769, 65536, false, hex(root(32769 % 251))],
      ['.pad/32767', 32767, 98305, true, ''],
      ['h', 7, 131072, false, hex(root(7))],
      ['.pad/32761', 32761, 131079, true, ''],
    ]);
    assert.equal(m.info.totalLength, 163840);
    assert.equal(m.info.pieceCount, 5);
    assert.equal(pieceSize(m.info, 4), 32768);
    checkInvariants(m);
  });

  /*
   * Zero-length files, laid out as libtorrent 2.0.8 loads the same trees (torrent_info(...).files():
   * file_path, file_size, file_offset, pad file; paths here without the "album/" prefix; roots
   * as `file` makes them). A zero-length file is never padded and sits at the next piece
   * boundary when the file before it was padded, so a zero-length last file still pads the one
   * before it and the padding stays before it.
   */
  const zeroLength: [string, Dict, [string, number, number, boolean][]][] = [
    ['last', { a: file(100), b: file(0) }, [['a', 100, 0, false], ['.pad/16284', 16284, 100, true], ['b', 0, 16384, false]]],
    ['two last', { a: file(100), b: file(0), c: file(0) }, [['a', 100, 0, false], ['.pad/16284', 16284, 100, true], ['b', 0, 16384, false], ['c', 0, 16384, false]]],
    ['between two others', { a: file(100), b: file(0), c: file(5) }, [['a', 100, 0, false], ['.pad/16284', 16284, 100, true], ['b', 0, 16384, false], ['c', 5, 16384, false], ['.pad/16379', 16379, 16389, true]]],
    ['first', { a: file(0), b: file(100) }, [['a', 0, 0, false], ['b', 100, 0, false], ['.pad/16284', 16284, 100, true]]],
    ['after a whole piece', { a: file(16384), b: file(0) }, [['a', 16384, 0, false], ['b', 0, 16384, false]]],
    [
      'first, between and last',
      { a: file(0), b: file(5), c: file(0), d: file(7), e: file(0) },
      [['a', 0, 0, false], ['b', 5, 0, false], ['.pad/16379', 16379, 5, true], ['c', 0, 16384, false], ['d', 7, 16384, false], ['.pad/16377', 16377, 16391, true], ['e', 0, 32768, false]],
    ],
    ['last, in a directory', { a: file(5), d: { e: file(0) } }, [['a', 5, 0, false], ['.pad/16379', 16379, 5, true], ['d/e', 0, 16384, false]]],
    ['first in a directory, between', { a: file(5), d: { e: file(0), f: file(3) } }, [['a', 5, 0, false], ['.pad/16379', 16379, 5, true], ['d/e', 0, 16384, false], ['d/f', 3, 16384, false], ['.pad/16381', 16381, 16387, true]]],
  ];
  for (const [name, tree, lt] of zeroLength) {
    test(`zero-length file ${name}: libtorrent's layout`, () => {
      const m = parseMetainfo(torrent(v2Info(tree)));
      assert.deepEqual(shape(m.info.files).map(([p, l, o, pad]) => [p, l, o, pad]), lt);
      const last = lt[lt.length - 1];
      assert.equal(m.info.totalLength, last[1] + last[2]);
      assert.equal(m.info.totalLength % 16384, 0, 'whole pieces');
      checkInvariants(m);
    });
  }

  test('files come in raw byte order of the keys, not JS object key order', () => {
    // JS lists integer-like keys first and in numeric order; bencode's order is bytewise.
    const names = ['z', '10', 'é', 'B', '9', 'a', '2', '~'];
    const tree: Dict = {};
    for (const n of names) tree[key(n)] = file(16384);
    const m = parseMetainfo(torrent(v2Info(tree)));
    assert.deepEqual(m.info.files.map((f) => f.path[0]), ['10', '2', '9', 'B', 'a', 'z', '~', 'é']);
  });

  test('keys out of order in the file (non-canonical) are still walked in byte order', () => {
    const r = bytesToLatin1(root(1));
    const leaf = `d0:d6:lengthi16384e11:pieces root32:${r}ee`;
    const info = `d9:file treed1:b${leaf}1:a${leaf}e12:meta versioni2e4:name1:x12:piece lengthi16384ee`;
    const m = parseMetainfo(latin1ToBytes(`d4:info${info}e`));
    assert.deepEqual(m.info.files.map((f) => f.path[0]), ['a', 'b']);
    assert.deepEqual(m.infoBytes, latin1ToBytes(info));
  });

  test('UTF-8 names, name.utf-8, and a zero-length file\'s pieces root is ignored', () => {
    const tree = { [key('日本')]: { [key('ü.txt')]: file(3) }, empty: { '': { length: 0, 'pieces root': 'short' } } };
    const m = parseMetainfo(torrent(v2Info(tree, { 'name.utf-8': 'café' })));
    assert.equal(m.info.name, 'café');
    assert.deepEqual(shape(m.info.files), [
      ['empty', 0, 0, false, ''],
      ['日本/ü.txt', 3, 0, false, hex(root(3))],
      ['.pad/16381', 16381, 3, true, ''],
    ]);
  });

  test('larger piece lengths (up to 512 MiB) and exactly 16 KiB are accepted', () => {
    for (const pieceLength of [V2_BLOCK_SIZE, 1 << 20, 2 ** 29]) {
      const m = parseMetainfo(torrent(v2Info({ a: file(5), b: file(5) }, { 'piece length': pieceLength })));
      assert.equal(m.info.totalLength, 2 * pieceLength);
    }
  });

  test('10,000 files in 100 directories parse within the limits', () => {
    const r = bytesToLatin1(root(1));
    const dirs: string[] = [];
    for (let d = 0; d < 100; d++) {
      const files: string[] = [];
      for (let i = 0; i < 100; i++) {
        const name = `f${String(i).padStart(3, '0')}`;
        files.push(`${name.length}:${name}d0:d6:lengthi1e11:pieces root32:${r}ee`);
      }
      const dir = `d${String(d).padStart(2, '0')}`;
      dirs.push(`${dir.length}:${dir}d${files.join('')}e`);
    }
    const bytes = latin1ToBytes(`d4:infod9:file treed${dirs.join('')}e12:meta versioni2e4:name4:many12:piece lengthi16384eee`);
    const m = parseMetainfo(bytes);
    assert.equal(m.info.files.length, 2 * 10_000);
    assert.deepEqual(m.info.files[2].path, ['d00', 'f001']);
    assert.equal(m.info.files[m.info.files.length - 2].offset, 9_999 * 16384);
    assert.equal(m.info.pieceCount, 10_000);
  });
});

describe('hybrid torrents', () => {
  /** A hybrid info dict: v1 files with BEP 47 padding laid out to match `v2Info(tree)`. */
  function hybridInfo(over: Dict = {}, treeOver: Dict = {}): Dict {
    return v2Info(
      { a: file(100), b: { c: file(0), d: file(16384) }, e: file(5), ...treeOver },
      {
        pieces: sha1s(3),
        files: [
          { length: 100, path: ['a'] },
          { length: 16284, path: ['.pad', '16284'], attr: 'p' },
          { length: 0, path: ['b', 'c'] },
          { length: 16384, path: ['b', 'd'] },
          { length: 5, path: ['e'] },
        ],
        ...over,
      },
    );
  }

  test('agreement: v1 layout kept, pieces roots attached to the real files', () => {
    const m = parseMetainfo(torrent(hybridInfo()));
    assert.equal(m.info.metaVersion, 2);
    assert.deepEqual(shape(m.info.files), [
      ['a', 100, 0, false, hex(root(100))],
      ['.pad/16284', 16284, 100, true, ''],
      ['b/c', 0, 16384, false, ''],
      ['b/d', 16384, 16384, false, hex(root(16384 % 251))],
      ['e', 5, 32768, false, hex(root(5))],
    ]);
    assert.equal(m.info.totalLength, 32773);
    checkInvariants(m);
  });

  test('single file: the tree\'s key must be the v1 name', () => {
    const single = (treeKey: string): Uint8Array =>
      torrent(v2Info({ [treeKey]: file(40000) }, { name: 'x.iso', length: 40000, pieces: sha1s(3) }));
    const m = parseMetainfo(single('x.iso'));
    assert.deepEqual(shape(m.info.files), [['x.iso', 40000, 0, false, hex(root(40000 % 251))]]);
    assert.equal(m.info.multiFile, false);
    assertMetainfoError(single('y.iso'), /hybrid torrent: v1 file list and v2 file tree disagree at file 0: v1 has "x\.iso", v2 has "y\.iso"/);
  });

  const disagreements: [string, Dict, RegExp][] = [
    [
      'different path',
      hybridInfo({}, { e: undefined, f: file(5) }),
      /disagree at file 3: v1 has "e", v2 has "f"/,
    ],
    [
      'different length',
      hybridInfo({}, { e: file(6) }),
      /disagree at file 3: "e" is 5 bytes in v1, 6 in v2/,
    ],
    [
      'a file only in v1',
      hybridInfo({}, { e: undefined }),
      /disagree at file 3: "e" is not in the file tree/,
    ],
    [
      'a file only in the tree',
      hybridInfo({}, { f: file(1) }),
      /disagree at file 4: "f" is not in the v1 file list/,
    ],
    [
      'v1 order differs from the tree',
      hybridInfo({
        files: [
          { length: 16384, path: ['b', 'd'] },
          { length: 0, path: ['b', 'c'] },
          { length: 100, path: ['a'] },
          { length: 16284, path: ['.pad', '16284'], attr: 'p' },
          { length: 5, path: ['e'] },
        ],
      }),
      /disagree at file 0: v1 has "b\/d", v2 has "a"/,
    ],
    [
      'missing pad: a file off a piece boundary',
      hybridInfo({
        pieces: sha1s(2),
        files: [{ length: 100, path: ['a'] }, { length: 0, path: ['b', 'c'] }, { length: 16384, path: ['b', 'd'] }, { length: 5, path: ['e'] }],
      }),
      /disagree at file 2: "b\/d" does not start at a piece boundary in the v1 layout/,
    ],
    [
      'v1 single-file, v2 a directory',
      v2Info({ d: { 'x.iso': file(40000) } }, { name: 'x.iso', length: 40000, pieces: sha1s(3) }),
      /disagree at file 0: v1 has "x\.iso", v2 has "d\/x\.iso"/,
    ],
  ];
  for (const [name, info, pattern] of disagreements) {
    test(`disagreement rejected: ${name}`, () => assertMetainfoError(torrent(info), new RegExp(`hybrid torrent: v1 file list and v2 file tree ${pattern.source}`)));
  }

  test('a zero-length file off a piece boundary is fine', () => {
    const info = hybridInfo({
      files: [
        { length: 100, path: ['a'] },
        { length: 0, path: ['b', 'c'] },
        { length: 16284, path: ['.pad', '16284'], attr: 'p' },
        { length: 16384, path: ['b', 'd'] },
        { length: 5, path: ['e'] },
      ],
    });
    assert.equal(parseMetainfo(torrent(info)).info.files[1].offset, 100);
  });

  test('v1 path.utf-8 is what is compared', () => {
    const info = v2Info({ [key('é')]: file(5) }, {
      pieces: sha1s(1),
      files: [{ length: 5, path: [latin1ToBytes('\xe9')], 'path.utf-8': ['é'] }],
    });
    assert.deepEqual(parseMetainfo(torrent(info)).info.files[0].path, ['é']);
  });

  test('the v2 rules apply to hybrids: a file tree and a power-of-two piece length', () => {
    assertMetainfoError(torrent(hybridInfo({ 'file tree': undefined })), /missing "info\.file tree"/);
    const v1Ok = { name: 'x', 'piece length': 20000, length: 5, pieces: sha1s(1) };
    assert.equal(parseMetainfo(torrent(v1Ok)).info.metaVersion, 1);
    assertMetainfoError(torrent({ ...v1Ok, 'meta version': 2, 'file tree': { x: file(5) } }), /power of two/);
  });
});

describe('malformed v2 info dictionaries', () => {
  const bad: [string, Dict, RegExp][] = [
    ['meta version 3', v2Info({ a: file(5) }, { 'meta version': 3 }), /unsupported meta version 3/],
    ['meta version 1', v2Info({ a: file(5) }, { 'meta version': 1 }), /unsupported meta version 1/],
    ['meta version -2', v2Info({ a: file(5) }, { 'meta version': -2 }), /unsupported meta version -2/],
    ['meta version a string', v2Info({ a: file(5) }, { 'meta version': '2' }), /"info\.meta version" must be an integer/],
    ['missing file tree', v2Info(undefined as unknown as BEncodable), /missing "info\.file tree"/],
    ['file tree a list', v2Info([file(5)]), /"info\.file tree" must be a dictionary/],
    ['file tree a string', v2Info('a'), /"info\.file tree" must be a dictionary/],
    ['empty file tree', v2Info({}), /"info\.file tree" is an empty directory/],
    ['empty directory', v2Info({ a: file(5), d: {} }), /"info\.file tree\/d" is an empty directory/],
    ['nested empty directory', v2Info({ d: { e: {} } }), /"info\.file tree\/d\/e" is an empty directory/],
    ['node an integer', v2Info({ a: 5 }), /"info\.file tree\/a" must be a dictionary/],
    ['node a string', v2Info({ d: { a: 'x' } }), /"info\.file tree\/d\/a" must be a dictionary/],
    ['node a list', v2Info({ a: [] }), /"info\.file tree\/a" must be a dictionary/],
    ['"" with a sibling', v2Info({ a: { ...file(5), b: file(5) } }), /"info\.file tree\/a" is a file \("" key\) with other keys beside it/],
    ['"" not a dict', v2Info({ a: { '': 5 } }), /"info\.file tree\/a": file entry must be a dictionary/],
    ['"" a list', v2Info({ a: { '': [] } }), /file entry must be a dictionary/],
    ['"" at the top of the tree', v2Info({ '': { length: 5, 'pieces root': root(1) } }), /"info\.file tree" has an empty component/],
    ['missing length', v2Info({ a: { '': { 'pieces root': root(1) } } }), /"info\.file tree\/a": missing "length"/],
    ['negative length', v2Info({ a: { '': { length: -1, 'pieces root': root(1) } } }), /"info\.file tree\/a": "length" must be a non-negative integer/],
    ['length a string', v2Info({ a: { '': { length: '5', 'pieces root': root(1) } } }), /"length" must be a non-negative integer/],
    ['missing pieces root', v2Info({ a: { '': { length: 5 } } }), /"info\.file tree\/a": missing "pieces root"/],
    ['pieces root of 31 bytes', v2Info({ a: file(5, new Uint8Array(31)) }), /"info\.file tree\/a": "pieces root" must be a 32-byte string/],
    ['pieces root of 33 bytes', v2Info({ a: file(5, new Uint8Array(33)) }), /"pieces root" must be a 32-byte string/],
    ['pieces root of 0 bytes', v2Info({ a: file(5, new Uint8Array(0)) }), /"pieces root" must be a 32-byte string/],
    ['pieces root an integer', v2Info({ a: { '': { length: 5, 'pieces root': 1 } } }), /"pieces root" must be a 32-byte string/],
    ['key ..', v2Info({ '..': { etc: file(5) } }), /"info\.file tree" has component "\.\." \(path traversal\)/],
    ['key .. below a directory', v2Info({ d: { '..': file(5) } }), /"info\.file tree\/d" has component "\.\." \(path traversal\)/],
    ['key .', v2Info({ '.': file(5) }), /path traversal/],
    ['empty key in a directory', v2Info({ d: { '': file(5), x: file(1) } }), /is a file \("" key\) with other keys/],
    ['key with a slash', v2Info({ 'a/../../b': file(5) }), /contains a path separator/],
    ['key absolute', v2Info({ '/etc': file(5) }), /absolute component/],
    ['key with a backslash', v2Info({ '..\\x': file(5) }), /path separator/],
    ['key with NUL', v2Info({ 'a\0b': file(5) }), /NUL/],
    ['two keys that decode to the same name', v2Info({ '\xff': file(5), '\xfe': file(5) }), /duplicates the path of an earlier file/],
    ['a file and a directory of the same decoded name', v2Info({ '\xfe': { x: file(5) }, '\xff': file(5) }), /is also a directory of another file/],
    ['a directory below a file of the same decoded name', v2Info({ '\xfe': file(5), '\xff': { x: file(5) } }), /lies below another file/],
    ['piece length not a power of two', v2Info({ a: file(5) }, { 'piece length': 49152 }), /"info\.piece length" 49152 must be a power of two of at least 16384/],
    ['piece length 8 KiB', v2Info({ a: file(5) }, { 'piece length': 8192 }), /"info\.piece length" 8192 must be a power of two of at least 16384/],
    ['piece length 16383', v2Info({ a: file(5) }, { 'piece length': 16383 }), /must be a power of two/],
    ['piece length 2^53 - 1', v2Info({ a: file(5) }, { 'piece length': 2 ** 53 - 1 }), /larger than 536870912/],
    ['piece length 2^40 (a power of two, but 1 TiB per piece)', v2Info({ a: file(5) }, { 'piece length': 2 ** 40 }), /larger than 536870912/],
    ['2^45 bytes in 16 KiB pieces (2^31 pieces)', v2Info({ a: file(2 ** 45) }), /2147483648 pieces, more than 3355443/],
    ['piece length 0', v2Info({ a: file(5) }, { 'piece length': 0 }), /must be a positive integer/],
    ['missing piece length', v2Info({ a: file(5) }, { 'piece length': undefined }), /missing "info\.piece length"/],
    ['total length 0', v2Info({ a: file(0), b: file(0) }), /total length of the files is 0/],
    ['total over 2^53', v2Info({ a: file(2 ** 52), b: file(2 ** 52) }), /too large/],
    ['total over 2^53 by padding', v2Info({ a: file(2 ** 53 - 2), b: file(1) }), /too large/],
    ['missing name', v2Info({ a: file(5) }, { name: undefined }), /missing "info\.name"/],
    ['name ..', v2Info({ a: file(5) }, { name: '..' }), /"info\.name" has component "\.\."/],
  ];
  for (const [name, info, pattern] of bad) {
    test(name, () => {
      assertMetainfoError(torrent(info), pattern);
      assert.throws(() => parseInfoDict(bencode(info)), MetainfoError);
    });
  }

  test('a tree nested past the decoder\'s depth limit is a MetainfoError', () => {
    let tree: Dict = file(5);
    for (let i = 0; i < 40; i++) tree = { d: tree };
    assertMetainfoError(torrent(v2Info(tree)), /not valid bencode .*nesting/);
  });
});

describe('piece layers', () => {
  const tree = { big: file(40000, root(1)), huge: file(16384 * 10, root(2)), small: file(16384, root(3)) };
  const withLayers = (layers: BEncodable | undefined, info: Dict = v2Info(tree)): Uint8Array =>
    torrent(info, { 'piece layers': layers });
  const rk = (seed: number): string => bytesToLatin1(root(seed));

  test('valid layers, keyed by lowercase hex; missing ones are allowed', () => {
    const m = parseMetainfo(withLayers({ [rk(1)]: layer(3), [rk(2)]: layer(10) }));
    assert.deepEqual(m.pieceLayers, new Map([[hex(root(1)), layer(3)], [hex(root(2)), layer(10)]]));
    const partial = parseMetainfo(withLayers({ [rk(2)]: layer(10) }));
    assert.deepEqual([...partial.pieceLayers.keys()], ['02'.repeat(32)]);
    assert.deepEqual(parseMetainfo(withLayers(undefined)).pieceLayers, new Map());
    assert.deepEqual(parseMetainfo(withLayers({})).pieceLayers, new Map());
    checkInvariants(m);
  });

  test('upper-case-looking roots come out as lowercase hex', () => {
    const r = unhex('ABCDEF'.repeat(10) + 'ABCD');
    const m = parseMetainfo(torrent(v2Info({ f: file(40000, r) }), { 'piece layers': { [bytesToLatin1(r)]: layer(3) } }));
    assert.deepEqual([...m.pieceLayers.keys()], ['abcdef'.repeat(10) + 'abcd']);
  });

  test('two files with the same root share one layer', () => {
    const m = parseMetainfo(withLayers({ [rk(1)]: layer(3) }, v2Info({ a: file(40000, root(1)), b: file(40000, root(1)) })));
    assert.equal(m.pieceLayers.size, 1);
  });

  test('hybrid torrents carry layers too', () => {
    const info = v2Info({ big: file(40000, root(1)) }, { name: 'big', length: 40000, pieces: sha1s(3) });
    assert.deepEqual(parseMetainfo(withLayers({ [rk(1)]: layer(3) }, info)).pieceLayers, new Map([[hex(root(1)), layer(3)]]));
  });

  test('v1 torrents ignore the field (it means nothing there)', () => {
    const m = parseMetainfo(torrent({ name: 'x', 'piece length': 16384, length: 5, pieces: sha1s(1) }, { 'piece layers': 'junk' }));
    assert.deepEqual(m.pieceLayers, new Map());
  });

  const bad: [string, BEncodable, RegExp][] = [
    ['not a dictionary (list)', [layer(3)], /"piece layers" must be a dictionary/],
    ['not a dictionary (string)', 'x', /"piece layers" must be a dictionary/],
    ['not a dictionary (integer)', 0, /"piece layers" must be a dictionary/],
    ['one hash short', { [rk(1)]: layer(2) }, /"piece layers" entry 0101.* is 64 bytes, a file of 40000 bytes needs 96/],
    ['one hash too many', { [rk(2)]: layer(11) }, /is 352 bytes, a file of 163840 bytes needs 320/],
    ['not a multiple of 32', { [rk(1)]: new Uint8Array(95) }, /is 95 bytes/],
    ['empty', { [rk(1)]: new Uint8Array(0) }, /is 0 bytes/],
    ['value an integer', { [rk(1)]: 96 }, /"piece layers" entry 0101.* must be a byte string/],
    ['value a list', { [rk(1)]: [layer(3)] }, /must be a byte string/],
    ['unknown root', { [rk(9)]: layer(3) }, /"piece layers" entry 0909.* matches no file's pieces root/],
    ['for a file of exactly one piece', { [rk(3)]: layer(1) }, /"piece layers" entry 0303.* is for a file of 16384 bytes, not longer than one piece/],
    ['key of 31 bytes', { [bytesToLatin1(new Uint8Array(31))]: layer(1) }, /"piece layers" has a key of 31 bytes/],
    ['key of 64 hex characters', { ['01'.repeat(32)]: layer(3) }, /has a key of 64 bytes/],
    ['empty key', { '': layer(3) }, /has a key of 0 bytes/],
  ];
  for (const [name, layers, pattern] of bad) {
    test(`rejected: ${name}`, () => assertMetainfoError(withLayers(layers), pattern));
  }
});

describe('encodeMetainfo: v2 and hybrid', () => {
  const roots = { a: root(1), c: root(2), d: root(3) };

  /** A v2-only input built by hand: offsets and padding are the encoder's business to ignore. */
  function v2Input(over: Partial<MetainfoInput['info']> = {}): MetainfoInput['info'] {
    return {
      name: 'set',
      pieceLength: 16384,
      metaVersion: 2,
      multiFile: true,
      private: false,
      files: [
        { path: ['a'], length: 40000, offset: 0, piecesRoot: roots.a },
        { path: ['b', 'empty'], length: 0, offset: 0 },
        { path: ['b', 'c'], length: 1, offset: 0, piecesRoot: roots.c },
        { path: ['ü'], length: 2, offset: 0, piecesRoot: roots.d },
      ],
      ...over,
    };
  }

  test('v1 output is unchanged whether metaVersion is left out or 1', () => {
    const info = { name: 'x', pieceLength: 16384, pieces: sha1s(1), files: [{ path: ['x'], length: 5, offset: 0 }], multiFile: false, private: false };
    const expected = bencode({ info: { length: 5, name: 'x', 'piece length': 16384, pieces: sha1s(1) } });
    assert.deepEqual(encodeMetainfo({ info }).bytes, expected);
    assert.deepEqual(encodeMetainfo({ info: { ...info, metaVersion: 1 }, pieceLayers: new Map() }).bytes, expected);
  });

  test('v2-only: only name, piece length, meta version and file tree; parses back with padding', () => {
    const { bytes, infoBytes } = encodeMetainfo({ info: v2Input(), pieceLayers: new Map([[hex(roots.a), layer(3)]]) });
    const infoKeys = Object.keys(bdecode(infoBytes) as BDict);
    assert.deepEqual(infoKeys.sort(), ['file tree', 'meta version', 'name', 'piece length']);
    assert.deepEqual(bencode(bdecode(bytes) as BEncodable), bytes, 'canonical');
    const m = parseMetainfo(bytes);
    assert.deepEqual(m.infoBytes, infoBytes);
    assert.deepEqual(shape(m.info.files), [
      ['a', 40000, 0, false, hex(roots.a)],
      ['.pad/9152', 9152, 40000, true, ''],
      ['b/c', 1, 49152, false, hex(roots.c)],
      ['.pad/16383', 16383, 49153, true, ''],
      ['b/empty', 0, 65536, false, ''],
      ['ü', 2, 65536, false, hex(roots.d)],
      ['.pad/16382', 16382, 65538, true, ''],
    ]);
    assert.deepEqual(m.pieceLayers, new Map([[hex(roots.a), layer(3)]]));
    // And round again: same bytes.
    assert.deepEqual(encodeMetainfo(m).bytes, bytes);
  });

  test('v2-only single file: the tree is { [name]: { "": ... } }', () => {
    const info = v2Input({ name: 'one.bin', multiFile: false, private: true, files: [{ path: ['one.bin'], length: 5, offset: 0, piecesRoot: roots.a }] });
    const { infoBytes } = encodeMetainfo({ info });
    const tree = (bdecode(infoBytes) as BDict)['file tree'] as BDict;
    assert.deepEqual(Object.keys(tree), ['one.bin']);
    assert.deepEqual(Object.keys(tree['one.bin'] as BDict), ['']);
    const m = parseInfoDict(infoBytes);
    assert.equal(m.private, true);
    assert.equal(m.multiFile, false);
  });

  test('hybrid: v1 fields with pad files plus the file tree; parse(encode(x)) is x', () => {
    const parsed = parseMetainfo(encodeMetainfo({ info: v2Input() }).bytes);
    // Turn the v2-only layout into a hybrid: same files (with their padding), plus SHA-1 hashes.
    const info = { ...parsed.info, pieces: sha1s(parsed.info.pieceCount) };
    const { bytes, infoBytes } = encodeMetainfo({ info, comment: 'hybrid' });
    const d = bdecode(infoBytes) as BDict;
    assert.deepEqual(Object.keys(d).sort(), ['file tree', 'files', 'meta version', 'name', 'piece length', 'pieces']);
    const m = parseMetainfo(bytes);
    assert.deepEqual(m.info, info);
    assert.equal(m.comment, 'hybrid');
    const v1Files = d['files'] as BDict[];
    assert.deepEqual(v1Files.map((f) => f['attr']), [undefined, enc.encode('p'), undefined, enc.encode('p'), undefined, undefined, enc.encode('p')]);
  });

  test('hybrid single file: the tree key is the name', () => {
    const info = { name: 'x.iso', pieceLength: 16384, pieces: sha1s(3), metaVersion: 2 as const, multiFile: false, private: false, files: [{ path: ['x.iso'], length: 40000, offset: 0, piecesRoot: roots.a }] };
    const { bytes, infoBytes } = encodeMetainfo({ info, pieceLayers: new Map([[hex(roots.a), layer(3)]]) });
    const d = bdecode(infoBytes) as BDict;
    assert.deepEqual(Object.keys(d['file tree'] as BDict), ['x.iso']);
    assert.equal(d['length'], 40000);
    const m = parseMetainfo(bytes);
    assert.deepEqual(m.info, { ...info, pieceCount: 3, totalLength: 40000 });
    assert.equal(m.pieceLayers.size, 1);
  });

  test('tree keys are sorted by raw UTF-8 bytes', () => {
    const names = ['é', 'z', '10', '9', 'Z', 'ä'];
    const files = names.map((n, i) => ({ path: [n], length: 16384, offset: 0, piecesRoot: root(i + 1) }));
    const { infoBytes } = encodeMetainfo({ info: v2Input({ files }) });
    assert.deepEqual(parseInfoDict(infoBytes).files.map((f) => f.path[0]), ['10', '9', 'Z', 'z', 'ä', 'é']);
    assert.deepEqual(bencode(bdecode(infoBytes) as BEncodable), infoBytes, 'canonical');
  });

  test('mistakes are TypeErrors naming the problem', () => {
    const layers = (h: string, l: Uint8Array): Map<string, Uint8Array> => new Map([[h, l]]);
    const v1 = { name: 'x', pieceLength: 16384, pieces: sha1s(1), files: [{ path: ['x'], length: 5, offset: 0 }], multiFile: false, private: false };
    const cases: [MetainfoInput, RegExp][] = [
      [{ info: v1, pieceLayers: layers(hex(roots.a), layer(3)) }, /piece layers need meta version 2/],
      [{ info: v2Input(), pieceLayers: layers('xyz', layer(3)) }, /piece layers key "xyz" is not 64 hex digits/],
      [{ info: v2Input(), pieceLayers: layers(hex(root(99)), layer(3)) }, /matches no file's pieces root/],
      [{ info: v2Input(), pieceLayers: layers(hex(roots.a), layer(2)) }, /needs 96/],
      [{ info: v2Input(), pieceLayers: layers(hex(roots.c), layer(1)) }, /not longer than one piece/],
      [{ info: v2Input({ files: [{ path: ['a'], length: 5, offset: 0 }] }) }, /missing "pieces root"/],
      [{ info: v2Input({ files: [{ path: ['a'], length: 5, offset: 0, piecesRoot: new Uint8Array(20) }] }) }, /32-byte/],
      [{ info: v2Input({ files: [{ path: ['a'], length: 5, offset: 0, piecesRoot: roots.a }, { path: ['a'], length: 5, offset: 0, piecesRoot: roots.a }] }) }, /"a" duplicates another file/],
      [{ info: v2Input({ files: [{ path: ['a'], length: 5, offset: 0, piecesRoot: roots.a }, { path: ['a', 'b'], length: 5, offset: 0, piecesRoot: roots.a }] }) }, /"a\/b" lies below another file/],
      [{ info: v2Input({ files: [{ path: ['a', 'b'], length: 5, offset: 0, piecesRoot: roots.a }, { path: ['a'], length: 5, offset: 0, piecesRoot: roots.a }] }) }, /"a" duplicates another file or directory/],
      [{ info: v2Input({ files: [{ path: [], length: 5, offset: 0, piecesRoot: roots.a }] }) }, /empty path/],
      [{ info: v2Input({ files: [{ path: ['..'], length: 5, offset: 0, piecesRoot: roots.a }] }) }, /path traversal/],
      [{ info: v2Input({ files: [] }) }, /empty directory/],
      [{ info: v2Input({ pieceLength: 20000 }) }, /power of two/],
      [{ info: v2Input({ multiFile: false }) }, /single-file torrent needs exactly one file/],
      [{ info: v2Input({ multiFile: false, files: [{ path: ['d', 'x'], length: 5, offset: 0, piecesRoot: roots.a }] }) }, /one-component path/],
      [{ info: { ...v2Input(), pieces: sha1s(3), files: [0, 2, 1, 3].map((i) => v2Input().files[i]) } }, /hybrid torrent: v1 file list and v2 file tree disagree at file 1: "b\/c" does not start at a piece boundary/],
      [{ info: { ...v2Input(), pieces: sha1s(3) } }, /disagree at file 1: v1 has "b\/empty", v2 has "b\/c"/],
    ];
    for (const [input, pattern] of cases) assertTypeError(() => encodeMetainfo(input), pattern);
  });
});

describe('hostile v2 input', () => {
  /** A hand-built v2-only torrent with nesting, empty files and piece layers, as a fuzz seed. */
  const handMade = torrent(
    v2Info({ a: file(40000, root(1)), d: { e: file(0), f: { g: file(70000, root(2)) } }, h: file(7) }, { private: 1 }),
    { 'piece layers': { [bytesToLatin1(root(1))]: layer(3), [bytesToLatin1(root(2))]: layer(5) }, announce: 'http://t/' },
  );
  const seeds = [LT_MULTI_V2, LT_MULTI_HYBRID, LT_SINGLE_V2, handMade];

  /** Parses; on success checks the invariants and that encoding gives the same torrent back. */
  function parseOrMetainfoError(bytes: Uint8Array, label: string): boolean {
    let m: Metainfo;
    try {
      m = parseMetainfo(bytes);
    } catch (err) {
      assert.ok(err instanceof MetainfoError, `${label}: expected MetainfoError, got ${String(err)}`);
      return false;
    }
    checkInvariants(m);
    const again = parseMetainfo(encodeMetainfo(m).bytes);
    assert.deepEqual(again.info, m.info, label);
    assert.deepEqual(again.pieceLayers, m.pieceLayers, label);
    return true;
  }

  test('truncated at every byte position: only MetainfoError', () => {
    for (const bytes of [LT_MULTI_HYBRID, handMade]) {
      for (let n = 0; n < bytes.length; n++) assert.equal(parseOrMetainfoError(bytes.subarray(0, n), `prefix ${n}`), false);
    }
  });

  test('4,000 mutated v2 and hybrid torrents: parse or MetainfoError, invariants hold', () => {
    const rng = new Mulberry32(0xb2e52);
    const interesting = enc.encode('0123456789:deil-./\\\0');
    let parsed = 0;
    for (let i = 0; i < 4000; i++) {
      let bytes = seeds[i % seeds.length].slice();
      const edits = 1 + (rng.nextUint32() % 4);
      for (let e = 0; e < edits; e++) {
        const at = rng.nextUint32() % bytes.length;
        const kind = rng.nextUint32() % 8;
        if (kind === 0) {
          bytes = new Uint8Array([...bytes.subarray(0, at), ...bytes.subarray(at + 1)]); // delete
        } else if (kind === 1) {
          bytes = new Uint8Array([...bytes.subarray(0, at), interesting[rng.nextUint32() % interesting.length], ...bytes.subarray(at)]); // insert
        } else {
          bytes[at] = kind % 2 === 0 ? interesting[rng.nextUint32() % interesting.length] : rng.nextUint32() & 0xff;
        }
      }
      if (parseOrMetainfoError(bytes, `mutation ${i}`)) parsed++;
    }
    // Mutations inside hashes and names leave valid torrents: both paths ran.
    assert.ok(parsed > 100 && parsed < 3900, `parsed ${parsed}`);
  });
});
