import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bdecode, bencode, latin1ToBytes, type BEncodable } from '../../src/codec/bencode.js';
import { DecodeError } from '../../src/codec/errors.js';
import {
  encodeMetainfo,
  MetainfoError,
  parseInfoDict,
  parseMetainfo,
  pieceHash,
  pieceSize,
  type InfoDict,
} from '../../src/codec/metainfo.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { assertMetainfoError, torrent, type Dict } from './metainfo-helpers.js';

const enc = new TextEncoder();
const latin1 = (s: string): Uint8Array => latin1ToBytes(s);

/** `n` distinct 20-byte hashes: hash i is filled with byte (i + 1) & 0xff. */
function hashes(n: number): Uint8Array {
  const out = new Uint8Array(20 * n);
  for (let i = 0; i < n; i++) out.fill((i + 1) & 0xff, 20 * i, 20 * i + 20);
  return out;
}


function singleInfo(over: Dict = {}): Dict {
  return { name: 'hello.txt', 'piece length': 16384, length: 40000, pieces: hashes(3), ...over };
}

function multiInfo(over: Dict = {}): Dict {
  return {
    name: 'album',
    'piece length': 32768,
    pieces: hashes(2),
    files: [
      { length: 30000, path: ['cd1', 'track1.flac'] },
      { length: 2768, path: ['.pad', '2768'], attr: 'p' },
      { length: 100, path: ['cover.jpg'] },
    ],
    ...over,
  };
}



/** Parses, and if that succeeds checks the invariants every result must hold; true if parsed. */
function parseOrDecodeError(bytes: Uint8Array, label: string): boolean {
  let m;
  try {
    m = parseMetainfo(bytes);
  } catch (err) {
    assert.ok(err instanceof DecodeError, `${label}: expected DecodeError, got ${String(err)}`);
    return false;
  }
  assert.equal(m.info.pieces?.length, 20 * m.info.pieceCount);
  assert.equal(m.info.pieceCount, Math.ceil(m.info.totalLength / m.info.pieceLength));
  assert.deepEqual(parseInfoDict(m.infoBytes), m.info);
  return true;
}

describe('parseMetainfo: valid torrents', () => {
  test('single-file torrent with the optional fields', () => {
    const bytes = torrent(singleInfo({ private: 1 }), {
      announce: 'http://tracker.example/announce',
      'announce-list': [['http://a/announce', 'udp://b:80'], ['http://c/announce']],
      'url-list': 'http://seed.example/hello.txt',
      comment: 'a comment',
      'created by': 'warren test',
      'creation date': 1700000000,
    });
    const m = parseMetainfo(bytes);
    assert.equal(m.info.name, 'hello.txt');
    assert.equal(m.info.pieceLength, 16384);
    assert.equal(m.info.totalLength, 40000);
    assert.equal(m.info.pieceCount, 3);
    assert.equal(m.info.multiFile, false);
    assert.equal(m.info.private, true);
    assert.deepEqual(m.info.files, [{ path: ['hello.txt'], length: 40000, offset: 0 }]);
    assert.equal(m.announce, 'http://tracker.example/announce');
    assert.deepEqual(m.announceList, [['http://a/announce', 'udp://b:80'], ['http://c/announce']]);
    assert.deepEqual(m.urlList, ['http://seed.example/hello.txt']);
    assert.equal(m.comment, 'a comment');
    assert.equal(m.createdBy, 'warren test');
    assert.equal(m.creationDate, 1700000000);
    assert.deepEqual(m.infoBytes, bencode(singleInfo({ private: 1 })));
    assert.deepEqual(pieceHash(m.info, 0), new Uint8Array(20).fill(1));
    assert.deepEqual(pieceHash(m.info, 2), new Uint8Array(20).fill(3));
    assert.equal(pieceSize(m.info, 0), 16384);
    assert.equal(pieceSize(m.info, 1), 16384);
    assert.equal(pieceSize(m.info, 2), 40000 - 2 * 16384);
  });

  test('multi-file torrent: offsets, padding files, optional fields absent', () => {
    const m = parseMetainfo(torrent(multiInfo()));
    assert.equal(m.info.multiFile, true);
    assert.equal(m.info.private, false);
    assert.equal(m.info.totalLength, 32868);
    assert.equal(m.info.pieceCount, 2);
    assert.deepEqual(m.info.files, [
      { path: ['cd1', 'track1.flac'], length: 30000, offset: 0 },
      { path: ['.pad', '2768'], length: 2768, offset: 30000, padding: true },
      { path: ['cover.jpg'], length: 100, offset: 32768 },
    ]);
    assert.equal(pieceSize(m.info, 1), 100);
    assert.equal(m.announce, undefined);
    assert.deepEqual(m.announceList, []);
    assert.deepEqual(m.urlList, []);
    assert.equal(m.comment, undefined);
  });

  test('name.utf-8 and path.utf-8 are preferred; UTF-8 names decode', () => {
    const info = multiInfo({
      name: latin1('caf\xe9'),
      'name.utf-8': 'café',
      files: [{ length: 32868, path: [latin1('\xfc')], 'path.utf-8': ['ü', '日本.txt'] }],
    });
    const m = parseMetainfo(torrent(info));
    assert.equal(m.info.name, 'café');
    assert.deepEqual(m.info.files[0].path, ['ü', '日本.txt']);
  });

  test('zero-length files are kept; repeated padding paths are allowed', () => {
    const info = multiInfo({
      files: [
        { length: 0, path: ['empty'] },
        { length: 16384, path: ['a'] },
        { length: 16384, path: ['.pad', '16384'], attr: 'p' },
        { length: 16384, path: ['.pad', '16384'], attr: 'xp' },
        { length: 1, path: ['b'] },
      ],
      'piece length': 16384,
      pieces: hashes(4),
    });
    const m = parseMetainfo(torrent(info));
    assert.deepEqual(
      m.info.files.map((f) => [f.offset, f.length, f.padding === true]),
      [[0, 0, false], [0, 16384, false], [16384, 16384, true], [32768, 16384, true], [49152, 1, false]],
    );
  });

  test('url-list as a list; malformed optional outer fields are skipped', () => {
    const m = parseMetainfo(
      torrent(singleInfo(), {
        announce: 5,
        'announce-list': [['http://a/'], 'not a tier', [7, ''], []],
        'url-list': ['http://w1/', 3, 'http://w2/'],
        comment: ['x'],
        'creation date': 'yesterday',
      }),
    );
    assert.equal(m.announce, undefined);
    assert.deepEqual(m.announceList, [['http://a/']]);
    assert.deepEqual(m.urlList, ['http://w1/', 'http://w2/']);
    assert.equal(m.comment, undefined);
    assert.equal(m.creationDate, undefined);
  });

  test('a piece length that is not a power of two is accepted', () => {
    const m = parseMetainfo(torrent(singleInfo({ 'piece length': 1000, length: 2500, pieces: hashes(3) })));
    assert.equal(pieceSize(m.info, 2), 500);
  });

  test('100,000 files parse within the limits', () => {
    // Built as text: the generic encoder is not what this test measures.
    const parts: string[] = [];
    for (let i = 0; i < 100_000; i++) {
      const dir = `dir${i % 100}`;
      const file = `file-${i}.bin`;
      parts.push(`d6:lengthi1e4:pathl${dir.length}:${dir}${file.length}:${file}ee`);
    }
    const pieces = '\x01'.repeat(20 * 7);
    const bytes = latin1(`d4:infod5:filesl${parts.join('')}e4:name4:many12:piece lengthi16384e6:pieces140:${pieces}ee`);
    const m = parseMetainfo(bytes);
    assert.equal(m.info.files.length, 100_000);
    assert.equal(m.info.files[99_999].offset, 99_999);
    assert.equal(m.info.totalLength, 100_000);
  });
});

describe('infoBytes is the exact original span', () => {
  test('non-canonical key order outside and inside info', () => {
    // Keys out of order in both dicts: re-encoding would produce different bytes.
    const pieces = '\x07'.repeat(20);
    const infoText = `d6:pieces20:${pieces}4:name1:x12:piece lengthi16e6:lengthi10ee`;
    const bytes = latin1(`d8:announce9:http://t/4:info${infoText}7:comment3:hi!e`);
    const m = parseMetainfo(bytes);
    assert.deepEqual(m.infoBytes, latin1(infoText));
    assert.notDeepEqual(m.infoBytes, bencode(bdecode(m.infoBytes) as BEncodable));
    assert.equal(m.info.name, 'x');
    assert.equal(m.comment, 'hi!');
    assert.deepEqual(pieceHash(m.info, 0), new Uint8Array(20).fill(7));
  });

  test('the scanner is not fooled by "info" inside other values', () => {
    const infoText = `d6:lengthi10e4:name1:y12:piece lengthi16e6:pieces20:${'\x01'.repeat(20)}e`;
    const decoy = '4:infod4:name5:decoye';
    const bytes = latin1(`d1:ai4e1:bl${decoy.length}:${decoy}i-3ee1:cd4:infoi1ee4:info${infoText}1:zdee`);
    const m = parseMetainfo(bytes);
    assert.deepEqual(m.infoBytes, latin1(infoText));
    assert.equal(m.info.name, 'y');
  });

  test('infoBytes is a copy, independent of the input buffer', () => {
    const bytes = torrent(singleInfo());
    const m = parseMetainfo(bytes);
    const before = m.infoBytes.slice();
    bytes.fill(0);
    assert.deepEqual(m.infoBytes, before);
    assert.deepEqual(pieceHash(m.info, 1), new Uint8Array(20).fill(2));
  });

  test('a Node Buffer input is copied too (a Buffer\'s slice is a view, not a copy)', () => {
    const buffer = Buffer.from(torrent(singleInfo()));
    const m = parseMetainfo(buffer);
    const before = m.infoBytes.slice();
    buffer.fill(0);
    assert.deepEqual(m.infoBytes, before);
    assert.deepEqual(pieceHash(m.info, 1), new Uint8Array(20).fill(2));
    assert.deepEqual(parseInfoDict(m.infoBytes), m.info);
  });
});

describe('encodeMetainfo', () => {
  test('round trip: parse(encode(x)) gives x back, encode(parse(b)) gives b back', () => {
    for (const info of [singleInfo({ private: 1 }), multiInfo()]) {
      const original = parseMetainfo(
        torrent(info, {
          announce: 'udp://t:1/',
          'announce-list': [['udp://t:1/'], ['http://u/']],
          'url-list': ['http://w/'],
          comment: 'ç',
          'created by': 'me',
          'creation date': 42,
        }),
      );
      const { bytes, infoBytes } = encodeMetainfo(original);
      const again = parseMetainfo(bytes);
      assert.deepEqual(again, original);
      assert.deepEqual(infoBytes, original.infoBytes);
      assert.deepEqual(encodeMetainfo(again).bytes, bytes);
    }
  });

  test('pieceCount/totalLength may be omitted; empty lists are left out', () => {
    const info = parseInfoDict(bencode(multiInfo()));
    const { pieceCount: _pc, totalLength: _tl, ...rest } = info;
    const { bytes } = encodeMetainfo({ info: rest, announceList: [], urlList: [] });
    const outer = bdecode(bytes) as Record<string, unknown>;
    assert.deepEqual(Object.keys(outer), ['info']);
    assert.deepEqual(parseMetainfo(bytes).info, info);
  });

  test('invalid input is a TypeError naming the problem', () => {
    const info = parseInfoDict(bencode(singleInfo()));
    const bad: [Partial<InfoDict>, RegExp][] = [
      [{ name: '..' }, /path traversal/],
      [{ pieces: hashes(2) }, /needs? 3|need 3/],
      [{ pieceLength: 0 }, /piece length/],
      [{ files: [] }, /exactly one file/],
    ];
    for (const [over, pattern] of bad) {
      assert.throws(() => encodeMetainfo({ info: { ...info, ...over } }), (err: unknown) => {
        assert.ok(err instanceof TypeError, String(err));
        assert.match(err.message, pattern);
        return true;
      });
    }
    const multi = parseInfoDict(bencode(multiInfo()));
    const traversal = { ...multi, files: [{ path: ['..', 'etc'], length: 32868, offset: 0 }] };
    assert.throws(() => encodeMetainfo({ info: traversal }), TypeError);
  });
});

describe('parseMetainfo: malformed input', () => {
  const cases: [string, Uint8Array, RegExp][] = [
    ['not bencode', enc.encode('hello'), /not valid bencode/],
    ['top level a list', enc.encode('le'), /top level is not a dictionary/],
    ['missing info', bencode({ announce: 'x' }), /missing "info"/],
    ['info not a dict', bencode({ info: 'x' }), /"info" must be a dictionary/],
    ['pieces not a multiple of 20', torrent(singleInfo({ pieces: new Uint8Array(39) })), /"info\.pieces" length 39 is not a multiple of 20/],
    ['too few pieces', torrent(singleInfo({ pieces: hashes(2) })), /"info\.pieces" holds 2 hashes .* need 3/],
    ['too many pieces', torrent(singleInfo({ pieces: hashes(4) })), /holds 4 hashes/],
    ['missing pieces', torrent(singleInfo({ pieces: undefined })), /missing "info\.pieces"/],
    ['pieces wrong type', torrent(singleInfo({ pieces: 5 })), /"info\.pieces" must be a byte string/],
    ['missing piece length', torrent(singleInfo({ 'piece length': undefined })), /missing "info\.piece length"/],
    ['zero piece length', torrent(singleInfo({ 'piece length': 0 })), /"info\.piece length" must be a positive integer/],
    ['negative piece length', torrent(singleInfo({ 'piece length': -5 })), /positive integer/],
    ['piece length a string', torrent(singleInfo({ 'piece length': '16384' })), /positive integer/],
    ['piece length of 1 GiB (would be allocated per piece)', torrent(singleInfo({ 'piece length': 2 ** 30, length: 40000, pieces: hashes(1) })), /larger than 536870912 \(512 MiB\)/],
    ['negative length', torrent(singleInfo({ length: -1 })), /"info\.length" must be a non-negative integer/],
    ['length a string', torrent(singleInfo({ length: '5' })), /"info\.length" must be/],
    ['total length 0', torrent(singleInfo({ length: 0, pieces: hashes(0) })), /total length .* is 0/],
    ['missing name', torrent(singleInfo({ name: undefined })), /missing "info\.name"/],
    ['name a list', torrent(singleInfo({ name: ['a'] })), /"info\.name" must be a byte string/],
    ['name ..', torrent(singleInfo({ name: '..' })), /"info\.name" has component "\.\." \(path traversal\)/],
    ['name .', torrent(singleInfo({ name: '.' })), /path traversal/],
    ['name empty', torrent(singleInfo({ name: '' })), /"info\.name" has an empty component/],
    ['name with slash', torrent(singleInfo({ name: 'a/b' })), /contains a path separator/],
    ['name absolute', torrent(singleInfo({ name: '/etc' })), /absolute component/],
    ['name.utf-8 traversal', torrent(singleInfo({ 'name.utf-8': '..' })), /"info\.name\.utf-8" has component "\.\."/],
    ['name with NUL', torrent(singleInfo({ name: 'a\0b' })), /NUL/],
    ['name with backslash', torrent(singleInfo({ name: '..\\x' })), /path separator/],
    ['both length and files', torrent(multiInfo({ length: 5 })), /both "length" and "files"/],
    ['neither length nor files', torrent(singleInfo({ length: undefined })), /neither "length" nor "files"/],
    ['v2 with an empty file tree', torrent({ name: 'x', 'piece length': 16384, 'meta version': 2, 'file tree': {} }), /"info\.file tree" is an empty directory/],
    ['file tree without meta version', torrent({ name: 'x', 'piece length': 16384, 'file tree': { x: { '': { length: 1 } } } }), /missing "info\.pieces" \(a "file tree" needs "meta version" 2\)/],
    ['files not a list', torrent(multiInfo({ files: 'x' })), /"info\.files" must be a list/],
    ['files empty', torrent(multiInfo({ files: [] })), /"info\.files" is empty/],
    ['file not a dict', torrent(multiInfo({ files: [5] })), /"info\.files\[0\]" must be a dictionary/],
    ['file missing length', torrent(multiInfo({ files: [{ path: ['a'] }] })), /missing "info\.files\[0\]\.length"/],
    ['file negative length', torrent(multiInfo({ files: [{ path: ['a'], length: -1 }] })), /"info\.files\[0\]\.length" must be a non-negative integer/],
    ['file missing path', torrent(multiInfo({ files: [{ length: 32868 }] })), /missing "info\.files\[0\]\.path"/],
    ['path not a list', torrent(multiInfo({ files: [{ length: 32868, path: 'a' }] })), /"info\.files\[0\]\.path" must be a list/],
    ['path empty', torrent(multiInfo({ files: [{ length: 32868, path: [] }] })), /"info\.files\[0\]\.path" is empty/],
    ['path component a number', torrent(multiInfo({ files: [{ length: 32868, path: ['a', 1] }] })), /"info\.files\[0\]\.path\[1\]" must be a byte string/],
    ['path traversal ..', torrent(multiInfo({ files: [{ length: 32868, path: ['..', '..', 'etc', 'passwd'] }] })), /"info\.files\[0\]\.path" has component "\.\." \(path traversal\)/],
    ['path traversal mid-path', torrent(multiInfo({ files: [{ length: 32868, path: ['a', '..', 'b'] }] })), /path traversal/],
    ['absolute path', torrent(multiInfo({ files: [{ length: 32868, path: ['/etc', 'passwd'] }] })), /absolute component "\/etc"/],
    ['absolute path as empty first component', torrent(multiInfo({ files: [{ length: 32868, path: ['', 'etc'] }] })), /empty component/],
    ['empty component', torrent(multiInfo({ files: [{ length: 32868, path: ['a', ''] }] })), /empty component/],
    ['separator in component', torrent(multiInfo({ files: [{ length: 32868, path: ['a/../../b'] }] })), /path separator/],
    ['path.utf-8 traversal', torrent(multiInfo({ files: [{ length: 32868, path: ['ok'], 'path.utf-8': ['..'] }] })), /"info\.files\[0\]\.path\.utf-8" has component/],
    ['duplicate file paths', torrent(multiInfo({ files: [{ length: 1, path: ['a'] }, { length: 32867, path: ['a'] }] })), /"info\.files\[1\]\.path" duplicates/],
    ['file is also a directory', torrent(multiInfo({ files: [{ length: 1, path: ['a', 'b'] }, { length: 32867, path: ['a'] }] })), /is also a directory/],
    ['file below a file', torrent(multiInfo({ files: [{ length: 1, path: ['a'] }, { length: 32867, path: ['a', 'b'] }] })), /lies below another file/],
    ['total over 2^53', torrent(multiInfo({ files: [{ length: 2 ** 52, path: ['a'] }, { length: 2 ** 52, path: ['b'] }] })), /too large/],
  ];
  for (const [name, bytes, pattern] of cases) {
    test(name, () => assertMetainfoError(bytes, pattern));
  }

  test('parseInfoDict applies the same checks', () => {
    assert.throws(() => parseInfoDict(bencode(singleInfo({ name: '..' }))), MetainfoError);
    assert.throws(() => parseInfoDict(enc.encode('le')), /"info" must be a dictionary/);
    assert.throws(() => parseInfoDict(enc.encode('d4:name')), /not valid bencode/);
    assert.deepEqual(parseInfoDict(bencode(singleInfo())).files[0].path, ['hello.txt']);
  });

  test('pieceHash and pieceSize reject out-of-range indexes', () => {
    const info = parseInfoDict(bencode(singleInfo()));
    for (const i of [-1, 3, 1.5, NaN]) {
      assert.throws(() => pieceHash(info, i), RangeError);
      assert.throws(() => pieceSize(info, i), RangeError);
    }
  });

  test('truncated at every byte position: only DecodeError', () => {
    for (const bytes of [torrent(singleInfo(), { announce: 'http://t/', comment: 'c' }), torrent(multiInfo())]) {
      for (let n = 0; n < bytes.length; n++) {
        assert.equal(parseOrDecodeError(bytes.subarray(0, n), `prefix ${n}`), false);
      }
    }
  });

  test('5,000 mutated torrents: parse or DecodeError, invariants hold', () => {
    const rng = new Mulberry32(0x5eed);
    const seeds = [torrent(singleInfo({ private: 1 }), { announce: 'http://t/' }), torrent(multiInfo())];
    const interesting = enc.encode('0123456789:deil-./');
    let parsed = 0;
    for (let i = 0; i < 5000; i++) {
      const base = seeds[i % seeds.length];
      const bytes = base.slice();
      const edits = 1 + (rng.nextUint32() % 4);
      for (let e = 0; e < edits; e++) {
        const at = rng.nextUint32() % bytes.length;
        bytes[at] = rng.nextUint32() % 2 === 0 ? interesting[rng.nextUint32() % interesting.length] : rng.nextUint32() & 0xff;
      }
      if (parseOrDecodeError(bytes, `mutation ${i}`)) parsed++;
    }
    // Mutations inside the piece hashes or strings leave valid torrents: both paths ran.
    assert.ok(parsed > 100 && parsed < 4900, `parsed ${parsed}`);
  });
});
