/**
 * One address family's DHT node (BEP 32): its UDP socket, node id, routing table, KRPC transport
 * and the votes on our external address in that family. A `Dht` runs one for IPv4 and one for
 * IPv6, as libtorrent runs one DHT node per listen socket; they share the peer and item stores,
 * the write tokens, the rate limiter, the counters and the RTT estimates.
 */
import type { BValue } from '../codec/bencode.js';
import { decodeCompactNodes } from '../codec/compact.js';
import { DecodeError } from '../codec/errors.js';
import type { IpFamily } from '../codec/ip.js';
import type { KrpcQuery } from '../codec/krpc.js';
import { idEquals } from '../kademlia/id.js';
import { RoutingTable, type Contact } from '../kademlia/routing-table.js';
import type { Endpoint, Timer, UdpSocket } from '../runtime/interfaces.js';
import { endpointFamily, endpointKey, usableEndpoint } from './endpoint.js';
import { ExternalAddressVotes } from './external-address.js';
import { KrpcTransport } from './krpc-transport.js';
import type { DhtFamilyStats } from './options.js';
import type { RateLimiter } from './rate-limiter.js';
import { isSecureNodeId } from './secure-id.js';
import type { DhtCounters } from './stats.js';
import { toHex, type NodeId } from './types.js';

/** The reply field that carries contacts of a family: `nodes` (IPv4) or `nodes6` (IPv6). */
export function nodesField(family: IpFamily): 'nodes' | 'nodes6' {
  return family === 4 ? 'nodes' : 'nodes6';
}

export interface DhtFamilyDeps {
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
  randomBytes(n: number): Uint8Array;
  rateLimiter: RateLimiter;
  counters: DhtCounters;
  /** Liveness ping of a routing-table contact; resolves whether it answered. */
  ping(contact: Contact<Endpoint>): Promise<boolean>;
  /** A query arrived at `node`'s socket. */
  onQuery(node: DhtFamily, query: KrpcQuery, from: Endpoint): void;
  debug(message: string): void;
}

export interface DhtFamilyOptions {
  k: number;
  timeoutMs: number;
  readOnly: boolean;
  version: Uint8Array;
}

export class DhtFamily {
  readonly votes = new ExternalAddressVotes();
  readonly routing: RoutingTable<Endpoint>;
  readonly transport: KrpcTransport;

  constructor(
    readonly family: IpFamily,
    readonly socket: UdpSocket,
    readonly id: NodeId,
    private readonly deps: DhtFamilyDeps,
    options: DhtFamilyOptions,
  ) {
    this.routing = new RoutingTable<Endpoint>({ now: deps.now, ping: deps.ping }, { localId: id, k: options.k });
    this.transport = new KrpcTransport(
      {
        socket,
        now: deps.now,
        setTimer: deps.setTimer,
        randomBytes: deps.randomBytes,
        rateLimiter: deps.rateLimiter,
        counters: deps.counters,
        onQuery: (query, from) => deps.onQuery(this, query, from),
        debug: deps.debug,
      },
      { localId: id, timeoutMs: options.timeoutMs, readOnly: options.readOnly, version: options.version },
    );
  }

  get local(): Endpoint {
    return this.socket.local;
  }

  /** Whether `address` can be reached through this family's socket. */
  reaches(address: Endpoint): boolean {
    return endpointFamily(address) === this.family && usableEndpoint(address);
  }

  /** A node of this family sent us a valid message: consider it for the routing table. */
  heardFrom(id: Uint8Array, address: Endpoint, readOnly: boolean): void {
    if (readOnly || idEquals(id, this.id) || !this.reaches(address)) return;
    const existing = this.routing.get(id);
    // An id already known at another address is not moved: that would let anyone hijack it.
    if (existing && endpointKey(existing.address) !== endpointKey(address)) return;
    this.routing.heard({ id, address }, { verified: isSecureNodeId(id, address.host) });
  }

  /**
   * The usable contacts of this family in a reply (`nodes` or `nodes6`), leaving out our own id.
   * A malformed field counts and gives none.
   */
  contactsIn(values: Record<string, BValue>): Contact<Endpoint>[] {
    const raw = values[nodesField(this.family)];
    if (!(raw instanceof Uint8Array)) return [];
    try {
      return decodeCompactNodes(raw, this.family).filter((c) => this.reaches(c.address) && !idEquals(c.id, this.id));
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.deps.counters.malformed++;
      this.deps.debug(`malformed ${nodesField(this.family)} in a reply: ${error.message}`);
      return [];
    }
  }

  /** Up to `max` healthy contacts, the most recently seen first, for the saved state. */
  contactsToSave(max: number): { id: NodeId; address: Endpoint }[] {
    return this.routing
      .all()
      .filter((c) => c.failures === 0)
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, max)
      .map((c) => ({ id: c.id as NodeId, address: c.address }));
  }

  stats(): DhtFamilyStats {
    return {
      family: this.family,
      nodeId: toHex(this.id),
      address: this.local,
      externalAddress: this.votes.winner(),
      tableSize: this.routing.size,
      buckets: this.routing.buckets().length,
    };
  }

  close(): void {
    this.transport.close();
    this.socket.close();
  }
}
