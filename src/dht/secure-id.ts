/**
 * BEP 42, the DHT security extension: a node id whose first 21 bits are derived from the node's
 * external address with CRC32-C, so that an attacker cannot choose ids freely: for IPv4 the whole
 * address masked with 03 0f 3f ff, for IPv6 its first 8 bytes masked with 01 03 07 0f 1f 3f 7f ff.
 * Nodes with a matching id are "verified" and preferred in the routing table. Addresses in local
 * and private ranges are exempt (any id is acceptable there, and such ids count as unverified).
 *
 * An id can match one address only, so a node on both families whose external IPv4 and IPv6
 * addresses are both known cannot have one id for both; `node-ids.ts` decides.
 */
import { isIpv4Mapped, isLocalIpv6, parseIpv4, parseIpv6 } from '../codec/ip.js';
import type { NodeId } from './types.js';

const V4_MASK = [0x03, 0x0f, 0x3f, 0xff];
const V6_MASK = [0x01, 0x03, 0x07, 0x0f, 0x1f, 0x3f, 0x7f, 0xff];

/**
 * Whether BEP 42 exempts this address: IPv4 loopback, private and link-local; IPv6 unspecified,
 * loopback, link-local (fe80::/10), unique local (fc00::/7), and IPv4-mapped exempt addresses.
 * Anything that is not an IP address is exempt too (nothing can be derived from it).
 */
export function isExemptAddress(host: string): boolean {
  const v4 = parseIpv4(host);
  if (v4) return isExemptIpv4(v4);
  const v6 = parseIpv6(host);
  if (!v6) return true;
  if (isIpv4Mapped(v6)) return isExemptIpv4(v6.subarray(12));
  if (v6.subarray(0, 15).every((b) => b === 0)) return v6[15]! <= 1; // :: and ::1
  return isLocalIpv6(v6);
}

function isExemptIpv4(ip: Uint8Array): boolean {
  const a = ip[0]!;
  const b = ip[1]!;
  return (
    a === 0 || a === 10 || a === 127 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168) || (a === 169 && b === 254)
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

/** CRC32-C of the masked address with `r` in the top 3 bits; a host that is not an address hashes nothing. */
function ipCrc(host: string, r: number): number {
  const v4 = parseIpv4(host);
  const ip = v4 ?? parseIpv6(host)?.subarray(0, 8) ?? new Uint8Array(0);
  const mask = v4 ? V4_MASK : V6_MASK;
  const bytes = Uint8Array.from(ip, (octet, i) => octet & mask[i]!);
  if (bytes.length > 0) bytes[0] = bytes[0]! | (r << 5);
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
