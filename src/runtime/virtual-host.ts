/**
 * The state of one simulated host in a `VirtualNetwork`: its ports, its deterministic random
 * stream, its disk, and whether it is dead or slow. Internal to the virtual runtime; it outlives
 * the `Runtime` objects handed out for the host, so a "restarted" node finds its files again.
 */
import { isIPv6 } from 'node:net';
import { MemoryFileStore } from './memory-file-store.js';
import { Mulberry32 } from './prng.js';

/** First and last port of the ephemeral range (as IANA suggests). */
export const EPHEMERAL_FIRST = 49152;
export const EPHEMERAL_LAST = 65535;

/** Builds an Error carrying a Node-style `code` ('EADDRINUSE', 'ECONNREFUSED', ...). */
export function netError(code: string, message: string): Error {
  const error = new Error(`${code}: ${message}`) as Error & { code: string };
  error.code = code;
  return error;
}

/** A port table with ephemeral allocation counting up from 49152 and wrapping around. */
export class PortTable<T> {
  private readonly used = new Map<number, T>();
  private next = EPHEMERAL_FIRST;

  get(port: number): T | undefined {
    return this.used.get(port);
  }

  /**
   * Takes `port` (0 = any free ephemeral port) for the owner `make(port)` builds, and returns that
   * owner; throws code 'EADDRINUSE' when taken, 'ERR_SOCKET_BAD_PORT' when out of range.
   */
  take<U extends T>(port: number, where: string, make: (port: number) => U): U {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw netError('ERR_SOCKET_BAD_PORT', `port ${port} out of range at ${where}`);
    }
    if (port === 0) port = this.allocate(where);
    else if (this.used.has(port)) throw netError('EADDRINUSE', `address already in use ${where}:${port}`);
    const owner = make(port);
    this.used.set(port, owner);
    return owner;
  }

  /** Hands a port held by `from` over to `to`. */
  transfer(port: number, from: T, to: T): void {
    if (this.used.get(port) === from) this.used.set(port, to);
  }

  /** Frees `port` if `owner` still holds it. */
  release(port: number, owner: T): void {
    if (this.used.get(port) === owner) this.used.delete(port);
  }

  private allocate(where: string): number {
    const span = EPHEMERAL_LAST - EPHEMERAL_FIRST + 1;
    for (let i = 0; i < span; i++) {
      const port = this.next;
      this.next = port === EPHEMERAL_LAST ? EPHEMERAL_FIRST : port + 1;
      if (!this.used.has(port)) return port;
    }
    throw netError('EADDRINUSE', `no free ephemeral port on ${where}`);
  }
}

/** One simulated host. UDP and TCP have separate port spaces, as on a real host. */
export class VirtualHost {
  dead = false;
  extraLatencyMs = 0;
  readonly udpPorts = new PortTable<object>();
  readonly tcpPorts = new PortTable<object>();
  readonly fs = new MemoryFileStore();

  constructor(
    readonly name: string,
    readonly prng: Mulberry32,
  ) {}
}

const IPV4 = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** Whether `host` is a dotted-quad IPv4 address or an IPv6 address (what `Endpoint.host` may be). */
export function isIpAddress(host: string): boolean {
  return IPV4.test(host) || isIPv6(host);
}

/** The wildcard bind address of `host`'s family: 0.0.0.0 or ::. */
export function wildcardOf(host: string): string {
  return host.includes(':') ? '::' : '0.0.0.0';
}
