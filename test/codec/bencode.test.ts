import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bdecode, bencode, bytesToLatin1, latin1ToBytes, type BDict, type BValue } from '../../src/codec/bencode.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

const enc = new TextEncoder();
const b = (s: string): Uint8Array => enc.encode(s);
const latin1 = (s: string): Uint8Array => latin1ToBytes(s);
const str = (v: BValue): string => bytesToLatin1(v as Uint8Array);

/** Seeded uniform [0, 1) generator, so fuzz failures replay. */
function mulberry32(seed: number): () => number {
  const m = new Mulberry32(seed);
  return () => m.next();
}

function assertDecodeError(input: Uint8Array | string, pattern?: RegExp): void {
  const data = typeof input === 'string' ? latin1(input) : input;
  assert.throws(
    () => bdecode(data),
    (err: unknown) => {
      assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('bdecode: valid input', () => {
  test('integers', () => {
    assert.equal(bdecode(b('i0e')), 0);
    assert.equal(bdecode(b('i42e')), 42);
    assert.equal(bdecode(b('i-42e')), -42);
    assert.equal(bdecode(b(`i${Number.MAX_SAFE_INTEGER}e`)), Number.MAX_SAFE_INTEGER);
    assert.equal(bdecode(b(`i-${Number.MAX_SAFE_INTEGER}e`)), -Number.MAX_SAFE_INTEGER);
  });

  test('byte strings are views into the input', () => {
    const data = b('4:spam');
    const v = bdecode(data) as Uint8Array;
    assert.ok(v instanceof Uint8Array);
    assert.equal(str(v), 'spam');
    assert.equal(v.buffer, data.buffer);
    assert.equal(v.byteOffset, 2);
    assert.equal((bdecode(b('0:')) as Uint8Array).length, 0);
  });

  test('lists and dicts', () => {
    const v = bdecode(b('d4:listl1:ai1eli2eee3:numi7ee')) as BDict;
    assert.equal(Object.getPrototypeOf(v), null);
    assert.deepEqual(Object.keys(v), ['list', 'num']);
    const list = v.list as BValue[];
    assert.equal(str(list[0]), 'a');
    assert.equal(list[1], 1);
    assert.deepEqual(list[2], [2]);
    assert.equal(v.num, 7);
    assert.deepEqual(bdecode(b('le')), []);
    assert.equal(Object.keys(bdecode(b('de')) as BDict).length, 0);
  });

  test('binary dict keys survive as latin1 strings', () => {
    const data = new Uint8Array([0x64, 0x32, 0x3a, 0xff, 0x00, 0x69, 0x31, 0x65, 0x65]); // d2:\xff\x00i1ee
    const v = bdecode(data) as BDict;
    assert.deepEqual(Object.keys(v), ['\xff\x00']);
    assert.deepEqual(bencode(v), data);
  });

  test('__proto__ key is a plain own key', () => {
    const v = bdecode(b('d9:__proto__i1ee')) as BDict;
    assert.equal(Object.getPrototypeOf(v), null);
    assert.equal(v['__proto__'], 1);
  });

  test('unsorted keys are accepted', () => {
    const v = bdecode(b('d1:bi2e1:ai1ee')) as BDict;
    assert.equal(v.a, 1);
    assert.equal(v.b, 2);
    // Re-encoding sorts them.
    assert.equal(bytesToLatin1(bencode(v)), 'd1:ai1e1:bi2ee');
  });
});

describe('bdecode: invalid input', () => {
  const cases: [string, RegExp][] = [
    ['', /empty/],
    ['i03e', /leading zero/],
    ['i-0e', /negative zero/],
    ['i-03e', /leading zero/],
    ['ie', /without digits/],
    ['i-e', /without digits/],
    ['i1', /truncated/],
    ['i1.5e', /unexpected byte/],
    ['i9007199254740992e', /safe range/],
    ['i-9007199254740992e', /safe range/],
    ['i99999999999999999999999999e', /safe range/],
    ['01:a', /leading zero/],
    ['5:abc', /exceeds remaining/],
    ['3abc', /expected ':'/],
    ['4', /exceeds remaining/],
    ['1', /exceeds remaining/],
    ['0', /truncated string length/],
    ['l', /end of input/],
    ['li1e', /end of input/],
    ['d', /end of input/],
    ['d1:a', /end of input/],
    ['d1:ae', /key without value/],
    ['di1ei2ee', /dict key must be a byte string/],
    ['dli1eei2ee', /dict key must be a byte string/],
    ['d1:ai1e1:ai2ee', /duplicate dict key/],
    ['i1ei2e', /trailing/],
    ['4:spamx', /trailing/],
    ['e', /unexpected byte/],
    ['x', /unexpected byte/],
    ['le\n', /trailing/],
  ];
  for (const [input, pattern] of cases) {
    test(`rejects ${JSON.stringify(input)}`, () => assertDecodeError(input, pattern));
  }

  test('huge claimed string length throws fast without allocating', () => {
    assertDecodeError('99999999999:x', /exceeds remaining/);
    const digits = '9'.repeat(60000) + ':x';
    const before = process.memoryUsage().arrayBuffers;
    assertDecodeError(digits, /exceeds remaining/);
    assert.ok(process.memoryUsage().arrayBuffers - before < 1 << 20);
  });

  test('10,000-deep nesting throws DecodeError, not RangeError', () => {
    assertDecodeError('l'.repeat(10000), /nesting deeper than 16/);
    assertDecodeError('l'.repeat(10000) + 'e'.repeat(10000), /nesting/);
    // With generous limits, a balanced 10,000-deep value decodes: the decoder does not recurse.
    let deep = bdecode(b('l'.repeat(10000) + 'e'.repeat(10000)), { maxDepth: 10000, maxElements: 10000 });
    for (let i = 1; i < 10000; i++) {
      assert.ok(Array.isArray(deep) && deep.length === 1);
      deep = deep[0];
    }
    assert.deepEqual(deep, []);
    assert.throws(() => bdecode(b('l'.repeat(10000) + 'e'.repeat(10000)), { maxDepth: 9999, maxElements: 10000 }), /nesting deeper than 9999/);
  });

  test('depth limit is exact', () => {
    assert.deepEqual(bdecode(b('llee'), { maxDepth: 2 }), [[]]);
    assert.throws(() => bdecode(b('llleee'), { maxDepth: 2 }), /nesting deeper than 2/);
  });

  test('100,000-element list is over the element limit', () => {
    const data = b('l' + 'i1e'.repeat(100000) + 'e');
    assert.throws(() => bdecode(data, { maxBytes: 1 << 20 }), /more than 4096/);
    assert.throws(() => bdecode(data), /exceeds limit of 65536/);
  });

  test('element limit counts list items and dict entries', () => {
    assert.deepEqual(bdecode(b('li1ei2ee'), { maxElements: 2 }), [1, 2]);
    assert.throws(() => bdecode(b('li1ei2ei3ee'), { maxElements: 2 }), DecodeError);
    assert.throws(() => bdecode(b('d1:ai1e1:bi2e1:ci3ee'), { maxElements: 2 }), DecodeError);
    assert.throws(() => bdecode(b('ld1:ai1eed1:bi2eee'), { maxElements: 3 }), DecodeError);
  });

  test('byte limit', () => {
    assert.equal(str(bdecode(b('3:abc'), { maxBytes: 5 })), 'abc');
    assert.throws(() => bdecode(b('4:abcd'), { maxBytes: 5 }), /exceeds limit of 5/);
  });

  test('truncation at every byte position of a valid message throws DecodeError', () => {
    const msg = b('d1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe');
    for (let i = 0; i < msg.length; i++) assertDecodeError(msg.subarray(0, i));
    assert.ok(bdecode(msg));
  });
});

describe('bencode', () => {
  test('known encodings', () => {
    assert.equal(bytesToLatin1(bencode(0)), 'i0e');
    assert.equal(bytesToLatin1(bencode(-0)), 'i0e');
    assert.equal(bytesToLatin1(bencode(-12)), 'i-12e');
    assert.equal(bytesToLatin1(bencode('spam')), '4:spam');
    assert.equal(bytesToLatin1(bencode('é')), '2:\xc3\xa9', 'strings are UTF-8');
    assert.equal(bytesToLatin1(bencode(new Uint8Array([0, 255]))), '2:\x00\xff');
    assert.equal(bytesToLatin1(bencode([1, 'a', []])), 'li1e1:alee');
    assert.equal(bytesToLatin1(bencode({ b: 1, a: 'x', skip: undefined })), 'd1:a1:x1:bi1ee');
    assert.equal(bytesToLatin1(bencode(new Map([['z', 1], ['y', 2]]))), 'd1:yi2e1:zi1ee');
  });

  test('keys sort by raw bytes, not by UTF-16 of decoded text', () => {
    assert.equal(bytesToLatin1(bencode({ '\xff': 1, a: 2, B: 3, aa: 4 })), 'd1:Bi3e1:ai2e2:aai4e1:\xffi1ee');
  });

  test('rejects what cannot be encoded', () => {
    assert.throws(() => bencode(1.5), TypeError);
    assert.throws(() => bencode(Number.MAX_SAFE_INTEGER + 1), TypeError);
    assert.throws(() => bencode(NaN), TypeError);
    assert.throws(() => bencode(Infinity), TypeError);
    assert.throws(() => bencode(null as unknown as number), TypeError);
    assert.throws(() => bencode(true as unknown as number), TypeError);
    assert.throws(() => bencode(10n as unknown as number), TypeError);
    assert.throws(() => bencode(new Uint16Array(2) as unknown as Uint8Array), TypeError);
    assert.throws(() => bencode({ '€': 1 }), TypeError);
    const cyclic: unknown[] = [];
    cyclic.push(cyclic);
    assert.throws(() => bencode(cyclic as never), TypeError);
  });

  test('round trips', () => {
    const values: BValue[] = [
      0,
      -1,
      Number.MAX_SAFE_INTEGER,
      new Uint8Array(0),
      new Uint8Array(300).map((_, i) => i & 0xff),
      [],
      [1, [2, [3, [new Uint8Array([4])]]]],
    ];
    for (const v of values) assert.deepEqual(bdecode(bencode(v)), v);
    const dict = bdecode(b('d1:ad1:bli1e1:xee1:ci-5ee'));
    assert.deepEqual(bdecode(bencode(dict)), dict);
    assert.equal(bytesToLatin1(bencode(dict)), 'd1:ad1:bli1e1:xee1:ci-5ee');
  });

  test('random structures round trip and re-encode identically', () => {
    const rand = mulberry32(7);
    const gen = (depth: number): BValue => {
      const r = rand();
      if (depth > 4 || r < 0.3) return Math.floor((rand() - 0.5) * 2 ** 40);
      if (r < 0.6) return new Uint8Array(Math.floor(rand() * 40)).map(() => Math.floor(rand() * 256));
      if (r < 0.8) return Array.from({ length: Math.floor(rand() * 5) }, () => gen(depth + 1));
      const d = Object.create(null) as BDict;
      for (let i = Math.floor(rand() * 5); i > 0; i--) {
        d[String.fromCharCode(...Array.from({ length: 1 + Math.floor(rand() * 4) }, () => Math.floor(rand() * 256)))] = gen(depth + 1);
      }
      return d;
    };
    for (let i = 0; i < 500; i++) {
      const v = gen(0);
      const encoded = bencode(v);
      const decoded = bdecode(encoded);
      assert.deepEqual(decoded, v);
      assert.deepEqual(bencode(decoded), encoded);
    }
  });
});

describe('bdecode fuzz', () => {
  test('20,000 random and mutated buffers only ever throw DecodeError', () => {
    const rand = mulberry32(0xc0ffee);
    const seeds = [
      'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe',
      'd1:rd2:id20:mnopqrstuvwxyz1234565:nodes52:' + 'x'.repeat(52) + 'e1:t2:aa1:y1:re',
      'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee',
      'li1ei-2e3:abcld1:xi0eeee',
    ].map(latin1);
    const alphabet = latin1('deil:0123456789-x');
    let ok = 0;
    let rejected = 0;
    for (let i = 0; i < 20000; i++) {
      let data: Uint8Array;
      if (i % 4 === 0) {
        data = new Uint8Array(Math.floor(rand() * 64)).map(() => alphabet[Math.floor(rand() * alphabet.length)]);
      } else if (i % 4 === 1) {
        data = new Uint8Array(Math.floor(rand() * 64)).map(() => Math.floor(rand() * 256));
      } else {
        data = seeds[Math.floor(rand() * seeds.length)].slice();
        const mutations = 1 + Math.floor(rand() * 4);
        for (let m = 0; m < mutations; m++) {
          const pos = Math.floor(rand() * data.length);
          const op = rand();
          if (op < 0.5) data[pos] = alphabet[Math.floor(rand() * alphabet.length)];
          else if (op < 0.75) data = data.subarray(0, pos);
          else data = Uint8Array.from([...data.subarray(0, pos), ...data.subarray(pos + 1)]);
        }
      }
      try {
        const v = bdecode(data, { maxDepth: 8, maxElements: 64, maxBytes: 2048 });
        // Anything accepted must re-encode to something that decodes to the same value.
        assert.deepEqual(bdecode(bencode(v), { maxDepth: 8, maxElements: 64, maxBytes: 4096 }), v);
        ok++;
      } catch (err) {
        if (!(err instanceof DecodeError)) throw err;
        rejected++;
      }
    }
    assert.ok(ok > 100, `some mutated inputs should still decode (got ${ok})`);
    assert.ok(rejected > 10000, `most inputs should be rejected (got ${rejected})`);
  });
});
