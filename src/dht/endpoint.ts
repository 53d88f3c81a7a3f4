/** Helpers for UDP endpoints as the DHT sees them. */
import { formatHostPort, ipFamily, isIpv4Mapped, isLocalIpv6, isValidIpv4, parseIpv6, tryParseHostPort, type HostPort, type IpFamily } from '../codec/ip.js';
import type { Endpoint } from '../runtime/interfaces.js';

/** `host:port` (`[v6]:port` for IPv6), the key of an endpoint in maps. */
export function endpointKey(e: Endpoint): string {
  return formatHostPort(e.host, e.port);
}

/** The address family of an endpoint; `undefined` for a host name. */
export function endpointFamily(e: Endpoint): IpFamily | undefined {
  return ipFamily(e.host);
}

/**
 * Whether a contact at this endpoint can be sent to: a non-zero port and a unicast address, IPv4
 * (not 0.0.0.0) or IPv6 (not ::, not multicast ff00::/8, not IPv4-mapped: an IPv6 socket cannot
 * reach those, and the IPv4 DHT has the node under its IPv4 address).
 */
export function usableEndpoint(e: Endpoint): boolean {
  if (!(e.port > 0 && e.port <= 65535)) return false;
  if (isValidIpv4(e.host)) return e.host !== '0.0.0.0';
  if (!e.host.includes(':')) return false;
  const b = parseIpv6(e.host);
  if (!b || b[0] === 0xff) return false;
  if (isIpv4Mapped(b)) return false;
  return !b.every((x) => x === 0);
}

/**
 * `tryParseHostPort` (codec/ip.ts) for a bootstrap entry: `host:port` or `[v6]:port`, an IP host in
 * its canonical spelling; throws with a one-line reason.
 */
export function parseHostPort(text: string): HostPort {
  const parsed = tryParseHostPort(text);
  if ('reason' in parsed) throw new Error(`bad address "${text}": ${parsed.reason}`);
  return parsed;
}

/**
 * Whose budget a datagram from `from` counts against in the rate limiter: its address, except
 *   - on loopback (127/8, ::1), where every local process shares one address: address and port;
 *   - public IPv6, where one subscriber holds a whole /64 and could rotate through it: the /64
 *     (written `2001:db8:1:2::/64`). Private and link-local IPv6 (fc00::/7, fe80::/10) count per
 *     address, as IPv4 does.
 */
export function rateLimitSource(from: Endpoint): string {
  if (from.host.startsWith('127.') || from.host === '::1') return endpointKey(from);
  if (!from.host.includes(':')) return from.host;
  const b = parseIpv6(from.host);
  if (!b || isLocalIpv6(b)) return from.host;
  const groups: string[] = [];
  for (let i = 0; i < 8; i += 2) groups.push(((b[i]! << 8) | b[i + 1]!).toString(16));
  return `${groups.join(':')}::/64`;
}
