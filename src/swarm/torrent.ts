/**
 * One torrent: its peers, what to request from whom, verification and storage of pieces,
 * uploading, choking, and resume data. Peers come from outside (`addPeers`, incoming connections);
 * the session finds them (DHT, trackers, PEX). Time, sockets and files come from the runtime.
 *
 * Crash safety: a piece counts as had only after its hash matched and its data was written; resume
 * data is saved from a snapshot of the had set taken before the files are fsynced, so it never
 * names a piece that is not on disk.
 */
import type { IpFamily } from '../codec/ip.js';
import { isV2Only, parseInfoDict, pieceHash, pieceSize, type InfoDict } from '../codec/metainfo.js';
import { makeReserved, type Handshake } from '../codec/peer-wire.js';
import type { Endpoint, Runtime, Timer } from '../runtime/interfaces.js';
import { hostOfPeerKey, peerKey } from './peer-address.js';
import type { InfoHash } from '../dht/types.js';
import { toHex, toInfoHash } from '../dht/types.js';
import { Choker } from './choker.js';
import { SwarmError } from './errors.js';
import type { EncryptionPolicy } from './mse-handshake.js';
import { WebSeed, type WebSeedHost } from './web-seed.js';
import { MetadataFetcher } from './metadata-fetcher.js';
import type { UtpSocket } from '../utp/utp-socket.js';
import { dialPeer } from './peer-dialer.js';
import { chosenFileFlags, wantedPieceMask } from './file-selection.js';
import { checkPieces } from './piece-checker.js';
import { PeerConnection } from './peer-connection.js';
import { PeerCandidates } from './peer-candidates.js';
import { PeerLink } from './peer-link.js';
import { PieceAssembler } from './piece-assembler.js';
import { inlineHasher, type PieceCheck, type PieceHasher } from './piece-hasher.js';
import { PieceLayers } from './piece-layers.js';
import { torrentHashes } from './info-hashes.js';
import { blockHashes, HASH_SIZE, merkleRoot, type HashRequest } from './merkle.js';
import { idEquals } from '../kademlia/id.js';
import { BLOCK_SIZE, PiecePicker } from './piece-picker.js';
import { ResumeKeeper } from './resume-keeper.js';
import type { ResumeStore } from './resume.js';
import { SmartBan } from './smart-ban.js';
import { TorrentStorage } from './storage.js';
import { TransferLimiter } from './transfer-limiter.js';
import { UploadCache, type BlockOwner } from './upload-cache.js';
import type { PeerId } from './types.js';

const TICK_MS = 1000;
const CHOKE_EVERY_TICKS = 10;
const CONNECT_TIMEOUT_MS = 10_000;
const PIECE_CACHE = 16;
const UNCHOKE_SLOTS = 4;
/**
 * Bytes of whole pieces being hashed or written at which we stop asking peers for more, until the
 * disk catches up: without it a network faster than the disk piles pieces up in memory.
 */
const MAX_FINISHING_BYTES = 48 * 1024 * 1024;
/**
 * Bytes of piece buffers (pieces being filled, and whole pieces being hashed or written) at which
 * no new piece is begun: pieces already begun are still completed. With several fast peers, each
 * working on pieces of its own, the pieces being filled would otherwise take as much memory again
 * as the disk backlog.
 */
const MAX_PIECE_MEMORY = 64 * 1024 * 1024;

export type TorrentState = 'metadata' | 'checking' | 'downloading' | 'seeding' | 'paused' | 'error';

export interface TorrentOptions {
  infoHash: InfoHash;
  /** The info dictionary's bytes when known (from a .torrent); else fetched from peers (BEP 9). */
  infoBytes?: Uint8Array;
  /** BEP 52 piece layers of a v2 torrent (`Metainfo.pieceLayers`); missing ones are fetched from peers. */
  pieceLayers?: ReadonlyMap<string, Uint8Array>;
  /** The whole SHA-256 infohash of a v2 or hybrid torrent when known (a `urn:btmh:` magnet): metadata from peers must hash to it. */
  infoHashV2?: Uint8Array;
  /** Where the torrent's files live: `dir/name` (single file) or `dir/name/...`. */
  dir: string;
  /** Where resume data is kept; default nowhere. */
  resume?: ResumeStore;
  /** Pieces are known to be on disk already (we just hashed them to create the torrent). */
  assumeComplete?: boolean;
  sequential?: boolean;
  maxPeers?: number;
  /** Upload limit in bytes per second (default: none). */
  uploadLimit?: number;
  /** Download limit in bytes per second (requests wait for it; default none). */
  downloadLimit?: number;
  /** BEP 19 web seeds: URLs of HTTP servers holding the files. */
  webSeeds?: readonly string[];
  /** Start paused: existing data is still checked, but no peer is connected until `resume()`. */
  paused?: boolean;
  /**
   * Download only these files: indices into the torrent's files without BEP 47 padding files
   * (`selectableFiles`). Default: every file. See `Torrent.setWantedFiles`.
   */
  wantedFiles?: readonly number[];
  /**
   * Block requests in flight over all peers (default 3,072: 48 MiB). Each lives in a partial piece
   * buffer, so this bounds memory when several fast peers each want a deep queue; one peer's queue
   * (at most 2,000) never meets the default.
   */
  maxRequestsInFlight?: number;
  /** Bytes of piece buffers past which no new piece is begun (default `MAX_PIECE_MEMORY`, 64 MiB). */
  maxPieceMemory?: number;
}

export interface TorrentDeps {
  runtime: Runtime;
  peerId: PeerId;
  /** TCP port peers of `family` reach us at (sent in the extended handshake): for IPv4, the router's external port once mapped. */
  listenPort(family: IpFamily): number;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
  /** A peer told us its DHT port (BEP 5 `port` message). */
  onDhtPort?(node: Endpoint): void;
  /** Whether the session's overall connection limit leaves room for one more peer. */
  hasConnectionRoom(): boolean;
  /** Where pieces are hashed (default: inline, on the calling thread). */
  hasher?: PieceHasher;
  /** Protocol encryption for the connections this torrent opens (default `allow`: plain). */
  encryption?: EncryptionPolicy;
  /** The uTP socket to dial `to` over when TCP reaches no one: one of its address family (none: TCP only). */
  utpFor?(to: Endpoint): UtpSocket | undefined;
}

export type TorrentEvent =
  | { type: 'metadata' }
  | { type: 'state'; state: TorrentState }
  | { type: 'piece'; index: number }
  | { type: 'complete' }
  | { type: 'error'; error: Error }
  | { type: 'banned'; peer: string; reason: string };

export interface PeerStats {
  /** `host:port`, an IPv6 host in brackets (see `peerKey`); a web seed's URL. */
  address: string;
  client: string;
  downloadRate: number;
  uploadRate: number;
  flags: string;
}

export interface TorrentStats {
  infoHash: string;
  /** BEP 52: the whole SHA-256 infohash (hex) of a v2 or hybrid torrent, once its metadata is known. */
  infoHashV2?: string;
  name?: string;
  /** The state, except that a paused torrent checking its data says `checking` (see `paused`). */
  state: TorrentState;
  /** Paused by the user (also while its data is still being checked). */
  paused: boolean;
  error?: string;
  pieceCount: number;
  piecesHad: number;
  totalLength: number;
  bytesHad: number;
  /** Bytes of the pieces to download: `totalLength` unless only some files are wanted. */
  wantedLength: number;
  /** Bytes of wanted pieces not verified yet (what trackers are told is left). */
  bytesLeft: number;
  downloaded: number;
  uploaded: number;
  downloadRate: number;
  uploadRate: number;
  peers: PeerStats[];
}

export class Torrent {
  state: TorrentState = 'metadata';
  error?: Error;
  info?: InfoDict;
  infoBytes?: Uint8Array;
  picker?: PiecePicker;
  storage?: TorrentStorage;
  /** The piece layers of a v2-only torrent (BEP 52); undefined for v1 and hybrid torrents, checked by SHA-1. */
  layers?: PieceLayers;
  /** BEP 52: the SHA-256 of the info dictionary of a v2 or hybrid torrent. */
  infoHashV2?: Uint8Array;
  readonly links = new Map<string, PeerLink>();
  /** Web seeds by key (made once the metadata is known). */
  private readonly webSeeds = new Map<string, WebSeed>();
  private readonly smartBan = new SmartBan();
  private assembler?: PieceAssembler;
  private readonly metadata: MetadataFetcher;
  private readonly choker: Choker;
  private readonly candidates: PeerCandidates;
  private readonly listeners = new Set<(event: TorrentEvent) => void>();
  /** Pieces read for uploading (the most recent `PIECE_CACHE`), in reused buffers; made with the metadata. */
  private uploads?: UploadCache;
  private readonly uploadLimiter?: TransferLimiter;
  /** Gates our requests when a download limit is set (`PeerLink.fillRequests`). */
  readonly downloadLimiter?: TransferLimiter;
  /** Verified pieces whose write failed, kept to be written when the torrent resumes. */
  private readonly unwritten = new Map<number, Uint8Array>();
  private tick?: Timer;
  private ticks = 0;
  private resumeKeeper?: ResumeKeeper;
  private closed = false;
  /** Whether the data on disk is being checked (which a pause does not stop). */
  private checking = false;
  private downloadedTotal = 0;
  /** The files to download (see `TorrentOptions.wantedFiles`); undefined for all. */
  private chosenFiles?: readonly number[];
  /** Metadata from peers refused for a choice of files naming no file, kept for `resume()` (and to check new choices). */
  private refused?: { bytes: Uint8Array; info: InfoDict };
  /** The wanted pieces are all had and `finish` is writing that down. */
  private finishing = false;
  /** Bytes of complete pieces being hashed or written (see `MAX_FINISHING_BYTES`). */
  private finishingBytes = 0;
  private uploadedTotal = 0;

  constructor(
    readonly deps: TorrentDeps,
    readonly options: TorrentOptions,
  ) {
    this.metadata = new MetadataFetcher(options.infoHash, () => deps.runtime.now(), options.infoHashV2);
    this.candidates = new PeerCandidates(() => deps.runtime.now());
    this.choker = new Choker({ slots: UNCHOKE_SLOTS, random: () => deps.runtime.random() });
    if (options.uploadLimit) this.uploadLimiter = new TransferLimiter(deps.runtime, options.uploadLimit);
    if (options.downloadLimit) this.downloadLimiter = new TransferLimiter(deps.runtime, options.downloadLimit);
    this.chosenFiles = options.wantedFiles && [...options.wantedFiles];
  }

  get infoHash(): InfoHash {
    return this.options.infoHash;
  }

  get maxPeers(): number {
    return this.options.maxPeers ?? 50;
  }

  on(listener: (event: TorrentEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * The hashes peers may know this torrent by: its infohash, and for a hybrid torrent also its v2
   * infohash cut to 20 bytes (libtorrent announces hybrids under both, and a peer that found us by
   * the v2 one handshakes with it).
   */
  get swarmHashes(): InfoHash[] {
    const v2 = this.infoHashV2 && this.info?.pieces ? toInfoHash(this.infoHashV2.subarray(0, 20)) : undefined;
    return v2 ? [this.infoHash, v2] : [this.infoHash];
  }

  /** Our handshake for this torrent, naming it by `infoHash` (one of `swarmHashes`: the one the peer used). */
  handshake(infoHash: InfoHash = this.infoHash): Handshake {
    return { reserved: makeReserved({ extensions: true, fast: true, dht: true, v2: true }), infoHash, peerId: this.deps.peerId };
  }

  async start(): Promise<void> {
    if (this.options.paused) this.setState('paused');
    if (this.options.infoBytes) await this.useMetadata(this.options.infoBytes);
    this.scheduleTick();
  }

  /** Adds peer addresses to try (from any source). */
  addPeers(endpoints: Iterable<Endpoint>): void {
    for (const endpoint of endpoints) this.candidates.add(endpoint);
    this.connectMore();
  }

  /** Takes a connection whose handshakes are done (incoming, or opened by us). */
  attach(conn: PeerConnection): void {
    const key = peerKey(conn.address);
    if (this.closed || this.state === 'paused' || this.state === 'error') {
      conn.close('torrent not active');
      return;
    }
    if (this.candidates.isBanned(conn.address.host)) {
      conn.close('banned');
      return;
    }
    if (this.links.has(key) || this.links.size >= this.maxPeers || !this.deps.hasConnectionRoom()) {
      conn.close(this.links.has(key) ? 'duplicate connection' : 'too many peers');
      return;
    }
    const link = new PeerLink(this, conn, key);
    this.links.set(key, link);
    link.start();
  }

  /** Called by a link when its connection ended. */
  linkClosed(link: PeerLink, reason: string): void {
    if (this.links.get(link.key) === link) this.links.delete(link.key);
    this.deps.log('debug', `peer disconnected: ${reason}`);
    this.connectMore();
  }

  /** Bans a peer's address for the torrent's lifetime and disconnects it. */
  ban(key: string, reason: string): void {
    const webSeed = this.webSeeds.get(key);
    if (webSeed) {
      if (!webSeed.ban()) return;
      this.emit({ type: 'banned', peer: key, reason });
      this.deps.log('info', `banned web seed ${webSeed.url}: ${reason}`);
      return;
    }
    const link = this.links.get(key);
    const host = link?.conn.address.host ?? hostOfPeerKey(key);
    this.candidates.ban(host);
    link?.conn.close(`banned: ${reason}`);
    this.emit({ type: 'banned', peer: key, reason });
    this.deps.log('info', `banned a peer: ${reason}`);
  }

  /** BEP 9: the size a peer announced, and its pieces. */
  metadataFetcher(): MetadataFetcher | undefined {
    return this.info ? undefined : this.metadata;
  }

  async metadataArrived(infoBytes: Uint8Array): Promise<void> {
    if (this.info) return;
    try {
      await this.useMetadata(infoBytes);
      for (const link of this.links.values()) link.metadataReady();
    } catch (error) {
      if (error instanceof SwarmError && error.code === 'FILE_INDEX') this.refused = { bytes: infoBytes, info: parseInfoDict(infoBytes) };
      this.fail(error as Error);
    }
  }

  /** A block from the peer or web seed `key`: assemble, and verify and store the piece when it is whole. */
  blockArrived(key: string, index: number, begin: number, block: Uint8Array): void {
    const picker = this.picker!;
    const { duplicates, pieceComplete, wanted } = picker.blockReceived(key, { index, begin, length: block.length });
    this.downloadedTotal += block.length;
    if (!wanted) return;
    this.assembler!.add(index, begin, block, key);
    for (const other of duplicates) this.links.get(other)?.cancel({ index, begin, length: block.length });
    if (pieceComplete) void this.finishPiece(index);
  }

  get maxRequestsInFlight(): number {
    return this.options.maxRequestsInFlight ?? 3072;
  }

  /** Our requests in flight over all peers. */
  outstandingRequests(): number {
    const picker = this.picker;
    if (!picker) return 0;
    let count = 0;
    for (const key of this.links.keys()) count += picker.outstanding(key);
    for (const key of this.webSeeds.keys()) count += picker.outstanding(key);
    return count;
  }

  /** Whether blocks may be requested: a v2 torrent first needs the piece layer of every wanted file, to check what arrives. */
  get hashesKnown(): boolean {
    return this.layers?.complete ?? true;
  }

  /** How piece `index` is checked: SHA-1 from the info dictionary, or BEP 52's merkle hash. */
  pieceCheck(index: number): PieceCheck | undefined {
    if (this.layers) return this.layers.check(index);
    return { how: { kind: 'sha1' }, digest: pieceHash(this.info!, index) };
  }

  /** A peer's `hashes` answer (BEP 52). False when they did not prove out: the peer lied. */
  hashesArrived(key: string, request: HashRequest, hashes: Uint8Array): boolean {
    const layers = this.layers;
    if (!layers) return true;
    const result = layers.received(key, request, hashes);
    if (result === 'verified' && layers.complete) {
      this.resumeKeeper?.markDirty();
      this.deps.log('debug', 'the piece layers of the wanted files are known; downloading');
      this.requestMore();
    }
    return result !== 'bad';
  }

  /**
   * Our answer to a peer's request for the block hashes of a piece we have (BEP 52; libtorrent asks
   * after a piece failed, to find the bad block): read from disk, hashed, and checked against the
   * piece's hash before it is sent. Undefined to reject it.
   */
  async blockHashes(request: HashRequest): Promise<Uint8Array | undefined> {
    const plan = this.layers?.blockRequest(request);
    const check = plan && this.picker?.has(plan.piece) ? this.pieceCheck(plan.piece) : undefined;
    if (!plan || check?.how.kind !== 'merkle') return undefined;
    const data = await this.storage!.readPiece(plan.piece);
    const leaves = new Uint8Array(request.length * HASH_SIZE); // past the file's end: zero leaves
    leaves.set(blockHashes(data.subarray(0, check.how.length)));
    if (!idEquals(merkleRoot(leaves, request.length, new Uint8Array(HASH_SIZE)), check.digest)) return undefined; // our copy changed on disk
    const answer = new Uint8Array(leaves.length + plan.uncles.length);
    answer.set(leaves);
    answer.set(plan.uncles, leaves.length);
    return answer;
  }

  /** Too many complete pieces wait for hashing or writing: requests wait for the disk. */
  get backlogged(): boolean {
    return this.finishingBytes >= MAX_FINISHING_BYTES;
  }

  /** Piece buffers hold `MAX_PIECE_MEMORY`: requests go to pieces already begun only. */
  get pieceMemoryFull(): boolean {
    return this.finishingBytes + (this.assembler?.bufferedBytes ?? 0) >= (this.options.maxPieceMemory ?? MAX_PIECE_MEMORY);
  }

  private async finishPiece(index: number): Promise<void> {
    const size = pieceSize(this.info!, index);
    this.finishingBytes += size;
    try {
      await this.completePiece(index);
    } finally {
      const waiting = this.backlogged || this.pieceMemoryFull;
      this.finishingBytes -= size;
      if (waiting && !this.backlogged && !this.pieceMemoryFull && !this.closed) this.requestMore();
    }
  }

  /**
   * Sends a block at once when its piece is in the upload cache and no upload limit applies, and
   * says whether it did (else use `uploadBlock`). The common case of a busy upload: no promise.
   */
  uploadCached(conn: PeerConnection, index: number, begin: number, length: number): boolean {
    if (this.uploadLimiter) return false;
    const piece = this.uploads?.ready(index);
    if (!piece) return false;
    this.uploadedTotal += length;
    conn.sendPiece(index, begin, piece.hold().block(begin, length), piece);
    return true;
  }

  /**
   * A block for uploading, read through a small cache of whole pieces. The caller must pass
   * `owner` to `PeerConnection.sendPiece` or call `owner.release()`: until then the piece's
   * buffer is not reused.
   */
  async uploadBlock(index: number, begin: number, length: number): Promise<{ block: Uint8Array; owner: BlockOwner }> {
    this.uploads ??= new UploadCache(
      (i, into) =>
        this.storage!.readPiece(i, into).catch((error: Error) => {
          // Our data vanished or became unreadable: stop with the reason rather than keep failing peers.
          if (this.state !== 'error') this.fail(error);
          throw error;
        }),
      // The same pool as the downloads': one torrent keeps at most one pool's worth of idle buffers.
      this.assembler!.buffers,
      PIECE_CACHE,
    );
    const piece = this.uploads.acquire(index, pieceSize(this.info!, index));
    try {
      await piece.loaded;
      await this.uploadLimiter?.take(length);
    } catch (error) {
      piece.release();
      throw error;
    }
    this.uploadedTotal += length;
    return { block: piece.block(begin, length), owner: piece };
  }

  /** Reads a block for uploading (a copy the caller may keep), through the upload cache. */
  async readBlock(index: number, begin: number, length: number): Promise<Uint8Array> {
    const { block, owner } = await this.uploadBlock(index, begin, length);
    const copy = block.slice();
    owner.release();
    return copy;
  }

  /** Pauses (disconnecting every peer) or resumes. Verified pieces are kept either way. */
  async pause(): Promise<void> {
    if (this.state === 'paused') return;
    this.setState('paused');
    for (const link of [...this.links.values()]) link.conn.close('paused');
    for (const webSeed of this.webSeeds.values()) webSeed.stop();
    await this.resumeKeeper?.save();
  }

  resume(): void {
    if (this.state !== 'paused' && this.state !== 'error') return;
    this.error = undefined;
    // Resumed while its data is still being checked: the check's end moves it on (no downloading before).
    this.setState(!this.info ? 'metadata' : this.checking ? 'checking' : this.picker!.done ? 'seeding' : 'downloading');
    const unwritten = [...this.unwritten];
    this.unwritten.clear();
    for (const [index, data] of unwritten) void this.storePiece(index, data);
    this.candidates.resetBackoff();
    this.connectMore();
    // Metadata refused for a choice of files naming no file: try it again, with the choice as it is now.
    const refused = this.refused;
    this.refused = undefined;
    if (refused && !this.info) void this.metadataArrived(refused.bytes);
  }

  /**
   * Checks every piece on disk again, as libtorrent's force recheck and Transmission's verify do:
   * peers are disconnected, every piece counts as missing until it hashes right, and the torrent
   * then goes on from what is there (seeding, or downloading what failed). A torrent stopped by an
   * error (a vanished file put back, say) is checked too and runs again. The returned promise
   * resolves when the check is done. Throws `SwarmError` 'STATE' at once, before the metadata is
   * known or while a check runs.
   */
  recheck(): Promise<void> {
    const { info, picker, storage } = this;
    if (!info || !picker || !storage) throw new SwarmError('STATE', 'the metadata is not known yet: there is no data to check');
    if (this.checking) throw new SwarmError('STATE', 'the data is being checked already');
    if (this.closed) return Promise.resolve();
    this.checking = true;
    return this.checkAgain(info, picker, storage);
  }

  private async checkAgain(info: InfoDict, picker: PiecePicker, storage: TorrentStorage): Promise<void> {
    const wasDone = picker.done;
    if (this.state === 'error') {
      // Verified pieces that could not be written are dropped: the check finds what is really there.
      this.error = undefined;
      for (const data of this.unwritten.values()) this.assembler!.buffers.give(data);
      this.unwritten.clear();
      this.setState('checking');
    } else this.setRunningState('checking');
    for (const link of [...this.links.values()]) link.conn.close('checking the data again');
    for (const webSeed of this.webSeeds.values()) webSeed.stop();
    try {
      await this.piecesSettled();
      await storage.close(); // open handles would still read files deleted or replaced since
      for (let i = 0; i < info.pieceCount; i++) picker.setMissing(i);
      const good = (i: number): void => {
        picker.setHave(i);
        this.assembler!.drop(i); // blocks gathered for it before are not needed
        this.broadcastHave(i);
      };
      const all = Array.from({ length: info.pieceCount }, (_, i) => i);
      await checkPieces({ info, storage, hasher: this.deps.hasher ?? inlineHasher, check: (i) => this.pieceCheck(i), good, stopped: () => this.closed }, all);
    } catch (error) {
      this.checking = false;
      return this.fail(error as Error);
    }
    this.checking = false;
    if (this.closed) return;
    this.resumeKeeper!.markDirty();
    await this.resumeKeeper!.save();
    this.setRunningState(picker.done ? 'seeding' : 'downloading');
    if (picker.done && !wasDone && this.state === 'seeding') this.emit({ type: 'complete' });
    for (const webSeed of this.webSeeds.values()) webSeed.fill();
    this.connectMore();
  }

  /** Resolves once no finished piece is still being hashed or written. */
  private async piecesSettled(): Promise<void> {
    while (this.finishingBytes > 0 && !this.closed) await new Promise<void>((resolve) => this.deps.runtime.setTimer(20, resolve));
  }

  stats(): TorrentStats {
    const info = this.info;
    let downloadRate = 0;
    let uploadRate = 0;
    const peers: PeerStats[] = [];
    for (const link of this.links.values()) {
      downloadRate += link.conn.download.rate;
      uploadRate += link.conn.upload.rate;
      peers.push(link.stats());
    }
    for (const webSeed of this.state === 'downloading' ? this.webSeeds.values() : []) {
      downloadRate += webSeed.download.rate;
      peers.push(webSeed.stats());
    }
    const picker = this.picker;
    const had = picker?.haveCount ?? 0;
    let bytesHad = 0;
    let wantedLength = 0;
    let bytesLeft = 0;
    if (info && picker) {
      // Every piece is pieceLength long but the last, which is `short` bytes shorter.
      const last = info.pieceCount - 1;
      const short = info.pieceLength - pieceSize(info, last);
      bytesHad = had * info.pieceLength - (picker.has(last) ? short : 0);
      wantedLength = picker.wantedCount * info.pieceLength - (picker.isWanted(last) ? short : 0);
      bytesLeft = picker.wantedMissingCount * info.pieceLength - (picker.isWanted(last) && !picker.has(last) ? short : 0);
    }
    return {
      infoHash: toHex(this.infoHash),
      ...(this.infoHashV2 && { infoHashV2: toHex(this.infoHashV2) }),
      name: info?.name,
      state: this.checking && this.state === 'paused' ? 'checking' : this.state,
      paused: this.state === 'paused',
      error: this.error?.message,
      pieceCount: info?.pieceCount ?? 0,
      piecesHad: had,
      totalLength: info?.totalLength ?? 0,
      bytesHad,
      wantedLength,
      bytesLeft,
      downloaded: this.downloadedTotal,
      uploaded: this.uploadedTotal,
      downloadRate,
      uploadRate,
      peers,
    };
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.tick?.cancel();
    for (const link of [...this.links.values()]) link.conn.close('shutting down');
    for (const webSeed of this.webSeeds.values()) webSeed.stop();
    await this.resumeKeeper?.save();
    await this.storage?.close();
  }

  /** Tells every peer that we now have piece `index`. */
  private broadcastHave(index: number): void {
    for (const link of this.links.values()) link.have(index);
  }

  // ---------------------------------------------------------------------------------------------

  private async useMetadata(infoBytes: Uint8Array): Promise<void> {
    const info = parseInfoDict(infoBytes);
    // A choice naming no file stops the torrent here, before anything is set up.
    const wanted = this.chosenFiles && wantedPieceMask(info, this.chosenFiles);
    this.info = info;
    this.infoBytes = infoBytes;
    this.infoHashV2 = torrentHashes(infoBytes, info).infoHashV2;
    this.storage = new TorrentStorage(this.deps.runtime.fs, info, this.options.dir);
    if (isV2Only(info)) {
      const layers = new PieceLayers(info, () => this.deps.runtime.now());
      for (const [root, layer] of this.options.pieceLayers ?? []) {
        if (!layers.add(root, layer)) this.deps.log('warn', `the piece layer for file root ${root} does not match it; asking peers instead`);
      }
      this.layers = layers;
    }
    this.assembler = new PieceAssembler(info, this.deps.hasher ?? inlineHasher, (i) => this.pieceCheck(i));
    this.picker = new PiecePicker({
      pieceCount: info.pieceCount,
      pieceLength: info.pieceLength,
      totalLength: info.totalLength,
      random: () => this.deps.runtime.random(),
    });
    if (wanted) {
      this.picker.setWanted(wanted);
      this.layers?.setWantedPieces(wanted);
    }
    this.emit({ type: 'metadata' });
    this.checking = true;
    this.setRunningState('checking');
    this.resumeKeeper = new ResumeKeeper(
      { fs: this.deps.runtime.fs, now: () => this.deps.runtime.now(), warn: (m) => this.deps.log('warn', m), hasher: this.deps.hasher ?? inlineHasher },
      this.options.resume,
      toHex(this.infoHash),
      info,
      this.storage,
      (i) => this.picker!.has(i),
      (i) => this.pieceCheck(i),
      this.layers,
    );
    try {
      await this.resumeKeeper.restore(this.options.assumeComplete === true, (i) => this.picker!.setHave(i), () => this.closed);
    } finally {
      this.checking = false;
    }
    if (this.closed) return;
    // Made even when done: choosing more files later sets a finished torrent downloading again.
    for (const url of new Set(this.options.webSeeds ?? [])) {
      const webSeed = new WebSeed(this.webSeedHost(), url);
      this.webSeeds.set(webSeed.key, webSeed);
    }
    this.setRunningState(this.picker.done ? 'seeding' : 'downloading');
    if (this.picker.done) return void this.emit({ type: 'complete' });
    for (const webSeed of this.webSeeds.values()) webSeed.fill();
  }

  /** What the web seeds see of this torrent. */
  private webSeedHost(): WebSeedHost {
    return {
      runtime: this.deps.runtime,
      info: this.info!,
      picker: this.picker!,
      wantsBlocks: () => this.state === 'downloading' && !this.backlogged && this.hashesKnown && !this.closed,
      acceptsBlocks: () => this.state === 'downloading' && !this.closed,
      requestRoom: () => this.maxRequestsInFlight - this.outstandingRequests(),
      downloadLimiter: this.downloadLimiter,
      blockArrived: (key, index, begin, block) => this.blockArrived(key, index, begin, block),
      log: (level, message) => this.deps.log(level, message),
    };
  }

  /** Asks every peer and web seed for more blocks (after something held requests back). */
  private requestMore(): void {
    for (const link of this.links.values()) link.fillRequests();
    for (const webSeed of this.webSeeds.values()) webSeed.fill();
  }

  private async completePiece(index: number): Promise<void> {
    const picker = this.picker!;
    let piece;
    try {
      piece = await this.assembler!.finish(index);
    } catch (error) {
      picker.pieceFailed(index); // the data was lost with the hashing thread; nobody is to blame
      this.deps.log('warn', `hashing piece ${index} failed (${(error as Error).message}); fetching it again`);
      return;
    }
    if (!piece || this.closed) return;
    if (!piece.valid) {
      picker.pieceFailed(index);
      const guilty = this.smartBan.pieceFailed(index, piece.data, piece.senders);
      this.assembler!.buffers.give(piece.data);
      for (const key of guilty) this.ban(key, `sent piece ${index} that failed its hash check`);
      this.deps.log('info', `piece ${index} failed its hash check; fetching it again`);
      this.requestMore();
      return;
    }
    await this.storePiece(index, piece.data);
  }

  /**
   * Writes a verified piece and only then counts it as had. When the write fails (disk full, no
   * permission) the torrent stops, and the verified data is kept in memory to be written on `resume()`.
   */
  private async storePiece(index: number, data: Uint8Array): Promise<void> {
    const picker = this.picker!;
    try {
      await this.storage!.writePiece(index, data);
    } catch (error) {
      this.unwritten.set(index, data);
      this.fail(error as Error);
      return;
    }
    if (this.closed) return;
    picker.pieceVerified(index);
    const guilty = this.smartBan.pieceVerified(index, data, BLOCK_SIZE);
    this.assembler!.buffers.give(data); // written and checked: the buffer can hold another piece
    for (const key of guilty) this.ban(key, `sent bad data for piece ${index}`);
    this.resumeKeeper!.markDirty();
    this.broadcastHave(index);
    this.emit({ type: 'piece', index });
    if (picker.done && this.state === 'downloading') await this.finish();
  }

  /**
   * Every wanted piece is had: the chosen empty files are made, resume data saved, and the torrent
   * seeds what it has (all of it, or the pieces of the chosen files).
   */
  private async finish(): Promise<void> {
    if (this.finishing) return;
    this.finishing = true;
    try {
      this.assembler!.buffers.clear();
      const chosen = chosenFileFlags(this.info!, this.chosenFiles);
      await this.storage!.createEmptyFiles((i) => chosen[i]!);
      await this.resumeKeeper?.save();
    } finally {
      this.finishing = false;
    }
    if (this.closed || !this.picker!.done || this.state !== 'downloading') return;
    this.setState('seeding');
    for (const link of [...this.links.values()]) link.becameSeed();
    this.emit({ type: 'complete' });
  }

  /** The files being downloaded: indices into `selectableFiles(info)`, or undefined for every file. */
  get wantedFiles(): readonly number[] | undefined {
    return this.chosenFiles;
  }

  /**
   * Downloads only these files (indices into `selectableFiles(info)`), or every file when
   * `files` is undefined. Before the metadata is known the choice is kept for it (metadata that
   * arrives with a choice naming no file stops the torrent with that reason; `resume()` then tries
   * the new choice). A seeding torrent given more files goes back to downloading; a downloading one
   * left with nothing to fetch finishes. Throws `SwarmError` 'FILE_INDEX' for an index that names
   * no file (nothing changes).
   */
  setWantedFiles(files: readonly number[] | undefined): void {
    const info = this.info ?? this.refused?.info;
    const mask = info && (files ? wantedPieceMask(info, files) : new Uint8Array(info.pieceCount).fill(1));
    const picker = this.picker;
    if (mask && picker) {
      picker.setWanted(mask);
      this.layers?.setWantedPieces(mask);
    }
    this.chosenFiles = files && [...files];
    if (!picker || this.checking) return; // the end of the check sets the state from the new choice
    if (this.state === 'seeding' && !picker.done) {
      this.setState('downloading');
      for (const link of this.links.values()) {
        link.tellUploadOnly(false);
        link.updateInterest();
      }
      for (const webSeed of this.webSeeds.values()) webSeed.fill();
      this.connectMore();
    } else if (this.state === 'downloading') {
      for (const link of this.links.values()) link.updateInterest();
      if (picker.done) void this.finish();
    }
  }

  private fail(error: Error): void {
    this.error = error;
    this.setState('error');
    // Reported by the 'error' event (the commands print it, the node logs it): only noted here.
    this.deps.log('info', `torrent ${toHex(this.infoHash)} stopped: ${error.message}`);
    for (const link of [...this.links.values()]) link.conn.close(`torrent error: ${error.message}`);
    this.emit({ type: 'error', error });
  }

  /** Moves to a state of a running torrent, unless the torrent is paused (or stopped by an error). */
  private setRunningState(state: TorrentState): void {
    if (this.state !== 'paused' && this.state !== 'error') this.setState(state);
  }

  private setState(state: TorrentState): void {
    if (this.state === state) return;
    this.state = state;
    this.emit({ type: 'state', state });
  }

  private emit(event: TorrentEvent): void {
    for (const listener of this.listeners) listener(event);
  }

  private scheduleTick(): void {
    this.tick = this.deps.runtime.setTimer(TICK_MS, () => {
      if (this.closed) return;
      this.ticks++;
      for (const link of this.links.values()) link.onTick();
      for (const webSeed of this.webSeeds.values()) webSeed.fill();
      if (this.ticks % CHOKE_EVERY_TICKS === 0) this.rechoke();
      this.connectMore();
      this.resumeKeeper?.tick();
      this.scheduleTick();
    });
  }

  /** A peer became interested: unchoke it at once when there is a free slot, else wait for the next round. */
  rechokeIfIdle(link: PeerLink): void {
    let unchoked = 0;
    for (const other of this.links.values()) if (!other.conn.amChoking) unchoked++;
    if (unchoked < UNCHOKE_SLOTS + 1) link.setChoked(false);
  }

  /** Runs the choker and sends the choke/unchoke changes. */
  rechoke(): void {
    const links = [...this.links.values()];
    const decision = this.choker.decide(
      links.map((l) => l.chokerView()),
      this.state === 'seeding',
    );
    for (const link of links) {
      const unchoke = decision.unchoke.has(link.key) || decision.optimistic === link.key;
      link.setChoked(!unchoke);
    }
  }

  /** Opens connections to candidates while below the peer limit. */
  private connectMore(): void {
    if (this.closed || this.state === 'paused' || this.state === 'error') return;
    if (this.state === 'seeding') return; // seeds wait to be contacted
    if (!this.deps.hasConnectionRoom()) return;
    const room = this.maxPeers - this.links.size - this.candidates.dialingCount;
    for (const { key, endpoint } of this.candidates.takeDialable(room, (k) => this.links.has(k))) {
      dialPeer(this.deps.runtime, this.deps.utpFor?.(endpoint), endpoint, this.handshake(), CONNECT_TIMEOUT_MS, this.deps.encryption ?? 'allow')
        .then((opened) => {
          this.candidates.dialed(key, true);
          this.attach(new PeerConnection(opened.conn, this.deps.runtime, opened.remote, true, opened.after, opened.protection, opened.transport));
        })
        .catch((error: Error) => {
          this.candidates.dialed(key, false);
          this.deps.log('debug', `connecting to a peer failed: ${error.message}`);
        });
    }
  }

}

