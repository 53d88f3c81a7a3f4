/**
 * RFC 4648 base32 (alphabet `A-Z2-7`). Used for the 32-character form of a magnet link's
 * `urn:btih:` infohash; anything else that needs base32 may use it too.
 */
import { DecodeError } from './errors.js';

const ALPHABET = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';

/** char code -> 5-bit value, or -1. Upper and lower case letters both map. */
const LOOKUP: Int8Array = (() => {
  const t = new Int8Array(128).fill(-1);
  for (let i = 0; i < ALPHABET.length; i++) {
    t[ALPHABET.charCodeAt(i)] = i;
    t[ALPHABET.toLowerCase().charCodeAt(i)] = i;
  }
  return t;
})();

/**
 * Encodes bytes as uppercase base32. With `padding` (the default) the output is padded with
 * `=` to a multiple of 8 characters, as RFC 4648 specifies; 20-byte infohashes need no padding.
 */
export function base32Encode(bytes: Uint8Array, options: { padding?: boolean } = {}): string {
  const padding = options.padding ?? true;
  let out = '';
  let buffer = 0;
  let bits = 0;
  for (const byte of bytes) {
    buffer = ((buffer << 8) | byte) & 0xfff;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += ALPHABET[(buffer >>> bits) & 31];
    }
  }
  if (bits > 0) out += ALPHABET[(buffer << (5 - bits)) & 31];
  if (padding) while (out.length % 8 !== 0) out += '=';
  return out;
}

/**
 * Decodes base32, accepting upper- and lowercase letters and optional trailing `=` padding.
 * Throws `DecodeError` for characters outside the alphabet, an impossible length (1, 3 or 6
 * characters left over after groups of 8), padding in the middle, or non-zero unused low bits
 * in the last character (a non-canonical encoding).
 */
export function base32Decode(text: string): Uint8Array {
  let end = text.length;
  while (end > 0 && text.charCodeAt(end - 1) === 0x3d /* = */) end--;
  if (end !== text.length && text.length % 8 !== 0) {
    throw new DecodeError(`base32: padded input length ${text.length} is not a multiple of 8`);
  }
  const rem = end % 8;
  if (rem === 1 || rem === 3 || rem === 6) {
    throw new DecodeError(`base32: impossible length ${end} (${rem} characters in the last group)`);
  }
  const out = new Uint8Array(Math.floor((end * 5) / 8));
  let buffer = 0;
  let bits = 0;
  let o = 0;
  for (let i = 0; i < end; i++) {
    const c = text.charCodeAt(i);
    const v = c < 128 ? LOOKUP[c] : -1;
    if (v < 0) throw new DecodeError(`base32: invalid character ${JSON.stringify(text[i])} at offset ${i}`);
    buffer = ((buffer << 5) | v) & 0xfff;
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out[o++] = (buffer >>> bits) & 0xff;
    }
  }
  if (bits > 0 && (buffer & ((1 << bits) - 1)) !== 0) {
    throw new DecodeError('base32: non-zero unused bits in the last character');
  }
  return out;
}
