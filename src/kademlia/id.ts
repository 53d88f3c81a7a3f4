/**
 * Kademlia identifiers: fixed-width byte strings compared by XOR distance. Width-agnostic: 20 bytes
 * for the mainline DHT, 32 bytes for the hidden network's database. All functions taking two ids
 * require equal lengths (callers validate untrusted ids before they get here).
 */
import { InvalidIdError } from './errors.js';

function sameLength(a: Uint8Array, b: Uint8Array): void {
  if (a.length !== b.length) throw new InvalidIdError(`id length mismatch: ${a.length} vs ${b.length}`);
}

/** XOR of two equal-length ids (a new array). Throws `InvalidIdError` on a length mismatch. */
export function xorDistance(a: Uint8Array, b: Uint8Array): Uint8Array {
  sameLength(a, b);
  const out = new Uint8Array(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ b[i]!;
  return out;
}

/**
 * Orders `a` and `b` by XOR distance to `target` without allocating: negative when `a` is closer,
 * positive when `b` is closer, 0 when equal. Used by sorting in the routing table and lookups.
 */
export function compareDistance(target: Uint8Array, a: Uint8Array, b: Uint8Array): number {
  const n = target.length;
  for (let i = 0; i < n; i++) {
    const t = target[i]!;
    const da = a[i]! ^ t;
    const db = b[i]! ^ t;
    if (da !== db) return da - db;
  }
  return 0;
}

/** Number of leading bits `a` and `b` share (equals the id width in bits when they are equal). */
export function commonPrefixLength(a: Uint8Array, b: Uint8Array): number {
  sameLength(a, b);
  for (let i = 0; i < a.length; i++) {
    const x = a[i]! ^ b[i]!;
    if (x !== 0) return i * 8 + Math.clz32(x) - 24;
  }
  return a.length * 8;
}

/** True when both ids have the same length and bytes. */
export function idEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Lower-case hex of an id (for logs, status views and persistent keys). */
export function idToHex(id: Uint8Array): string {
  let s = '';
  for (let i = 0; i < id.length; i++) s += HEX[id[i]!];
  return s;
}

/** Parses hex (either case, even length) into an id. Throws `InvalidIdError` on anything else. */
export function hexToId(hex: string): Uint8Array {
  if (hex.length % 2 !== 0 || !/^[0-9a-fA-F]*$/.test(hex)) throw new InvalidIdError(`not an even-length hex string: ${JSON.stringify(hex.slice(0, 80))}`);
  const out = new Uint8Array(hex.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(hex.slice(i * 2, i * 2 + 2), 16);
  return out;
}

/**
 * A compact string key for an id, for `Map` membership (one char per byte; not for display).
 * Two ids of the same length have equal keys exactly when they are equal.
 */
export function idKey(id: Uint8Array): string {
  // Two bytes per UTF-16 unit (an odd last byte gets its own unit); unique within one id width.
  const n = id.length;
  let s = '';
  let i = 0;
  for (; i + 1 < n; i += 2) s += String.fromCharCode((id[i]! << 8) | id[i + 1]!);
  if (i < n) s += String.fromCharCode(id[i]!);
  return s;
}

/**
 * A random id sharing exactly the first `prefixBits` bits with `base`: bit `prefixBits` is flipped
 * and the remaining bits come from `randomBytes`. So `commonPrefixLength(result, base) === prefixBits`,
 * which makes it a lookup target inside routing-table bucket `prefixBits` (bucket refresh).
 * With `prefixBits` equal to the id width the result is a copy of `base`. Throws `InvalidIdError`
 * when `prefixBits` is outside [0, width].
 */
export function randomIdWithPrefix(base: Uint8Array, prefixBits: number, randomBytes: (n: number) => Uint8Array): Uint8Array {
  const bits = base.length * 8;
  if (!Number.isInteger(prefixBits) || prefixBits < 0 || prefixBits > bits) {
    throw new InvalidIdError(`prefixBits ${prefixBits} out of range [0, ${bits}]`);
  }
  const out = new Uint8Array(base.length);
  if (prefixBits === bits) {
    out.set(base);
    return out;
  }
  const rnd = randomBytes(base.length);
  if (rnd.length < base.length) throw new InvalidIdError(`randomBytes returned ${rnd.length} bytes, wanted ${base.length}`);
  out.set(rnd.subarray(0, base.length));
  const fullBytes = prefixBits >>> 3;
  for (let i = 0; i < fullBytes; i++) out[i] = base[i]!;
  const bitInByte = prefixBits & 7;
  const keepMask = (0xff00 >>> bitInByte) & 0xff; // the bits of this byte that belong to the prefix
  const flipBit = 0x80 >>> bitInByte;
  const b = base[fullBytes]!;
  out[fullBytes] = (b & keepMask) | (~b & flipBit) | (out[fullBytes]! & ~keepMask & ~flipBit & 0xff);
  return out;
}
