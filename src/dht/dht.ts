/**
 * `Dht`: a full node of BitTorrent's mainline DHT (BEP 5, 42, 43, 44). It composes the shared
 * Kademlia core (routing table, iterative lookup) with the KRPC transport, the query handlers and
 * the peer and item stores. Time, randomness, sockets and files come from the injected `Runtime`,
 * so the same class runs on real UDP and on the virtual network.
 */
import type { BEncodable, BValue } from '../codec/bencode.js';
import { decodeCompactNodes } from '../codec/compact.js';
import { isValidIpv4 } from '../codec/ip.js';
import type { KrpcQuery } from '../codec/krpc.js';
import { DecodeError } from '../codec/errors.js';
import { idEquals, randomIdWithPrefix } from '../kademlia/id.js';
import { iterativeLookup, type LookupReply, type LookupResult } from '../kademlia/lookup.js';
import { RoutingTable, type Contact } from '../kademlia/routing-table.js';
import { RttEstimator } from '../kademlia/rtt-estimator.js';
import type { Endpoint, Runtime, Timer, UdpSocket } from '../runtime/interfaces.js';
import { createNodeRuntime } from '../runtime/node-runtime.js';
import { endpointKey, parseHostPort, usableEndpoint } from './endpoint.js';
import { DhtInputError, DhtStateError } from './errors.js';
import { getItem, putItem, type DhtItem, type PutRequest, type PutResult } from './item-lookup.js';
import { announcePeer, lookupPeers, type AnnounceOptions, type AnnounceResult } from './peer-lookup.js';
import { ExternalAddressVotes } from './external-address.js';
import { answerQuery } from './handlers/answer-query.js';
import { ItemStore } from './item-store.js';
import { KrpcTransport, type QueryOutcome } from './krpc-transport.js';
import { fileNodeStateStore, type NodeState, type NodeStateStore } from './node-state.js';
import { PeerStore } from './peer-store.js';
import { RateLimiter } from './rate-limiter.js';
import { DEFAULT_BOOTSTRAP, type DhtOptions, type DhtStats, type LogLevel } from './options.js';
import { isExemptAddress, isSecureNodeId, secureNodeId } from './secure-id.js';
import { newCounters } from './stats.js';
import { TokenManager } from './token-manager.js';
import { toHex, toNodeId, type InfoHash, type ItemTarget, type NodeId } from './types.js';

/** `v` field: client "WR", version 0.1. */
const VERSION = Uint8Array.of(0x57, 0x52, 0x00, 0x01);
const MAINTENANCE_MS = 60_000;
const SAVED_CONTACTS = 256;

/** The reply of one node during a lookup: its parsed values. */
export interface NodeReplyValues {
  token?: Uint8Array;
}

export class Dht {
  private readonly options: Required<Pick<DhtOptions, 'k' | 'alpha' | 'firstRound' | 'queryTimeoutMs' | 'readOnly' | 'saveIntervalMs'>>;
  private readonly counters = newCounters();
  private readonly rtt = new RttEstimator();
  private readonly votes = new ExternalAddressVotes();
  private readonly peers: PeerStore;
  private readonly items: ItemStore;
  private readonly tokens: TokenManager;
  private readonly rateLimiter: RateLimiter;
  private id?: NodeId;
  private routing?: RoutingTable<Endpoint>;
  private transport?: KrpcTransport;
  private local?: Endpoint;
  private socket?: UdpSocket;
  private saved?: NodeState;
  private readonly stateStore?: NodeStateStore;
  private maintenance?: Timer;
  private lastSave = 0;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';

  constructor(
    private readonly config: DhtOptions = {},
    readonly runtime: Runtime = createNodeRuntime(),
  ) {
    this.options = {
      k: config.k ?? 8,
      alpha: config.alpha ?? 5,
      firstRound: config.firstRound ?? config.alpha ?? 5,
      queryTimeoutMs: config.queryTimeoutMs ?? 2000,
      readOnly: config.readOnly ?? false,
      saveIntervalMs: config.saveIntervalMs ?? 5 * 60_000,
    };
    const now = () => runtime.now();
    this.peers = new PeerStore(now, config.peerStore);
    this.items = new ItemStore(now, config.itemStore);
    this.tokens = new TokenManager({ now, randomBytes: (n) => runtime.randomBytes(n) });
    this.rateLimiter = new RateLimiter(now, config.rateLimit);
    this.stateStore = config.stateStore ?? (config.statePath ? fileNodeStateStore(runtime.fs, config.statePath) : undefined);
  }

  get nodeId(): NodeId {
    return this.running().id;
  }

  /** The bound UDP address. */
  get address(): Endpoint {
    return this.running().local;
  }

  /** The routing table (read it; the DHT maintains it). */
  get table(): RoutingTable<Endpoint> {
    return this.running().routing;
  }

  /** Binds the socket, loads saved state and joins the network through saved contacts and the bootstrap list. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new DhtStateError('start() may be called once');
    this.state = 'starting';
    const socket = await this.runtime.udp({ host: this.config.host ?? '0.0.0.0', port: this.config.port ?? 6881 });
    this.socket = socket;
    this.local = socket.local;
    this.saved = await this.stateStore?.load((m) => this.log('warn', m));
    this.id = this.chooseNodeId();
    this.routing = new RoutingTable<Endpoint>(
      { now: () => this.runtime.now(), ping: async (c) => (await this.rpc(c.address, 'ping', {}, c.id))?.kind === 'response' },
      { localId: this.id, k: this.options.k },
    );
    this.transport = new KrpcTransport(
      {
        socket,
        now: () => this.runtime.now(),
        setTimer: (ms, fn) => this.runtime.setTimer(ms, fn),
        randomBytes: (n) => this.runtime.randomBytes(n),
        rateLimiter: this.rateLimiter,
        counters: this.counters,
        onQuery: (query, from) => this.onQuery(query, from),
        debug: (m) => this.log('debug', m),
      },
      { localId: this.id, timeoutMs: this.options.queryTimeoutMs, readOnly: this.options.readOnly, version: VERSION },
    );
    this.state = 'running';
    this.scheduleMaintenance();
    await this.bootstrap();
  }

  /**
   * Asks every saved contact and bootstrap router for our own neighbourhood, then looks up our own
   * id. Resolves with the routing table's size. Safe to call again when the table ran dry.
   */
  async bootstrap(): Promise<number> {
    const { routing } = this.running();
    const endpoints: Endpoint[] = (this.saved?.contacts ?? []).map((c) => c.address);
    for (const entry of this.config.bootstrap === false ? [] : (this.config.bootstrap ?? DEFAULT_BOOTSTRAP)) {
      const resolved = await this.resolveBootstrap(entry);
      if (resolved) endpoints.push(resolved);
    }
    const seeds: Contact<Endpoint>[] = [];
    await Promise.all(
      endpoints.map(async (to) => {
        const outcome = await this.rpc(to, 'find_node', { target: this.nodeId });
        if (outcome?.kind !== 'response') return;
        seeds.push({ id: outcome.response.senderId, address: to });
        seeds.push(...this.replyContacts(outcome.response.values));
      }),
    );
    await this.findNode(this.nodeId, seeds);
    // Fill the farther buckets too, as the self-lookup only fills the ones near our own id. The
    // last bucket is always refreshed: while it is the only one, it holds the far half as well.
    const buckets = routing.buckets();
    const sparse = buckets.filter((b) => b.entries.length < this.options.k || b.index === buckets.length - 1);
    await Promise.all(
      sparse.map((b) => this.findNode(randomIdWithPrefix(this.nodeId, b.index, (n) => this.runtime.randomBytes(n)))),
    );
    this.log('info', `DHT bootstrapped: ${routing.size} contacts`);
    return routing.size;
  }

  /** Yields each distinct peer of the swarm as soon as some node reports it. */
  lookup(infoHash: InfoHash, options: { signal?: AbortSignal } = {}): AsyncGenerator<Endpoint> {
    this.running();
    return lookupPeers(this, infoHash, options.signal);
  }

  /**
   * Announces that we serve `infoHash` on TCP `port` to the k closest nodes (BEP 5), and keeps it
   * in our own store too. Re-announce every 30 minutes or less to stay listed.
   */
  async announce(infoHash: InfoHash, port: number, options: AnnounceOptions = {}): Promise<AnnounceResult> {
    const { local } = this.running();
    if (!Number.isInteger(port) || port < 1 || port > 65535) throw new DhtInputError(`bad port ${port}: expected 1-65535`);
    if (usableEndpoint(local)) this.peers.add(infoHash, { host: local.host, port }, options.seed === true);
    return announcePeer(this, infoHash, port, options);
  }

  /** Stores a BEP 44 item at the nodes closest to its target (and here). */
  put(request: PutRequest, options: { signal?: AbortSignal } = {}): Promise<PutResult> {
    this.running();
    return putItem(this, request, options.signal);
  }

  /** Looks up a BEP 44 item; only a genuine one (hash or signature checked) is returned. */
  get(target: ItemTarget, options: { salt?: Uint8Array; signal?: AbortSignal } = {}): Promise<DhtItem | undefined> {
    this.running();
    return getItem(this, target, options);
  }

  /** Pings `address` and adds it to the routing table when it answers; resolves whether it did. */
  async addNode(address: Endpoint): Promise<boolean> {
    return (await this.rpc(address, 'ping', {}))?.kind === 'response';
  }

  /** The k nodes closest to `target` that answered, closest first. */
  async findNode(target: Uint8Array, extraSeeds: Contact<Endpoint>[] = []): Promise<Contact<Endpoint>[]> {
    const result = await this.iterate(target, 'find_node', { target }, () => ({}), { extraSeeds });
    return result.closest.map((c) => c.contact);
  }

  /**
   * Runs an iterative lookup of `target` sending `method` with `args`; `parse` turns each reply's
   * values into R (throwing DecodeError for a malformed reply, which then counts as failed).
   * Used by the peer and item lookups.
   */
  async iterate<R extends NodeReplyValues>(
    target: Uint8Array,
    method: string,
    args: Record<string, BEncodable | undefined>,
    parse: (values: Record<string, BValue>) => R,
    options: {
      extraSeeds?: Contact<Endpoint>[];
      signal?: AbortSignal;
      onReply?: (contact: Contact<Endpoint>, value: R) => void;
    } = {},
  ): Promise<LookupResult<Endpoint, R>> {
    const { routing } = this.running();
    const seeds = [...routing.closest(target, this.options.k * 2), ...(options.extraSeeds ?? [])];
    return iterativeLookup<Endpoint, R>(
      {
        now: () => this.runtime.now(),
        setTimer: (ms, fn) => this.runtime.setTimer(ms, fn),
        rtt: this.rtt,
        key: (c) => endpointKey(c.address),
        query: async (contact): Promise<LookupReply<Endpoint, R> | undefined> => {
          // The lookup records this round trip in the RTT estimator itself (once).
          const outcome = await this.rpc(contact.address, method, args, contact.id, false);
          if (outcome?.kind !== 'response') return undefined;
          try {
            return { contacts: this.replyContacts(outcome.response.values), value: parse(outcome.response.values), rttMs: outcome.rttMs };
          } catch (error) {
            if (!(error instanceof DecodeError)) throw error;
            this.counters.malformed++;
            this.log('debug', `malformed ${method} reply: ${error.message}`);
            return undefined;
          }
        },
      },
      target,
      seeds,
      {
        alpha: this.options.alpha,
        firstRound: this.options.firstRound,
        k: this.options.k,
        signal: options.signal,
        onReply: options.onReply && ((contact, reply) => options.onReply!(contact, reply.value!)),
      },
    );
  }

  /**
   * Sends one query and records what it tells us about the contact: a response adds it to the
   * routing table and gives an RTT sample (unless `sampleRtt` is false: the caller samples it); a
   * timeout counts as a failure of `expectedId`.
   */
  async rpc(to: Endpoint, method: string, args: Record<string, BEncodable | undefined>, expectedId?: Uint8Array, sampleRtt = true): Promise<QueryOutcome> {
    const { transport, routing } = this.running();
    const outcome = await transport.query(to, method, args);
    if (this.state !== 'running') return outcome;
    if (!outcome) {
      if (expectedId) routing.failed(expectedId);
      return undefined;
    }
    if (outcome.kind === 'response') {
      const { response } = outcome;
      if (sampleRtt) this.rtt.sample(endpointKey(to), outcome.rttMs);
      if (response.ip) this.votes.add(to.host, response.ip.host);
      if (expectedId && !idEquals(expectedId, response.senderId)) routing.failed(expectedId);
      this.heardFrom(response.senderId, to, false);
    }
    return outcome;
  }

  stats(): DhtStats {
    const { routing, id, local } = this.running();
    return {
      nodeId: toHex(id),
      address: local,
      externalAddress: this.votes.winner(),
      tableSize: routing.size,
      buckets: routing.buckets().length,
      peersStored: this.peers.size,
      infoHashesStored: this.peers.infoHashCount,
      itemsStored: this.items.size,
      itemBytesStored: this.items.byteSize,
      globalRttMs: this.rtt.globalSrtt,
      counters: structuredClone(this.counters),
    };
  }

  /** Saves id and routing table to the state store (no-op without one). */
  async save(): Promise<void> {
    if (!this.stateStore || !this.routing || !this.id) return;
    this.lastSave = this.runtime.now();
    const contacts = this.routing
      .all()
      .filter((c) => c.failures === 0)
      .sort((a, b) => b.lastSeen - a.lastSeen)
      .slice(0, SAVED_CONTACTS)
      .map((c) => ({ id: c.id as NodeId, address: c.address }));
    await this.stateStore.save({
      nodeId: this.id,
      externalIp: this.votes.winner() ?? this.saved?.externalIp,
      contacts,
    });
  }

  /** Saves state, stops timers, fails outstanding queries and closes the socket. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    this.maintenance?.cancel();
    if (wasRunning) await this.save();
    this.transport?.close();
    this.socket?.close();
  }

  /** This node's own stores, which the peer and item lookups consult and fill too. */
  get localStores(): { peers: PeerStore; items: ItemStore } {
    return { peers: this.peers, items: this.items };
  }

  private running(): { id: NodeId; routing: RoutingTable<Endpoint>; transport: KrpcTransport; local: Endpoint } {
    if (this.state === 'closed') throw new DhtStateError('the DHT is closed');
    if (!this.id || !this.routing || !this.transport || !this.local) throw new DhtStateError('the DHT is not started');
    return { id: this.id, routing: this.routing, transport: this.transport, local: this.local };
  }

  private chooseNodeId(): NodeId {
    if (this.config.nodeId !== undefined) return toNodeId(this.config.nodeId);
    const externalIp = this.saved?.externalIp;
    // Keep the saved id unless our public address has changed so that it no longer satisfies BEP 42.
    if (this.saved && (!externalIp || isExemptAddress(externalIp) || isSecureNodeId(this.saved.nodeId, externalIp))) {
      return this.saved.nodeId;
    }
    const host = externalIp ?? this.local!.host;
    if (isValidIpv4(host) && host !== '0.0.0.0' && !isExemptAddress(host)) {
      return secureNodeId(host, this.runtime.randomBytes(20));
    }
    return toNodeId(this.runtime.randomBytes(20));
  }

  private onQuery(query: KrpcQuery, from: Endpoint): void {
    if (this.state !== 'running' || this.options.readOnly) return;
    const { id, routing, transport } = this.running();
    this.heardFrom(query.senderId, from, query.readOnly);
    const context = {
      localId: id,
      version: VERSION,
      table: routing,
      peers: this.peers,
      items: this.items,
      tokens: this.tokens,
      k: this.options.k,
      random: () => this.runtime.random(),
    };
    answerQuery(context, transport, this.counters, (m) => this.log('warn', m), query, from);
  }

  /** A node sent us a valid message: consider it for the routing table. */
  private heardFrom(id: Uint8Array, address: Endpoint, readOnly: boolean): void {
    const { routing, id: localId } = this.running();
    if (readOnly || idEquals(id, localId) || !usableEndpoint(address)) return;
    const existing = routing.get(id);
    // An id already known at another address is not moved: that would let anyone hijack it.
    if (existing && endpointKey(existing.address) !== endpointKey(address)) return;
    routing.heard({ id, address }, { verified: isSecureNodeId(id, address.host) });
  }

  /** The usable contacts of a reply's `nodes` field (a malformed one counts and gives none). */
  private replyContacts(values: Record<string, BValue>): Contact<Endpoint>[] {
    const nodes = values.nodes;
    if (!(nodes instanceof Uint8Array)) return [];
    try {
      return decodeCompactNodes(nodes).filter((c) => usableEndpoint(c.address) && !idEquals(c.id, this.id!));
    } catch (error) {
      if (!(error instanceof DecodeError)) throw error;
      this.counters.malformed++;
      return [];
    }
  }

  private async resolveBootstrap(entry: string): Promise<Endpoint | undefined> {
    try {
      const { host, port } = parseHostPort(entry);
      return { host: await this.runtime.resolveHost(host), port };
    } catch (error) {
      this.log('warn', `cannot resolve bootstrap host ${entry}: ${(error as Error).message}`);
      return undefined;
    }
  }

  private scheduleMaintenance(): void {
    this.maintenance = this.runtime.setTimer(MAINTENANCE_MS, () => {
      if (this.state !== 'running') return;
      this.maintain();
      this.scheduleMaintenance();
    });
  }

  /** Once a minute: expire stores, refresh stale buckets, save the table every few minutes. */
  private maintain(): void {
    const { routing } = this.running();
    this.peers.expire();
    this.items.expire();
    if (routing.size === 0) {
      void this.bootstrap();
    } else {
      for (const target of routing.staleBucketTargets((n) => this.runtime.randomBytes(n))) {
        void this.findNode(target);
      }
    }
    if (this.runtime.now() - this.lastSave >= this.options.saveIntervalMs) {
      this.save().catch((error: Error) => this.log('warn', `saving DHT state failed: ${error.message}`));
    }
  }

  private log(level: LogLevel, message: string): void {
    this.config.log?.(level, message);
  }
}
