/**
 * How the swarm names a peer's address, for either family (BEP 7): the one spelling of its host
 * (see `canonicalIp`), and its key, `host:port` with an IPv6 host in brackets (`[fd57::1]:6881`),
 * so a key never reads two ways. Peer maps, bans, PEX bookkeeping, logs and the views use these.
 */
import { canonicalIp, formatHostPort, splitHostPort } from '../codec/ip.js';
import type { Endpoint } from '../runtime/interfaces.js';

/** The key of a peer endpoint: `1.2.3.4:6881` or `[fd57::1]:6881`. */
export function peerKey(e: Endpoint): string {
  return formatHostPort(e.host, e.port);
}

/** The host part of a `peerKey` (without brackets). */
export function hostOfPeerKey(key: string): string {
  return splitHostPort(key)?.host ?? key;
}

/**
 * A peer address as the swarm keeps it: an IP host spelled canonically (an IPv4-mapped IPv6
 * address becomes IPv4), a host name as given; `undefined` for a port outside 1..65535 or a host
 * in brackets or with a zone id (which no peer source should send).
 */
export function normalizePeer(e: Endpoint): Endpoint | undefined {
  if (!Number.isInteger(e.port) || e.port < 1 || e.port > 65535) return undefined;
  const host = canonicalIp(e.host);
  if (host !== undefined) return host === e.host ? e : { host, port: e.port };
  return /^[A-Za-z0-9.-]+$/.test(e.host) && e.host !== '' ? e : undefined;
}
