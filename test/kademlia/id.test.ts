import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  commonPrefixLength,
  compareDistance,
  hexToId,
  idEquals,
  idKey,
  idToHex,
  randomIdWithPrefix,
  xorDistance,
} from '../../src/kademlia/id.js';
import { InvalidIdError } from '../../src/kademlia/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

/** Seeded random bytes, so property tests are reproducible. */
function prng(seed: number): (n: number) => Uint8Array {
  const m = new Mulberry32(seed);
  return (n) => m.bytes(n);
}

function lexCompare(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

function leadingZeroBits(x: Uint8Array): number {
  let n = 0;
  for (const byte of x) {
    for (let bit = 7; bit >= 0; bit--) {
      if ((byte >> bit) & 1) return n;
      n++;
    }
  }
  return n;
}

describe('kademlia ids', () => {
  const rnd = prng(42);

  test('xorDistance: zero to itself, symmetric, and d(a,b) ^ d(b,c) = d(a,c)', () => {
    for (let i = 0; i < 200; i++) {
      const [a, b, c] = [rnd(20), rnd(20), rnd(20)];
      assert.deepEqual(xorDistance(a, a), new Uint8Array(20));
      assert.deepEqual(xorDistance(a, b), xorDistance(b, a));
      assert.deepEqual(xorDistance(xorDistance(a, b), xorDistance(b, c)), xorDistance(a, c));
    }
    assert.deepEqual(xorDistance(Uint8Array.of(0xf0, 0x0f), Uint8Array.of(0xff, 0xff)), Uint8Array.of(0x0f, 0xf0));
    assert.throws(() => xorDistance(rnd(20), rnd(32)), InvalidIdError);
  });

  test('compareDistance agrees with comparing XOR distances as big-endian numbers', () => {
    for (const width of [1, 20, 32]) {
      for (let i = 0; i < 500; i++) {
        const t = rnd(width);
        const a = rnd(width);
        // Make near-ties common so the later bytes get exercised.
        const b = i % 3 === 0 ? Uint8Array.from(a, (x, j) => (j === width - 1 ? x ^ 1 : x)) : rnd(width);
        const expected = Math.sign(lexCompare(xorDistance(t, a), xorDistance(t, b)));
        assert.equal(Math.sign(compareDistance(t, a, b)), expected);
        assert.equal(Math.sign(compareDistance(t, b, a)), expected === 0 ? 0 : -expected);
      }
      const t = rnd(width);
      assert.equal(compareDistance(t, t, rnd(width).map((x, j) => (j === 0 ? t[0]! ^ 0x80 : x))) < 0, true);
      const a = rnd(width);
      assert.equal(compareDistance(t, a, Uint8Array.from(a)), 0);
    }
  });

  test('commonPrefixLength counts leading equal bits and orders distance', () => {
    assert.equal(commonPrefixLength(Uint8Array.of(0b1010_0000), Uint8Array.of(0b1011_0000)), 3);
    assert.equal(commonPrefixLength(Uint8Array.of(0x00, 0x00), Uint8Array.of(0x00, 0x01)), 15);
    assert.equal(commonPrefixLength(Uint8Array.of(0x80, 0), Uint8Array.of(0x00, 0)), 0);
    const a = rnd(20);
    assert.equal(commonPrefixLength(a, Uint8Array.from(a)), 160);
    for (let i = 0; i < 500; i++) {
      const [t, x, y] = [rnd(20), rnd(20), rnd(20)];
      assert.equal(commonPrefixLength(t, x), leadingZeroBits(xorDistance(t, x)));
      const cx = commonPrefixLength(t, x);
      const cy = commonPrefixLength(t, y);
      if (cx > cy) assert.ok(compareDistance(t, x, y) < 0);
      if (cx < cy) assert.ok(compareDistance(t, x, y) > 0);
    }
    assert.throws(() => commonPrefixLength(rnd(20), rnd(21)), InvalidIdError);
  });

  test('idEquals and idKey', () => {
    const a = rnd(20);
    const b = Uint8Array.from(a);
    assert.equal(idEquals(a, b), true);
    b[19] = b[19]! ^ 1;
    assert.equal(idEquals(a, b), false);
    assert.equal(idEquals(a, a.subarray(0, 19)), false);
    assert.equal(idKey(a), idKey(Uint8Array.from(a)));
    assert.notEqual(idKey(a), idKey(b));
  });

  test('hex round trip, and hexToId rejects bad input', () => {
    for (let i = 0; i < 50; i++) {
      const id = rnd(20);
      const hex = idToHex(id);
      assert.match(hex, /^[0-9a-f]{40}$/);
      assert.equal(hex, Buffer.from(id).toString('hex'));
      assert.deepEqual(hexToId(hex), id);
      assert.deepEqual(hexToId(hex.toUpperCase()), id);
    }
    assert.deepEqual(hexToId(''), new Uint8Array(0));
    for (const bad of ['abc', 'zz', '0g', ' 00', '00 ', '+1']) {
      assert.throws(() => hexToId(bad), (e: unknown) => e instanceof InvalidIdError && e.code === 'INVALID_ID');
    }
  });

  test('randomIdWithPrefix shares exactly prefixBits bits with base', () => {
    for (const width of [1, 20, 32]) {
      const base = rnd(width);
      for (let p = 0; p < width * 8; p++) {
        for (let rep = 0; rep < 4; rep++) {
          const id = randomIdWithPrefix(base, p, rnd);
          assert.equal(id.length, width);
          assert.equal(commonPrefixLength(base, id), p, `width ${width} prefix ${p}`);
        }
      }
      assert.deepEqual(randomIdWithPrefix(base, width * 8, rnd), base);
      assert.throws(() => randomIdWithPrefix(base, width * 8 + 1, rnd), InvalidIdError);
      assert.throws(() => randomIdWithPrefix(base, -1, rnd), InvalidIdError);
    }
    // The bits after the prefix are random: two draws rarely coincide.
    const base = rnd(20);
    const seen = new Set<string>();
    for (let i = 0; i < 100; i++) seen.add(idToHex(randomIdWithPrefix(base, 10, rnd)));
    assert.equal(seen.size, 100);
  });
});
