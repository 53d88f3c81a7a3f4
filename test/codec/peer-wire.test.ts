import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  DEFAULT_MAX_MESSAGE_LENGTH,
  HANDSHAKE_LENGTH,
  RESERVED,
  WireFramer,
  decodeHandshake,
  encodeBlockMessages,
  encodeHandshake,
  encodeMessage,
  encodePieceHeader,
  makeReserved,
  type PeerMessage,
} from '../../src/codec/peer-wire.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { concat } from './bytes.js';

const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);
const fill = (n: number, v: number): Uint8Array => new Uint8Array(n).fill(v);
/** A 32-byte pieces root whose bytes are 0, 1, ..., 31 (so a shifted field would show). */
const ROOT = Uint8Array.from({ length: 32 }, (_, i) => i);

/** Every message type once, with non-trivial field values. */
const ALL: PeerMessage[] = [
  { type: 'keep-alive' },
  { type: 'choke' },
  { type: 'unchoke' },
  { type: 'interested' },
  { type: 'not-interested' },
  { type: 'have', index: 0xdeadbeef },
  { type: 'bitfield', bitfield: bytes(0xff, 0x80) },
  { type: 'bitfield', bitfield: bytes() },
  { type: 'request', index: 1, begin: 16384, length: 16384 },
  { type: 'piece', index: 7, begin: 32768, block: fill(100, 0xab) },
  { type: 'piece', index: 0, begin: 0, block: bytes() },
  { type: 'cancel', index: 2, begin: 0, length: 1 },
  { type: 'port', port: 6881 },
  { type: 'suggest', index: 3 },
  { type: 'have-all' },
  { type: 'have-none' },
  { type: 'reject', index: 4, begin: 5, length: 6 },
  { type: 'allowed-fast', index: 0xffffffff },
  { type: 'extended', id: 0, payload: bytes(0x64, 0x65) },
  { type: 'extended', id: 255, payload: bytes() },
  { type: 'hash-request', piecesRoot: ROOT, baseLayer: 0, index: 512, length: 512, proofLayers: 0xffffffff },
  { type: 'hashes', piecesRoot: ROOT, baseLayer: 2, index: 4, length: 2, proofLayers: 1, hashes: fill(96, 0xcd) },
  { type: 'hashes', piecesRoot: fill(32, 0xee), baseLayer: 0, index: 0, length: 1, proofLayers: 0, hashes: fill(32, 1) },
  { type: 'hash-reject', piecesRoot: ROOT, baseLayer: 0xffffffff, index: 1, length: 0, proofLayers: 3 },
];

function drain(f: WireFramer): PeerMessage[] {
  const out: PeerMessage[] = [];
  for (let m = f.next(); m !== undefined; m = f.next()) out.push(m);
  return out;
}

function randomMessage(rng: Mulberry32): PeerMessage {
  const u = (): number => rng.nextUint32();
  const k = u() % 8;
  if (k === 0) return { type: 'piece', index: u(), begin: u(), block: rng.bytes(u() % 20000) };
  if (k === 1) return { type: 'bitfield', bitfield: rng.bytes(u() % 300) };
  if (k === 2) return { type: 'extended', id: u() % 256, payload: rng.bytes(u() % 64) };
  if (k === 3) return { type: 'request', index: u(), begin: u(), length: u() };
  if (k === 4) return { type: 'have', index: u() };
  return ALL[u() % ALL.length];
}

describe('handshake', () => {
  const h = { reserved: makeReserved({ extensions: true, fast: true, dht: true }), infoHash: fill(20, 0xaa), peerId: fill(20, 0xbb) };

  test('known layout and round trip', () => {
    const b = encodeHandshake(h);
    assert.equal(b.length, HANDSHAKE_LENGTH);
    assert.equal(b[0], 19);
    assert.equal(new TextDecoder().decode(b.subarray(1, 20)), 'BitTorrent protocol');
    assert.deepEqual(b.subarray(20, 28), bytes(0, 0, 0, 0, 0, 0x10, 0, 0x05));
    assert.deepEqual(decodeHandshake(b), h);
  });

  test('reserved bits', () => {
    const none = makeReserved({});
    assert.deepEqual(none, new Uint8Array(8));
    assert.equal(RESERVED.extensionProtocol(none) || RESERVED.fast(none) || RESERVED.dht(none), false);
    const ext = makeReserved({ extensions: true });
    assert.equal(RESERVED.extensionProtocol(ext), true);
    assert.equal(RESERVED.fast(ext), false);
    assert.equal(RESERVED.fast(makeReserved({ fast: true })), true);
    assert.equal(RESERVED.dht(makeReserved({ dht: true })), true);
    assert.equal(RESERVED.dht(makeReserved({ fast: true })), false);
  });

  test('BEP 52 v2 bit: 0x10 of the last reserved byte', () => {
    const v2 = makeReserved({ v2: true });
    assert.deepEqual(v2, bytes(0, 0, 0, 0, 0, 0, 0, 0x10));
    assert.equal(RESERVED.v2(v2), true);
    assert.equal(RESERVED.fast(v2) || RESERVED.dht(v2) || RESERVED.extensionProtocol(v2), false);
    // What libtorrent 2 sends on a hybrid or v2 torrent: extensions, v2, fast, DHT.
    const all = makeReserved({ extensions: true, v2: true, fast: true, dht: true });
    assert.deepEqual(all, bytes(0, 0, 0, 0, 0, 0x10, 0, 0x15));
    assert.equal(RESERVED.v2(all), true);
    assert.equal(RESERVED.v2(makeReserved({ extensions: true, fast: true, dht: true })), false);
    assert.equal(RESERVED.v2(bytes(0, 0, 0, 0, 0, 0x10, 0, 0)), false, 'byte 5 bit 0x10 is the extension protocol');
  });

  test('need-more for every prefix, then trailing bytes are ignored', () => {
    const b = encodeHandshake(h);
    for (let n = 0; n < HANDSHAKE_LENGTH; n++) assert.equal(decodeHandshake(b.subarray(0, n)), 'need-more', `n=${n}`);
    assert.deepEqual(decodeHandshake(concat(b, bytes(0, 0, 0, 0))), h);
  });

  test('decoded fields are copies', () => {
    const b = encodeHandshake(h);
    const d = decodeHandshake(b);
    b.fill(0, 20);
    assert.notEqual(d, 'need-more');
    if (d !== 'need-more') assert.deepEqual(d.infoHash, fill(20, 0xaa));
  });

  test('a wrong protocol header is rejected as soon as a bad byte is seen', () => {
    assert.throws(() => decodeHandshake(bytes(0x16)), DecodeError); // TLS
    assert.throws(() => decodeHandshake(new TextEncoder().encode('GET / HTTP/1.1\r\n')), DecodeError);
    const b = encodeHandshake(h);
    for (let i = 0; i < 20; i++) {
      const bad = b.slice();
      bad[i] ^= 0x01;
      assert.throws(() => decodeHandshake(bad.subarray(0, i + 1)), DecodeError, `byte ${i}`);
    }
  });

  test('encode rejects wrong field lengths', () => {
    assert.throws(() => encodeHandshake({ ...h, infoHash: fill(19, 0) }), TypeError);
    assert.throws(() => encodeHandshake({ ...h, reserved: fill(7, 0) }), TypeError);
  });
});

describe('message encoding', () => {
  test('known bytes', () => {
    assert.deepEqual(encodeMessage({ type: 'have', index: 5 }), bytes(0, 0, 0, 5, 4, 0, 0, 0, 5));
    assert.deepEqual(encodeMessage({ type: 'keep-alive' }), bytes(0, 0, 0, 0));
    assert.deepEqual(encodeMessage({ type: 'choke' }), bytes(0, 0, 0, 1, 0));
    assert.deepEqual(encodeMessage({ type: 'have-none' }), bytes(0, 0, 0, 1, 15));
    assert.deepEqual(encodeMessage({ type: 'port', port: 0x1ae1 }), bytes(0, 0, 0, 3, 9, 0x1a, 0xe1));
    assert.deepEqual(
      encodeMessage({ type: 'request', index: 1, begin: 0x4000, length: 0x4000 }),
      bytes(0, 0, 0, 13, 6, 0, 0, 0, 1, 0, 0, 0x40, 0, 0, 0, 0x40, 0),
    );
    assert.deepEqual(encodeMessage({ type: 'reject', index: 1, begin: 2, length: 3 })[4], 16);
    assert.deepEqual(encodeMessage({ type: 'bitfield', bitfield: bytes(0xf0) }), bytes(0, 0, 0, 2, 5, 0xf0));
    assert.deepEqual(encodeMessage({ type: 'extended', id: 3, payload: bytes(9) }), bytes(0, 0, 0, 3, 20, 3, 9));
    assert.deepEqual(encodeMessage({ type: 'piece', index: 1, begin: 2, block: bytes(7, 8) }), bytes(0, 0, 0, 11, 7, 0, 0, 0, 1, 0, 0, 0, 2, 7, 8));
  });

  test('BEP 52 hash messages, byte by byte', () => {
    const header = (id: number, len: number): number[] => [len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, id];
    const fields = [...ROOT, 0, 0, 0, 1, 0, 0, 2, 0, 0, 0, 0, 8, 0xff, 0xff, 0xff, 0xfe];
    const range = { piecesRoot: ROOT, baseLayer: 1, index: 512, length: 8, proofLayers: 0xfffffffe };
    assert.deepEqual(encodeMessage({ type: 'hash-request', ...range }), bytes(...header(21, 49), ...fields));
    assert.deepEqual(encodeMessage({ type: 'hash-reject', ...range }), bytes(...header(23, 49), ...fields));
    const hashes = Uint8Array.from({ length: 64 }, (_, i) => 0x80 + i);
    assert.deepEqual(encodeMessage({ type: 'hashes', ...range, hashes }), bytes(...header(22, 49 + 64), ...fields, ...hashes));
    assert.equal(encodeMessage({ type: 'hash-request', ...range }).length, 4 + 49);
  });

  test('BEP 52 hash messages: bad fields are TypeErrors', () => {
    const range = { piecesRoot: ROOT, baseLayer: 0, index: 0, length: 1, proofLayers: 0 };
    assert.throws(() => encodeMessage({ type: 'hash-request', ...range, piecesRoot: fill(31, 0) }), TypeError);
    assert.throws(() => encodeMessage({ type: 'hash-reject', ...range, piecesRoot: fill(33, 0) }), TypeError);
    assert.throws(() => encodeMessage({ type: 'hash-request', ...range, baseLayer: -1 }), TypeError);
    assert.throws(() => encodeMessage({ type: 'hash-request', ...range, index: 1.5 }), TypeError);
    assert.throws(() => encodeMessage({ type: 'hash-request', ...range, length: 2 ** 32 }), TypeError);
    assert.throws(() => encodeMessage({ type: 'hash-request', ...range, proofLayers: NaN }), TypeError);
    assert.throws(() => encodeMessage({ type: 'hashes', ...range, hashes: bytes() }), /one or more 32-byte hashes/);
    assert.throws(() => encodeMessage({ type: 'hashes', ...range, hashes: fill(33, 0) }), /one or more 32-byte hashes/);
    assert.throws(() => encodeMessage({ type: 'hashes', ...range, hashes: fill(31, 0) }), TypeError);
  });

  test('encodePieceHeader is the head of the piece message', () => {
    const block = fill(16384, 0x5a);
    const whole = encodeMessage({ type: 'piece', index: 9, begin: 16384, block });
    const header = encodePieceHeader(9, 16384, block.length);
    assert.equal(header.length, 13);
    assert.deepEqual(concat(header, block), whole);
  });

  test('piece headers cut from the shared slab stay intact while later ones are made', () => {
    const headers = Array.from({ length: 3000 }, (_, i) => ({ i, header: encodePieceHeader(i, i * 16, 16384 - (i % 7)) }));
    for (const { i, header } of headers) {
      assert.deepEqual(header, encodeMessage({ type: 'piece', index: i, begin: i * 16, block: new Uint8Array(16384 - (i % 7)) }).subarray(0, 13));
    }
  });

  test('encodeBlockMessages is the messages back to back', () => {
    const blocks = [
      { index: 0, begin: 0, length: 16384 },
      { index: 0xfffffffe, begin: 16384, length: 1 },
      { index: 5, begin: 2 ** 32 - 1, length: 0 },
    ];
    for (const type of ['request', 'cancel', 'reject'] as const) {
      assert.deepEqual(encodeBlockMessages(type, blocks), concat(...blocks.map((b) => encodeMessage({ type, ...b }))));
    }
    assert.equal(encodeBlockMessages('request', []).length, 0);
    assert.throws(() => encodeBlockMessages('request', [{ index: -1, begin: 0, length: 1 }]), TypeError);
    assert.throws(() => encodeBlockMessages('request', [{ index: 0, begin: 0.5, length: 1 }]), TypeError);
  });

  test('out-of-range integers are TypeErrors', () => {
    assert.throws(() => encodeMessage({ type: 'have', index: -1 }), TypeError);
    assert.throws(() => encodeMessage({ type: 'have', index: 2 ** 32 }), TypeError);
    assert.throws(() => encodeMessage({ type: 'request', index: 0, begin: 1.5, length: 1 }), TypeError);
    assert.throws(() => encodeMessage({ type: 'port', port: 65536 }), TypeError);
    assert.throws(() => encodeMessage({ type: 'extended', id: 256, payload: bytes() }), TypeError);
    assert.throws(() => encodePieceHeader(0, 0, 2 ** 32 - 9), TypeError);
    assert.throws(() => encodePieceHeader(0, 0, -1), TypeError);
  });
});

describe('WireFramer', () => {
  test('round trip of every message, one push', () => {
    const f = new WireFramer();
    f.push(concat(...ALL.map(encodeMessage)));
    assert.deepEqual(drain(f), ALL);
    assert.equal(f.buffered, 0);
  });

  test('round trip with 1-byte chunks', () => {
    const f = new WireFramer();
    const out: PeerMessage[] = [];
    for (const b of concat(...ALL.map(encodeMessage))) {
      f.push(bytes(b));
      out.push(...drain(f));
    }
    assert.deepEqual(out, ALL);
    assert.equal(f.buffered, 0);
  });

  test('a message inside one chunk comes back as views, no copy', () => {
    const chunk = concat(encodeMessage({ type: 'have', index: 1 }), encodeMessage({ type: 'piece', index: 1, begin: 0, block: fill(16384, 1) }));
    const f = new WireFramer();
    f.push(chunk);
    assert.deepEqual(f.next(), { type: 'have', index: 1 });
    const m = f.next();
    assert.ok(m?.type === 'piece');
    assert.equal(m.block.buffer, chunk.buffer);
    assert.equal(m.block.byteOffset, 9 + 13);
    assert.equal(m.block.length, 16384);
  });

  test('a piece split across chunks is assembled once, into its own buffer', () => {
    const block = new Mulberry32(1).bytes(16384);
    const wire = encodeMessage({ type: 'piece', index: 2, begin: 16384, block });
    const f = new WireFramer();
    for (let off = 0; off < wire.length; off += 1000) {
      assert.equal(f.next(), undefined);
      f.push(wire.slice(off, off + 1000));
    }
    const m = f.next();
    assert.ok(m?.type === 'piece');
    assert.deepEqual(m.block, block);
    assert.equal(f.next(), undefined);
  });

  test('random chunking of a long mixed stream (seeded)', () => {
    for (const seed of [1, 2, 3, 42]) {
      const rng = new Mulberry32(seed);
      const msgs = Array.from({ length: 400 }, () => randomMessage(rng));
      const wire = concat(...msgs.map(encodeMessage));
      const f = new WireFramer();
      const out: PeerMessage[] = [];
      let off = 0;
      while (off < wire.length) {
        const r = rng.nextUint32();
        // Mix 1-byte, small and large (multi-message) chunks.
        const n = r % 4 === 0 ? 1 : r % 4 === 1 ? 1 + (r >>> 8) % 64 : 1 + (r >>> 8) % 70000;
        f.push(wire.subarray(off, off + n));
        off += n;
        out.push(...drain(f));
      }
      assert.deepEqual(out, msgs, `seed ${seed}`);
      assert.equal(f.buffered, 0);
    }
  });

  test('a truncated stream yields only complete messages, never a wrong one', () => {
    const msgs = ALL.filter((m) => m.type !== 'keep-alive');
    const encoded = msgs.map(encodeMessage);
    const wire = concat(...encoded);
    const ends: number[] = [];
    encoded.reduce((acc, e) => (ends.push(acc + e.length), acc + e.length), 0);
    for (let n = 0; n <= wire.length; n++) {
      const f = new WireFramer();
      f.push(wire.subarray(0, n));
      const got = drain(f);
      const complete = ends.filter((e) => e <= n).length;
      assert.deepEqual(got, msgs.slice(0, complete), `prefix ${n}`);
      // The rest arrives: everything comes out.
      f.push(wire.subarray(n));
      assert.deepEqual(drain(f), msgs.slice(complete), `rest after ${n}`);
    }
  });

  test('a huge length prefix is rejected without buffering', () => {
    const f = new WireFramer();
    f.push(bytes(0xff, 0xff));
    assert.equal(f.next(), undefined);
    f.push(bytes(0xff, 0xff));
    assert.throws(() => f.next(), DecodeError);
    assert.throws(() => f.next(), DecodeError, 'stays failed');
  });

  test('length limit: default and custom', () => {
    const okLen = DEFAULT_MAX_MESSAGE_LENGTH;
    const f = new WireFramer();
    f.push(bytes(okLen >>> 24, (okLen >>> 16) & 0xff, (okLen >>> 8) & 0xff, okLen & 0xff, 7));
    assert.equal(f.next(), undefined, 'a maximal piece is waited for');
    const over = okLen + 1;
    const g = new WireFramer();
    g.push(bytes(over >>> 24, (over >>> 16) & 0xff, (over >>> 8) & 0xff, over & 0xff));
    assert.throws(() => g.next(), DecodeError);
    const small = new WireFramer({ maxMessageLength: 9 + 16 }) // the prefix counts id + index + begin + block;
    small.push(encodeMessage({ type: 'piece', index: 0, begin: 0, block: fill(16, 0) }));
    assert.equal(small.next()?.type, 'piece');
    small.push(encodePieceHeader(0, 0, 17));
    assert.throws(() => small.next(), DecodeError);
    assert.throws(() => new WireFramer({ maxMessageLength: 0 }), TypeError);
  });

  test('fixed-size messages with the wrong length are rejected from the header alone', () => {
    const cases: [number, number][] = [
      [0, 2], [1, 5], [2, 0 + 2], [3, 9], [4, 4], [4, 6], [6, 12], [6, 14], [8, 1], [9, 2], [9, 5],
      [13, 1], [14, 5], [15, 2], [16, 9], [17, 4], [7, 8], [7, 1], [20, 1],
    ];
    for (const [id, len] of cases) {
      const f = new WireFramer();
      f.push(bytes(0, 0, 0, len, id)); // header only: the payload is never needed
      assert.throws(() => f.next(), DecodeError, `id ${id} len ${len}`);
    }
  });

  test('BEP 52 hash messages with a wrong length are rejected from the header alone', () => {
    // hash-request/hash-reject are exactly 49; hashes is 49 plus one or more whole 32-byte hashes.
    const cases: [number, number][] = [
      [21, 1], [21, 48], [21, 50], [21, 81], [23, 1], [23, 48], [23, 50], [23, 49 + 32],
      [22, 1], [22, 48], [22, 49], [22, 49 + 31], [22, 49 + 33], [22, 49 + 63], [22, 49 + 32 * 100 + 1],
    ];
    for (const [id, len] of cases) {
      const f = new WireFramer();
      f.push(bytes(len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, id));
      assert.throws(() => f.next(), DecodeError, `id ${id} len ${len}`);
    }
    for (const len of [49 + 32, 49 + 64, 49 + 32 * 8000]) {
      const f = new WireFramer();
      f.push(bytes(len >>> 24, (len >>> 16) & 0xff, (len >>> 8) & 0xff, len & 0xff, 22));
      assert.equal(f.next(), undefined, `hashes of length ${len} is waited for`);
    }
  });

  test('a hashes message inside one chunk: root and hashes are views, no copy', () => {
    const m: PeerMessage = { type: 'hashes', piecesRoot: ROOT, baseLayer: 0, index: 0, length: 4, proofLayers: 2, hashes: new Mulberry32(3).bytes(6 * 32) };
    const chunk = concat(encodeMessage({ type: 'have-all' }), encodeMessage(m));
    const f = new WireFramer();
    f.push(chunk);
    assert.deepEqual(f.next(), { type: 'have-all' });
    const got = f.next();
    assert.deepEqual(got, m);
    assert.ok(got?.type === 'hashes');
    assert.equal(got.hashes.buffer, chunk.buffer);
    assert.equal(got.hashes.byteOffset, 5 + 4 + 49);
    assert.equal(got.piecesRoot.buffer, chunk.buffer);
    assert.equal(got.piecesRoot.byteOffset, 5 + 5);
  });

  test('a truncated hash-request is waited for, then decoded', () => {
    const wire = encodeMessage({ type: 'hash-request', piecesRoot: ROOT, baseLayer: 0, index: 0, length: 2, proofLayers: 1 });
    for (let n = 0; n < wire.length; n++) {
      const f = new WireFramer();
      f.push(wire.subarray(0, n));
      assert.equal(f.next(), undefined, `prefix ${n}`);
      f.push(wire.subarray(n));
      assert.equal(f.next()?.type, 'hash-request');
    }
  });

  test('mutated streams of hash messages: only DecodeError, and a decoded hashes message is always whole hashes', () => {
    const rng = new Mulberry32(52);
    const u = (): number => rng.nextUint32();
    const range = (): { piecesRoot: Uint8Array; baseLayer: number; index: number; length: number; proofLayers: number } =>
      ({ piecesRoot: rng.bytes(32), baseLayer: u() % 4, index: u() % 1024, length: 1 + (u() % 64), proofLayers: u() % 8 });
    const msgs: PeerMessage[] = Array.from({ length: 40 }, (_, i) =>
      i % 3 === 0 ? { type: 'hashes', ...range(), hashes: rng.bytes(32 * (1 + (u() % 6))) } : { type: i % 3 === 1 ? 'hash-request' : 'hash-reject', ...range() },
    );
    const base = concat(...msgs.map(encodeMessage));
    let errors = 0;
    for (let iter = 0; iter < 1000; iter++) {
      const wire = base.slice();
      for (let k = 1 + (u() % 3); k > 0; k--) wire[u() % wire.length] = u() & 0xff;
      const f = new WireFramer({ maxMessageLength: 64 * 1024 });
      try {
        f.push(wire);
        for (const m of drain(f)) {
          if (m.type === 'hashes') assert.ok(m.hashes.length > 0 && m.hashes.length % 32 === 0);
          if (m.type === 'hashes' || m.type === 'hash-request' || m.type === 'hash-reject') assert.equal(m.piecesRoot.length, 32);
        }
      } catch (e) {
        assert.ok(e instanceof DecodeError, `iteration ${iter}: ${String(e)}`);
        errors++;
      }
    }
    assert.ok(errors > 50 && errors < 950, `errors ${errors}`);
  });

  test('unknown message ids are rejected', () => {
    for (const id of [10, 11, 12, 18, 19, 24, 25, 100, 255]) {
      const f = new WireFramer();
      f.push(bytes(0, 0, 0, 1, id));
      assert.throws(() => f.next(), DecodeError, `id ${id}`);
    }
  });

  test('buffered counts bytes not yet returned', () => {
    const f = new WireFramer();
    f.push(bytes(0, 0, 0, 5, 4, 0));
    assert.equal(f.next(), undefined);
    assert.equal(f.buffered, 2, 'the length prefix is consumed once validated');
    f.push(bytes(0, 0, 1, 0));
    assert.deepEqual(f.next(), { type: 'have', index: 1 });
    assert.equal(f.buffered, 1);
    f.push(bytes());
    assert.equal(f.buffered, 1);
  });

  test('many 1-byte chunks of large messages (linear-time path)', () => {
    const block = new Mulberry32(7).bytes(16384);
    const msgs: PeerMessage[] = Array.from({ length: 16 }, (_, i) => ({ type: 'piece', index: i, begin: 0, block }));
    const wire = concat(...msgs.map(encodeMessage));
    const f = new WireFramer();
    let count = 0;
    for (let i = 0; i < wire.length; i++) {
      f.push(wire.subarray(i, i + 1));
      for (let m = f.next(); m !== undefined; m = f.next()) {
        assert.deepEqual(m, msgs[count]);
        count++;
      }
    }
    assert.equal(count, msgs.length);
  });

  test('mutated streams: only DecodeError is ever thrown', () => {
    const rng = new Mulberry32(99);
    const base = concat(...Array.from({ length: 60 }, () => encodeMessage(randomMessage(rng))));
    let errors = 0;
    for (let iter = 0; iter < 500; iter++) {
      const wire = base.slice();
      const flips = 1 + (rng.nextUint32() % 4);
      for (let k = 0; k < flips; k++) wire[rng.nextUint32() % wire.length] = rng.nextUint32() & 0xff;
      const f = new WireFramer({ maxMessageLength: 64 * 1024 });
      try {
        let off = 0;
        while (off < wire.length) {
          const n = 1 + (rng.nextUint32() % 5000);
          f.push(wire.subarray(off, off + n));
          off += n;
          drain(f);
        }
      } catch (e) {
        assert.ok(e instanceof DecodeError, `iteration ${iter}: ${String(e)}`);
        errors++;
      }
    }
    assert.ok(errors > 0, 'some mutations must be detected');
  });
});

describe('WireFramer, transient mode', () => {
  /** A deep copy of a message's bytes: a transient message is only valid until the next call. */
  const copyOf = (m: PeerMessage): PeerMessage => structuredClone(m);

  test('chunks in one reused buffer, overwritten after each keepRest(): every message intact', () => {
    const rng = new Mulberry32(7);
    const messages = [...ALL, ...Array.from({ length: 300 }, () => randomMessage(rng))];
    const stream = concat(...messages.map(encodeMessage));
    const f = new WireFramer({ transient: true });
    const reused = new Uint8Array(70_000);
    const out: PeerMessage[] = [];
    for (let at = 0; at < stream.length; ) {
      const n = Math.min(stream.length - at, 1 + (rng.nextUint32() % (rng.nextUint32() % 4 === 0 ? 20 : reused.length)));
      const chunk = reused.subarray(0, n);
      chunk.set(stream.subarray(at, at + n));
      at += n;
      f.push(chunk);
      for (let m = f.next(); m !== undefined; m = f.next()) out.push(copyOf(m));
      f.keepRest();
      reused.fill(0xee); // the socket's next read
    }
    assert.equal(f.buffered, 0);
    assert.deepEqual(out, messages);
  });

  test('keepRest() is a no-op in normal mode', () => {
    const f = new WireFramer();
    const chunk = encodeMessage({ type: 'have', index: 0x01020304 });
    f.push(chunk.subarray(0, 6));
    assert.equal(f.next(), undefined);
    f.keepRest();
    chunk[5] = 0xff; // a normal framer keeps the caller's chunk: this changes the message
    f.push(chunk.subarray(6));
    assert.deepEqual(f.next(), { type: 'have', index: 0xff020304 });
  });
});
