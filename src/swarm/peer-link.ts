/**
 * The protocol between one torrent and one peer: what we tell it we have, what we ask it for and
 * how many requests we keep in flight (sized to its rate), what we upload to it, and the BEP 6
 * fast extension, BEP 9 metadata and BEP 11 peer exchange over BEP 10. A peer that breaks the
 * protocol (a bad index, an oversized request, a flood of requests) is disconnected with a reason.
 */
import {
  decodeExtendedHandshake,
  decodeMetadataMessage,
  decodePex,
  encodeExtendedHandshake,
  encodeMetadataMessage,
  encodePex,
  EXTENDED_HANDSHAKE_ID,
  METADATA_PIECE_SIZE,
  PEX_ENCRYPTION,
  PEX_REACHABLE,
  PEX_SEED,
  PEX_UTP,
} from '../codec/peer-extensions.js';
import { pieceSize } from '../codec/metainfo.js';
import { RESERVED, type PeerMessage } from '../codec/peer-wire.js';
import { ipFamily, parseIpv4, parseIpv6 } from '../codec/ip.js';
import { peerKey } from './peer-address.js';
import type { Endpoint } from '../runtime/interfaces.js';
import type { ChokerPeer } from './choker.js';
import type { PeerConnection } from './peer-connection.js';
import { bitfieldOf, popcount8 } from './piece-geometry.js';
import { BLOCK_SIZE, type Block } from './piece-picker.js';
import type { Torrent, PeerStats } from './torrent.js';

/** Our ids for the extensions we support (the peer sends them to us under these). */
/** ut_metadata (BEP 9), ut_pex (BEP 11), and libtorrent's upload_only: BEP 21's flag, sent again when it changes. */
const OUR_EXTENSIONS = { ut_metadata: 1, ut_pex: 2, upload_only: 3 } as const;
const CLIENT_NAME = 'warren/0.1';
const MAX_REQUEST_LENGTH = 128 * 1024;
/** Requests we accept queued from one peer before refusing more. */
const MAX_PEER_REQUESTS = 2000;
const MIN_QUEUE = 16;
/**
 * Requests are refilled only once this many slots are free (or a quarter of the queue, for short
 * queues): each write of requests wakes the peer and costs a system call on both sides, so a fast
 * peer gets them in batches of up to 2 MiB worth rather than 256 KiB.
 */
const REFILL_BATCH = 128;
const MAX_QUEUE = 2000;
/** Seconds of data to keep requested from a peer (request pipelining). */
const QUEUE_SECONDS = 1.5;
const SNUB_MS = 30_000;
const PEX_EVERY_TICKS = 60;
/** BEP 52 hash requests in flight to one peer (each asks for up to 512 piece hashes). */
const MAX_HASH_REQUESTS = 4;
/**
 * BEP 52 hash requests of one peer answered per second, and the most hashes one may ask for (BEP
 * 52: "should not be greater than 512"). A 49-byte request can ask for 16 KiB of answer: past
 * these, requests get `hash-reject`, so a peer that asks without reading cannot fill our memory.
 */
const HASH_ANSWERS_PER_SECOND = 64;
const MAX_HASHES_ANSWERED = 512;
/**
 * Requests for a piece's block hashes waiting for their answer: each costs a piece read from disk
 * and hashed, so they are answered one at a time; past this many waiting, `hash-reject`.
 */
const MAX_BLOCK_HASH_REQUESTS = 16;

export class PeerLink {
  private readonly fast: boolean;
  private readonly extended: boolean;
  private remoteExtensions: Record<string, number> = {};
  private clientName = '';
  private remoteQueueLimit = 250;
  private remoteListenPort?: number;
  /** Availability that arrived before we had the metadata. */
  private early: PeerMessage[] = [];
  private peerPieces = 0;
  private peerHasAll = false;
  /** The peer said it downloads nothing: BEP 21 `upload_only` in its extended handshake, or libtorrent's message since. */
  private peerUploadOnly = false;
  private readonly allowedFast = new Set<number>();
  private uploadsPending = 0;
  private readonly cancelled = new Set<number>();
  private lastBlockAt: number;
  private snubbed = false;
  private ticks = 0;
  /** Hash requests answered since the last tick (see `HASH_ANSWERS_PER_SECOND`). */
  private hashAnswers = 0;
  /** Block-hash requests of this peer waiting, and the chain that answers them in turn. */
  private blockHashesWaiting = 0;
  private blockHashAnswers: Promise<void> = Promise.resolve();
  /** Peers we told this peer about (BEP 11), by endpoint key. */
  private readonly pexSent = new Map<string, Endpoint>();

  constructor(
    private readonly torrent: Torrent,
    readonly conn: PeerConnection,
    readonly key: string,
  ) {
    this.fast = RESERVED.fast(conn.remote.reserved);
    this.extended = RESERVED.extensionProtocol(conn.remote.reserved);
    this.lastBlockAt = torrent.deps.runtime.now();
  }

  start(): void {
    // Our handshake and availability go first: the peer's early messages, replayed on attach, may make us send requests.
    if (this.extended) this.sendExtendedHandshake();
    this.sendAvailability();
    this.conn.attach({
      onMessage: (message) => this.onMessage(message),
      onClose: (reason) => this.onClose(reason),
    });
  }

  /** The metadata just arrived (magnet): replay the peer's availability into the new picker. */
  metadataReady(): void {
    const early = this.early;
    this.early = [];
    for (const message of early) this.onMessage(message);
    this.updateInterest();
  }

  /** Tells the peer we have a new piece (not needed by seeds, which have everything). */
  have(index: number): void {
    if (!this.peerHasAll && this.peerPieces < (this.torrent.info?.pieceCount ?? 0)) this.conn.send({ type: 'have', index });
  }

  /** Cancels a request of ours the picker has just forgotten (another peer delivered the block). */
  cancel(block: Block): void {
    this.conn.send({ type: 'cancel', ...block });
  }

  /** We have every wanted piece: we need nothing more, and a peer that wants nothing has nothing to get from us. */
  becameSeed(): void {
    if (this.closeIfUseless()) return;
    this.tellUploadOnly(true);
    if (this.conn.amInterested) this.conn.send({ type: 'not-interested' });
  }

  /** Tells the peer whether we want nothing more, when it takes libtorrent's `upload_only` message (one byte, 1 or 0). */
  tellUploadOnly(uploadOnly: boolean): void {
    const id = this.remoteExtensions.upload_only;
    if (id) this.conn.send({ type: 'extended', id, payload: Uint8Array.of(uploadOnly ? 1 : 0) });
  }

  setChoked(choked: boolean): void {
    if (choked === this.conn.amChoking) return;
    this.conn.send({ type: choked ? 'choke' : 'unchoke' });
  }

  chokerView(): ChokerPeer {
    return {
      key: this.key,
      interested: this.conn.peerInterested,
      downloadRate: this.conn.download.rate,
      uploadRate: this.conn.upload.rate,
      isSeed: this.isSeed(),
      snubbed: this.snubbed,
    };
  }

  stats(): PeerStats {
    const c = this.conn;
    const flags =
      (c.amInterested ? (c.peerChoking ? 'd' : 'D') : '') +
      (c.peerInterested ? (c.amChoking ? 'u' : 'U') : '') +
      (c.outgoing ? '' : 'I') +
      (this.snubbed ? 'S' : '') +
      (this.isSeed() ? 's' : '') +
      (c.protection === 'rc4' ? 'E' : c.protection === 'mse' ? 'e' : '') +
      (c.transport === 'utp' ? 'P' : '');
    return {
      address: peerKey(c.address),
      client: this.clientName,
      downloadRate: c.download.rate,
      uploadRate: c.upload.rate,
      flags,
    };
  }

  /** Once a second: snub detection, keeping the request queue full, peer exchange. */
  onTick(): void {
    this.ticks++;
    this.hashAnswers = 0;
    const now = this.torrent.deps.runtime.now();
    if (this.outstandingCount() > 0 && now - this.lastBlockAt > SNUB_MS && !this.snubbed) {
      this.snubbed = true;
      this.releaseRequests(true);
    }
    this.requestHashes();
    this.fillRequests();
    if (this.ticks % PEX_EVERY_TICKS === 0) this.sendPex();
  }

  /** Asks a peer that has pieces for the piece layers we still miss (BEP 52, v2 torrents). */
  requestHashes(): void {
    const layers = this.torrent.layers;
    if (!layers || layers.complete || this.conn.isClosed || (!this.peerHasAll && this.peerPieces === 0)) return;
    for (const request of layers.requestsFor(this.key, MAX_HASH_REQUESTS)) this.conn.send({ type: 'hash-request', ...request });
  }

  /** Keeps enough requests in flight to cover QUEUE_SECONDS of this peer's rate. */
  fillRequests(): void {
    const picker = this.torrent.picker;
    if (!picker || this.torrent.state !== 'downloading' || this.conn.isClosed || this.torrent.backlogged || !this.torrent.hashesKnown) return;
    const choked = this.conn.peerChoking;
    if (choked && this.allowedFast.size === 0) return;
    if (!this.conn.amInterested) return;
    const limit = Math.min(this.remoteQueueLimit, this.snubbed ? 1 : this.queueTarget());
    const wanted = limit - picker.outstanding(this.key);
    // Refill in batches rather than one request per block received: fewer, fuller writes.
    if (wanted < Math.max(1, Math.min(REFILL_BATCH, Math.floor(limit / 4)))) return;
    const room = this.torrent.maxRequestsInFlight - this.torrent.outstandingRequests();
    if (room <= 0) return;
    let count = Math.min(wanted, room);
    const limiter = this.torrent.downloadLimiter;
    if (limiter) {
      const granted = limiter.takeNow(count * BLOCK_SIZE, BLOCK_SIZE) / BLOCK_SIZE;
      if (granted < count) limiter.whenRefilled(this.refillLater);
      if (granted === 0) return;
      count = granted;
    }
    const options = { sequential: this.torrent.options.sequential, onlyFrom: choked ? this.allowedFast : undefined };
    // While piece buffers are full, only pieces already begun; but a peer with nothing in flight
    // that has none of those may begin one, so pieces begun by peers since gone stall nobody.
    const full = this.torrent.pieceMemoryFull;
    let blocks = picker.pick(this.key, count, { ...options, noNewPieces: full });
    if (full && blocks.length === 0 && picker.outstanding(this.key) === 0) blocks = picker.pick(this.key, count, options);
    if (limiter && blocks.length < count) limiter.giveBack((count - blocks.length) * BLOCK_SIZE);
    this.conn.sendRequests(blocks);
  }

  /** `fillRequests` for the download limiter to call back (one function, so it is registered once). */
  private readonly refillLater = (): void => this.fillRequests();

  // ---------------------------------------------------------------------------------------------

  /** Our requests in flight to this peer (the picker keeps them: one record per request). */
  private outstandingCount(): number {
    return this.torrent.picker?.outstanding(this.key) ?? 0;
  }

  private queueTarget(): number {
    const rate = this.conn.download.rate;
    return Math.max(MIN_QUEUE, Math.min(MAX_QUEUE, Math.ceil((rate * QUEUE_SECONDS) / BLOCK_SIZE)));
  }

  private isSeed(): boolean {
    const count = this.torrent.info?.pieceCount;
    return this.peerHasAll || (count !== undefined && count > 0 && this.peerPieces >= count);
  }

  /** The peer downloads nothing: a seed, or a partial seed that said so (BEP 21 `upload_only`). */
  private wantsNothing(): boolean {
    return this.isSeed() || this.peerUploadOnly;
  }

  /** We download nothing from it either (we are done); then the connection is of no use to either side. */
  private closeIfUseless(): boolean {
    if (this.torrent.state !== 'seeding' || !this.wantsNothing()) return false;
    this.conn.close(this.isSeed() && this.torrent.picker?.complete ? 'both sides are seeds' : 'neither side wants anything (BEP 21 upload only)');
    return true;
  }

  private sendExtendedHandshake(): void {
    const listenPort = this.torrent.deps.listenPort(ipFamily(this.conn.address.host) ?? 4);
    const payload = encodeExtendedHandshake({
      m: this.torrent.info?.private ? { ut_metadata: OUR_EXTENSIONS.ut_metadata, upload_only: OUR_EXTENSIONS.upload_only } : { ...OUR_EXTENSIONS },
      v: CLIENT_NAME,
      p: listenPort > 0 ? listenPort : undefined,
      reqq: MAX_PEER_REQUESTS,
      metadataSize: this.torrent.infoBytes?.length,
      // BEP 10: the peer's address as we see it (4 or 16 bytes), so it can learn its own.
      yourIp: parseIpv4(this.conn.address.host) ?? parseIpv6(this.conn.address.host),
      uploadOnly: this.torrent.state === 'seeding',
    });
    this.conn.send({ type: 'extended', id: EXTENDED_HANDSHAKE_ID, payload });
  }

  private sendAvailability(): void {
    const picker = this.torrent.picker;
    const info = this.torrent.info;
    if (!picker || !info || picker.haveCount === 0) {
      if (this.fast) this.conn.send({ type: 'have-none' });
      return;
    }
    if (picker.complete && this.fast) {
      this.conn.send({ type: 'have-all' });
      return;
    }
    this.conn.send({ type: 'bitfield', bitfield: bitfieldOf(info.pieceCount, (i) => picker.has(i)) });
  }

  private onClose(reason: string): void {
    this.releaseRequests(false);
    this.torrent.layers?.peerGone(this.key);
    this.torrent.picker?.peerGone(this.key);
    this.torrent.linkClosed(this, reason);
  }

  /** Gives this peer's requests back to the picker (choked, snubbed, or gone). */
  private releaseRequests(sendCancel: boolean): void {
    const picker = this.torrent.picker;
    if (!picker || picker.outstanding(this.key) === 0) return;
    for (const block of picker.outstandingBlocks(this.key)) {
      picker.requestFailed(this.key, block);
      if (sendCancel) this.conn.send({ type: 'cancel', index: block.index, begin: block.begin, length: block.length });
    }
  }

  private protocolError(reason: string): void {
    this.conn.close(`protocol violation: ${reason}`);
  }

  private validIndex(index: number): boolean {
    return index >= 0 && index < (this.torrent.info?.pieceCount ?? 0);
  }

  private onMessage(message: PeerMessage): void {
    const picker = this.torrent.picker;
    switch (message.type) {
      case 'keep-alive':
      case 'suggest':
        return;
      case 'port':
        if (message.port > 0) this.torrent.deps.onDhtPort?.({ host: this.conn.address.host, port: message.port });
        return;
      case 'choke':
        // With the fast extension the peer rejects each request explicitly; without it, all are dropped.
        if (!this.fast) this.releaseRequests(false);
        return;
      case 'unchoke':
        this.fillRequests();
        return;
      case 'interested':
        this.torrent.rechokeIfIdle(this);
        return;
      case 'not-interested':
        return;
      case 'have':
      case 'bitfield':
      case 'have-all':
      case 'have-none':
        if (!picker) {
          this.early.push(message);
          return;
        }
        this.onAvailability(message);
        return;
      case 'request':
        this.onRequest(message);
        return;
      case 'cancel':
        this.cancelled.add(blockKey(message));
        return;
      case 'piece':
        this.onPiece(message.index, message.begin, message.block);
        return;
      case 'reject':
        // Forgets the request if it is one of ours; anything else is ignored.
        picker?.requestFailed(this.key, { index: message.index, begin: message.begin, length: message.length });
        return;
      case 'allowed-fast':
        if (this.validIndex(message.index) || !picker) this.allowedFast.add(message.index);
        this.fillRequests();
        return;
      case 'extended':
        this.onExtended(message.id, message.payload);
        return;
      case 'hash-request': {
        const { type: _, ...request } = message;
        const allowed = request.length <= MAX_HASHES_ANSWERED && this.hashAnswers++ < HASH_ANSWERS_PER_SECOND;
        const hashes = allowed ? this.torrent.layers?.answer(request) : undefined;
        if (hashes || !allowed || request.baseLayer !== 0 || this.blockHashesWaiting >= MAX_BLOCK_HASH_REQUESTS) {
          this.conn.send(hashes ? { type: 'hashes', ...request, hashes } : { type: 'hash-reject', ...request });
          return;
        }
        // Block hashes: read and hashed from disk, one request at a time. The root is copied: the
        // message is a view of a reused buffer.
        const kept = { ...request, piecesRoot: request.piecesRoot.slice() };
        this.blockHashesWaiting++;
        this.blockHashAnswers = this.blockHashAnswers
          .then(() => this.torrent.blockHashes(kept))
          .then(
            (blocks) => this.conn.send(blocks ? { type: 'hashes', ...kept, hashes: blocks } : { type: 'hash-reject', ...kept }),
            () => this.conn.send({ type: 'hash-reject', ...kept }),
          )
          .catch(() => undefined) // a failed send must not stop the answers after it
          .finally(() => this.blockHashesWaiting--);
        return;
      }
      case 'hashes': {
        const { type: _, hashes, ...request } = message;
        if (!this.torrent.hashesArrived(this.key, request, hashes)) return this.protocolError('hashes that do not match the file\'s merkle root');
        this.requestHashes();
        return;
      }
      case 'hash-reject': {
        const { type: _, ...request } = message;
        this.torrent.layers?.rejected(this.key, request);
        this.requestHashes();
        return;
      }
    }
  }

  private onAvailability(message: PeerMessage): void {
    const picker = this.torrent.picker!;
    const info = this.torrent.info!;
    if (message.type === 'have') {
      if (!this.validIndex(message.index)) return this.protocolError(`have for piece ${message.index} of ${info.pieceCount}`);
      if (!this.peerHasAll) {
        picker.peerHave(this.key, message.index);
        this.peerPieces++;
      }
    } else if (message.type === 'bitfield') {
      if (message.bitfield.length !== Math.ceil(info.pieceCount / 8)) {
        return this.protocolError(`bitfield of ${message.bitfield.length} bytes for ${info.pieceCount} pieces`);
      }
      if (hasSpareBits(message.bitfield, info.pieceCount)) return this.protocolError('bitfield has spare bits set');
      picker.peerBitfield(this.key, message.bitfield);
      // Spare bits are zero (checked above), so every set bit is a piece.
      this.peerPieces = message.bitfield.reduce((n, byte) => n + popcount8(byte), 0);
    } else if (message.type === 'have-all') {
      if (!this.fast) return this.protocolError('have-all without the fast extension');
      picker.peerHaveAll(this.key);
      this.peerHasAll = true;
    } else if (message.type === 'have-none' && !this.fast) {
      return this.protocolError('have-none without the fast extension');
    }
    if (this.closeIfUseless()) return;
    this.requestHashes();
    this.updateInterest();
  }

  /** Sends `interested` or `not interested` as the peer has something we want or not (and requests when it has). */
  updateInterest(): void {
    const picker = this.torrent.picker;
    if (!picker) return;
    const want = this.torrent.state === 'downloading' && picker.peerHasAnythingWeNeed(this.key);
    if (want && !this.conn.amInterested) this.conn.send({ type: 'interested' });
    else if (!want && this.conn.amInterested) this.conn.send({ type: 'not-interested' });
    if (want) this.fillRequests();
  }

  private onRequest(request: Block): void {
    const info = this.torrent.info;
    const picker = this.torrent.picker;
    if (!info || !picker || !this.validIndex(request.index)) return this.protocolError(`request for piece ${request.index}`);
    const size = pieceSize(info, request.index);
    if (request.length <= 0 || request.length > MAX_REQUEST_LENGTH || request.begin < 0 || request.begin + request.length > size) {
      return this.protocolError(`request ${request.index}:${request.begin}+${request.length} out of range`);
    }
    if (this.conn.amChoking || !picker.has(request.index)) {
      if (this.fast) this.conn.send({ type: 'reject', ...request });
      return;
    }
    const key = blockKey(request);
    if (this.cancelled.size > 0) this.cancelled.delete(key);
    if (this.torrent.uploadCached(this.conn, request.index, request.begin, request.length)) return;
    if (this.uploadsPending >= MAX_PEER_REQUESTS) return this.protocolError('too many outstanding requests');
    this.uploadsPending++;
    this.torrent
      .uploadBlock(request.index, request.begin, request.length)
      .then(({ block, owner }) => {
        if (this.cancelled.delete(key) || this.conn.amChoking) {
          owner.release();
          return;
        }
        this.conn.sendPiece(request.index, request.begin, block, owner);
      })
      .catch((error: Error) => {
        this.torrent.deps.log('warn', `cannot read piece ${request.index} for a peer: ${error.message}`);
        if (this.fast) this.conn.send({ type: 'reject', ...request });
      })
      .finally(() => this.uploadsPending--);
  }

  private onPiece(index: number, begin: number, block: Uint8Array): void {
    // Not asked for, or already cancelled: ignore.
    if (!this.torrent.picker?.isRequested(this.key, { index, begin, length: block.length })) return;
    this.lastBlockAt = this.torrent.deps.runtime.now();
    this.snubbed = false;
    this.torrent.blockArrived(this.key, index, begin, block);
    this.fillRequests();
  }

  private onExtended(id: number, payload: Uint8Array): void {
    try {
      if (id === EXTENDED_HANDSHAKE_ID) {
        const hs = decodeExtendedHandshake(payload);
        this.remoteExtensions = { ...this.remoteExtensions, ...hs.m };
        if (hs.v) this.clientName = hs.v.slice(0, 64);
        if (hs.reqq) this.remoteQueueLimit = Math.max(1, Math.min(MAX_QUEUE, hs.reqq));
        if (hs.p) this.remoteListenPort = hs.p;
        this.peerUploadOnly = hs.uploadOnly === true;
        if (this.closeIfUseless()) return;
        const fetcher = this.torrent.metadataFetcher();
        if (fetcher && hs.metadataSize !== undefined && this.remoteExtensions.ut_metadata && fetcher.offerSize(hs.metadataSize)) {
          this.requestMetadata();
        }
      } else if (id === OUR_EXTENSIONS.upload_only) {
        if (payload.length !== 1) return this.protocolError(`upload_only message of ${payload.length} bytes`);
        this.peerUploadOnly = payload[0] !== 0;
        this.closeIfUseless();
      } else if (id === OUR_EXTENSIONS.ut_metadata) {
        this.onMetadataMessage(payload);
      } else if (id === OUR_EXTENSIONS.ut_pex) {
        if (this.torrent.info?.private) return;
        const pex = decodePex(payload);
        this.torrent.addPeers(pex.added);
      }
    } catch (error) {
      this.protocolError(`bad extension message: ${(error as Error).message}`);
    }
  }

  private requestMetadata(): void {
    const fetcher = this.torrent.metadataFetcher();
    const remoteId = this.remoteExtensions.ut_metadata;
    if (!fetcher || !remoteId) return;
    for (let i = 0; i < 4; i++) {
      const piece = fetcher.nextRequest();
      if (piece === undefined) return;
      this.conn.send({ type: 'extended', id: remoteId, payload: encodeMetadataMessage({ type: 'request', piece }) });
    }
  }

  private onMetadataMessage(payload: Uint8Array): void {
    const message = decodeMetadataMessage(payload);
    const remoteId = this.remoteExtensions.ut_metadata;
    if (message.type === 'request') {
      const infoBytes = this.torrent.infoBytes;
      const start = message.piece * METADATA_PIECE_SIZE;
      if (!remoteId) return;
      if (!infoBytes || start >= infoBytes.length || message.piece < 0) {
        this.conn.send({ type: 'extended', id: remoteId, payload: encodeMetadataMessage({ type: 'reject', piece: message.piece }) });
        return;
      }
      const data = infoBytes.subarray(start, start + METADATA_PIECE_SIZE);
      this.conn.send({ type: 'extended', id: remoteId, payload: encodeMetadataMessage({ type: 'data', piece: message.piece, totalSize: infoBytes.length, data }) });
      return;
    }
    const fetcher = this.torrent.metadataFetcher();
    if (!fetcher) return;
    if (message.type === 'reject') {
      fetcher.rejected(message.piece);
      return;
    }
    const result = fetcher.receive(message.piece, message.totalSize, message.data);
    if (result === 'bad') {
      this.torrent.deps.log('info', 'metadata from peers did not match the infohash; fetching it again');
    } else if (result) {
      void this.torrent.metadataArrived(result);
      return;
    }
    this.requestMetadata();
  }

  private sendPex(): void {
    const remoteId = this.remoteExtensions.ut_pex;
    if (!remoteId || this.torrent.info?.private) return;
    const current = new Map<string, { host: string; port: number; flags: number }>();
    for (const link of this.torrent.links.values()) {
      if (link === this) continue;
      const endpoint = link.listenEndpoint();
      if (endpoint) current.set(peerKey(endpoint), { ...endpoint, flags: link.pexFlags() });
    }
    const added = [...current].filter(([k]) => !this.pexSent.has(k)).slice(0, 50).map(([, e]) => e);
    const dropped = [...this.pexSent].filter(([k]) => !current.has(k)).slice(0, 50).map(([, e]) => e);
    if (added.length === 0 && dropped.length === 0) return;
    for (const a of added) this.pexSent.set(peerKey(a), { host: a.host, port: a.port });
    for (const d of dropped) this.pexSent.delete(peerKey(d));
    this.conn.send({ type: 'extended', id: remoteId, payload: encodePex({ added, dropped }) });
  }

  /** What peer exchange tells others of this peer (BEP 11 `added.f`): how we are connected to it, and whether it is a seed. */
  pexFlags(): number {
    const c = this.conn;
    return (
      (c.protection !== 'plain' ? PEX_ENCRYPTION : 0) |
      (this.wantsNothing() ? PEX_SEED : 0) |
      (c.transport === 'utp' ? PEX_UTP : 0) |
      (c.outgoing ? PEX_REACHABLE : 0)
    );
  }

  /** Where other peers can reach this peer: its address for outgoing links, its announced port otherwise. */
  listenEndpoint(): Endpoint | undefined {
    if (this.conn.outgoing) return this.conn.address;
    return this.remoteListenPort ? { host: this.conn.address.host, port: this.remoteListenPort } : undefined;
  }
}

/** A block's key for requests from the peer: its piece and offset in one number (exact for any real torrent). */
function blockKey(block: { index: number; begin: number }): number {
  return block.index * 0x100000000 + block.begin;
}

function hasSpareBits(bitfield: Uint8Array, count: number): boolean {
  const spare = bitfield.length * 8 - count;
  return spare > 0 && (bitfield[bitfield.length - 1]! & ((1 << spare) - 1)) !== 0;
}
