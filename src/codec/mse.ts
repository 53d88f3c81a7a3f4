/**
 * Message Stream Encryption (MSE, also called Protocol Encryption), the obfuscation layer that
 * libtorrent, Transmission, aria2 and most other BitTorrent clients put in front of the peer wire
 * protocol: a Diffie-Hellman exchange over a fixed 768-bit group, then RC4 keyed from the shared
 * secret and the torrent's infohash. The handshake, as the connecting side A and the answering
 * side B send it:
 *
 *   1. A → B: Ya (96 bytes), PadA (0-512 random bytes)
 *   2. B → A: Yb (96 bytes), PadB (0-512 random bytes)
 *   3. A → B: SHA1('req1' S), SHA1('req2' SKEY) xor SHA1('req3' S),
 *             RC4a(VC, crypto_provide, len(PadC), PadC, len(IA)), RC4a(IA)
 *   4. B → A: RC4b(VC, crypto_select, len(PadD), PadD), then the payload stream
 *   5. A → B: the payload stream
 *
 * S is the shared secret (96 bytes), SKEY the infohash, VC eight zero bytes, IA A's first payload
 * (its BitTorrent handshake). After step 4 both directions carry RC4 or plaintext, as B selected.
 * This module holds the arithmetic, the cipher and the layouts; hashing and I/O live in
 * `swarm/mse-handshake.ts`. Pure: no I/O, no Node-only APIs.
 */
import { DecodeError } from './errors.js';

/** Length of a public key, and of the shared secret, in bytes. */
export const MSE_KEY_LENGTH = 96;
/** Most padding bytes either side may put after its key (PadA, PadB) or in PadC/PadD. */
export const MSE_MAX_PAD = 512;
/** The verification constant: eight zero bytes, sent encrypted so each side can find the other's stream. */
export const MSE_VC = new Uint8Array(8);
/** Bits of crypto_provide and crypto_select. */
export const CRYPTO_PLAINTEXT = 0x01;
export const CRYPTO_RC4 = 0x02;
/** Length of the head of step 3 and of step 4: VC, the 32-bit crypto field, the 16-bit pad length. */
export const MSE_HEAD_LENGTH = 8 + 4 + 2;

/** The 768-bit safe prime of the group (the second Oakley group), generator 2. */
const PRIME = BigInt(
  '0xFFFFFFFFFFFFFFFFC90FDAA22168C234C4C6628B80DC1CD129024E088A67CC74020BBEA63B139B22514A08798E3404DDEF9519B3CD3A431B302B0A6DF25F14374FE1356D6D51C245E485B576625E7EC6F44C42E9A63A36210000000000090563',
);

function toBigInt(bytes: Uint8Array): bigint {
  let hex = '0x0';
  for (const b of bytes) hex += b.toString(16).padStart(2, '0');
  return BigInt(hex);
}

function toBytes(value: bigint): Uint8Array {
  const hex = value.toString(16).padStart(MSE_KEY_LENGTH * 2, '0');
  const out = new Uint8Array(MSE_KEY_LENGTH);
  for (let i = 0; i < MSE_KEY_LENGTH; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

function modPow(base: bigint, exponent: bigint): bigint {
  let result = 1n;
  let b = base % PRIME;
  for (let e = exponent; e > 0n; e >>= 1n) {
    if (e & 1n) result = (result * b) % PRIME;
    b = (b * b) % PRIME;
  }
  return result;
}

/** Our public key (96 bytes, big-endian) for a private key of random bytes (at least 20). */
export function msePublicKey(privateKey: Uint8Array): Uint8Array {
  return toBytes(modPow(2n, toBigInt(privateKey)));
}

/**
 * The shared secret S (96 bytes) from the peer's public key and our private key. Throws a
 * `DecodeError` for a key outside 2..P-2 (0, 1 and P-1 would make the secret guessable).
 */
export function mseSecret(theirPublic: Uint8Array, privateKey: Uint8Array): Uint8Array {
  if (theirPublic.length !== MSE_KEY_LENGTH) throw new DecodeError(`MSE public key of ${theirPublic.length} bytes, expected ${MSE_KEY_LENGTH}`);
  const y = toBigInt(theirPublic);
  if (y < 2n || y > PRIME - 2n) throw new DecodeError('MSE public key out of range');
  return toBytes(modPow(y, toBigInt(privateKey)));
}

/** RC4 as MSE uses it: keyed with a 20-byte key, the first 1024 bytes of keystream thrown away. */
export class Rc4 {
  private readonly s = new Uint8Array(256);
  private i = 0;
  private j = 0;

  constructor(key: Uint8Array) {
    const s = this.s;
    for (let i = 0; i < 256; i++) s[i] = i;
    for (let i = 0, j = 0; i < 256; i++) {
      j = (j + s[i]! + key[i % key.length]!) & 255;
      const t = s[i]!;
      s[i] = s[j]!;
      s[j] = t;
    }
    this.apply(new Uint8Array(1024));
  }

  /** XORs the next `data.length` bytes of keystream into `data`, in place; returns `data`. */
  apply(data: Uint8Array): Uint8Array {
    // Always loop over a plain Uint8Array: mixing in Node's Buffer subclass halves V8's speed here.
    const bytes = Object.getPrototypeOf(data) === Uint8Array.prototype ? data : new Uint8Array(data.buffer, data.byteOffset, data.length);
    const s = this.s;
    let i = this.i;
    let j = this.j;
    for (let k = 0; k < bytes.length; k++) {
      i = (i + 1) & 255;
      const a = s[i]!;
      j = (j + a) & 255;
      const b = s[j]!;
      s[i] = b;
      s[j] = a;
      bytes[k]! ^= s[(a + b) & 255]!;
    }
    this.i = i;
    this.j = j;
    return data;
  }
}

/** The plaintext of step 3's encrypted part: VC, crypto_provide, len(PadC), PadC, len(IA), IA. */
export function encodeOffer(provide: number, padC: Uint8Array, ia: Uint8Array): Uint8Array {
  if (padC.length > MSE_MAX_PAD) throw new RangeError('PadC longer than 512 bytes');
  if (ia.length > 0xffff) throw new RangeError('initial payload longer than 65535 bytes');
  const out = new Uint8Array(MSE_HEAD_LENGTH + padC.length + 2 + ia.length);
  const view = new DataView(out.buffer);
  view.setUint32(8, provide);
  view.setUint16(12, padC.length);
  out.set(padC, MSE_HEAD_LENGTH);
  view.setUint16(MSE_HEAD_LENGTH + padC.length, ia.length);
  out.set(ia, MSE_HEAD_LENGTH + padC.length + 2);
  return out;
}

/** The plaintext of step 4's encrypted part: VC, crypto_select, len(PadD), PadD. */
export function encodeAnswer(select: number, padD: Uint8Array): Uint8Array {
  if (padD.length > MSE_MAX_PAD) throw new RangeError('PadD longer than 512 bytes');
  const out = new Uint8Array(MSE_HEAD_LENGTH + padD.length);
  const view = new DataView(out.buffer);
  view.setUint32(8, select);
  view.setUint16(12, padD.length);
  out.set(padD, MSE_HEAD_LENGTH);
  return out;
}

/**
 * Reads the decrypted head of step 3 or 4 (VC, the 32-bit crypto field, the 16-bit pad length).
 * Throws a `DecodeError` for a non-zero VC, an empty or unknown crypto field, or a pad over 512.
 */
export function decodeHead(head: Uint8Array): { crypto: number; padLength: number } {
  if (head.length !== MSE_HEAD_LENGTH) throw new DecodeError('truncated MSE header');
  for (let i = 0; i < 8; i++) if (head[i] !== 0) throw new DecodeError('MSE verification constant is not zero');
  const view = new DataView(head.buffer, head.byteOffset, head.length);
  const crypto = view.getUint32(8);
  const padLength = view.getUint16(12);
  if ((crypto & (CRYPTO_PLAINTEXT | CRYPTO_RC4)) === 0) throw new DecodeError(`MSE crypto field 0x${crypto.toString(16)} names no method we know`);
  if (padLength > MSE_MAX_PAD) throw new DecodeError(`MSE padding of ${padLength} bytes (at most ${MSE_MAX_PAD})`);
  return { crypto, padLength };
}
