/**
 * The pure parts of Message Stream Encryption: RC4 with MSE's 1024-byte discard (against RFC 6229
 * vectors and a reference RC4 written here), the Diffie-Hellman arithmetic over the 768-bit prime,
 * and the byte layouts of steps 3 and 4.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  decodeHead,
  encodeAnswer,
  encodeOffer,
  MSE_KEY_LENGTH,
  MSE_MAX_PAD,
  MSE_VC,
  msePublicKey,
  mseSecret,
  MSE_HEAD_LENGTH,
  Rc4,
} from '../../src/codec/mse.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { concat } from './bytes.js';

const hex = (s: string): Uint8Array => new Uint8Array(Buffer.from(s.replace(/\s+/g, ''), 'hex'));
const ascii = (s: string): Uint8Array => new Uint8Array(Buffer.from(s, 'latin1'));
const toHex = (b: Uint8Array): string => Buffer.from(b).toString('hex');

/** The MSE prime, as written in the specification. */
const P = BigInt(
  '0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
);

/** A big-endian 96-byte encoding of `n`, written independently of the module. */
function key96(n: bigint): Uint8Array {
  const out = new Uint8Array(MSE_KEY_LENGTH);
  let v = n;
  for (let i = MSE_KEY_LENGTH - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  assert.equal(v, 0n, 'value fits in 96 bytes');
  return out;
}

/** Plain textbook RC4 keystream (no discard), as a reference. */
function referenceKeystream(key: Uint8Array, length: number): Uint8Array {
  const s = Array.from({ length: 256 }, (_, i) => i);
  let j = 0;
  for (let i = 0; i < 256; i++) {
    j = (j + s[i]! + key[i % key.length]!) % 256;
    [s[i], s[j]] = [s[j]!, s[i]!];
  }
  const out = new Uint8Array(length);
  let i = 0;
  j = 0;
  for (let k = 0; k < length; k++) {
    i = (i + 1) % 256;
    j = (j + s[i]!) % 256;
    [s[i], s[j]] = [s[j]!, s[i]!];
    out[k] = s[(s[i]! + s[j]!) % 256]!;
  }
  return out;
}

function xorBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x ^ b[i]!);
}

describe('Rc4 (MSE flavour: first 1024 bytes of keystream dropped)', () => {
  test('the reference RC4 used below reproduces the classic published vectors', () => {
    const vectors: [string, string, string][] = [
      ['Key', 'Plaintext', 'bbf316e8d940af0ad3'],
      ['Wiki', 'pedia', '1021bf0420'],
      ['Secret', 'Attack at dawn', '45a01f645fc35b383552544b9bf5'],
    ];
    for (const [key, plain, cipher] of vectors) {
      assert.equal(toHex(xorBytes(ascii(plain), referenceKeystream(ascii(key), plain.length))), cipher, `${key}/${plain}`);
    }
    // RFC 6229, 40-bit key 0102030405, offset 0.
    assert.equal(toHex(referenceKeystream(hex('0102030405'), 16)), 'b2396305f03dc027ccc3524a0a1118a8');
  });

  test('matches RFC 6229 (key 0x0102030405) at offsets 1024 and beyond, shifted by the discard', () => {
    // [offset in the RFC's keystream, 16 bytes there]; Rc4 starts at RFC offset 1024.
    const vectors: [number, string][] = [
      [0x400, '30abbcc7c20b01609f23ee2d5f6bb7df'],
      [0x5f0, '3294f744d8f9790507e70f62e5bbceea'],
      [0x600, 'd8729db41882259bee4f825325f5a130'],
      [0x7f0, '1eb14a0c13b3bf47fa2a0ba93ad45b8b'],
      [0x800, 'cc582f8ba9f265e2b1be9112e975d2d7'],
      [0xbf0, 'f2e30f9bd102ecbf75aaade9bc35c43c'],
      [0xc00, 'ec0e11c479dc329dc8da7968fe965681'],
      [0xff0, '068326a2118416d21f9d04b2cd1ca050'],
      [0x1000, 'ff25b58995996707e51fbdf08b34d875'],
    ];
    const stream = new Rc4(hex('0102030405')).apply(new Uint8Array(0x1010 - 1024));
    for (const [offset, expected] of vectors) {
      assert.equal(toHex(stream.subarray(offset - 1024, offset - 1024 + 16)), expected, `RFC 6229 offset 0x${offset.toString(16)}`);
    }
  });

  test('4 KiB of keystream for a 20-byte key equals the reference RC4 after 1024 bytes', () => {
    for (const seed of [1, 2, 3]) {
      const key = new Mulberry32(seed).bytes(20);
      const expected = referenceKeystream(key, 1024 + 4096).subarray(1024);
      const actual = new Rc4(key).apply(new Uint8Array(4096));
      assert.equal(toHex(actual), toHex(expected), `key ${toHex(key)}`);
    }
  });

  test('encrypting with one Rc4 and decrypting with another of the same key round-trips', () => {
    const key = new Mulberry32(7).bytes(20);
    const plain = new Mulberry32(8).bytes(10_000);
    const cipher = new Rc4(key).apply(plain.slice());
    assert.notDeepEqual(cipher, plain);
    // No run of 32 plaintext bytes survives encryption.
    assert.equal(Buffer.from(cipher).indexOf(Buffer.from(plain.subarray(5000, 5032))), -1);
    assert.deepEqual(new Rc4(key).apply(cipher.slice()), plain);
    // A different key does not decrypt it.
    const otherKey = key.slice();
    otherKey[19]! ^= 1;
    assert.notDeepEqual(new Rc4(otherKey).apply(cipher.slice()), plain);
  });

  test('apply works in place, returns its argument, and pieces of odd sizes equal one call', () => {
    const key = new Mulberry32(11).bytes(20);
    const data = new Mulberry32(12).bytes(7001);
    const whole = new Rc4(key).apply(data.slice());
    const rc4 = new Rc4(key);
    const pieced = data.slice();
    const sizes = [1, 0, 3, 255, 256, 257, 1023, 17, 4096];
    let at = 0;
    for (const size of sizes) {
      const piece = pieced.subarray(at, Math.min(at + size, pieced.length));
      assert.equal(rc4.apply(piece), piece, 'returns the array it was given');
      at += piece.length;
    }
    rc4.apply(pieced.subarray(at));
    assert.ok(at < pieced.length, 'the sizes above leave a tail for the last call');
    assert.deepEqual(pieced, whole);
    assert.deepEqual(new Rc4(key).apply(new Uint8Array(0)), new Uint8Array(0));
  });
});

describe('Diffie-Hellman over the MSE prime', () => {
  test('two random private keys give both sides the same 96-byte secret', () => {
    for (let round = 0; round < 4; round++) {
      const a = new Uint8Array(randomBytes(20));
      const b = new Uint8Array(randomBytes(20));
      const ya = msePublicKey(a);
      const yb = msePublicKey(b);
      assert.equal(ya.length, MSE_KEY_LENGTH);
      assert.equal(yb.length, MSE_KEY_LENGTH);
      assert.notDeepEqual(ya, yb);
      const sa = mseSecret(yb, a);
      const sb = mseSecret(ya, b);
      assert.equal(sa.length, MSE_KEY_LENGTH);
      assert.deepEqual(sa, sb);
      assert.notDeepEqual(sa, ya);
    }
  });

  test('public keys are 2^x mod P, big-endian, padded to 96 bytes', () => {
    assert.deepEqual(msePublicKey(Uint8Array.of(0x01)), key96(2n));
    assert.deepEqual(msePublicKey(Uint8Array.of(0x02)), key96(4n));
    assert.deepEqual(msePublicKey(Uint8Array.of(0x00, 0x0a)), key96(1024n));
    // Exponent 256: a single bit, 32 bytes from the end.
    const two256 = msePublicKey(Uint8Array.of(0x01, 0x00));
    assert.equal(two256[MSE_KEY_LENGTH - 33], 1);
    assert.equal(two256.reduce((n, b) => n + b, 0), 1);
    // Exponent 768: 2^768 is above P, so it must come back reduced (2^768 - P).
    assert.deepEqual(msePublicKey(Uint8Array.of(0x03, 0x00)), key96((1n << 768n) - P));
  });

  test('the secret is y^x mod P', () => {
    assert.deepEqual(mseSecret(key96(4n), Uint8Array.of(3)), key96(64n));
    assert.deepEqual(mseSecret(key96(2n), Uint8Array.of(1)), key96(2n), 'the generator itself is a valid key');
    assert.deepEqual(mseSecret(key96(P - 2n), Uint8Array.of(1)), key96(P - 2n), 'P-2 is the largest valid key');
    assert.deepEqual(mseSecret(key96(P - 2n), Uint8Array.of(2)), key96(4n), '(-2)^2 = 4 mod P');
    assert.deepEqual(mseSecret(key96(3n), Uint8Array.of(0x01, 0x00)), key96(3n ** 256n % P));
  });

  test('mseSecret rejects keys of the wrong length and the values 0, 1, P-1, P and above', () => {
    const priv = new Uint8Array(randomBytes(20));
    const bad: [string, Uint8Array][] = [
      ['empty', new Uint8Array(0)],
      ['95 bytes', new Uint8Array(95).fill(7)],
      ['97 bytes', new Uint8Array(97).fill(7)],
      ['0', key96(0n)],
      ['1', key96(1n)],
      ['P-1', key96(P - 1n)],
      ['P', key96(P)],
      ['P+1', key96(P + 1n)],
      ['2^768-1', new Uint8Array(96).fill(0xff)],
    ];
    for (const [name, key] of bad) {
      assert.throws(() => mseSecret(key, priv), DecodeError, name);
    }
    // A valid key of the right length next to them is fine.
    assert.equal(mseSecret(msePublicKey(new Uint8Array(randomBytes(20))), priv).length, MSE_KEY_LENGTH);
  });
});

describe('MSE layouts', () => {
  test('constants', () => {
    assert.deepEqual(MSE_VC, new Uint8Array(8));
    assert.equal(CRYPTO_PLAINTEXT, 1);
    assert.equal(CRYPTO_RC4, 2);
    assert.equal(MSE_HEAD_LENGTH, 14);
    assert.equal(MSE_MAX_PAD, 512);
  });

  test('encodeOffer: VC, big-endian crypto_provide, len(PadC), PadC, len(IA), IA', () => {
    const out = encodeOffer(0x01020304, Uint8Array.of(0xaa, 0xbb, 0xcc), Uint8Array.of(9, 8));
    assert.equal(toHex(out), '0000000000000000' + '01020304' + '0003' + 'aabbcc' + '0002' + '0908');
    const plain = encodeOffer(CRYPTO_RC4 | CRYPTO_PLAINTEXT, new Uint8Array(0), new Uint8Array(0));
    assert.equal(toHex(plain), '0000000000000000' + '00000003' + '0000' + '0000');
    const ia = new Mulberry32(3).bytes(0x0102);
    const padC = new Mulberry32(4).bytes(0x01fe);
    const big = encodeOffer(CRYPTO_RC4, padC, ia);
    assert.equal(big.length, 14 + 0x01fe + 2 + 0x0102);
    assert.equal(toHex(big.subarray(8, 14)), '00000002' + '01fe');
    assert.deepEqual(big.subarray(14, 14 + 0x01fe), padC);
    assert.equal(toHex(big.subarray(14 + 0x01fe, 16 + 0x01fe)), '0102');
    assert.deepEqual(big.subarray(16 + 0x01fe), ia);
  });

  test('encodeOffer limits: PadC up to 512 bytes, IA up to 65535 bytes', () => {
    assert.equal(encodeOffer(CRYPTO_RC4, new Uint8Array(512), new Uint8Array(0)).length, 14 + 512 + 2);
    assert.throws(() => encodeOffer(CRYPTO_RC4, new Uint8Array(513), new Uint8Array(0)), RangeError);
    const maxIa = encodeOffer(CRYPTO_RC4, new Uint8Array(0), new Uint8Array(65535).fill(1));
    assert.equal(toHex(maxIa.subarray(14, 16)), 'ffff');
    assert.throws(() => encodeOffer(CRYPTO_RC4, new Uint8Array(0), new Uint8Array(65536)), RangeError);
  });

  test('encodeAnswer: VC, big-endian crypto_select, len(PadD), PadD', () => {
    assert.equal(toHex(encodeAnswer(CRYPTO_RC4, Uint8Array.of(1, 2, 3, 4, 5))), '0000000000000000' + '00000002' + '0005' + '0102030405');
    assert.equal(toHex(encodeAnswer(0x80000001, new Uint8Array(0))), '0000000000000000' + '80000001' + '0000');
    const padD = new Mulberry32(5).bytes(0x1ff);
    const out = encodeAnswer(CRYPTO_PLAINTEXT, padD);
    assert.equal(toHex(out.subarray(12, 14)), '01ff');
    assert.deepEqual(out.subarray(14), padD);
    assert.equal(encodeAnswer(CRYPTO_RC4, new Uint8Array(512)).length, 14 + 512);
    assert.throws(() => encodeAnswer(CRYPTO_RC4, new Uint8Array(513)), RangeError);
  });

  test('decodeHead reads what encodeOffer and encodeAnswer wrote', () => {
    assert.deepEqual(decodeHead(encodeAnswer(CRYPTO_RC4, new Uint8Array(7)).subarray(0, 14)), { crypto: CRYPTO_RC4, padLength: 7 });
    assert.deepEqual(decodeHead(encodeOffer(3, new Uint8Array(512), new Uint8Array(4)).subarray(0, 14)), { crypto: 3, padLength: 512 });
    assert.deepEqual(decodeHead(encodeAnswer(CRYPTO_PLAINTEXT, new Uint8Array(0))), { crypto: CRYPTO_PLAINTEXT, padLength: 0 });
    // Known methods next to bits we do not know are fine.
    assert.deepEqual(decodeHead(encodeAnswer(0x0000_0106, new Uint8Array(1)).subarray(0, 14)), { crypto: 0x106, padLength: 1 });
    // A head that is a view into a larger buffer at an odd offset.
    const framed = concat(Uint8Array.of(0xff, 0xff, 0xff), encodeAnswer(CRYPTO_RC4, new Uint8Array(300)).subarray(0, 14), Uint8Array.of(0xff));
    assert.deepEqual(decodeHead(framed.subarray(3, 17)), { crypto: CRYPTO_RC4, padLength: 300 });
  });

  test('decodeHead rejects a non-zero VC, no known method, padding over 512, and a wrong length', () => {
    const good = (): Uint8Array => encodeAnswer(CRYPTO_RC4, new Uint8Array(4)).slice(0, 14);
    for (let i = 0; i < 8; i++) {
      const head = good();
      head[i] = 0x01;
      assert.throws(() => decodeHead(head), DecodeError, `VC byte ${i}`);
    }
    const withCrypto = (crypto: number): Uint8Array => {
      const head = good();
      new DataView(head.buffer).setUint32(8, crypto);
      return head;
    };
    for (const crypto of [0, 0x04, 0x08, 0x80000000, 0xfffffffc]) {
      assert.throws(() => decodeHead(withCrypto(crypto)), DecodeError, `crypto 0x${crypto.toString(16)}`);
    }
    const withPad = (pad: number): Uint8Array => {
      const head = good();
      new DataView(head.buffer).setUint16(12, pad);
      return head;
    };
    assert.equal(decodeHead(withPad(512)).padLength, 512);
    for (const pad of [513, 0x1000, 0xffff]) assert.throws(() => decodeHead(withPad(pad)), DecodeError, `pad ${pad}`);
    assert.throws(() => decodeHead(good().subarray(0, 13)), DecodeError, 'truncated');
    assert.throws(() => decodeHead(new Uint8Array(0)), DecodeError, 'empty');
    assert.throws(() => decodeHead(concat(good(), Uint8Array.of(0))), DecodeError, 'too long');
  });
});
