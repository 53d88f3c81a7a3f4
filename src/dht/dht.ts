/**
 * `Dht`: a full node of BitTorrent's mainline DHT (BEP 5, 32, 42, 43, 44). It runs one DHT node
 * per address family (`DhtFamily`: IPv4 and IPv6, each with its own socket, id and routing table,
 * as libtorrent runs one per listen socket) over the shared Kademlia core, with one set of query
 * handlers, peer and item stores, tokens and rate limits. Lookups run in every family that is up
 * and their results merge. Time, randomness, sockets and files come from the injected `Runtime`,
 * so the same class runs on real UDP and on the virtual network.
 */
import type { BEncodable, BValue } from '../codec/bencode.js';
import type { IpFamily } from '../codec/ip.js';
import type { KrpcQuery } from '../codec/krpc.js';
import { idEquals } from '../kademlia/id.js';
import type { LookupResult } from '../kademlia/lookup.js';
import type { Contact, RoutingTable } from '../kademlia/routing-table.js';
import { RttEstimator } from '../kademlia/rtt-estimator.js';
import type { Endpoint, Runtime, Timer } from '../runtime/interfaces.js';
import { createNodeRuntime } from '../runtime/node-runtime.js';
import { bindSockets } from './bind.js';
import { joinFamilies, knownEndpoints } from './bootstrap.js';
import { endpointFamily, endpointKey, usableEndpoint } from './endpoint.js';
import { DhtInputError, DhtStateError } from './errors.js';
import { DhtFamily, type DhtFamilyDeps } from './family.js';
import { lookupInFamily, mergeLookups, type FamilyLookupDeps, type LookupOptions } from './family-lookup.js';
import { getItem, putItem, type DhtItem, type PutRequest, type PutResult } from './item-lookup.js';
import { announcedPortFor, announcePeer, lookupPeers, type AnnounceOptions, type AnnounceResult } from './peer-lookup.js';
import { answerQuery } from './handlers/answer-query.js';
import { ItemStore } from './item-store.js';
import type { QueryOutcome } from './krpc-transport.js';
import { chooseNodeIds } from './node-ids.js';
import { fileNodeStateStore, type NodeState, type NodeStateStore } from './node-state.js';
import { PeerStore } from './peer-store.js';
import { RateLimiter } from './rate-limiter.js';
import type { DhtOptions, DhtStats, LogLevel } from './options.js';
import { newCounters } from './stats.js';
import { TokenManager } from './token-manager.js';
import { toHex, type InfoHash, type ItemTarget, type NodeId } from './types.js';

/** `v` field: client "WR", version 0.1. */
const VERSION = Uint8Array.of(0x57, 0x52, 0x00, 0x01);
const MAINTENANCE_MS = 60_000;
/** Contacts saved per family. */
const SAVED_CONTACTS = 256;

/** The reply of one node during a lookup: its parsed values. */
export interface NodeReplyValues {
  token?: Uint8Array;
}

/** What one address family's node shows: its id, bound address and routing table. */
export interface DhtFamilyInfo {
  readonly family: IpFamily;
  readonly nodeId: NodeId;
  readonly address: Endpoint;
  readonly table: RoutingTable<Endpoint>;
}

export class Dht {
  private readonly options: Required<Pick<DhtOptions, 'k' | 'alpha' | 'firstRound' | 'queryTimeoutMs' | 'readOnly' | 'saveIntervalMs'>>;
  private readonly counters = newCounters();
  private readonly rtt = new RttEstimator();
  private readonly peers: PeerStore;
  private readonly items: ItemStore;
  private readonly tokens: TokenManager;
  private readonly rateLimiter: RateLimiter;
  /** The family nodes that are up, IPv4 first. */
  private readonly nodes = new Map<IpFamily, DhtFamily>();
  private saved?: NodeState;
  private readonly stateStore?: NodeStateStore;
  private maintenance?: Timer;
  private lastSave = 0;
  private state: 'new' | 'starting' | 'running' | 'closed' = 'new';
  private readonly lookupDeps: FamilyLookupDeps;

  /**
   * `runtime6` binds the IPv6 socket (default: `runtime`). On the virtual network a host has one
   * address, so a dual-stack node there is two hosts: pass the IPv6 host's runtime.
   */
  constructor(
    private readonly config: DhtOptions = {},
    readonly runtime: Runtime = createNodeRuntime(),
    private readonly runtime6: Runtime = runtime,
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
    this.lookupDeps = {
      runtime,
      rtt: this.rtt,
      counters: this.counters,
      tuning: { alpha: this.options.alpha, firstRound: this.options.firstRound, k: this.options.k },
      rpc: (to, method, args, expectedId) => this.rpc(to, method, args, expectedId, false),
      debug: (m) => this.log('debug', m),
    };
  }

  /** The primary family's node id (IPv4 when it is up, else IPv6); see `family()` for each. */
  get nodeId(): NodeId {
    return this.primary().id;
  }

  /** The primary family's bound UDP address. */
  get address(): Endpoint {
    return this.primary().local;
  }

  /** The primary family's routing table (read it; the DHT maintains it). */
  get table(): RoutingTable<Endpoint> {
    return this.primary().routing;
  }

  /** The families whose sockets are bound, IPv4 first. */
  get families(): IpFamily[] {
    this.primary();
    return [...this.nodes.keys()];
  }

  /** One family's node, or `undefined` when that family is not up. */
  family(family: IpFamily): DhtFamilyInfo | undefined {
    this.primary();
    const node = this.nodes.get(family);
    return node && { family, nodeId: node.id, address: node.local, table: node.routing };
  }

  /** Binds the sockets, loads saved state and joins the network through saved contacts and the bootstrap list. */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new DhtStateError('start() may be called once');
    this.state = 'starting';
    const sockets = await bindSockets(this.config, this.runtime, this.runtime6, (m) => this.log('warn', m));
    this.saved = await this.stateStore?.load((m) => this.log('warn', m));
    const ids = chooseNodeIds({
      families: [...sockets.keys()],
      configured: this.config.nodeId,
      saved: this.saved,
      bound: { 4: sockets.get(4)?.local.host, 6: sockets.get(6)?.local.host },
      randomBytes: (n) => this.runtime.randomBytes(n),
    });
    const deps: DhtFamilyDeps = {
      now: () => this.runtime.now(),
      setTimer: (ms, fn) => this.runtime.setTimer(ms, fn),
      randomBytes: (n) => this.runtime.randomBytes(n),
      rateLimiter: this.rateLimiter,
      counters: this.counters,
      ping: async (c) => (await this.rpc(c.address, 'ping', {}, c.id))?.kind === 'response',
      onQuery: (node, query, from) => this.onQuery(node, query, from),
      debug: (m) => this.log('debug', m),
    };
    const options = { k: this.options.k, timeoutMs: this.options.queryTimeoutMs, readOnly: this.options.readOnly, version: VERSION };
    for (const [family, socket] of sockets) this.nodes.set(family, new DhtFamily(family, socket, ids.get(family)!, deps, options));
    this.state = 'running';
    this.scheduleMaintenance();
    await this.bootstrap();
  }

  /**
   * Asks every saved contact and bootstrap router for our own neighbourhood, then looks up our own
   * id, in each family. A family left empty then asks the other family's contacts for its nodes
   * (BEP 32 `want`). Resolves with the size of all routing tables. Safe to call again.
   */
  async bootstrap(): Promise<number> {
    const all = [...this.nodes.values()];
    const endpoints = await knownEndpoints(this.saved, this.config.bootstrap, this.runtime, (m) => this.log('warn', m));
    await this.join(all, endpoints);
    const empty = all.filter((f) => f.routing.size === 0);
    if (empty.length > 0 && empty.length < all.length) await this.join(empty, endpoints);
    const sizes = all.map((f) => `${f.routing.size} IPv${f.family}`).join(', ');
    this.log('info', `DHT bootstrapped: ${sizes} contacts`);
    return all.reduce((sum, f) => sum + f.routing.size, 0);
  }

  /** Yields each distinct peer of the swarm (IPv4 and IPv6) as soon as some node reports it. */
  lookup(infoHash: InfoHash, options: { signal?: AbortSignal } = {}): AsyncGenerator<Endpoint> {
    this.primary();
    return lookupPeers(this, infoHash, options.signal);
  }

  /**
   * Announces that we serve `infoHash` on TCP `port` to the k closest nodes of each family
   * (BEP 5, BEP 32), and keeps it in our own store too. Re-announce every 30 minutes or less.
   */
  async announce(infoHash: InfoHash, port: number, options: AnnounceOptions = {}): Promise<AnnounceResult> {
    this.primary();
    const check = (name: string, value: number): void => {
      if (!Number.isInteger(value) || value < 1 || value > 65535) throw new DhtInputError(`bad ${name} ${value}: expected 1-65535`);
    };
    check('port', port);
    if (options.port6 !== undefined) check('port6', options.port6);
    for (const node of this.nodes.values()) {
      if (usableEndpoint(node.local)) this.peers.add(infoHash, { host: node.local.host, port: announcedPortFor(node.local.host, port, options) }, options.seed === true);
    }
    return announcePeer(this, infoHash, port, options);
  }

  /** Stores a BEP 44 item at the nodes closest to its target in each family (and here). */
  put(request: PutRequest, options: { signal?: AbortSignal } = {}): Promise<PutResult> {
    this.primary();
    return putItem(this, request, options.signal);
  }

  /** Looks up a BEP 44 item; only a genuine one (hash or signature checked) is returned. */
  get(target: ItemTarget, options: { salt?: Uint8Array; signal?: AbortSignal } = {}): Promise<DhtItem | undefined> {
    this.primary();
    return getItem(this, target, options);
  }

  /** Pings `address` and adds it to the routing table of its family when it answers; resolves whether it did. */
  async addNode(address: Endpoint): Promise<boolean> {
    return (await this.rpc(address, 'ping', {}))?.kind === 'response';
  }

  /** The k nodes closest to `target` that answered in each family, closest first. */
  async findNode(target: Uint8Array, extraSeeds: Contact<Endpoint>[] = []): Promise<Contact<Endpoint>[]> {
    const result = await this.iterate(target, 'find_node', { target }, () => ({}), { extraSeeds });
    return result.closest.map((c) => c.contact);
  }

  /** @internal `findNode` in one family only (bootstrap and bucket refresh). */
  async findNodeIn(node: DhtFamily, target: Uint8Array, extraSeeds: Contact<Endpoint>[] = []): Promise<void> {
    await lookupInFamily(this.lookupDeps, node, target, 'find_node', { target }, () => ({}), { extraSeeds });
  }

  /**
   * Runs an iterative lookup of `target` sending `method` with `args`, in every family that is up;
   * `parse` turns each reply's values into R (throwing DecodeError for a malformed reply, which
   * then counts as failed). The results merge: `closest` holds each family's closest, ordered by
   * distance. Used by the peer and item lookups.
   */
  async iterate<R extends NodeReplyValues>(
    target: Uint8Array,
    method: string,
    args: Record<string, BEncodable | undefined>,
    parse: (values: Record<string, BValue>) => R,
    options: LookupOptions<R> = {},
  ): Promise<LookupResult<Endpoint, R>> {
    this.primary();
    const nodes = [...this.nodes.values()];
    return mergeLookups(target, await Promise.all(nodes.map((node) => lookupInFamily(this.lookupDeps, node, target, method, args, parse, options))));
  }

  /**
   * Sends one query over the socket of `to`'s family and records what it tells us about the
   * contact: a response adds it to that family's routing table and gives an RTT sample (unless
   * `sampleRtt` is false: the caller samples it); a timeout counts as a failure of `expectedId`.
   * Resolves `undefined` at once when that family is not up.
   */
  async rpc(to: Endpoint, method: string, args: Record<string, BEncodable | undefined>, expectedId?: Uint8Array, sampleRtt = true): Promise<QueryOutcome> {
    this.primary();
    const node = this.nodeFor(to);
    if (!node) return undefined;
    const outcome = await node.transport.query(to, method, args);
    if (this.state !== 'running') return outcome;
    if (!outcome) {
      if (expectedId) node.routing.failed(expectedId);
      return undefined;
    }
    if (outcome.kind === 'response') {
      const { response } = outcome;
      if (sampleRtt) this.rtt.sample(endpointKey(to), outcome.rttMs);
      if (response.ip && endpointFamily(response.ip) === node.family) node.votes.add(to.host, response.ip.host);
      if (expectedId && !idEquals(expectedId, response.senderId)) node.routing.failed(expectedId);
      node.heardFrom(response.senderId, to, false);
    }
    return outcome;
  }

  stats(): DhtStats {
    const primary = this.primary();
    const families = [...this.nodes.values()].map((node) => node.stats());
    return {
      nodeId: toHex(primary.id),
      address: primary.local,
      externalAddress: primary.votes.winner(),
      tableSize: families.reduce((sum, f) => sum + f.tableSize, 0),
      buckets: primary.routing.buckets().length,
      families,
      peersStored: this.peers.size,
      infoHashesStored: this.peers.infoHashCount,
      itemsStored: this.items.size,
      itemBytesStored: this.items.byteSize,
      globalRttMs: this.rtt.globalSrtt,
      counters: structuredClone(this.counters),
    };
  }

  /** Saves ids and routing tables to the state store (no-op without one). */
  async save(): Promise<void> {
    const v4 = this.nodes.get(4);
    const v6 = this.nodes.get(6);
    const primary = v4 ?? v6;
    if (!this.stateStore || !primary) return;
    this.lastSave = this.runtime.now();
    const contacts = [...this.nodes.values()].flatMap((node) => node.contactsToSave(SAVED_CONTACTS));
    await this.stateStore.save({
      nodeId: primary.id,
      nodeId6: v6?.id ?? this.saved?.nodeId6,
      externalIp: v4?.votes.winner() ?? this.saved?.externalIp,
      externalIp6: v6?.votes.winner() ?? this.saved?.externalIp6,
      contacts,
    });
  }

  /** Saves state, stops timers, fails outstanding queries and closes the sockets. */
  async close(): Promise<void> {
    if (this.state === 'closed') return;
    const wasRunning = this.state === 'running';
    this.state = 'closed';
    this.maintenance?.cancel();
    if (wasRunning) await this.save();
    for (const node of this.nodes.values()) node.close();
  }

  /** This node's own stores, which the peer and item lookups consult and fill too. */
  get localStores(): { peers: PeerStore; items: ItemStore } {
    return { peers: this.peers, items: this.items };
  }

  /** The IPv4 node when it is up, else the IPv6 one; throws unless running. */
  private primary(): DhtFamily {
    if (this.state === 'closed') throw new DhtStateError('the DHT is closed');
    const node = this.nodes.get(4) ?? this.nodes.get(6);
    if (!node || this.state !== 'running') throw new DhtStateError('the DHT is not started');
    return node;
  }

  private nodeFor(to: Endpoint): DhtFamily | undefined {
    const family = endpointFamily(to);
    return family === undefined ? undefined : this.nodes.get(family);
  }

  private onQuery(node: DhtFamily, query: KrpcQuery, from: Endpoint): void {
    if (this.state !== 'running' || this.options.readOnly) return;
    node.heardFrom(query.senderId, from, query.readOnly);
    const tables = Object.fromEntries([...this.nodes].map(([family, other]) => [family, other.routing]));
    const context = {
      localId: node.id,
      version: VERSION,
      family: node.family,
      tables,
      peers: this.peers,
      items: this.items,
      tokens: this.tokens,
      k: this.options.k,
      random: () => this.runtime.random(),
    };
    answerQuery(context, node.transport, this.counters, (m) => this.log('warn', m), query, from);
  }

  /** Joins `targets` through `endpoints` (default: what we know) and the contacts of the other families. */
  private async join(targets: DhtFamily[], endpoints?: Endpoint[]): Promise<void> {
    endpoints ??= await knownEndpoints(this.saved, this.config.bootstrap, this.runtime, (m) => this.log('warn', m));
    await joinFamilies(this, targets, [...this.nodes.values()], endpoints, (n) => this.runtime.randomBytes(n), this.options.k);
  }

  private scheduleMaintenance(): void {
    this.maintenance = this.runtime.setTimer(MAINTENANCE_MS, () => {
      if (this.state !== 'running') return;
      this.maintain();
      this.scheduleMaintenance();
    });
  }

  /** Once a minute: expire stores, join again where a table ran dry, refresh stale buckets, save every few minutes. */
  private maintain(): void {
    this.peers.expire();
    this.items.expire();
    const empty = [...this.nodes.values()].filter((node) => node.routing.size === 0);
    // While another family is healthy, its contacts are asked (BEP 32 `want`); the bootstrap
    // routers only when every table ran dry.
    if (empty.length > 0) void this.join(empty, empty.length < this.nodes.size ? [] : undefined);
    for (const node of this.nodes.values()) {
      if (node.routing.size === 0) continue;
      for (const target of node.routing.staleBucketTargets((n) => this.runtime.randomBytes(n))) void this.findNodeIn(node, target);
    }
    if (this.runtime.now() - this.lastSave >= this.options.saveIntervalMs) {
      this.save().catch((error: Error) => this.log('warn', `saving DHT state failed: ${error.message}`));
    }
  }

  private log(level: LogLevel, message: string): void {
    this.config.log?.(level, message);
  }
}
