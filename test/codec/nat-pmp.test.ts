import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  NAT_PMP_PORT,
  NAT_PMP_RESULTS,
  decodeNatPmpAnswer,
  encodeExternalAddressRequest,
  encodeMappingRequest,
  type NatPmpAnswer,
} from '../../src/codec/nat-pmp.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

const bytes = (...b: number[]): Uint8Array => Uint8Array.from(b);

/** An answer laid out as RFC 6886 says: version, opcode, result (u16), epoch (u32), then `tail`. */
function answer(op: number, result: number, epoch: number, tail: number[]): Uint8Array {
  const out = new Uint8Array(8 + tail.length);
  const view = new DataView(out.buffer);
  out[0] = 0;
  out[1] = op;
  view.setUint16(2, result);
  view.setUint32(4, epoch);
  out.set(tail, 8);
  return out;
}

const u16 = (n: number): number[] => [n >>> 8, n & 0xff];
const u32 = (n: number): number[] => [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff];

describe('NAT-PMP requests', () => {
  test('the port is 5351', () => {
    assert.equal(NAT_PMP_PORT, 5351);
  });

  test('external-address request is [0, 0]', () => {
    assert.deepEqual(encodeExternalAddressRequest(), bytes(0, 0));
  });

  test('UDP mapping request, byte for byte (RFC 6886 3.3)', () => {
    assert.deepEqual(
      encodeMappingRequest('udp', 6881, 6882, 7200),
      bytes(0, 1, 0, 0, 0x1a, 0xe1, 0x1a, 0xe2, 0x00, 0x00, 0x1c, 0x20),
    );
  });

  test('TCP mapping request, byte for byte, big-endian fields', () => {
    assert.deepEqual(
      encodeMappingRequest('tcp', 0x1234, 0xabcd, 0x01020304),
      bytes(0, 2, 0, 0, 0x12, 0x34, 0xab, 0xcd, 0x01, 0x02, 0x03, 0x04),
    );
  });

  test('extremes: delete (all zero) and the largest values', () => {
    assert.deepEqual(encodeMappingRequest('tcp', 6881, 0, 0), bytes(0, 2, 0, 0, 0x1a, 0xe1, 0, 0, 0, 0, 0, 0));
    assert.deepEqual(
      encodeMappingRequest('udp', 65535, 65535, 0xffffffff),
      bytes(0, 1, 0, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff),
    );
    assert.equal(encodeMappingRequest('udp', 1, 2, 3).length, 12);
  });

  test('RangeError for ports that are not 0-65535', () => {
    for (const bad of [-1, 65536, 1.5, Number.NaN, Infinity, 2 ** 32]) {
      assert.throws(() => encodeMappingRequest('udp', bad, 1, 60), RangeError, `internal ${bad}`);
      assert.throws(() => encodeMappingRequest('tcp', 1, bad, 60), RangeError, `external ${bad}`);
    }
  });

  test('RangeError for a lifetime that is not a u32', () => {
    for (const bad of [-1, 2 ** 32, 0.5, Number.NaN, Infinity, -Infinity]) {
      assert.throws(() => encodeMappingRequest('udp', 1, 1, bad), RangeError, `lifetime ${bad}`);
    }
  });
});

describe('NAT-PMP answers', () => {
  test('external-address answer (opcode 128) gives a dotted IPv4', () => {
    const a = answer(128, 0, 12345, [10, 77, 2, 1]);
    assert.equal(a.length, 12);
    assert.deepEqual(decodeNatPmpAnswer(a), { kind: 'external-address', result: 0, epoch: 12345, address: '10.77.2.1' });
    assert.deepEqual(decodeNatPmpAnswer(answer(128, 0, 0xffffffff, [255, 255, 255, 255])), {
      kind: 'external-address',
      result: 0,
      epoch: 0xffffffff,
      address: '255.255.255.255',
    });
  });

  test('UDP mapping answer (opcode 129)', () => {
    const a = answer(129, 0, 7, [...u16(6881), ...u16(40000), ...u32(3600)]);
    assert.equal(a.length, 16);
    assert.deepEqual(decodeNatPmpAnswer(a), {
      kind: 'mapping',
      protocol: 'udp',
      result: 0,
      epoch: 7,
      internalPort: 6881,
      externalPort: 40000,
      lifetime: 3600,
    });
  });

  test('TCP mapping answer (opcode 130) with large values', () => {
    const a = answer(130, 0, 0x80000001, [...u16(65535), ...u16(1), ...u32(0xfffffffe)]);
    assert.deepEqual(decodeNatPmpAnswer(a), {
      kind: 'mapping',
      protocol: 'tcp',
      result: 0,
      epoch: 0x80000001,
      internalPort: 65535,
      externalPort: 1,
      lifetime: 0xfffffffe,
    });
  });

  test('decodes from a view that does not start at offset 0 of its buffer', () => {
    const backing = new Uint8Array(3 + 16 + 5).fill(0xee);
    backing.set(answer(130, 0, 99, [...u16(6881), ...u16(6881), ...u32(60)]), 3);
    const view = backing.subarray(3, 19);
    assert.deepEqual(decodeNatPmpAnswer(view), {
      kind: 'mapping',
      protocol: 'tcp',
      result: 0,
      epoch: 99,
      internalPort: 6881,
      externalPort: 6881,
      lifetime: 60,
    });
  });

  test('an 8-byte error answer (non-zero result) is accepted', () => {
    assert.deepEqual(decodeNatPmpAnswer(answer(128, 3, 5, [])), { kind: 'external-address', result: 3, epoch: 5, address: '0.0.0.0' });
    assert.deepEqual(decodeNatPmpAnswer(answer(129, 2, 6, [])), {
      kind: 'mapping',
      protocol: 'udp',
      result: 2,
      epoch: 6,
      internalPort: 0,
      externalPort: 0,
      lifetime: 0,
    });
    assert.deepEqual(decodeNatPmpAnswer(answer(130, 0xffff, 0, [])), {
      kind: 'mapping',
      protocol: 'tcp',
      result: 0xffff,
      epoch: 0,
      internalPort: 0,
      externalPort: 0,
      lifetime: 0,
    });
  });

  test('a full-length answer with a non-zero result keeps its fields', () => {
    const a = decodeNatPmpAnswer(answer(130, 4, 1, [...u16(6881), ...u16(0), ...u32(0)]));
    assert.equal(a.kind, 'mapping');
    assert.equal(a.result, 4);
    assert.equal(a.kind === 'mapping' && a.internalPort, 6881);
  });

  test('result codes have readable reasons', () => {
    for (const code of [1, 2, 3, 4, 5]) assert.ok((NAT_PMP_RESULTS[code] ?? '').length > 0, `code ${code}`);
    assert.equal(NAT_PMP_RESULTS[0], undefined);
    assert.match(NAT_PMP_RESULTS[3] ?? '', /network failure/);
  });
});

describe('NAT-PMP answers refused', () => {
  test('too short (0-7 bytes)', () => {
    const full = answer(129, 1, 0, []);
    for (let n = 0; n < 8; n++) assert.throws(() => decodeNatPmpAnswer(full.subarray(0, n)), DecodeError, `${n} bytes`);
  });

  test('wrong version', () => {
    for (const version of [1, 2, 255]) {
      const a = answer(128, 0, 0, [1, 2, 3, 4]);
      a[0] = version;
      assert.throws(() => decodeNatPmpAnswer(a), DecodeError, `version ${version}`);
    }
  });

  test('request opcodes (below 128), at every answer length', () => {
    for (const op of [0, 1, 2, 3, 127]) {
      for (const len of [8, 12, 16]) {
        const a = answer(op, 1, 0, new Array<number>(len - 8).fill(0));
        assert.throws(() => decodeNatPmpAnswer(a), DecodeError, `opcode ${op}, ${len} bytes`);
      }
    }
    // A request echoed back (e.g. a reflected datagram) is not an answer either.
    assert.throws(() => decodeNatPmpAnswer(encodeMappingRequest('udp', 6881, 6881, 60)), DecodeError);
  });

  test('unknown answer opcodes', () => {
    for (const op of [131, 132, 200, 255]) {
      for (const len of [8, 12, 16]) {
        const a = answer(op, 1, 0, new Array<number>(len - 8).fill(0));
        assert.throws(() => decodeNatPmpAnswer(a), DecodeError, `opcode ${op}, ${len} bytes`);
      }
    }
  });

  test('wrong lengths for success answers', () => {
    for (const len of [8, 9, 11, 13, 15, 16, 17, 20]) {
      assert.throws(() => decodeNatPmpAnswer(answer(128, 0, 0, new Array<number>(len - 8).fill(1))), DecodeError, `external, ${len} bytes`);
    }
    for (const op of [129, 130]) {
      for (const len of [8, 9, 11, 12, 13, 15, 17, 24]) {
        assert.throws(() => decodeNatPmpAnswer(answer(op, 0, 0, new Array<number>(len - 8).fill(1))), DecodeError, `op ${op}, ${len} bytes`);
      }
    }
  });

  test('error answers of a length other than 8 or the full one', () => {
    for (const len of [9, 11, 13, 16]) {
      assert.throws(() => decodeNatPmpAnswer(answer(128, 3, 0, new Array<number>(len - 8).fill(0))), DecodeError, `external, ${len}`);
    }
    for (const len of [9, 12, 15, 17]) {
      assert.throws(() => decodeNatPmpAnswer(answer(129, 3, 0, new Array<number>(len - 8).fill(0))), DecodeError, `mapping, ${len}`);
    }
  });
});

/** An independent reading of RFC 6886 to compare the decoder against. */
function reference(b: Uint8Array): NatPmpAnswer | 'refused' {
  if (b.length < 8 || b[0] !== 0) return 'refused';
  const op = b[1] ?? 0;
  if (op !== 128 && op !== 129 && op !== 130) return 'refused';
  const result = ((b[2] ?? 0) << 8) | (b[3] ?? 0);
  const epoch = ((b[4] ?? 0) * 2 ** 24) + (((b[5] ?? 0) << 16) | ((b[6] ?? 0) << 8) | (b[7] ?? 0));
  const full = op === 128 ? 12 : 16;
  const short = b.length === 8 && result !== 0;
  if (b.length !== full && !short) return 'refused';
  if (op === 128) return { kind: 'external-address', result, epoch, address: short ? '0.0.0.0' : `${b[8]}.${b[9]}.${b[10]}.${b[11]}` };
  const at = (i: number): number => b[i] ?? 0;
  return {
    kind: 'mapping',
    protocol: op === 129 ? 'udp' : 'tcp',
    result,
    epoch,
    internalPort: short ? 0 : (at(8) << 8) | at(9),
    externalPort: short ? 0 : (at(10) << 8) | at(11),
    lifetime: short ? 0 : at(12) * 2 ** 24 + ((at(13) << 16) | (at(14) << 8) | at(15)),
  };
}

function assertWellFormed(a: NatPmpAnswer): void {
  const u = (n: number, max: number): boolean => Number.isInteger(n) && n >= 0 && n <= max;
  assert.ok(u(a.result, 0xffff) && u(a.epoch, 0xffffffff), JSON.stringify(a));
  if (a.kind === 'external-address') {
    assert.match(a.address, /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/);
    for (const part of a.address.split('.')) assert.ok(Number(part) <= 255);
  } else {
    assert.ok(a.protocol === 'udp' || a.protocol === 'tcp');
    assert.ok(u(a.internalPort, 0xffff) && u(a.externalPort, 0xffff) && u(a.lifetime, 0xffffffff), JSON.stringify(a));
  }
}

describe('NAT-PMP decoder fuzz', () => {
  function check(b: Uint8Array): 'ok' | 'refused' {
    let got: NatPmpAnswer;
    try {
      got = decodeNatPmpAnswer(b);
    } catch (err) {
      assert.ok(err instanceof DecodeError, `non-DecodeError ${String(err)} for ${Array.from(b).join(',')}`);
      assert.equal(reference(b), 'refused', `refused a valid answer ${Array.from(b).join(',')}`);
      return 'refused';
    }
    assertWellFormed(got);
    assert.deepEqual(got, reference(b), `bytes ${Array.from(b).join(',')}`);
    return 'ok';
  }

  test('20,000 random buffers of 0-40 bytes: a well-formed answer or a DecodeError', () => {
    const rng = new Mulberry32(0x6886);
    for (let i = 0; i < 20_000; i++) check(rng.bytes(rng.nextUint32() % 41));
  });

  test('20,000 near-valid buffers (version 0, answer opcodes, lengths near 8/12/16)', () => {
    const rng = new Mulberry32(0x5351);
    const counts = { ok: 0, refused: 0 };
    for (let i = 0; i < 20_000; i++) {
      const len = [7, 8, 9, 11, 12, 13, 15, 16, 17][rng.nextUint32() % 9] ?? 8;
      const b = rng.bytes(len);
      if (len > 0 && rng.next() < 0.9) b[0] = 0;
      if (len > 1) b[1] = [127, 128, 129, 130, 131][rng.nextUint32() % 5] ?? 128;
      if (len > 3 && rng.next() < 0.5) b[2] = b[3] = 0; // result 0 half the time
      counts[check(b)]++;
    }
    // Both paths were exercised.
    assert.ok(counts.ok > 1000 && counts.refused > 1000, JSON.stringify(counts));
  });
});
