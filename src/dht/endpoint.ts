/** Helpers for UDP endpoints as the DHT sees them. */
import { isValidIpv4 } from '../codec/ip.js';
import type { Endpoint } from '../runtime/interfaces.js';

/** `host:port`, the key of an endpoint in maps. */
export function endpointKey(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}

/** Whether a contact at this endpoint can be sent to: a unicast IPv4 address and a non-zero port. */
export function usableEndpoint(e: Endpoint): boolean {
  return e.port > 0 && e.port <= 65535 && isValidIpv4(e.host) && e.host !== '0.0.0.0';
}

/**
 * Parses `host:port` (IPv4 or a host name) into its parts; throws with a one-line reason.
 */
export function parseHostPort(text: string): { host: string; port: number } {
  const colon = text.lastIndexOf(':');
  const host = text.slice(0, colon);
  const port = Number(text.slice(colon + 1));
  if (colon < 1 || !/^[A-Za-z0-9.-]+$/.test(host)) throw new Error(`bad address "${text}": expected host:port`);
  if (!/^\d+$/.test(text.slice(colon + 1)) || port < 1 || port > 65535) {
    throw new Error(`bad port in "${text}": expected 1-65535`);
  }
  return { host, port };
}
