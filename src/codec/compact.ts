/**
 * Compact peer and node formats. IPv4 (BEP 5, BEP 23): a peer is 4 address bytes plus a big-endian
 * port (6 bytes); a node is its 20-byte id followed by a compact peer (26 bytes). IPv6 (BEP 7,
 * BEP 32): 16 address bytes plus the port (18 bytes), and nodes of 38 bytes, carried in their own
 * fields (`peers6`, `nodes6`, `added6`).
 */
import type { Endpoint } from '../runtime/interfaces.js';
import { DecodeError } from './errors.js';
import { formatIpv6, ipFamily, parseIpv4, parseIpv6, type IpFamily } from './ip.js';

/** Length of a compact IPv4 peer ("compact IP-address/port info"). */
export const COMPACT_PEER_LENGTH = 6;
/** Length of a compact IPv6 peer (BEP 7). */
export const COMPACT_PEER6_LENGTH = 18;
/** Length of a compact IPv4 node ("compact node info"): id + compact peer. */
export const COMPACT_NODE_LENGTH = 26;
/** Length of a compact IPv6 node (BEP 32): id + compact IPv6 peer. */
export const COMPACT_NODE6_LENGTH = 38;
/** Length of a mainline DHT node id. */
export const NODE_ID_LENGTH = 20;

/** The length of one compact peer of a family: 6 or 18. */
export function compactPeerLength(family: IpFamily): number {
  return family === 4 ? COMPACT_PEER_LENGTH : COMPACT_PEER6_LENGTH;
}

/** The length of one compact node of a family: 26 or 38. */
export function compactNodeLength(family: IpFamily): number {
  return NODE_ID_LENGTH + compactPeerLength(family);
}

/** A node as carried in "nodes": its id and where to reach it. */
export interface CompactNode {
  id: Uint8Array;
  address: Endpoint;
}

/** Writes `e` at `offset` as a peer of `family`; throws `TypeError` for another family's host or a bad port. */
function writePeer(out: Uint8Array, offset: number, e: Endpoint, family: IpFamily): void {
  const address = family === 4 ? parseIpv4(e.host) : e.host.includes(':') ? parseIpv6(e.host) : undefined;
  if (address === undefined) throw new TypeError(`compact: ${JSON.stringify(e.host)} is not an IPv${family} address`);
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) throw new TypeError(`compact: bad port ${e.port}`);
  out.set(address, offset);
  out[offset + address.length] = e.port >>> 8;
  out[offset + address.length + 1] = e.port & 0xff;
}

function readPeer(b: Uint8Array, offset: number, family: IpFamily): Endpoint {
  if (family === 4) {
    return {
      host: `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`,
      port: (b[offset + 4] << 8) | b[offset + 5],
    };
  }
  return { host: formatIpv6(b.subarray(offset, offset + 16)), port: (b[offset + 16] << 8) | b[offset + 17] };
}

function familyOf(e: Endpoint): IpFamily {
  const family = ipFamily(e.host);
  if (family === undefined) throw new TypeError(`compact: ${JSON.stringify(e.host)} is not an IP address`);
  return family;
}

/** Encodes an endpoint as 6 bytes (IPv4) or 18 (IPv6). Throws `TypeError` for a host name or bad port. */
export function encodeCompactPeer(e: Endpoint): Uint8Array {
  const family = familyOf(e);
  const out = new Uint8Array(compactPeerLength(family));
  writePeer(out, 0, e, family);
  return out;
}

/** Decodes a 6-byte (IPv4) or 18-byte (IPv6) compact peer. Throws `DecodeError` for any other length. */
export function decodeCompactPeer(b: Uint8Array): Endpoint {
  if (b.length === COMPACT_PEER_LENGTH) return readPeer(b, 0, 4);
  if (b.length === COMPACT_PEER6_LENGTH) return readPeer(b, 0, 6);
  throw new DecodeError(`compact peer must be ${COMPACT_PEER_LENGTH} or ${COMPACT_PEER6_LENGTH} bytes, got ${b.length}`);
}

/**
 * Encodes peers of one family back to back (tracker `peers`/`peers6`, PEX `added`/`added6`).
 * Throws `TypeError` for a peer of the other family.
 */
export function encodeCompactPeers(peers: readonly Endpoint[], family: IpFamily): Uint8Array {
  const size = compactPeerLength(family);
  const out = new Uint8Array(peers.length * size);
  peers.forEach((p, i) => writePeer(out, i * size, p, family));
  return out;
}

/** Decodes peers of one family back to back. Throws `DecodeError` unless the length is a multiple of 6 (or 18). */
export function decodeCompactPeers(b: Uint8Array, family: IpFamily): Endpoint[] {
  const size = compactPeerLength(family);
  if (b.length % size !== 0) throw new DecodeError(`compact IPv${family} peers: length ${b.length} is not a multiple of ${size}`);
  const out: Endpoint[] = [];
  for (let off = 0; off < b.length; off += size) out.push(readPeer(b, off, family));
  return out;
}

/**
 * Encodes nodes as concatenated 26-byte (`nodes`) or 38-byte (`nodes6`) entries. Throws `TypeError`
 * for an id that is not 20 bytes or an address of the other family.
 */
export function encodeCompactNodes(nodes: readonly CompactNode[], family: IpFamily = 4): Uint8Array {
  const size = compactNodeLength(family);
  const out = new Uint8Array(nodes.length * size);
  nodes.forEach((n, i) => {
    if (n.id.length !== NODE_ID_LENGTH) throw new TypeError(`compact: node id must be ${NODE_ID_LENGTH} bytes, got ${n.id.length}`);
    const off = i * size;
    out.set(n.id, off);
    writePeer(out, off + NODE_ID_LENGTH, n.address, family);
  });
  return out;
}

/**
 * Decodes a `nodes` (IPv4) or `nodes6` (IPv6) string. Throws `DecodeError` unless its length is a
 * multiple of 26 (or 38); skips entries with port 0 (unreachable). Ids are copies, so they do not
 * pin the packet buffer.
 */
export function decodeCompactNodes(b: Uint8Array, family: IpFamily = 4): CompactNode[] {
  const size = compactNodeLength(family);
  if (b.length % size !== 0) {
    throw new DecodeError(`compact ${family === 4 ? 'nodes' : 'nodes6'} length ${b.length} is not a multiple of ${size}`);
  }
  const out: CompactNode[] = [];
  for (let off = 0; off < b.length; off += size) {
    const address = readPeer(b, off + NODE_ID_LENGTH, family);
    if (address.port === 0) continue;
    out.push({ id: b.slice(off, off + NODE_ID_LENGTH), address });
  }
  return out;
}
