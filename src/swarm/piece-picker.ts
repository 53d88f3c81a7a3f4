/**
 * Block-level piece picking for one torrent: which 16 KiB blocks to request from which peer.
 * A pure data structure (no I/O, no timers; randomness injected), used by the torrent engine,
 * which owns the wire and calls in when peers announce pieces, when it has request slots to fill,
 * and when blocks arrive, fail, or a piece passes or fails its hash.
 *
 * Only wanted pieces are picked (all by default; `setWanted` narrows it, e.g. to the pieces of the
 * files a user selected). A piece already started when it became unwanted stays started: its
 * blocks are still picked until every wanted piece is had.
 *
 * Policy: finish pieces already in progress first; then random pieces for the first few (to have
 * something to trade quickly), then rarest first with random tie-breaks, or strictly in index
 * order when streaming. When every missing block is requested (endgame), blocks already requested
 * elsewhere may be requested again, never twice from the same peer.
 *
 * Pieces are plain 0-based numbers (the engine converts from `PieceIndex`); peers are opaque string
 * keys. Out-of-range piece indices and wrong-length bitfields throw `RangeError`: the engine must
 * have rejected such messages first. Cost: O(1) per availability change, `pick` touches only
 * in-progress pieces and the rarest members it needs; memory O(pieces + outstanding blocks).
 */
import { AvailabilityOrder } from './availability-order.js';
import { PeerAvailability } from './peer-availability.js';
import { hasBit, PieceGeometry, type Block } from './piece-geometry.js';
import { PieceProgress } from './piece-progress.js';

export { BLOCK_SIZE, type Block } from './piece-geometry.js';

/** Geometry of the torrent and the picker's policy knobs. */
export interface PiecePickerOptions {
  pieceCount: number;
  pieceLength: number;
  totalLength: number;
  /** Uniform in [0, 1): the runtime's generator (tests pass a seeded one). */
  random: () => number;
  /** While we have fewer pieces than this, new pieces are chosen at random. Default 4. */
  randomFirstPieces?: number;
}

/** Options of one `pick` call. */
export interface PickOptions {
  /** Strict index order (streaming) instead of random-first/rarest-first. */
  sequential?: boolean;
  /** Only these pieces (BEP 6 allowed-fast set while the peer chokes us). */
  onlyFrom?: ReadonlySet<number>;
  /** Only blocks of pieces already begun (the engine holds as many piece buffers as it should). */
  noNewPieces?: boolean;
}

/** What `blockReceived` tells the engine. */
export interface BlockReceipt {
  /** Other peers that had this block requested (endgame): send them a cancel. Already forgotten here. */
  duplicates: string[];
  /** The piece has just got its last block: hash it, then call `pieceVerified` or `pieceFailed`. */
  pieceComplete: boolean;
  /** The block was still missing (write it). False for a late duplicate, a piece we have, or bad geometry. */
  wanted: boolean;
}

/** Per peer: how many blocks are requested from it (which ones is recorded in each piece's `requesters`). */
interface PeerRequests {
  count: number;
}

/** Block picking for one torrent; see the file comment for the policy. */
export class PiecePicker {
  /** Piece and block boundaries. */
  readonly geometry: PieceGeometry;
  private readonly pieceCount: number;
  private readonly random: () => number;
  private readonly randomFirst: number;
  private readonly have: Uint8Array;
  private haves = 0;
  /** 1 = we want the piece (the default for every piece). */
  private readonly wanted: Uint8Array;
  /** Wanted pieces not had yet. */
  private wantedMissing: number;
  /** Wanted pieces, had or not. */
  private wantedTotal: number;
  /** Lowest piece index we might lack (sequential mode starts here). */
  private firstMissing = 0;
  /** Missing pieces with no progress, by availability. */
  private readonly free: AvailabilityOrder;
  /** Pieces started and not yet verified or failed. */
  private readonly progress = new Map<number, PieceProgress>();
  /** Pieces in `progress` that still miss blocks, in the order they were started. */
  private readonly partials = new Set<number>();
  /** Pieces in `progress` with blocks nobody is asked for: where `pick` looks first. */
  private readonly open = new Set<number>();
  /** Blocks of started pieces that are neither received nor requested from anyone. */
  private unrequested = 0;
  /** Who has what. */
  private readonly peers: PeerAvailability;
  /** Blocks of started pieces not received yet (requested or not). */
  private missingInProgress = 0;
  /**
   * Per peer, the number of blocks requested from it and not yet received, failed or cancelled.
   * Which blocks is kept once, in `PieceProgress.requesters` (the hot path touches no Set or Map).
   */
  private readonly requests = new Map<string, PeerRequests>();

  constructor(options: PiecePickerOptions) {
    const pieceCount = options.pieceCount;
    this.geometry = new PieceGeometry(pieceCount, options.pieceLength, options.totalLength);
    this.pieceCount = pieceCount;
    this.random = options.random;
    this.randomFirst = options.randomFirstPieces ?? 4;
    this.have = new Uint8Array(pieceCount);
    this.wanted = new Uint8Array(pieceCount).fill(1);
    this.wantedMissing = this.wantedTotal = pieceCount;
    this.free = new AvailabilityOrder(pieceCount);
    for (let i = 0; i < pieceCount; i++) this.free.insert(i);
    this.peers = new PeerAvailability(pieceCount, this.free, this.have, this.wanted);
  }

  // ---- what we have ------------------------------------------------------------------------

  /** Marks a piece as had (resume data, a completed check). Drops any progress on it. */
  setHave(index: number): void {
    this.geometry.checkIndex(index);
    if (this.have[index]) return;
    this.peers.weGot(index);
    this.have[index] = 1;
    this.haves++;
    if (this.wanted[index]) this.wantedMissing--;
    this.dropProgress(index);
    this.free.remove(index);
    while (this.firstMissing < this.pieceCount && this.have[this.firstMissing]) this.firstMissing++;
  }

  /** A piece we had is missing or damaged on disk (found by a recheck): it is missing again, and picked again if wanted. */
  setMissing(index: number): void {
    this.geometry.checkIndex(index);
    if (!this.have[index]) return;
    this.have[index] = 0;
    this.haves--;
    this.peers.weLost(index);
    if (this.wanted[index]) {
      this.wantedMissing++;
      this.free.insert(index);
    }
    if (index < this.firstMissing) this.firstMissing = index;
  }

  /** Whether we have (verified) piece `index`. */
  has(index: number): boolean {
    return this.have[index] === 1;
  }

  /** Verified pieces. */
  get haveCount(): number {
    return this.haves;
  }

  /** Every piece verified. */
  get complete(): boolean {
    return this.haves === this.pieceCount;
  }

  /** Every wanted piece verified (with every piece wanted, the same as `complete`). */
  get done(): boolean {
    return this.wantedMissing === 0;
  }

  /** Wanted pieces not verified yet. */
  get wantedMissingCount(): number {
    return this.wantedMissing;
  }

  /** Wanted pieces, verified or not. */
  get wantedCount(): number {
    return this.wantedTotal;
  }

  /** Whether piece `index` is wanted. */
  isWanted(index: number): boolean {
    return this.wanted[index] === 1;
  }

  /**
   * Which pieces to download: `mask[i]` 1 for wanted, 0 for not (one byte per piece). Unwanted
   * pieces are not started; one already in progress stays so (see the file comment). Pieces we
   * have stay had either way.
   */
  setWanted(mask: Uint8Array): void {
    if (mask.length !== this.pieceCount) throw new RangeError(`wanted mask of ${mask.length} pieces, expected ${this.pieceCount}`);
    for (let i = 0; i < this.pieceCount; i++) {
      const want = mask[i] ? 1 : 0;
      if (this.wanted[i] === want) continue;
      this.wanted[i] = want;
      this.wantedTotal += want ? 1 : -1;
      this.peers.wantChanged(i);
      if (this.have[i]) continue;
      this.wantedMissing += want ? 1 : -1;
      if (!want) this.free.remove(i);
      else if (!this.progress.has(i)) this.free.insert(i);
    }
  }

  // ---- what peers have ---------------------------------------------------------------------

  /** A `have` message. A peer that thereby gets every piece is counted as a seed from then on. */
  peerHave(peer: string, index: number): void {
    this.geometry.checkIndex(index);
    this.peers.addHave(peer, index);
  }

  /** A `bitfield` message (BEP 3 bit order), replacing what the peer had announced. Spare bits are ignored. */
  peerBitfield(peer: string, bitfield: Uint8Array): void {
    this.peers.setBitfield(peer, bitfield);
  }

  /** BEP 6 `have all` (or any seed): O(1), counted once for every piece. */
  peerHaveAll(peer: string): void {
    this.peers.setHaveAll(peer);
  }

  /** The peer disconnected: its availability goes, and its outstanding requests become pickable. */
  peerGone(peer: string): void {
    const mine = this.requests.get(peer);
    if (mine && mine.count > 0) for (const block of this.outstandingBlocks(peer)) this.requestFailed(peer, block);
    this.requests.delete(peer);
    this.peers.forget(peer);
  }

  /** How many connected peers have piece `index`. */
  availability(index: number): number {
    this.geometry.checkIndex(index);
    return this.peers.count(index);
  }

  /** Whether the peer has a wanted piece we lack: drives our `interested` state towards it. */
  peerHasAnythingWeNeed(peer: string): boolean {
    return this.peers.hasWhatWeLack(peer, this.wantedMissing);
  }

  // ---- requests ----------------------------------------------------------------------------

  /**
   * Up to `max` blocks to request from `peer` now, recorded as outstanding from it. In-progress
   * pieces first, then new pieces (random for the first `randomFirstPieces`, then rarest first,
   * or in index order with `sequential`), then, in endgame only, blocks already requested from
   * other peers (those with the fewest requesters first). Never a block already outstanding from
   * this peer. `onlyFrom` restricts to those pieces (BEP 6 allowed fast while choked);
   * `noNewPieces` to pieces already begun.
   */
  pick(peer: string, max: number, options: PickOptions = {}): Block[] {
    const bits = this.peers.bitsOf(peer);
    const out: Block[] = [];
    if (bits === undefined || max <= 0 || this.done) return out;
    let mine = this.requests.get(peer);
    if (!mine) this.requests.set(peer, (mine = { count: 0 }));
    const only = options.onlyFrom;
    const usable = (i: number): boolean => (bits === null || hasBit(bits, i)) && (!only || only.has(i));
    if (options.sequential) {
      for (let i = this.firstMissing; i < this.pieceCount && out.length < max; i++) {
        if (this.have[i] || !this.wanted[i] || !usable(i)) continue;
        if (this.free.contains(i)) {
          if (options.noNewPieces) continue;
          this.start(i);
        }
        const prog = this.progress.get(i);
        if (prog) this.takeUnrequested(prog, peer, mine, max, out);
      }
    } else {
      for (const i of this.open) {
        if (out.length >= max) break;
        if (usable(i)) this.takeUnrequested(this.progress.get(i)!, peer, mine, max, out);
      }
      if (out.length < max && !options.noNewPieces) {
        for (const i of this.chooseNewPieces(max - out.length, usable, only)) {
          this.start(i);
          this.takeUnrequested(this.progress.get(i)!, peer, mine, max, out);
        }
      }
    }
    // Endgame; nothing to duplicate when every missing block is already requested from this peer.
    if (out.length < max && this.inEndgame && mine.count < this.missingInProgress) {
      for (const cap of [1, Infinity]) {
        for (const i of this.partials) {
          if (out.length >= max) break;
          if (usable(i)) this.takeDuplicates(this.progress.get(i)!, peer, mine, max, cap, out);
        }
      }
    }
    return out;
  }

  /**
   * A block arrived from `peer`. Records who delivered it (for blame), forgets every request for
   * it, and reports the other requesters (to cancel) and whether the piece is now whole. An
   * unrequested block of a missing piece is recorded too: the engine decides whether to accept
   * unrequested data before calling this.
   */
  blockReceived(peer: string, block: Block): BlockReceipt {
    const receipt: BlockReceipt = { duplicates: [], pieceComplete: false, wanted: false };
    const j = this.geometry.blockNumber(block);
    if (j < 0) return receipt;
    const index = block.index;
    if (this.have[index]) return receipt;
    if (this.free.contains(index)) this.start(index);
    const prog = this.progress.get(index);
    if (!prog || prog.received[j]) return receipt; // no progress: an unrequested block of an unwanted piece
    const requesters = prog.requesters[j];
    if (requesters) {
      for (const other of requesters) {
        this.requests.get(other)!.count--;
        if (other !== peer) receipt.duplicates.push(other);
      }
    } else {
      prog.unrequested--;
      this.unrequested--;
      if (prog.unrequested === 0) this.open.delete(index);
    }
    prog.markReceived(j, peer);
    this.missingInProgress--;
    receipt.wanted = true;
    if (prog.receivedCount === prog.blockCount) {
      this.partials.delete(index);
      receipt.pieceComplete = true;
    }
    return receipt;
  }

  /** A request was cancelled, rejected, timed out, or lost to a choke: the block is pickable again. */
  requestFailed(peer: string, block: Block): void {
    const mine = this.requests.get(peer);
    const j = this.geometry.blockNumber(block);
    if (!mine || j < 0) return;
    this.release(peer, mine, block.index, j);
  }

  /** Whether `block` (exactly one of ours) is outstanding from `peer`. */
  isRequested(peer: string, block: Block): boolean {
    const j = this.geometry.blockNumber(block);
    if (j < 0) return false;
    const requesters = this.progress.get(block.index)?.requesters[j];
    return requesters !== undefined && requesters.includes(peer);
  }

  /**
   * The assembled piece failed its hash: all its blocks are missing again and it can be picked
   * afresh. Returns the distinct peers that delivered its blocks (to blame or ban).
   */
  pieceFailed(index: number): string[] {
    this.geometry.checkIndex(index);
    const prog = this.progress.get(index);
    if (!prog || this.have[index]) return [];
    const blame = [...new Set(prog.deliveredBy.filter((p): p is string => p !== undefined))];
    this.dropProgress(index);
    if (this.wanted[index]) this.free.insert(index);
    return blame;
  }

  /** The piece passed its hash check and was written. */
  pieceVerified(index: number): void {
    this.setHave(index);
  }

  /** Blocks outstanding from `peer`. */
  outstanding(peer: string): number {
    return this.requests.get(peer)?.count ?? 0;
  }

  /** The blocks outstanding from `peer` (e.g. to re-request them elsewhere when it chokes us). O(blocks in progress). */
  outstandingBlocks(peer: string): Block[] {
    const out: Block[] = [];
    if (!this.requests.get(peer)?.count) return out;
    for (const prog of this.progress.values()) {
      for (let j = 0; j < prog.blockCount; j++) if (prog.requesters[j]?.includes(peer)) out.push(this.geometry.block(prog.index, j));
    }
    return out;
  }

  /** Every missing block is requested from someone (and something is missing). */
  get inEndgame(): boolean {
    return !this.done && this.free.count === 0 && this.unrequested === 0;
  }

  /** Checks internal invariants (for tests); returns a description of the first violation. */
  check(): string | undefined {
    const fault = this.free.check();
    if (fault) return fault;
    let unrequested = 0;
    for (const [index, prog] of this.progress) {
      unrequested += prog.unrequested;
      if ((prog.unrequested > 0) !== this.open.has(index)) return `open set wrong for piece ${index}`;
      if ((prog.receivedCount < prog.blockCount) !== this.partials.has(index)) return `partial set wrong for piece ${index}`;
    }
    if (unrequested !== this.unrequested) return `unrequested ${this.unrequested} != ${unrequested}`;
    let wantedMissing = 0;
    for (let i = 0; i < this.pieceCount; i++) {
      if (this.wanted[i] && !this.have[i]) wantedMissing++;
      const shouldBeFree = this.wanted[i] === 1 && !this.have[i] && !this.progress.has(i);
      if (this.free.contains(i) !== shouldBeFree) return `piece ${i} ${shouldBeFree ? 'missing from' : 'wrongly in'} the free order`;
    }
    if (wantedMissing !== this.wantedMissing) return `wanted missing ${this.wantedMissing} != ${wantedMissing}`;
    const counts = new Map<string, number>();
    let missing = 0;
    for (const prog of this.progress.values()) {
      missing += prog.blockCount - prog.receivedCount;
      for (const requesters of prog.requesters) for (const peer of requesters ?? []) counts.set(peer, (counts.get(peer) ?? 0) + 1);
    }
    if (missing !== this.missingInProgress) return `missing in progress ${this.missingInProgress} != ${missing}`;
    for (const [peer, mine] of this.requests) {
      if (mine.count !== (counts.get(peer) ?? 0)) return `peer ${peer} has ${mine.count} requests counted, ${counts.get(peer) ?? 0} recorded`;
    }
    for (const peer of counts.keys()) if (!this.requests.has(peer)) return `stray requests from ${peer}`;
    return undefined;
  }

  // ---- internals ---------------------------------------------------------------------------

  /** The new pieces to start for a request of `want` blocks: random first, then rarest first. */
  private chooseNewPieces(want: number, usable: (i: number) => boolean, only?: ReadonlySet<number>): number[] {
    const chosen: number[] = [];
    let blocks = 0;
    const take = (i: number): boolean => {
      if (!usable(i)) return false;
      chosen.push(i);
      blocks += this.geometry.blockCount(i);
      return blocks >= want;
    };
    const randomly = this.haves < this.randomFirst;
    if (only) {
      const candidates = [...only].filter((i) => i >= 0 && i < this.pieceCount && this.free.contains(i));
      const key = new Map(candidates.map((i) => [i, randomly ? this.random() : this.free.availability(i) + this.random()]));
      candidates.sort((x, y) => key.get(x)! - key.get(y)!);
      for (const i of candidates) if (take(i)) break;
    } else if (randomly) {
      this.free.scanRandom(this.random, take);
    } else {
      this.free.scanRarest(this.random, take);
    }
    return chosen;
  }

  /** Starts piece `index`: out of the free order, into progress and the partial set. */
  private start(index: number): void {
    this.free.remove(index);
    const prog = new PieceProgress(index, this.geometry.blockCount(index));
    this.progress.set(index, prog);
    this.partials.add(index);
    this.open.add(index);
    this.unrequested += prog.blockCount;
    this.missingInProgress += prog.blockCount;
  }

  /** Forgets the progress on a piece, and the requests still outstanding for it. */
  private dropProgress(index: number): void {
    const prog = this.progress.get(index);
    if (!prog) return;
    for (let j = 0; j < prog.blockCount; j++) {
      for (const peer of prog.requesters[j] ?? []) this.requests.get(peer)!.count--;
    }
    this.unrequested -= prog.unrequested;
    this.missingInProgress -= prog.blockCount - prog.receivedCount;
    this.progress.delete(index);
    this.partials.delete(index);
    this.open.delete(index);
  }

  /** Requests the not-yet-requested blocks of `prog` from `peer`, up to `max` in `out`. */
  private takeUnrequested(prog: PieceProgress, peer: string, mine: PeerRequests, max: number, out: Block[]): void {
    const index = prog.index;
    while (prog.unrequested > 0 && out.length < max) {
      const j = prog.nextUnrequested();
      prog.requesters[j] = [peer];
      prog.unrequested--;
      this.unrequested--;
      if (prog.unrequested === 0) this.open.delete(index);
      mine.count++;
      out.push(this.geometry.block(index, j));
    }
  }

  /** Endgame: requests blocks of `prog` already requested elsewhere (at most `cap` requesters), not from `peer`. */
  private takeDuplicates(prog: PieceProgress, peer: string, mine: PeerRequests, max: number, cap: number, out: Block[]): void {
    const index = prog.index;
    for (let j = 0; j < prog.blockCount && out.length < max; j++) {
      const requesters = prog.requesters[j];
      if (prog.received[j] || !requesters || requesters.length > cap || requesters.includes(peer)) continue;
      requesters.push(peer);
      mine.count++;
      out.push(this.geometry.block(index, j));
    }
  }

  /** Forgets one outstanding request; a piece left with no progress at all goes back to the free order. */
  private release(peer: string, mine: PeerRequests, index: number, j: number): void {
    const prog = this.progress.get(index);
    if (!prog) return;
    const requesters = prog.requesters[j];
    const at = requesters ? requesters.indexOf(peer) : -1;
    if (!requesters || at < 0) return;
    mine.count--;
    requesters.splice(at, 1);
    if (requesters.length > 0) return;
    prog.markUnrequested(j);
    this.unrequested++;
    this.open.add(index);
    if (prog.receivedCount === 0 && prog.unrequested === prog.blockCount) {
      this.dropProgress(index);
      if (this.wanted[index]) this.free.insert(index);
    }
  }
}
