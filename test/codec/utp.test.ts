/**
 * uTP packets (BEP 29): round trips of every packet type with every field at its extremes, byte
 * layouts written by hand from the specification, the extension chain and the selective ack, and
 * hostile input (truncations, bad versions and types, lying lengths, random bytes).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeUtpPacket,
  encodeUtpPacket,
  UTP_DATA,
  UTP_EXTENSION_SACK,
  UTP_FIN,
  UTP_HEADER_LENGTH,
  UTP_MAX_SACK_BYTES,
  UTP_RESET,
  UTP_STATE,
  UTP_SYN,
  type UtpPacket,
  type UtpPacketType,
} from '../../src/codec/utp.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { concat } from './bytes.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const bytes = (...b: number[]): Uint8Array => new Uint8Array(b);

const TYPES: [string, UtpPacketType][] = [
  ['DATA', UTP_DATA],
  ['FIN', UTP_FIN],
  ['STATE', UTP_STATE],
  ['RESET', UTP_RESET],
  ['SYN', UTP_SYN],
];

/** A packet with middling field values, to be overridden. */
function packet(overrides: Partial<UtpPacket> = {}): UtpPacket {
  return {
    type: UTP_DATA,
    connectionId: 0x1234,
    timestamp: 0x01020304,
    timestampDiff: 0x05060708,
    windowSize: 0x00100000,
    seq: 0x0a0b,
    ack: 0x0c0d,
    payload: new Uint8Array(0),
    ...overrides,
  };
}

/** A packet's fields as plain values, so two packets compare with deepEqual whatever their buffers. */
function fields(p: UtpPacket): Record<string, unknown> {
  return {
    type: p.type,
    connectionId: p.connectionId,
    timestamp: p.timestamp,
    timestampDiff: p.timestampDiff,
    windowSize: p.windowSize,
    seq: p.seq,
    ack: p.ack,
    selectiveAck: p.selectiveAck === undefined ? undefined : Array.from(p.selectiveAck),
    payload: Array.from(p.payload),
  };
}

function assertRoundTrip(p: UtpPacket, label: string): void {
  const encoded = encodeUtpPacket(p);
  const sackBytes = p.selectiveAck ? 2 + p.selectiveAck.length : 0;
  assert.equal(encoded.length, UTP_HEADER_LENGTH + sackBytes + p.payload.length, `${label}: length`);
  assert.deepEqual(fields(decodeUtpPacket(encoded)), fields(p), label);
}

/** Asserts that decoding throws a DecodeError whose message matches `message`. */
function assertRejected(datagram: Uint8Array, message: RegExp, label: string): void {
  assert.throws(
    () => decodeUtpPacket(datagram),
    (e: unknown) => e instanceof DecodeError && message.test(e.message),
    label,
  );
}

/** A 20-byte header: the given first two bytes, the rest of the fields zero. */
function header(typeVersion: number, extension: number): Uint8Array {
  const h = new Uint8Array(UTP_HEADER_LENGTH);
  h[0] = typeVersion;
  h[1] = extension;
  return h;
}

describe('uTP packets (BEP 29)', () => {
  test('constants match the specification', () => {
    assert.deepEqual([UTP_DATA, UTP_FIN, UTP_STATE, UTP_RESET, UTP_SYN], [0, 1, 2, 3, 4]);
    assert.equal(UTP_HEADER_LENGTH, 20);
    assert.equal(UTP_EXTENSION_SACK, 1);
    assert.equal(UTP_MAX_SACK_BYTES, 32);
  });

  test('every packet type round-trips, with and without a selective ack and a payload', () => {
    const sack = bytes(0x01, 0x80, 0xff, 0x00);
    const payload = new Mulberry32(1).bytes(1200);
    for (const [name, type] of TYPES) {
      assertRoundTrip(packet({ type }), `${name} bare`);
      assertRoundTrip(packet({ type, selectiveAck: sack }), `${name} with sack`);
      assertRoundTrip(packet({ type, payload }), `${name} with payload`);
      assertRoundTrip(packet({ type, selectiveAck: sack, payload }), `${name} with sack and payload`);
    }
  });

  test('every field round-trips at its extremes', () => {
    const extremes: Partial<UtpPacket>[] = [
      { connectionId: 0 },
      { connectionId: 0xffff },
      { seq: 0 },
      { seq: 0xffff },
      { ack: 0 },
      { ack: 0xffff },
      { timestamp: 0 },
      { timestamp: 0xffffffff },
      { timestampDiff: 0 },
      { timestampDiff: 0xffffffff },
      { windowSize: 0 },
      { windowSize: 0xffffffff },
      { connectionId: 0, timestamp: 0, timestampDiff: 0, windowSize: 0, seq: 0, ack: 0 },
      { connectionId: 0xffff, timestamp: 0xffffffff, timestampDiff: 0xffffffff, windowSize: 0xffffffff, seq: 0xffff, ack: 0xffff },
    ];
    for (const [name, type] of TYPES) {
      for (const e of extremes) {
        assertRoundTrip(packet({ type, ...e }), `${name} ${JSON.stringify(e)}`);
        assertRoundTrip(packet({ type, ...e, selectiveAck: new Uint8Array(UTP_MAX_SACK_BYTES).fill(0xff) }), `${name} ${JSON.stringify(e)} with sack`);
      }
    }
  });

  test('selective acks of every allowed length round-trip', () => {
    for (let n = 4; n <= UTP_MAX_SACK_BYTES; n += 4) {
      assertRoundTrip(packet({ type: UTP_STATE, selectiveAck: new Mulberry32(n).bytes(n) }), `sack of ${n} bytes`);
    }
  });

  test('SYN: hand-written bytes decode field by field and encode identically', () => {
    // type 4, version 1 -> 0x41; no extension; connection id 0x1234; timestamp 0x01020304;
    // timestamp difference 0x05060708; window 0x00100000; seq 0xabcd; ack 0.
    const wire = hex('41 00 1234 01020304 05060708 00100000 abcd 0000');
    assert.equal(wire.length, 20);
    const p = decodeUtpPacket(wire);
    assert.equal(p.type, UTP_SYN);
    assert.equal(p.connectionId, 0x1234);
    assert.equal(p.timestamp, 0x01020304);
    assert.equal(p.timestampDiff, 0x05060708);
    assert.equal(p.windowSize, 0x00100000);
    assert.equal(p.seq, 0xabcd);
    assert.equal(p.ack, 0);
    assert.equal(p.selectiveAck, undefined);
    assert.equal(p.payload.length, 0);
    assert.deepEqual(encodeUtpPacket(p), wire);
  });

  test('STATE with a selective ack: hand-written bytes decode and encode identically', () => {
    // type 2, version 1 -> 0x21; extension 1 (sack); at offset 20: next 0, length 4, mask.
    const wire = hex('21 01 ffff fffffffe 80000001 0000ffff 0001 fffe  00 04 01020480');
    const p = decodeUtpPacket(wire);
    assert.equal(p.type, UTP_STATE);
    assert.equal(p.connectionId, 0xffff);
    assert.equal(p.timestamp, 0xfffffffe);
    assert.equal(p.timestampDiff, 0x80000001);
    assert.equal(p.windowSize, 0xffff);
    assert.equal(p.seq, 1);
    assert.equal(p.ack, 0xfffe);
    assert.deepEqual(p.selectiveAck, bytes(0x01, 0x02, 0x04, 0x80));
    assert.equal(p.payload.length, 0);
    assert.deepEqual(encodeUtpPacket(p), wire);
  });

  test('DATA with a payload: hand-written bytes decode and encode identically', () => {
    // type 0, version 1 -> 0x01; payload "hello" right after the header.
    const wire = concat(hex('01 00 0102 00000000 ffffffff 00000000 ffff 0000'), new TextEncoder().encode('hello'));
    const p = decodeUtpPacket(wire);
    assert.equal(p.type, UTP_DATA);
    assert.equal(p.connectionId, 0x0102);
    assert.equal(p.timestamp, 0);
    assert.equal(p.timestampDiff, 0xffffffff);
    assert.equal(p.windowSize, 0);
    assert.equal(p.seq, 0xffff);
    assert.equal(p.ack, 0);
    assert.equal(new TextDecoder().decode(p.payload), 'hello');
    assert.deepEqual(encodeUtpPacket(p), wire);
  });

  test('FIN and RESET first bytes are 0x11 and 0x31', () => {
    assert.equal(encodeUtpPacket(packet({ type: UTP_FIN }))[0], 0x11);
    assert.equal(encodeUtpPacket(packet({ type: UTP_RESET }))[0], 0x31);
    assert.equal(decodeUtpPacket(header(0x11, 0)).type, UTP_FIN);
    assert.equal(decodeUtpPacket(header(0x31, 0)).type, UTP_RESET);
  });

  test('encoded selective ack layout: extension 1 at offset 1, then next 0, length, mask at 20', () => {
    const mask = bytes(0xde, 0xad, 0xbe, 0xef, 1, 2, 3, 4);
    const payload = bytes(9, 8, 7);
    const wire = encodeUtpPacket(packet({ type: UTP_DATA, selectiveAck: mask, payload }));
    assert.equal(wire[1], UTP_EXTENSION_SACK);
    assert.equal(wire[20], 0, 'no next extension');
    assert.equal(wire[21], 8, 'mask length');
    assert.deepEqual(wire.subarray(22, 30), mask);
    assert.deepEqual(wire.subarray(30), payload);
  });

  test('an unknown extension before the sack is skipped; sack found; payload after both', () => {
    // Old µTorrent sent extension 2 (8 bytes) in SYN. Chain: header ext=2 -> [next=1, len=8, ...] -> [next=0, len=4, mask].
    const wire = concat(
      header(0x01, 2),
      bytes(1, 8, 0, 0, 0, 0, 0, 0, 0, 0),
      bytes(0, 4, 0xaa, 0xbb, 0xcc, 0xdd),
      bytes(0x70, 0x71),
    );
    const p = decodeUtpPacket(wire);
    assert.deepEqual(p.selectiveAck, bytes(0xaa, 0xbb, 0xcc, 0xdd));
    assert.deepEqual(p.payload, bytes(0x70, 0x71));
  });

  test('an unknown extension alone, of any length including 0 and odd, is skipped', () => {
    for (const length of [0, 1, 3, 8, 255]) {
      const wire = concat(header(0x41, 2), bytes(0, length), new Uint8Array(length).fill(0xee), bytes(0x55));
      const p = decodeUtpPacket(wire);
      assert.equal(p.selectiveAck, undefined, `length ${length}`);
      assert.deepEqual(p.payload, bytes(0x55), `length ${length}`);
    }
  });

  test('a sack longer than UTP_MAX_SACK_BYTES is accepted and truncated to 32 bytes', () => {
    const mask = new Mulberry32(36).bytes(36);
    const wire = concat(header(0x21, UTP_EXTENSION_SACK), bytes(0, 36), mask, bytes(0x42));
    const p = decodeUtpPacket(wire);
    assert.equal(p.selectiveAck?.length, UTP_MAX_SACK_BYTES);
    assert.deepEqual(p.selectiveAck, mask.subarray(0, UTP_MAX_SACK_BYTES));
    assert.deepEqual(p.payload, bytes(0x42), 'payload starts after the whole 36-byte mask');
  });

  test('decode rejects datagrams shorter than the header', () => {
    for (const n of [0, 1, 19]) {
      assertRejected(new Uint8Array(n).fill(0x01), /shorter than its 20-byte header/, `${n} bytes`);
    }
  });

  test('decode rejects versions other than 1', () => {
    for (const version of [0, 2, 15]) {
      for (const type of [UTP_DATA, UTP_SYN]) {
        assertRejected(header((type << 4) | version, 0), new RegExp(`version ${version} is not supported`), `version ${version}`);
      }
    }
  });

  test('decode rejects unknown types 5 to 15', () => {
    for (let type = 5; type <= 15; type++) {
      assertRejected(header((type << 4) | 1, 0), new RegExp(`type ${type} is unknown`), `type ${type}`);
    }
  });

  test('decode rejects an extension header cut off', () => {
    assertRejected(header(0x01, UTP_EXTENSION_SACK), /extension header runs past/, 'nothing after the header');
    assertRejected(concat(header(0x01, UTP_EXTENSION_SACK), bytes(0)), /extension header runs past/, 'one byte after the header');
    assertRejected(concat(header(0x01, 2), bytes(0)), /extension header runs past/, 'unknown extension, one byte');
    // The second extension of a chain cut off.
    assertRejected(concat(header(0x01, 2), bytes(1, 0), bytes(0)), /extension header runs past/, 'second header cut off');
  });

  test('decode rejects an extension length running past the end', () => {
    assertRejected(concat(header(0x01, UTP_EXTENSION_SACK), bytes(0, 4, 1, 2, 3)), /extension of 4 bytes runs past/, 'sack one byte short');
    assertRejected(concat(header(0x01, 2), bytes(0, 8)), /extension of 8 bytes runs past/, 'unknown extension, no body');
    assertRejected(concat(header(0x01, 2), bytes(0, 255), new Uint8Array(254)), /extension of 255 bytes runs past/, 'unknown extension, 255');
  });

  test('decode takes a sack of any length, as libtorrent sends them (58 bytes, say); an empty one is no sack', () => {
    for (const length of [1, 3, 5, 58]) {
      const mask = new Mulberry32(length).bytes(length);
      const decoded = decodeUtpPacket(concat(header(0x21, UTP_EXTENSION_SACK), bytes(0, length), mask));
      assert.deepEqual(decoded.selectiveAck, mask.subarray(0, Math.min(length, UTP_MAX_SACK_BYTES)), `length ${length}`);
      assert.equal(decoded.payload.length, 0);
    }
    const empty = decodeUtpPacket(concat(header(0x21, UTP_EXTENSION_SACK), bytes(0, 0), bytes(1, 2, 3)));
    assert.equal(empty.selectiveAck, undefined);
    assert.deepEqual(empty.payload, bytes(1, 2, 3));
  });

  test('every prefix of a packet with a sack shorter than header and extension throws DecodeError', () => {
    const wire = encodeUtpPacket(packet({ type: UTP_DATA, selectiveAck: bytes(1, 2, 3, 4, 5, 6, 7, 8), payload: bytes(10, 11, 12) }));
    const end = UTP_HEADER_LENGTH + 2 + 8;
    for (let n = 0; n < end; n++) {
      assert.throws(() => decodeUtpPacket(wire.subarray(0, n)), DecodeError, `prefix of ${n} bytes`);
    }
    // Longer prefixes are valid packets with a shorter payload.
    for (let n = end; n <= wire.length; n++) {
      assert.deepEqual(decodeUtpPacket(wire.subarray(0, n)).payload, wire.subarray(end, n), `prefix of ${n} bytes`);
    }
  });

  test('random bytes either decode to a packet that re-encodes to the same fields, or throw DecodeError', () => {
    const rng = new Mulberry32(0x75745020);
    let decoded = 0;
    let rejected = 0;
    let sacks = 0;
    for (let round = 0; round < 20_000; round++) {
      const datagram = rng.bytes(rng.nextUint32() % 101);
      // Half the time make the first bytes plausible so the extension chain gets exercised too.
      if (datagram.length >= 2 && rng.nextUint32() % 2 === 0) {
        datagram[0] = ((rng.nextUint32() % 5) << 4) | 1;
        datagram[1] = rng.nextUint32() % 3;
        // And often a first extension with no successor and a length of 0 to 36 in steps of 4.
        if (datagram.length >= 22 && rng.nextUint32() % 2 === 0) {
          datagram[20] = 0;
          datagram[21] = 4 * (rng.nextUint32() % 10);
        }
      }
      let p: UtpPacket;
      try {
        p = decodeUtpPacket(datagram);
      } catch (e) {
        assert.ok(e instanceof DecodeError, `round ${round}: ${String(e)}`);
        rejected++;
        continue;
      }
      decoded++;
      if (p.selectiveAck !== undefined) sacks++;
      // Masks we would not send ourselves (not a multiple of 4) are only decoded.
      if (p.selectiveAck === undefined || p.selectiveAck.length % 4 === 0) {
        assert.deepEqual(fields(decodeUtpPacket(encodeUtpPacket(p))), fields(p), `round ${round}`);
      }
    }
    assert.ok(decoded > 1000, `enough random datagrams decode (${decoded})`);
    assert.ok(rejected > 1000, `enough random datagrams are rejected (${rejected})`);
    assert.ok(sacks > 100, `enough random datagrams carry a selective ack (${sacks})`);
  });

  test('encode refuses a selective ack of 0, 6 or 36 bytes with RangeError', () => {
    for (const n of [0, 6, 36]) {
      assert.throws(() => encodeUtpPacket(packet({ selectiveAck: new Uint8Array(n) })), RangeError, `${n} bytes`);
    }
  });

  test('the decoded payload and sack are views of the datagram, not copies', () => {
    const wire = encodeUtpPacket(packet({ selectiveAck: bytes(1, 2, 3, 4), payload: bytes(5, 6, 7) }));
    const p = decodeUtpPacket(wire);
    assert.equal(p.payload.buffer, wire.buffer);
    assert.equal(p.payload.byteOffset, wire.byteOffset + 26);
    assert.equal(p.selectiveAck?.buffer, wire.buffer);
  });

  test('decode reads a datagram that is a view at an offset into a larger buffer', () => {
    const wire = encodeUtpPacket(packet({ type: UTP_FIN, seq: 0xfedc, selectiveAck: bytes(1, 2, 3, 4), payload: bytes(5, 6) }));
    const big = new Uint8Array(wire.length + 13).fill(0xff);
    big.set(wire, 7);
    const view = big.subarray(7, 7 + wire.length);
    assert.deepEqual(fields(decodeUtpPacket(view)), fields(decodeUtpPacket(wire)));
    assert.equal(decodeUtpPacket(view).payload.buffer, big.buffer);
  });
});
