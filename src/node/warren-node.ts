/**
 * The long-running node (`warren node`): a DHT, a swarm session and the SQLite state store, wired
 * together, with the `NodeControl` face the HTTP API uses. Every change a caller is told about
 * (a torrent added, paused, resumed, its files chosen, removed) is in the store before the promise
 * resolves; the engines' own state (resume data, the DHT table, transfer totals) is saved as they
 * run and at close. Verifying a torrent's data changes nothing stored: its result is resume data.
 * With `seedRatio` or `seedTimeMinutes` a seeding torrent is paused (as `pause` does) when it
 * reaches either, once per torrent per run: resumed after that, or resumed while over the ratio
 * (as Transmission does), it seeds on until the node restarts.
 */
import { randomBytes } from 'node:crypto';
import { createWriteStream } from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { formatHostPort } from '../codec/ip.js';
import { Dht } from '../dht/dht.js';
import type { LogLevel } from '../dht/options.js';
import { toHex, toInfoHash } from '../dht/types.js';
import { createNodeRuntime } from '../runtime/node-runtime.js';
import { createTorrent } from '../swarm/create-torrent.js';
import { SwarmError } from '../swarm/errors.js';
import { SwarmSession } from '../swarm/session.js';
import type { Torrent } from '../swarm/torrent.js';
import { dhtView, lookupView } from './dht-view.js';
import { shareUdpPort } from './shared-udp-port.js';
import { NodeError } from './errors.js';
import type { NodeControl } from './node-control.js';
import type { PortMapper } from '../nat/port-mapper.js';
import { startPortMapping } from './port-mapping.js';
import { StateStore, type TorrentRow } from './state-store.js';
import { fromInfoHash, fromMagnet, fromTorrentFile, type TorrentInput } from './torrent-input.js';
import { detail, magnetOf, summarize } from './torrent-views.js';
import type { EncryptionPolicy } from '../swarm/mse-handshake.js';
import type { AddRequest, DhtView, LookupView, NodeEvent, NodeView, TorrentDetail, TorrentSummary } from './view-types.js';

const TICK_MS = 1000;
/** Prefix of uploads still arriving in the share directory. */
const INCOMING = '.incoming-';
/** Transfer totals are written this often (and at close). */
const PERSIST_EVERY_TICKS = 10;

export interface WarrenNodeOptions {
  dataDir: string;
  /** Address the swarm and the DHT bind to. */
  host: string;
  port: number;
  dhtPort: number;
  /** Whether to run a DHT at all. */
  dht: boolean;
  /** DHT bootstrap routers; `false` for none. */
  bootstrap: string[] | false;
  /** Default directory for downloads. */
  downloadDir: string;
  maxConnections: number;
  /** Upload limit per torrent in bytes per second; 0 for none. */
  uploadLimit: number;
  /** Download limit per torrent in bytes per second; 0 or absent for none (applies to every torrent, not stored with it). */
  downloadLimit?: number;
  /** Protocol encryption with peers (default `prefer`). */
  encryption?: EncryptionPolicy;
  /** uTP with peers, beside TCP (default true). */
  utp?: boolean;
  /** Open the ports on the router with NAT-PMP and UPnP (default false). */
  portMap?: boolean;
  /** Pause a seeding torrent once its total upload reaches this many times its wanted size. */
  seedRatio?: number;
  /** Pause a torrent after it has been seeding this long in this run (the clock starts when it becomes seeding). */
  seedTimeMinutes?: number;
  version: string;
  log(level: LogLevel, message: string): void;
}

interface Entry {
  /** The stored row; `downloaded`/`uploaded` are the totals from before this run. */
  row: TorrentRow;
  torrent: Torrent;
  /** The last summary sent in a `torrents` event, to send only what changed. */
  lastSent?: string;
  /** Why the torrent could not start (it stays listed, in the error state). */
  failure?: string;
  /** When it last became seeding in this run (Date.now()); undefined while not seeding. */
  seedingSince?: number;
}

export class WarrenNode implements NodeControl {
  private readonly entries = new Map<string, Entry>();
  private readonly adding = new Map<string, Promise<{ torrent: TorrentSummary; created: boolean }>>();
  private readonly listeners = new Set<(event: NodeEvent) => void>();
  private readonly startedAt = Date.now();
  private tickTimer?: NodeJS.Timeout;
  private ticks = 0;
  /** This run's transfer of torrents since removed, and what of this run's totals is in the store. */
  private removedTransfer = { downloaded: 0, uploaded: 0 };
  private persistedTransfer = { downloaded: 0, uploaded: 0 };
  /** The node's lifetime totals from earlier runs. */
  private readonly totalsBefore: { downloaded: number; uploaded: number };
  /** Torrents paused by a seed limit, or resumed over the ratio, in this run: not paused by a limit (again). */
  private readonly seedLimitsDone = new Set<string>();
  private portMapper: PortMapper | undefined;
  private closed = false;

  private constructor(
    private readonly options: WarrenNodeOptions,
    private readonly store: StateStore,
    private readonly session: SwarmSession,
    private readonly dhtNode: Dht | undefined,
  ) {
    const counters = store.counters();
    this.totalsBefore = { downloaded: counters['downloaded'] ?? 0, uploaded: counters['uploaded'] ?? 0 };
  }

  /** Opens the store, starts the DHT and the swarm, and restarts every stored torrent. */
  static async start(options: WarrenNodeOptions): Promise<WarrenNode> {
    const runtime = createNodeRuntime();
    await mkdir(options.dataDir, { recursive: true });
    await mkdir(options.downloadDir, { recursive: true });
    await removeIncomplete(join(options.dataDir, 'shared'));
    const store = StateStore.open(join(options.dataDir, 'state.db'), { log: options.log });
    let dht: Dht | undefined;
    let session: SwarmSession | undefined;
    try {
      const udp = shareUdpPort(runtime, options.port === options.dhtPort ? options.port : 0);
      if (options.dht) {
        dht = new Dht({ host: options.host, port: options.dhtPort, bootstrap: options.bootstrap, stateStore: store.dhtStateStore(), log: options.log }, udp.dht);
        await dht.start();
      }
      session = new SwarmSession(
        { host: options.host, port: options.port, dht, resumeStore: store.resumeStore(), maxConnections: options.maxConnections, encryption: options.encryption, utp: options.utp, hashInWorker: true, log: options.log },
        udp.swarm,
      );
      await session.start();
      const node = new WarrenNode(options, store, session, dht);
      // Listed at once; each checks its data in the background (the API is up meanwhile).
      for (const row of store.listTorrents()) {
        node.startTorrent(row, {}).catch((error: Error) => options.log('warn', `could not restart torrent ${row.infoHash}: ${error.message}`));
      }
      node.tickTimer = setInterval(() => node.tick(), TICK_MS);
      if (options.portMap) node.portMapper = startPortMapping(runtime, session, dht?.address.port, options.log);
      return node;
    } catch (error) {
      await session?.close();
      await dht?.close();
      store.close();
      throw error;
    }
  }

  node(): NodeView {
    const run = this.runTotals();
    return {
      version: this.options.version,
      startedAt: this.startedAt,
      dataDir: this.options.dataDir,
      swarmAddress: formatHostPort(this.session.address.host, this.session.address.port),
      swarmAddresses: this.session.addresses.map((a) => formatHostPort(a.host, a.port)),
      ...(this.dhtNode ? { dhtAddress: formatHostPort(this.dhtNode.address.host, this.dhtNode.address.port), nodeId: toHex(this.dhtNode.nodeId) } : {}),
      torrents: this.entries.size,
      peers: run.peers,
      downloadRate: Math.round(run.downloadRate),
      uploadRate: Math.round(run.uploadRate),
      downloaded: this.totalsBefore.downloaded + run.downloaded,
      uploaded: this.totalsBefore.uploaded + run.uploaded,
      encryption: this.options.encryption ?? 'prefer',
      utp: this.session.utpSocket !== undefined,
      uploadLimit: this.options.uploadLimit,
      downloadLimit: this.options.downloadLimit ?? 0,
      ...(this.portMapper ? { portMapping: this.portMapper.snapshot() } : {}),
    };
  }

  list(): TorrentSummary[] {
    return [...this.entries.values()].map((e) => this.summaryOf(e));
  }

  get(id: string): TorrentDetail | undefined {
    const entry = this.entries.get(id);
    return entry && detail(entry.torrent, entry.row, entry.failure);
  }

  async add(request: AddRequest): Promise<{ torrent: TorrentSummary; created: boolean }> {
    const sources = [request.magnet, request.infoHash, request.torrent, request.path].filter((v) => v !== undefined);
    if (sources.length !== 1) throw new NodeError('BAD_REQUEST', 'give exactly one of magnet, infoHash, torrent or path');
    if (request.path !== undefined) return this.sharePath(resolve(request.path), request);
    let input: TorrentInput;
    if (request.magnet !== undefined) input = fromMagnet(request.magnet);
    else if (request.infoHash !== undefined) input = fromInfoHash(request.infoHash);
    else input = fromTorrentFile(Buffer.from(request.torrent!, 'base64'));
    const dir = request.dir !== undefined ? resolve(request.dir) : this.options.downloadDir;
    return this.addOnce(input, dir, request, false);
  }

  async share(name: string, data: AsyncIterable<Uint8Array>): Promise<{ torrent: TorrentSummary; created: boolean }> {
    if (!name || name === '.' || name === '..' || /[/\\\0]/.test(name) || Buffer.byteLength(name) > 255) {
      throw new NodeError('BAD_REQUEST', 'name: must be a plain file name');
    }
    const shared = join(this.options.dataDir, 'shared');
    await mkdir(shared, { recursive: true });
    const incoming = join(shared, `${INCOMING}${randomBytes(8).toString('hex')}`);
    try {
      await pipeline(data, createWriteStream(incoming, { flags: 'wx' }));
      const created = await createTorrent(this.session.runtime.fs, incoming, { name });
      const id = toHex(created.infoHash);
      const existing = this.entries.get(id);
      if (existing) return { torrent: this.summaryOf(existing), created: false };
      // Each shared file gets a directory of its own, so equal names never collide.
      const dir = join(shared, id);
      await mkdir(dir, { recursive: true });
      await rename(incoming, join(dir, name));
      const input = { infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, name, trackers: [], peers: [], webSeeds: [] };
      return await this.addOnce(input, dir, {}, true);
    } finally {
      await rm(incoming, { force: true });
    }
  }

  async pause(id: string): Promise<TorrentSummary> {
    const entry = this.entry(id);
    this.store.updateTorrent(id, { paused: true });
    entry.row.paused = true;
    await this.session.pause(entry.torrent.infoHash);
    return this.summaryOf(entry);
  }

  async resume(id: string): Promise<TorrentSummary> {
    const entry = this.entry(id);
    this.store.updateTorrent(id, { paused: false });
    entry.row.paused = false;
    if (this.ratioReached(entry)) this.seedLimitsDone.add(id);
    this.session.resume(entry.torrent.infoHash);
    return this.summaryOf(entry);
  }

  async verify(id: string): Promise<TorrentSummary> {
    const entry = this.entry(id);
    let checked: Promise<void>;
    try {
      checked = entry.torrent.recheck();
    } catch (error) {
      throw error instanceof SwarmError && error.code === 'STATE' ? new NodeError('CONFLICT', error.message) : error;
    }
    // Not awaited: the answer says `checking`, and a storage failure puts the torrent in its error
    // state. Only a failure the engine does not promise to handle is logged.
    checked.catch((error: Error) => this.options.log('warn', `checking torrent ${id} failed: ${error.message}`));
    return this.summaryOf(entry);
  }

  async setFiles(id: string, files: number[] | null): Promise<TorrentDetail> {
    const entry = this.entry(id);
    const wanted = files && fileChoice(files);
    const stopped = stoppedByFileChoice(entry.torrent);
    checkedFileChoice(() => entry.torrent.setWantedFiles(wanted ?? undefined));
    this.store.updateTorrent(id, { wantedFiles: wanted });
    entry.row.wantedFiles = wanted;
    // Its metadata came with a choice naming no file, which stopped it: the new choice lets it go on.
    if (stopped && !entry.row.paused) this.session.resume(entry.torrent.infoHash);
    return this.get(id)!;
  }

  async remove(id: string, options: { deleteData: boolean }): Promise<void> {
    const entry = this.entry(id);
    this.entries.delete(id);
    const s = entry.torrent.stats();
    this.removedTransfer.downloaded += s.downloaded;
    this.removedTransfer.uploaded += s.uploaded;
    this.store.deleteTorrent(id);
    this.seedLimitsDone.delete(id);
    await this.session.remove(entry.torrent.infoHash);
    if (options.deleteData && entry.torrent.info) {
      await rm(join(entry.row.dir, entry.torrent.info.name), { recursive: true, force: true });
      // A shared upload's directory is the node's own; nothing else lives there.
      if (entry.row.dir === join(this.options.dataDir, 'shared', id)) await rm(entry.row.dir, { recursive: true, force: true });
    }
    this.emit({ type: 'removed', id });
  }

  dht(): DhtView {
    return dhtView(this.dhtNode);
  }

  async lookup(target: string): Promise<LookupView> {
    if (!this.dhtNode) throw new NodeError('UNAVAILABLE', 'the DHT is disabled on this node');
    if (!/^[0-9a-f]{40}$/.test(target)) throw new NodeError('BAD_REQUEST', 'target: expected 40 lowercase hex characters');
    return lookupView(this.dhtNode, target);
  }

  subscribe(listener: (event: NodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Saves everything and stops. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.tickTimer);
    this.persistTransfer();
    await this.portMapper?.close();
    await this.session.close();
    await this.dhtNode?.close();
    this.store.close();
    this.listeners.clear();
  }

  // ---------------------------------------------------------------------------------------------

  private summaryOf(entry: Entry): TorrentSummary {
    return summarize(entry.torrent, entry.row, entry.failure);
  }

  private entry(id: string): Entry {
    const entry = this.entries.get(id);
    if (!entry) throw new NodeError('NOT_FOUND', `no torrent ${id}`);
    return entry;
  }

  /** Adds a torrent once, even when the same one is asked for twice at the same time. */
  private addOnce(input: TorrentInput, dir: string, request: Pick<AddRequest, 'paused' | 'sequential' | 'files'>, assumeComplete: boolean): Promise<{ torrent: TorrentSummary; created: boolean }> {
    const id = toHex(input.infoHash);
    const existing = this.entries.get(id);
    if (existing) return Promise.resolve({ torrent: this.summaryOf(existing), created: false });
    const pending = this.adding.get(id);
    if (pending) return pending.then((r) => ({ ...r, created: false }));
    const adding = (async () => {
      const row: TorrentRow = {
        infoHash: id,
        name: input.name ?? null,
        infoBytes: input.infoBytes ?? null,
        magnet: '',
        trackers: input.trackers,
        dir,
        paused: request.paused === true,
        sequential: request.sequential === true,
        uploadLimit: null, // no override: the node's setting applies
        wantedFiles: request.files ? fileChoice(request.files) : null,
        addedAt: Date.now(),
        downloaded: 0,
        uploaded: 0,
      };
      // Kept with the torrent so its web seeds (ws=) and x.pe peers are used again after a restart.
      row.magnet = input.magnet ?? magnetOf(id, row.name, row.trackers, input.webSeeds, input.infoHashV2 && toHex(input.infoHashV2));
      this.store.insertTorrent(row);
      try {
        const entry = await this.startTorrent(row, { assumeComplete, peers: input.peers, pieceLayers: input.pieceLayers });
        const torrent = this.summaryOf(entry);
        this.emit({ type: 'added', torrent });
        return { torrent, created: true };
      } catch (error) {
        this.store.deleteTorrent(id);
        this.entries.delete(id);
        await this.session.remove(input.infoHash);
        throw isFileIndexError(error) ? new NodeError('BAD_REQUEST', error.message) : error;
      }
    })();
    this.adding.set(id, adding);
    return adding.finally(() => this.adding.delete(id));
  }

  /**
   * Starts a torrent in the session. Its entry is listed at once, while it checks its data; if the
   * start fails, the entry stays and shows the reason as an error (the caller decides whether to drop it).
   */
  private async startTorrent(row: TorrentRow, extra: { assumeComplete?: boolean; peers?: TorrentInput['peers']; pieceLayers?: TorrentInput['pieceLayers'] }): Promise<Entry> {
    const infoHash = toInfoHash(row.infoHash);
    const stored = row.magnet.startsWith('magnet:') ? fromMagnet(row.magnet) : undefined;
    const starting = this.session.add({
      infoHash,
      infoBytes: row.infoBytes ?? undefined,
      // A v2 .torrent's piece layers; after a restart they come from the resume data.
      pieceLayers: extra.pieceLayers,
      infoHashV2: stored?.infoHashV2,
      dir: row.dir,
      trackers: row.trackers,
      // Peers named in the magnet (x.pe) are asked again after every restart.
      peers: extra.peers ?? stored?.peers ?? [],
      webSeeds: stored?.webSeeds,
      assumeComplete: extra.assumeComplete,
      sequential: row.sequential,
      uploadLimit: row.uploadLimit ?? (this.options.uploadLimit || undefined),
      downloadLimit: this.options.downloadLimit || undefined,
      paused: row.paused,
      wantedFiles: row.wantedFiles ?? undefined,
    });
    const torrent = this.session.get(infoHash)!;
    const entry: Entry = { row, torrent };
    this.entries.set(row.infoHash, entry);
    if (torrent.state === 'seeding') entry.seedingSince = Date.now();
    torrent.on((event) => {
      if (event.type === 'state') entry.seedingSince = event.state === 'seeding' ? Date.now() : undefined;
      if (event.type === 'piece') this.emit({ type: 'piece', id: row.infoHash, index: event.index });
      if (event.type === 'error') this.options.log('warn', `torrent ${row.infoHash} stopped: ${event.error.message}`);
      if (event.type === 'metadata' && torrent.info && torrent.infoBytes && this.entries.get(row.infoHash) === entry) {
        row.name = torrent.info.name;
        row.infoBytes = torrent.infoBytes;
        this.store.updateTorrent(row.infoHash, { name: row.name, infoBytes: row.infoBytes });
      }
    });
    try {
      await starting;
    } catch (error) {
      entry.failure = (error as Error).message;
      throw error;
    }
    return entry;
  }

  private async sharePath(path: string, request: AddRequest): Promise<{ torrent: TorrentSummary; created: boolean }> {
    const found = await stat(path).catch((error: NodeJS.ErrnoException) => {
      throw new NodeError('BAD_REQUEST', `path: ${error.code === 'ENOENT' ? 'no such file or folder' : error.message}: ${path}`);
    });
    if (!found.isFile() && !found.isDirectory()) throw new NodeError('BAD_REQUEST', `path: not a file or folder: ${path}`);
    const created = await createTorrent(this.session.runtime.fs, path, {});
    const input = { infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, name: created.info.name, trackers: [], peers: [], webSeeds: [] };
    return this.addOnce(input, dirname(path), request, true);
  }

  /** This run's rates and peers, and its payload totals over all torrents, present and removed. */
  private runTotals(): { downloadRate: number; uploadRate: number; peers: number; downloaded: number; uploaded: number } {
    const totals = { downloadRate: 0, uploadRate: 0, peers: 0, ...this.removedTransfer };
    for (const { torrent } of this.entries.values()) {
      const s = torrent.stats();
      totals.downloadRate += s.downloadRate;
      totals.uploadRate += s.uploadRate;
      totals.peers += s.peers.length;
      totals.downloaded += s.downloaded;
      totals.uploaded += s.uploaded;
    }
    return totals;
  }

  private persistTransfer(): void {
    const { downloaded, uploaded } = this.runTotals();
    this.store.addCounters({ downloaded: downloaded - this.persistedTransfer.downloaded, uploaded: uploaded - this.persistedTransfer.uploaded });
    this.persistedTransfer = { downloaded, uploaded };
    for (const { row, torrent } of this.entries.values()) {
      const s = torrent.stats();
      if (s.downloaded > 0 || s.uploaded > 0) this.store.updateTorrent(row.infoHash, { downloaded: row.downloaded + s.downloaded, uploaded: row.uploaded + s.uploaded });
    }
  }

  /** Whether the torrent's total upload (all runs) has reached the seed ratio times its wanted size. */
  private ratioReached(entry: Entry): boolean {
    const { seedRatio } = this.options;
    if (seedRatio === undefined) return false;
    const s = entry.torrent.stats();
    return s.wantedLength > 0 && entry.row.uploaded + s.uploaded >= seedRatio * s.wantedLength;
  }

  /** Pauses each seeding torrent that has reached the seed ratio or seeding time (once per torrent per run). */
  private applySeedLimits(): void {
    const { seedRatio, seedTimeMinutes } = this.options;
    if (seedRatio === undefined && seedTimeMinutes === undefined) return;
    for (const [id, entry] of this.entries) {
      if (entry.torrent.state !== 'seeding' || this.seedLimitsDone.has(id)) continue;
      let reached: string | undefined;
      if (this.ratioReached(entry)) reached = `seed ratio (${seedRatio})`;
      else if (seedTimeMinutes !== undefined && entry.seedingSince !== undefined && Date.now() - entry.seedingSince >= seedTimeMinutes * 60_000) reached = `seeding time (${seedTimeMinutes} min)`;
      if (reached === undefined) continue;
      this.seedLimitsDone.add(id);
      this.pause(id).then(
        () => this.options.log('info', `torrent ${id} reached its ${reached}: paused`),
        (error: Error) => this.options.log('warn', `could not pause torrent ${id} at its seed limit: ${error.message}`),
      );
    }
  }

  private tick(): void {
    if (++this.ticks % PERSIST_EVERY_TICKS === 0) this.persistTransfer();
    this.applySeedLimits();
    if (this.listeners.size === 0) return;
    const changed: TorrentSummary[] = [];
    for (const entry of this.entries.values()) {
      const summary = this.summaryOf(entry);
      const text = JSON.stringify(summary);
      if (text !== entry.lastSent) {
        entry.lastSent = text;
        changed.push(summary);
      }
    }
    if (changed.length > 0) this.emit({ type: 'torrents', torrents: changed });
    this.emit({ type: 'node', node: this.node() });
  }

  private emit(event: NodeEvent): void {
    for (const listener of this.listeners) {
      try {
        listener(event);
      } catch (error) {
        this.options.log('warn', `event listener failed: ${(error as Error).message}`);
      }
    }
  }
}


/** A choice of files as stored: sorted, each index once. */
function fileChoice(files: readonly number[]): number[] {
  return [...new Set(files)].sort((a, b) => a - b);
}

/** The engine's refusal of a file index that names no file. */
function isFileIndexError(error: unknown): error is SwarmError {
  return error instanceof SwarmError && error.code === 'FILE_INDEX';
}

/** Runs `apply`; its refusal of a file index becomes a BAD_REQUEST with the engine's message. */
function checkedFileChoice(apply: () => unknown): void {
  try {
    apply();
  } catch (error) {
    throw isFileIndexError(error) ? new NodeError('BAD_REQUEST', error.message) : error;
  }
}

/** A torrent whose metadata arrived with a stored choice naming no file (it stopped there). */
function stoppedByFileChoice(torrent: Torrent): boolean {
  return torrent.state === 'error' && isFileIndexError(torrent.error);
}

/** Deletes uploads a previous run did not finish receiving (it was killed mid-upload). */
async function removeIncomplete(sharedDir: string): Promise<void> {
  const names = await readdir(sharedDir).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  for (const name of names) if (name.startsWith(INCOMING)) await rm(join(sharedDir, name), { force: true });
}
