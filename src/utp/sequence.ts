/** uTP's 16-bit sequence numbers, which wrap. */

export const SEQ_MASK = 0xffff;

/** How far `a` is past `b` in the 16-bit sequence space, from -32768 to 32767. */
export function seqDiff(a: number, b: number): number {
  return (((a - b) & SEQ_MASK) << 16) >> 16;
}
