/**
 * The swarm side of a node: a TCP listener and a uTP socket (UDP, at the same port number) for
 * each address family it listens on, shared by every torrent (incoming handshakes are routed by
 * infohash), the torrents themselves, and their peer discovery through the DHT and trackers.
 * Resume data goes to the given `ResumeStore`, or to `dataDir/resume/<infohash>.json`.
 *
 * IPv6 (BEP 7): by default the session listens on 0.0.0.0:P and [::]:P, one socket per family as
 * libtorrent binds them (an IPv6 socket takes IPv6 only), at the same port number P. A machine
 * without IPv6 costs one log line and the session runs on IPv4 alone. A given address (127.0.0.1,
 * fd57::1, ::) means that address only.
 */
import { ipFamily, isWildcardHost, type IpFamily } from '../codec/ip.js';
import { encodeHandshake } from '../codec/peer-wire.js';
import { boundToAddress } from '../runtime/bound-runtime.js';
import type { Dht } from '../dht/dht.js';
import { toHex, toInfoHash, type InfoHash } from '../dht/types.js';
import { NO_ADDRESS_FAMILY_CODES, type Endpoint, type Runtime, type TcpConnection, type TcpServer } from '../runtime/interfaces.js';
import { UtpSocket } from '../utp/utp-socket.js';
import { SwarmError } from './errors.js';
import { acceptPeer, type PeerTransport } from './handshake.js';
import type { EncryptionPolicy } from './mse-handshake.js';
import { PeerConnection } from './peer-connection.js';
import { PeerDiscovery } from './peer-discovery.js';
import { createWorkerHasher, inlineHasher, type PieceHasher } from './piece-hasher.js';
import { fileResumeStore, type ResumeStore } from './resume.js';
import { Torrent } from './torrent.js';
import { newPeerId, type PeerId } from './types.js';

/** Incoming connections allowed in their handshakes at once; more are closed at once. */
export const MAX_INCOMING_HANDSHAKES = 64;

export interface SwarmSessionOptions {
  /**
   * Address to listen on. Default (or 0.0.0.0): every IPv4 and every IPv6 address, on two sockets
   * per transport; any other address, `::` included, that address only.
   */
  host?: string;
  /** TCP port (default 6881; 0 for any), the same for both families. */
  port?: number;
  /** DHT used to find peers (optional). */
  dht?: Dht;
  /** Where resume data is kept (takes precedence over `dataDir`). */
  resumeStore?: ResumeStore;
  /** Keeps resume data as files in `dataDir/resume`; none when neither this nor `resumeStore`. */
  dataDir?: string;
  /** Peer connections over all torrents (default 200). */
  maxConnections?: number;
  /** Hash pieces on a worker thread (default: inline; the real node turns this on). */
  hashInWorker?: boolean;
  /** Protocol encryption (MSE) for peer connections (default `prefer`; see `EncryptionPolicy`). */
  encryption?: EncryptionPolicy;
  /**
   * uTP (default true): accept peers over uTP on UDP at the TCP port number, and dial peers over
   * uTP when TCP reaches no one. When that UDP port is taken, the session runs on TCP alone.
   */
  utp?: boolean;
  log?(level: 'debug' | 'info' | 'warn', message: string): void;
}

export interface AddTorrentOptions {
  infoHash: InfoHash;
  infoBytes?: Uint8Array;
  /** A v2 torrent's piece layers, from its .torrent (BEP 52); missing ones are fetched from peers. */
  pieceLayers?: ReadonlyMap<string, Uint8Array>;
  /** The whole SHA-256 infohash (a `urn:btmh:` magnet's): metadata from peers must hash to it. */
  infoHashV2?: Uint8Array;
  /** Directory that holds (or will hold) the torrent's file or folder. */
  dir: string;
  trackers?: string[];
  peers?: Endpoint[];
  assumeComplete?: boolean;
  sequential?: boolean;
  /** Upload limit in bytes per second. */
  uploadLimit?: number;
  /** Download limit in bytes per second. */
  downloadLimit?: number;
  /** BEP 19 web seeds (HTTP servers holding the files). */
  webSeeds?: string[];
  /** Add without connecting to peers or announcing (see `resume`). */
  paused?: boolean;
  /** Block requests in flight over all peers (see `TorrentOptions`). */
  maxRequestsInFlight?: number;
  /** Piece buffers past which no new piece is begun (see `TorrentOptions`). */
  maxPieceMemory?: number;
  /** Download only these files (see `TorrentOptions.wantedFiles`). */
  wantedFiles?: readonly number[];
}

/** What the session listens with on one address family. */
interface Listener {
  family: IpFamily;
  tcp: TcpServer;
  /** Absent when uTP is off or its UDP port could not be bound. */
  utp?: UtpSocket;
}


interface Entry {
  torrent: Torrent;
  /** Present while the torrent runs (not paused). */
  discovery?: PeerDiscovery;
  trackers: string[];
}

export class SwarmSession {
  readonly peerId: PeerId;
  /** IPv4 first, when both families are up. */
  private readonly listeners: Listener[] = [];
  /** The router's external port for our TCP port, once port mapping gave one. */
  private externalPort: number | undefined;
  private readonly torrents = new Map<string, Entry>();
  private closed = false;
  /** Incoming connections still in their handshakes. */
  private handshaking = 0;
  private readonly hasher: PieceHasher;
  private readonly resumeStore?: ResumeStore;

  /** The runtime torrents use: bound to `options.host` when that is one address (see `boundToAddress`). */
  readonly runtime: Runtime;

  constructor(
    private readonly options: SwarmSessionOptions,
    runtime: Runtime,
  ) {
    const host = options.host;
    // Bound to one address, outgoing connections (peers, trackers, web seeds) leave from it too.
    this.runtime = host !== undefined && !isWildcardHost(host) ? boundToAddress(runtime, host) : runtime;
    this.peerId = newPeerId((n) => runtime.randomBytes(n));
    this.hasher = options.hashInWorker ? createWorkerHasher() : inlineHasher;
    this.resumeStore = options.resumeStore ?? (options.dataDir ? fileResumeStore(runtime.fs, `${options.dataDir}/resume`) : undefined);
  }

  private get encryption(): EncryptionPolicy {
    return this.options.encryption ?? 'prefer';
  }

  /** The bound TCP address (after `start`): the IPv4 one when both families are up. */
  get address(): Endpoint {
    const first = this.listeners[0];
    if (!first) throw new SwarmError('STATE', 'the session is not started');
    return first.tcp.local;
  }

  /**
   * The TCP port announced to trackers and the DHT and sent to peers of `family`: for IPv4 the
   * router's external port when port mapping gave one (`setExternalPort`), else the bound port.
   */
  announcedPort(family: IpFamily = 4): number {
    return (family === 4 ? this.externalPort : undefined) ?? this.address.port;
  }

  /** The router forwards `port` (outside) to our TCP port; undefined when it no longer does. Takes effect at the next announce. */
  setExternalPort(port: number | undefined): void {
    this.externalPort = port;
  }

  /** Every bound TCP address (after `start`), IPv4 first; all share one port number. */
  get addresses(): Endpoint[] {
    return this.listeners.map((l) => l.tcp.local);
  }

  /** The bound uTP socket of the primary family (after `start`), unless uTP is off or its port was taken. */
  get utpSocket(): UtpSocket | undefined {
    return this.listeners[0]?.utp;
  }

  /** The uTP socket that can reach `to` (one of its family), if there is one. */
  private utpFor(to: Endpoint): UtpSocket | undefined {
    const family = ipFamily(to.host) ?? 4;
    return this.listeners.find((l) => l.family === family)?.utp;
  }

  async start(): Promise<void> {
    const host = this.options.host ?? '0.0.0.0';
    const both = host === '0.0.0.0';
    let port = this.options.port ?? 6881;
    for (const bind of both ? ['0.0.0.0', '::'] : [host]) {
      try {
        const listener = await this.listen(bind, port);
        port = listener.tcp.local.port;
        this.listeners.push(listener);
      } catch (error) {
        const code = (error as NodeJS.ErrnoException).code ?? '';
        // A machine without IPv6 (or, on the virtual network, a host of the other family) runs on
        // the family it has. IPv4's port taken is fatal; IPv6's alone is worth a warning.
        const noFamily = NO_ADDRESS_FAMILY_CODES.has(code);
        if (!both || (bind === '0.0.0.0' && !noFamily) || (bind === '::' && this.listeners.length === 0)) throw error;
        if (noFamily) this.log('info', `listening on one address family only: ${bind} cannot be bound here (${code})`);
        else this.log('warn', `listening on one address family only: ${bind} port ${port} could not be bound (${(error as Error).message})`);
      }
    }
  }

  /** Binds TCP at `host:port`, then uTP at the same port number (which may fail alone: TCP suffices). */
  private async listen(host: string, port: number): Promise<Listener> {
    const tcp = await this.runtime.tcpListen({ host, port });
    tcp.onConnection((incoming) => this.accept(incoming, 'tcp'));
    const listener: Listener = { family: ipFamily(tcp.local.host) ?? (host.includes(':') ? 6 : 4), tcp };
    if (this.options.utp === false) return listener;
    try {
      listener.utp = await UtpSocket.bind(this.runtime, { host, port: tcp.local.port });
      listener.utp.onConnection((incoming) => this.accept(incoming, 'utp'));
    } catch (error) {
      this.log('warn', `uTP is off on ${host}: UDP port ${tcp.local.port} could not be bound (${(error as Error).message})`);
    }
    return listener;
  }

  /** Takes an incoming connection through its handshakes to the torrent it asks for. */
  private accept(incoming: TcpConnection, transport: PeerTransport): void {
    // Each handshake may cost a Diffie-Hellman exchange and holds a timer: a flood of connections
    // that never finish cannot pile up beyond the limit.
    if (this.handshaking >= MAX_INCOMING_HANDSHAKES) return incoming.close();
    this.handshaking++;
    const infoHashes = () => [...this.torrents.values()].flatMap((entry) => entry.torrent.swarmHashes);
    acceptPeer(this.runtime, incoming, infoHashes, this.encryption)
      .finally(() => this.handshaking--)
      .then(({ conn, remote, after, protection }) => {
        const entry = this.entryFor(remote.infoHash);
        if (!entry || this.closed) {
          conn.close();
          return;
        }
        conn.write(encodeHandshake(entry.torrent.handshake(toInfoHash(remote.infoHash))));
        entry.torrent.attach(new PeerConnection(conn, this.runtime, remote, false, after, protection, transport));
      })
      .catch((error: Error) => this.log('debug', `incoming connection dropped: ${error.message}`));
  }

  /**
   * Adds a torrent and starts it (checking existing data, then finding peers); resolves once the
   * check is done. `get()` and `list()` show the torrent from the moment `add` is called.
   */
  async add(options: AddTorrentOptions): Promise<Torrent> {
    const key = toHex(options.infoHash);
    const existing = this.torrents.get(key);
    if (existing) return existing.torrent;
    const torrent = new Torrent(
      {
        runtime: this.runtime,
        peerId: this.peerId,
        listenPort: (family) => this.announcedPort(family),
        log: (level, message) => this.log(level, message),
        // A lost hint is harmless (the DHT may be closing), so a failure is only logged.
        onDhtPort: (node) => void this.options.dht?.addNode(node).catch((error: Error) => this.log('debug', `DHT port hint dropped: ${error.message}`)),
        hasConnectionRoom: () => this.connectionCount() < (this.options.maxConnections ?? 200),
        hasher: this.hasher,
        encryption: this.encryption,
        utpFor: (to) => this.utpFor(to),
      },
      { infoHash: options.infoHash, infoHashV2: options.infoHashV2, infoBytes: options.infoBytes, pieceLayers: options.pieceLayers, dir: options.dir, resume: this.resumeStore, assumeComplete: options.assumeComplete, sequential: options.sequential, uploadLimit: options.uploadLimit, downloadLimit: options.downloadLimit, webSeeds: options.webSeeds, paused: options.paused, maxRequestsInFlight: options.maxRequestsInFlight, maxPieceMemory: options.maxPieceMemory, wantedFiles: options.wantedFiles },
    );
    const entry: Entry = { torrent, trackers: options.trackers ?? [] };
    this.torrents.set(key, entry);
    await torrent.start();
    if (options.peers) torrent.addPeers(options.peers);
    if (!options.paused) this.startDiscovery(entry);
    return torrent;
  }

  /** Pauses a torrent: its peers are disconnected and its trackers told it stopped. */
  async pause(infoHash: InfoHash): Promise<void> {
    const entry = this.torrents.get(toHex(infoHash));
    if (!entry) return;
    const discovery = entry.discovery;
    entry.discovery = undefined;
    await Promise.all([entry.torrent.pause(), discovery?.stop()]);
  }

  /** Resumes a paused (or failed) torrent: it connects to peers and announces again. */
  resume(infoHash: InfoHash): void {
    const entry = this.torrents.get(toHex(infoHash));
    if (!entry || this.closed) return;
    entry.torrent.resume();
    if (!entry.discovery) this.startDiscovery(entry);
  }

  /** Open peer connections over all torrents. */
  connectionCount(): number {
    let count = 0;
    for (const { torrent } of this.torrents.values()) count += torrent.links.size;
    return count;
  }

  get(infoHash: InfoHash): Torrent | undefined {
    return this.torrents.get(toHex(infoHash))?.torrent;
  }

  /** The torrent a peer's handshake names: by its infohash, or a hybrid by its truncated v2 one. */
  private entryFor(infoHash: Uint8Array): Entry | undefined {
    const hex = toHex(infoHash);
    const direct = this.torrents.get(hex);
    if (direct) return direct;
    for (const entry of this.torrents.values()) if (entry.torrent.swarmHashes.some((h) => toHex(h) === hex)) return entry;
    return undefined;
  }

  list(): Torrent[] {
    return [...this.torrents.values()].map((e) => e.torrent);
  }

  /** Stops a torrent and forgets it (its files stay). */
  async remove(infoHash: InfoHash): Promise<void> {
    const key = toHex(infoHash);
    const entry = this.torrents.get(key);
    if (!entry) return;
    this.torrents.delete(key);
    await Promise.all([entry.discovery?.stop(), entry.torrent.close()]);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const l of this.listeners) l.tcp.close();
    await Promise.all([...this.torrents.keys()].map((key) => this.remove(this.torrents.get(key)!.torrent.infoHash)));
    for (const l of this.listeners) l.utp?.close();
    this.hasher.close();
  }

  private startDiscovery(entry: Entry): void {
    entry.discovery = new PeerDiscovery(
      { runtime: this.runtime, dht: this.options.dht, listenPort: (family) => this.announcedPort(family), log: (l, m) => this.log(l, m) },
      entry.torrent,
      entry.trackers,
    );
    entry.discovery.start();
  }

  private log(level: 'debug' | 'info' | 'warn', message: string): void {
    this.options.log?.(level, message);
  }
}
