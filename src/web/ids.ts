/** 160-bit ids as 40-character hex strings: checks, random ids, XOR distance and shared prefixes. */

export const ID_HEX = /^[0-9a-f]{40}$/;

export function isId(text: string): boolean {
  return ID_HEX.test(text.toLowerCase());
}

export function randomId(): string {
  const bytes = new Uint8Array(20);
  crypto.getRandomValues(bytes);
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}

export function xorHex(a: string, b: string): string {
  let out = '';
  for (let i = 0; i < 40; i++) out += (parseInt(a[i] ?? '0', 16) ^ parseInt(b[i] ?? '0', 16)).toString(16);
  return out;
}

/** Leading bits two ids share (0 to 160): the routing-table bucket one falls in, seen from the other. */
export function sharedBits(a: string, b: string): number {
  for (let i = 0; i < 40; i++) {
    const x = parseInt(a[i] ?? '0', 16) ^ parseInt(b[i] ?? '0', 16);
    if (x !== 0) return i * 4 + Math.clz32(x) - 28;
  }
  return 160;
}

/** The id's place in the id space as a fraction 0..1 (from its leading 32 bits). */
export function idFraction(id: string): number {
  const lead = parseInt(id.slice(0, 8).padEnd(8, '0'), 16);
  return Number.isFinite(lead) ? lead / 2 ** 32 : 0;
}

/** Pulls a 40-hex id out of pasted text: the id itself, or a magnet link's btih. */
export function idFromText(text: string): string | null {
  const t = text.trim().toLowerCase();
  if (ID_HEX.test(t)) return t;
  const btih = /xt=urn:btih:([0-9a-f]{40})/.exec(t);
  return btih ? btih[1]! : null;
}
