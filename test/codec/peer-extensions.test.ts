import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  MAX_METADATA_SIZE,
  MAX_PEX_ENTRIES,
  METADATA_PIECE_SIZE,
  bencodedValueEnd,
  decodeExtendedHandshake,
  decodeMetadataMessage,
  decodePex,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  encodePex,
  metadataPieceCount,
} from '../../src/codec/peer-extensions.js';
import { bencode } from '../../src/codec/bencode.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { concat } from './bytes.js';

const enc = new TextEncoder();
const ascii = (s: string): Uint8Array => enc.encode(s);
const text = (b: Uint8Array): string => new TextDecoder().decode(b);


describe('extended handshake (BEP 10)', () => {
  test('known bytes and round trip', () => {
    const h = { m: { ut_metadata: 1, ut_pex: 2 }, v: 'warren 0.1', p: 6881, reqq: 500, metadataSize: 31235, yourIp: new Uint8Array([127, 0, 0, 1]) };
    const b = encodeExtendedHandshake(h);
    assert.equal(
      text(b),
      'd1:md11:ut_metadatai1e6:ut_pexi2ee13:metadata_sizei31235e1:pi6881e4:reqqi500e1:v10:warren 0.16:yourip4:\x7f\x00\x00\x01e',
    );
    assert.deepEqual(decodeExtendedHandshake(b), h);
    assert.deepEqual(decodeExtendedHandshake(encodeExtendedHandshake({ m: {} })), { m: {} });
  });

  test('a libtorrent-style handshake: unknown keys ignored, disabled extensions kept as 0', () => {
    const b = bencode({
      complete_ago: -1, m: { lt_donthave: 7, ut_holepunch: 4, ut_metadata: 2, ut_pex: 0, upload_only: 3 },
      metadata_size: 1234, reqq: 500, upload_only: 0, v: 'libtorrent 2.0.9', yourip: new Uint8Array(16), ipv4: new Uint8Array(4),
    });
    const h = decodeExtendedHandshake(b);
    assert.equal(h.m.ut_metadata, 2);
    assert.equal(h.m.ut_pex, 0);
    assert.equal(h.v, 'libtorrent 2.0.9');
    assert.equal(h.metadataSize, 1234);
    assert.equal(h.yourIp?.length, 16);
    assert.equal(h.p, undefined);
    assert.equal(h.uploadOnly, undefined, 'upload_only 0 is a peer that still downloads');
  });

  test('BEP 21 upload_only: written as 1 when set; only a positive integer reads as set', () => {
    assert.equal(text(encodeExtendedHandshake({ m: {}, uploadOnly: true })), 'd1:mde11:upload_onlyi1ee');
    assert.equal(text(encodeExtendedHandshake({ m: {}, uploadOnly: false })), 'd1:mdee');
    assert.deepEqual(decodeExtendedHandshake(encodeExtendedHandshake({ m: { ut_pex: 1 }, uploadOnly: true })), { m: { ut_pex: 1 }, uploadOnly: true });
    assert.equal(decodeExtendedHandshake(bencode({ m: {}, upload_only: 2 })).uploadOnly, true);
    for (const odd of [0, -1, ascii('1'), [1], { a: 1 }]) {
      assert.equal(decodeExtendedHandshake(bencode({ m: {}, upload_only: odd })).uploadOnly, undefined, JSON.stringify(odd));
    }
  });

  test('malformed handshakes are DecodeErrors', () => {
    const bad = [
      ascii('le'),
      ascii('d1:m'),
      bencode({ m: 1 }),
      bencode({ m: { ut_pex: 256 } }),
      bencode({ m: { ut_pex: -1 } }),
      bencode({ m: { ut_pex: ascii('1') } }),
      bencode({ m: {}, p: 65536 }),
      bencode({ m: {}, p: ascii('6881') }),
      bencode({ m: {}, v: 3 }),
      bencode({ m: {}, metadata_size: -5 }),
      bencode({ m: {}, yourip: 4 }),
    ];
    for (const b of bad) assert.throws(() => decodeExtendedHandshake(b), DecodeError, text(b));
  });

  test('a missing m reads as no extensions; odd yourip lengths are dropped', () => {
    assert.deepEqual(decodeExtendedHandshake(bencode({ v: 'x', yourip: new Uint8Array(5) })), { m: {}, v: 'x' });
  });

  test('encode rejects ids outside 0..255', () => {
    assert.throws(() => encodeExtendedHandshake({ m: { ut_pex: 256 } }), TypeError);
  });
});

describe('ut_metadata (BEP 9)', () => {
  const total = 2 * METADATA_PIECE_SIZE + 100;
  const data = new Mulberry32(5).bytes(total);

  test('known bytes', () => {
    assert.equal(text(encodeMetadataMessage({ type: 'request', piece: 0 })), 'd8:msg_typei0e5:piecei0ee');
    assert.equal(text(encodeMetadataMessage({ type: 'reject', piece: 3 })), 'd8:msg_typei2e5:piecei3ee');
    const d = encodeMetadataMessage({ type: 'data', piece: 2, totalSize: total, data: data.subarray(2 * METADATA_PIECE_SIZE) });
    const head = `d8:msg_typei1e5:piecei2e10:total_sizei${total}ee`;
    assert.equal(text(d.subarray(0, head.length)), head);
    assert.deepEqual(d.subarray(head.length), data.subarray(2 * METADATA_PIECE_SIZE));
  });

  test('round trips; data is a view of the payload', () => {
    for (const m of [{ type: 'request', piece: 5 }, { type: 'reject', piece: 0 }] as const) {
      assert.deepEqual(decodeMetadataMessage(encodeMetadataMessage(m)), m);
    }
    assert.equal(metadataPieceCount(total), 3);
    for (let piece = 0; piece < 3; piece++) {
      const slice = data.subarray(piece * METADATA_PIECE_SIZE, Math.min(total, (piece + 1) * METADATA_PIECE_SIZE));
      const wire = encodeMetadataMessage({ type: 'data', piece, totalSize: total, data: slice });
      const m = decodeMetadataMessage(wire);
      assert.deepEqual(m, { type: 'data', piece, totalSize: total, data: slice });
      assert.ok(m.type === 'data' && m.data.buffer === wire.buffer);
    }
  });

  test('piece data that starts with bencode-looking bytes is not confused with the dict', () => {
    const tricky = concat(ascii('d1:ai1ee'), new Uint8Array(92));
    const wire = encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 100, data: tricky });
    assert.deepEqual(decodeMetadataMessage(wire), { type: 'data', piece: 0, totalSize: 100, data: tricky });
  });

  test('malformed messages are DecodeErrors', () => {
    const dict = (d: Record<string, number>): Uint8Array => bencode(d);
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['not a dict', ascii('i1e')],
      ['truncated dict', ascii('d8:msg_typei0e5:piecei0e')],
      ['no msg_type', dict({ piece: 0 })],
      ['no piece', dict({ msg_type: 0 })],
      ['unknown msg_type', dict({ msg_type: 3, piece: 0 })],
      ['negative piece', dict({ msg_type: 0, piece: -1 })],
      ['trailing bytes after request', concat(dict({ msg_type: 0, piece: 0 }), new Uint8Array(1))],
      ['data without total_size', concat(dict({ msg_type: 1, piece: 0 }), new Uint8Array(10))],
      ['total_size over the limit', concat(dict({ msg_type: 1, piece: 0, total_size: MAX_METADATA_SIZE + 1 }), new Uint8Array(METADATA_PIECE_SIZE))],
      ['total_size 0', dict({ msg_type: 1, piece: 0, total_size: 0 })],
      ['piece beyond total', concat(dict({ msg_type: 1, piece: 1, total_size: 100 }), new Uint8Array(100))],
      ['short middle piece', concat(dict({ msg_type: 1, piece: 0, total_size: 20000 }), new Uint8Array(100))],
      ['long last piece', concat(dict({ msg_type: 1, piece: 0, total_size: 100 }), new Uint8Array(101))],
      ['over 16 KiB', concat(dict({ msg_type: 1, piece: 0, total_size: 40000 }), new Uint8Array(METADATA_PIECE_SIZE + 1))],
      ['huge string length', ascii('d999999999999:x')],
    ];
    for (const [name, b] of bad) assert.throws(() => decodeMetadataMessage(b), DecodeError, name);
  });

  test('encode refuses a piece that does not fit total_size', () => {
    assert.throws(() => encodeMetadataMessage({ type: 'data', piece: 0, totalSize: 20000, data: new Uint8Array(10) }), TypeError);
  });
});

describe('bencodedValueEnd', () => {
  test('finds the end of one value', () => {
    const cases: [string, number][] = [['i-12e', 5], ['4:spam', 6], ['le', 2], ['d1:ad1:bl1:ceeei1e', 15], ['0:', 2]];
    for (const [s, end] of cases) assert.equal(bencodedValueEnd(concat(ascii(s), ascii('xyz')), 0), end, s);
    assert.equal(bencodedValueEnd(ascii('xxi7e'), 2), 5);
  });

  test('truncated or bad framing is a DecodeError', () => {
    for (const s of ['', 'i12', '5:abc', 'l', 'd1:a', 'x', 'e', '12', '3x:abc']) {
      assert.throws(() => bencodedValueEnd(ascii(s), 0), DecodeError, s);
    }
    assert.throws(() => bencodedValueEnd(ascii('l'.repeat(17) + 'e'.repeat(17)), 0), DecodeError, 'depth');
  });
});

describe('ut_pex (BEP 11)', () => {
  test('known bytes and round trip', () => {
    const m = { added: [{ host: '1.2.3.4', port: 0x1ae1, flags: 0x12 }, { host: '10.0.0.1', port: 1, flags: 0 }], dropped: [{ host: '5.6.7.8', port: 80 }] };
    const b = encodePex(m);
    assert.deepEqual(b, concat(ascii('d5:added12:'), new Uint8Array([1, 2, 3, 4, 0x1a, 0xe1, 10, 0, 0, 1, 0, 1]), ascii('7:added.f2:'), new Uint8Array([0x12, 0]), ascii('7:dropped6:'), new Uint8Array([5, 6, 7, 8, 0, 80]), ascii('e')));
    assert.deepEqual(decodePex(b), m);
    assert.deepEqual(decodePex(encodePex({ added: [], dropped: [] })), { added: [], dropped: [] });
  });

  test('IPv6 lists are ignored; missing or short added.f reads as flags 0', () => {
    const b = bencode({ added: new Uint8Array([1, 1, 1, 1, 0, 1, 2, 2, 2, 2, 0, 2]), 'added.f': new Uint8Array([4]), added6: new Uint8Array(18), dropped6: new Uint8Array(18) });
    assert.deepEqual(decodePex(b), { added: [{ host: '1.1.1.1', port: 1, flags: 4 }, { host: '2.2.2.2', port: 2, flags: 0 }], dropped: [] });
  });

  test('at most MAX_PEX_ENTRIES of each list are considered', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ host: `10.0.${i >> 8}.${i & 0xff}`, port: 1000 + i }));
    const m = decodePex(encodePex({ added: many.map((p) => ({ ...p, flags: 0 })), dropped: many }));
    assert.equal(m.added.length, MAX_PEX_ENTRIES);
    assert.equal(m.dropped.length, MAX_PEX_ENTRIES);
    assert.deepEqual(m.dropped[199], many[199]);
  });

  test('malformed messages are DecodeErrors', () => {
    const bad = [ascii('le'), ascii('d5:added'), bencode({ added: new Uint8Array(7) }), bencode({ dropped: new Uint8Array(5) }), bencode({ added: 6 }), bencode({ 'added.f': 1 })];
    for (const b of bad) assert.throws(() => decodePex(b), DecodeError, text(b));
  });

  test('encode rejects non-IPv4 peers', () => {
    assert.throws(() => encodePex({ added: [{ host: '::1', port: 1, flags: 0 }], dropped: [] }), TypeError);
  });
});
