/** Lowercase hex of bytes (infohashes in magnet links, pieces roots as map keys). */
export function toHex(bytes: Uint8Array): string {
  let hex = '';
  for (const byte of bytes) hex += byte.toString(16).padStart(2, '0');
  return hex;
}
