/**
 * BEP 44 item rules shared by the storing side (`put` handler) and the asking side
 * (`Dht.put`/`Dht.get`): targets, the signed payload of mutable items, and Ed25519 over
 * Node's built-in crypto with raw 32-byte keys as they travel on the wire.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, sign, verify } from 'node:crypto';
import type { ItemTarget } from './types.js';

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** An Ed25519 key pair as raw bytes: 32-byte public key, 32-byte private seed. */
export interface Ed25519KeyPair {
  publicKey: Uint8Array;
  secretKey: Uint8Array;
}

export function generateEd25519KeyPair(): Ed25519KeyPair {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  return {
    publicKey: new Uint8Array(publicKey.export({ format: 'der', type: 'spki' }).subarray(SPKI_ED25519.length)),
    secretKey: new Uint8Array(privateKey.export({ format: 'der', type: 'pkcs8' }).subarray(PKCS8_ED25519.length)),
  };
}

/** Target of an immutable item: SHA-1 of its bencoded value. */
export function immutableTarget(vEncoded: Uint8Array): ItemTarget {
  return new Uint8Array(createHash('sha1').update(vEncoded).digest()) as ItemTarget;
}

/** Target of a mutable item: SHA-1 of public key followed by the salt. */
export function mutableTarget(publicKey: Uint8Array, salt?: Uint8Array): ItemTarget {
  const hash = createHash('sha1').update(publicKey);
  if (salt && salt.length > 0) hash.update(salt);
  return new Uint8Array(hash.digest()) as ItemTarget;
}

/** The bytes a mutable item's signature covers: `[4:salt<n>:<salt>]3:seqi<seq>e1:v<bencoded v>`. */
export function signedPayload(vEncoded: Uint8Array, seq: number, salt?: Uint8Array): Uint8Array {
  const parts: Buffer[] = [];
  if (salt && salt.length > 0) parts.push(Buffer.from(`4:salt${salt.length}:`), Buffer.from(salt));
  parts.push(Buffer.from(`3:seqi${seq}e1:v`), Buffer.from(vEncoded));
  return Buffer.concat(parts);
}

export function signItem(keyPair: Ed25519KeyPair, vEncoded: Uint8Array, seq: number, salt?: Uint8Array): Uint8Array {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, keyPair.secretKey]), format: 'der', type: 'pkcs8' });
  return new Uint8Array(sign(null, signedPayload(vEncoded, seq, salt), key));
}

/** Whether `sig` is `publicKey`'s signature of the item; false (never a throw) for malformed keys. */
export function verifyItem(
  publicKey: Uint8Array,
  sig: Uint8Array,
  vEncoded: Uint8Array,
  seq: number,
  salt?: Uint8Array,
): boolean {
  if (publicKey.length !== 32 || sig.length !== 64) return false;
  let key;
  try {
    key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
  } catch {
    return false; // not a point on the curve: an invalid key, so an invalid signature
  }
  return verify(null, signedPayload(vEncoded, seq, salt), key, sig);
}
