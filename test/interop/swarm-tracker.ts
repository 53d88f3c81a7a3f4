/**
 * A minimal HTTP tracker (BEP 3 announce with BEP 23 compact peers, and BEP 7 `peers6` for peers
 * that announced over IPv6) on 127.0.0.1 or a given address, for interop tests where a client can be
 * given peers no other way (aria2c). Every announce is recorded with the address it came from and
 * answered with every other peer that announced the same infohash; `nextAnnounce` awaits a
 * matching one. tracker-process.ts runs it in a process of its own (inside a network namespace).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { bencode } from '../../src/codec/bencode.js';
import { encodeCompactPeers } from '../../src/codec/compact.js';
import { canonicalIp, formatHostPort, ipFamily } from '../../src/codec/ip.js';

/** One announce the tracker received. */
export interface Announce {
  /** Hex, lower case. */
  infoHash: string;
  /** The address the announce came from (IPv6 canonical). */
  host: string;
  port: number;
  left: number;
  event?: string;
  peerId: string;
}

/**
 * Decodes a query string's `key` as raw bytes: `info_hash` and `peer_id` are percent-encoded
 * binary, which URLSearchParams would mangle by decoding as UTF-8.
 */
function rawParam(query: string, key: string): Uint8Array | undefined {
  for (const part of query.split('&')) {
    const eq = part.indexOf('=');
    if (eq < 0 || part.slice(0, eq) !== key) continue;
    const value = part.slice(eq + 1);
    const bytes: number[] = [];
    for (let i = 0; i < value.length; i++) {
      if (value[i] === '%') {
        bytes.push(parseInt(value.slice(i + 1, i + 3), 16));
        i += 2;
      } else {
        bytes.push(value[i] === '+' ? 0x20 : value.charCodeAt(i));
      }
    }
    return Uint8Array.from(bytes);
  }
  return undefined;
}

/** The tracker. `start()` binds it; `close()` stops it. */
export class TestTracker {
  /** Every announce received, oldest first. */
  readonly announces: Announce[] = [];
  private readonly waiters = new Set<() => void>();

  private constructor(private readonly server: Server) {
    server.on('request', (req: IncomingMessage, res: ServerResponse) => this.handle(req, res));
  }

  /** Binds the tracker to `host` (an IP address; default 127.0.0.1), any port. */
  static async start(host = '127.0.0.1'): Promise<TestTracker> {
    const server = createServer();
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port: 0, host, ipv6Only: host.includes(':') }, () => resolve());
    });
    return new TestTracker(server);
  }

  /** The announce URL to put into .torrents (`http://[fd57::5]:P/announce` for IPv6). */
  get url(): string {
    const address = this.server.address() as AddressInfo;
    return `http://${formatHostPort(address.address, address.port)}/announce`;
  }

  /** Resolves with the first announce (past or future) that `matches` accepts. */
  async nextAnnounce(matches: (a: Announce) => boolean): Promise<Announce> {
    for (;;) {
      const found = this.announces.find(matches);
      if (found) return found;
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private handle(req: IncomingMessage, res: ServerResponse): void {
    const url = req.url ?? '';
    const query = url.includes('?') ? url.slice(url.indexOf('?') + 1) : '';
    const params = new URLSearchParams(query);
    const infoHash = rawParam(query, 'info_hash');
    const port = Number(params.get('port'));
    if (!url.startsWith('/announce') || infoHash?.length !== 20 || !(port > 0 && port < 65536)) {
      res.end(bencode({ 'failure reason': `bad announce: ${url}` }));
      return;
    }
    const remote = req.socket.remoteAddress ?? '127.0.0.1';
    const announce: Announce = {
      infoHash: Buffer.from(infoHash).toString('hex'),
      host: canonicalIp(remote) ?? remote,
      port,
      left: Number(params.get('left')),
      event: params.get('event') ?? undefined,
      peerId: Buffer.from(rawParam(query, 'peer_id') ?? []).toString('hex'),
    };
    this.announces.push(announce);
    const others = new Map<string, Announce>();
    for (const a of this.announces) {
      if (a.infoHash === announce.infoHash && (a.host !== announce.host || a.port !== port)) others.set(formatHostPort(a.host, a.port), a);
    }
    const list = [...others.values()].filter((a) => a.event !== 'stopped');
    const peers = encodeCompactPeers(list.filter((a) => ipFamily(a.host) === 4), 4);
    const peers6 = encodeCompactPeers(list.filter((a) => ipFamily(a.host) === 6), 6);
    res.end(bencode({ interval: 60, 'min interval': 1, complete: 0, incomplete: 0, peers, ...(peers6.length > 0 && { peers6 }) }));
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiting) resolve();
  }
}
