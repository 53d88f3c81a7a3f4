/**
 * Compact peer and node formats (BEP 5, BEP 23), IPv4 only: a peer is 4 address bytes plus a
 * big-endian port (6 bytes); a node is its 20-byte id followed by a compact peer (26 bytes).
 */
import type { Endpoint } from '../runtime/interfaces.js';
import { DecodeError } from './errors.js';

/** Length of a compact IPv4 peer ("compact IP-address/port info"). */
export const COMPACT_PEER_LENGTH = 6;
/** Length of a compact IPv4 node ("compact node info"): id + compact peer. */
export const COMPACT_NODE_LENGTH = 26;
/** Length of a mainline DHT node id. */
export const NODE_ID_LENGTH = 20;

/** A node as carried in "nodes": its id and where to reach it. */
export interface CompactNode {
  id: Uint8Array;
  address: Endpoint;
}

/** True for a dotted-quad IPv4 string: four decimal octets 0..255, no leading zeros. */
export function isValidIpv4(host: string): boolean {
  // A hand-rolled scan: this runs for every datagram and every contact, so no split or regex.
  let octets = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255) return false;
      octets++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return octets === 4;
}

function writePeer(out: Uint8Array, offset: number, e: Endpoint): void {
  if (!isValidIpv4(e.host)) throw new TypeError(`compact: ${JSON.stringify(e.host)} is not an IPv4 address`);
  if (!Number.isInteger(e.port) || e.port < 0 || e.port > 65535) throw new TypeError(`compact: bad port ${e.port}`);
  const parts = e.host.split('.');
  for (let i = 0; i < 4; i++) out[offset + i] = Number(parts[i]);
  out[offset + 4] = e.port >>> 8;
  out[offset + 5] = e.port & 0xff;
}

function readPeer(b: Uint8Array, offset: number): Endpoint {
  return {
    host: `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`,
    port: (b[offset + 4] << 8) | b[offset + 5],
  };
}

/** Encodes an IPv4 endpoint as 6 bytes. Throws `TypeError` for a non-IPv4 host or bad port. */
export function encodeCompactPeer(e: Endpoint): Uint8Array {
  const out = new Uint8Array(COMPACT_PEER_LENGTH);
  writePeer(out, 0, e);
  return out;
}

/** Decodes a 6-byte compact peer. Throws `DecodeError` unless `b` is exactly 6 bytes. */
export function decodeCompactPeer(b: Uint8Array): Endpoint {
  if (b.length !== COMPACT_PEER_LENGTH) {
    throw new DecodeError(`compact peer must be ${COMPACT_PEER_LENGTH} bytes, got ${b.length}`);
  }
  return readPeer(b, 0);
}

/**
 * Encodes nodes as concatenated 26-byte entries (the "nodes" value of find_node/get_peers/get
 * replies). Throws `TypeError` for an id that is not 20 bytes or a non-IPv4 address.
 */
export function encodeCompactNodes(nodes: readonly CompactNode[]): Uint8Array {
  const out = new Uint8Array(nodes.length * COMPACT_NODE_LENGTH);
  nodes.forEach((n, i) => {
    if (n.id.length !== NODE_ID_LENGTH) throw new TypeError(`compact: node id must be ${NODE_ID_LENGTH} bytes, got ${n.id.length}`);
    const off = i * COMPACT_NODE_LENGTH;
    out.set(n.id, off);
    writePeer(out, off + NODE_ID_LENGTH, n.address);
  });
  return out;
}

/**
 * Decodes a "nodes" string. Throws `DecodeError` unless its length is a multiple of 26; skips
 * entries with port 0 (unreachable). Ids are copies, so they do not pin the packet buffer.
 */
export function decodeCompactNodes(b: Uint8Array): CompactNode[] {
  if (b.length % COMPACT_NODE_LENGTH !== 0) {
    throw new DecodeError(`compact nodes length ${b.length} is not a multiple of ${COMPACT_NODE_LENGTH}`);
  }
  const out: CompactNode[] = [];
  for (let off = 0; off < b.length; off += COMPACT_NODE_LENGTH) {
    const address = readPeer(b, off + NODE_ID_LENGTH);
    if (address.port === 0) continue;
    out.push({ id: b.slice(off, off + NODE_ID_LENGTH), address });
  }
  return out;
}
