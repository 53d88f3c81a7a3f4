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

  test('IPv6: yourip of 16 bytes, ipv6 (16) and ipv4 (4) round trip; other lengths are dropped, other types rejected', () => {
    const yourIp = Uint8Array.from([0xfd, 0x57, ...new Array<number>(13).fill(0), 2]);
    const ipv6 = Uint8Array.from([0xfd, 0x57, ...new Array<number>(13).fill(0), 1]);
    const ipv4 = new Uint8Array([127, 0, 0, 1]);
    const h = { m: { ut_pex: 1 }, yourIp, ipv4, ipv6 };
    const b = encodeExtendedHandshake(h);
    assert.deepEqual(b, concat(ascii('d4:ipv44:'), ipv4, ascii('4:ipv616:'), ipv6, ascii('1:md6:ut_pexi1ee6:yourip16:'), yourIp, ascii('e')));
    assert.deepEqual(decodeExtendedHandshake(b), h);
    for (const n of [0, 3, 4, 5, 15, 17, 32]) {
      const odd = decodeExtendedHandshake(bencode({ m: {}, ipv6: new Uint8Array(n), ipv4: new Uint8Array(n + 1), yourip: new Uint8Array(n === 4 ? 6 : n) }));
      assert.equal(odd.ipv6, undefined, `ipv6 of ${n} bytes`);
      assert.equal(odd.ipv4 !== undefined, n + 1 === 4, `ipv4 of ${n + 1} bytes`);
      assert.equal(odd.yourIp, undefined, `yourip of ${n} bytes`);
    }
    for (const bad of [{ ipv6: 1 }, { ipv6: [ipv6] }, { ipv4: {} }, { yourip: [yourIp] }]) {
      assert.throws(() => decodeExtendedHandshake(bencode({ m: {}, ...bad })), DecodeError, JSON.stringify(bad));
    }
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

  test('missing or short added.f reads as flags 0', () => {
    const b = bencode({ added: new Uint8Array([1, 1, 1, 1, 0, 1, 2, 2, 2, 2, 0, 2]), 'added.f': new Uint8Array([4]) });
    assert.deepEqual(decodePex(b), { added: [{ host: '1.1.1.1', port: 1, flags: 4 }, { host: '2.2.2.2', port: 2, flags: 0 }], dropped: [] });
  });

  test('IPv6 peers (BEP 11 added6, added6.f, dropped6): known bytes, round trip, after the IPv4 ones', () => {
    const v6 = (last: number): Uint8Array => Uint8Array.from([0xfd, 0x57, ...new Array<number>(13).fill(0), last]);
    const m = {
      added: [{ host: '1.2.3.4', port: 1, flags: 0x10 }, { host: 'fd57::1', port: 0x1ae1, flags: 0x06 }, { host: 'fd57::2', port: 2, flags: 0 }],
      dropped: [{ host: 'fd57::3', port: 80 }],
    };
    const b = encodePex(m);
    assert.deepEqual(b, concat(
      ascii('d5:added6:'), new Uint8Array([1, 2, 3, 4, 0, 1]), ascii('7:added.f1:'), new Uint8Array([0x10]),
      ascii('6:added636:'), v6(1), new Uint8Array([0x1a, 0xe1]), v6(2), new Uint8Array([0, 2]), ascii('8:added6.f2:'), new Uint8Array([0x06, 0]),
      ascii('7:dropped0:8:dropped618:'), v6(3), new Uint8Array([0, 80]), ascii('e'),
    ));
    assert.deepEqual(decodePex(b), m);
    // IPv4 only: no IPv6 keys at all, as before.
    assert.ok(!text(encodePex({ added: [{ host: '1.2.3.4', port: 1, flags: 0 }], dropped: [] })).includes('dropped6'));
    // A decoded IPv6 peer is spelled canonically, an IPv4-mapped one included (the swarm maps it to IPv4).
    const odd = bencode({ added6: concat(new Uint8Array(10), new Uint8Array([0xff, 0xff, 9, 9, 9, 9, 0, 9])), 'added6.f': new Uint8Array([1, 2, 3]) });
    assert.deepEqual(decodePex(odd), { added: [{ host: '::ffff:9.9.9.9', port: 9, flags: 1 }], dropped: [] });
  });

  test('at most MAX_PEX_ENTRIES of each IPv6 list too; a huge added6 allocates no more', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ host: `fd57::${(i + 1).toString(16)}`, port: 1000 + i }));
    const m = decodePex(encodePex({ added: many.map((p) => ({ ...p, flags: 0 })), dropped: many }));
    assert.equal(m.added.length, MAX_PEX_ENTRIES);
    assert.equal(m.dropped.length, MAX_PEX_ENTRIES);
    assert.deepEqual(m.dropped[199], many[199]);
    // Both families at their limit at once.
    const v4 = many.map((_, i) => ({ host: `10.0.${i >> 8}.${i & 0xff}`, port: 1, flags: 0 }));
    assert.equal(decodePex(encodePex({ added: [...v4, ...many.map((p) => ({ ...p, flags: 0 }))], dropped: [] })).added.length, 2 * MAX_PEX_ENTRIES);
    assert.equal(decodePex(bencode({ added6: new Uint8Array(18 * 3000) })).added.length, MAX_PEX_ENTRIES);
    assert.throws(() => decodePex(bencode({ added6: new Uint8Array(18 * 4000) })), DecodeError, 'a payload over the bencode limit');
  });

  test('at most MAX_PEX_ENTRIES of each list are considered', () => {
    const many = Array.from({ length: 300 }, (_, i) => ({ host: `10.0.${i >> 8}.${i & 0xff}`, port: 1000 + i }));
    const m = decodePex(encodePex({ added: many.map((p) => ({ ...p, flags: 0 })), dropped: many }));
    assert.equal(m.added.length, MAX_PEX_ENTRIES);
    assert.equal(m.dropped.length, MAX_PEX_ENTRIES);
    assert.deepEqual(m.dropped[199], many[199]);
  });

  test('malformed messages are DecodeErrors', () => {
    const bad = [
      ascii('le'), ascii('d5:added'), bencode({ added: new Uint8Array(7) }), bencode({ dropped: new Uint8Array(5) }), bencode({ added: 6 }), bencode({ 'added.f': 1 }),
      bencode({ added6: new Uint8Array(6) }), bencode({ added6: new Uint8Array(17) }), bencode({ added6: new Uint8Array(19) }), bencode({ dropped6: new Uint8Array(36 + 1) }),
      bencode({ added6: 18 }), bencode({ added6: [new Uint8Array(18)] }), bencode({ 'added6.f': 1 }), bencode({ dropped6: {} }),
      concat(ascii('d6:added618:'), new Uint8Array(10)),
    ];
    for (const b of bad) assert.throws(() => decodePex(b), DecodeError, text(b));
  });

  test('random bytes and mutated IPv6 messages: a message or a DecodeError, nothing else', () => {
    const rng = new Mulberry32(77);
    const good = encodePex({ added: [{ host: 'fd57::1', port: 1, flags: 1 }, { host: '1.1.1.1', port: 2, flags: 2 }], dropped: [{ host: '2001:db8::9', port: 3 }] });
    for (let i = 0; i < 3000; i++) {
      const b = i % 2 === 0 ? rng.bytes(1 + (i % 90)) : good.slice(0, 1 + (i % good.length));
      if (i % 4 === 1) b[Math.floor(rng.next() * b.length)] = Math.floor(rng.next() * 256);
      try {
        const m = decodePex(b);
        for (const p of [...m.added, ...m.dropped]) assert.ok(p.port >= 0 && p.port <= 65535);
      } catch (error) {
        assert.ok(error instanceof DecodeError, String(error));
      }
    }
  });

  test('encode rejects a host that is not an IP address, or a bad port', () => {
    assert.throws(() => encodePex({ added: [{ host: 'example.com', port: 1, flags: 0 }], dropped: [] }), TypeError);
    assert.throws(() => encodePex({ added: [], dropped: [{ host: '[fd57::1]', port: 1 }] }), TypeError);
    assert.throws(() => encodePex({ added: [{ host: 'fd57::1', port: 65536, flags: 0 }], dropped: [] }), TypeError);
  });
});
