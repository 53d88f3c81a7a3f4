/** Byte-string helpers the codecs and their callers share. */

/** The first index at or after `from`, and at most `maxStart`, where `needle` starts in `haystack`; -1 if none. */
export function indexOfBytes(haystack: Uint8Array, needle: Uint8Array, from = 0, maxStart = Infinity): number {
  const last = Math.min(maxStart, haystack.length - needle.length);
  outer: for (let i = from; i <= last; i++) {
    for (let k = 0; k < needle.length; k++) if (haystack[i + k] !== needle[k]) continue outer;
    return i;
  }
  return -1;
}
