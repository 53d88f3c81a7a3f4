/**
 * BEP 42, the DHT security extension: a node id whose first 21 bits are derived from the node's
 * external IPv4 address with CRC32-C, so that an attacker cannot choose ids freely. Nodes with a
 * matching id are "verified" and preferred in the routing table. Addresses in local and private
 * ranges are exempt (any id is acceptable there, and such ids count as unverified).
 */
import type { NodeId } from './types.js';

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];

/** Whether BEP 42 exempts this address (loopback, private, link-local). */
export function isExemptAddress(host: string): boolean {
  const [a, b] = host.split('.').map(Number) as [number, number];
  return (
    a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
  );
}

/** A BEP 42 id for `host`; `rand` supplies the free bytes (the last byte's low 3 bits are `r`). */
export function secureNodeId(host: string, rand: Uint8Array): NodeId {
  const r = rand[19]! & 0x07;
  const crc = ipCrc(host, r);
  const id = Uint8Array.from(rand.subarray(0, 20));
  id[0] = (crc >>> 24) & 0xff;
  id[1] = (crc >>> 16) & 0xff;
  id[2] = ((crc >>> 8) & 0xf8) | (id[2]! & 0x07);
  id[19] = rand[19]!;
  return id as NodeId;
}

/** Whether `id` satisfies BEP 42 for `host`. Exempt addresses are never "secure". */
export function isSecureNodeId(id: Uint8Array, host: string): boolean {
  if (isExemptAddress(host)) return false;
  const crc = ipCrc(host, id[19]! & 0x07);
  return id[0] === ((crc >>> 24) & 0xff) && id[1] === ((crc >>> 16) & 0xff) && (id[2]! & 0xf8) === ((crc >>> 8) & 0xf8);
}

function ipCrc(host: string, r: number): number {
  const ip = host.split('.').map(Number);
  const bytes = Uint8Array.from(ip.map((octet, i) => octet & V4_MASK[i]!));
  bytes[0] = bytes[0]! | (r << 5);
  return crc32c(bytes);
}

let table: Uint32Array | undefined;

/** CRC32-C (Castagnoli), as BEP 42 requires. */
export function crc32c(data: Uint8Array): number {
  if (!table) {
    table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0x82f63b78 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of data) crc = table[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}
