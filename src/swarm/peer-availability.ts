/**
 * Which pieces each connected peer has, for the `PiecePicker`: fed by `bitfield`, `have` and BEP 6
 * `have all` messages, it keeps the per-piece availability counts in an `AvailabilityOrder` and
 * knows, per peer, how many of its pieces we still lack and want (our `interested` state).
 *
 * Peers with every piece (have-all, a full bitfield, or a peer that completed by `have`s) are
 * counted once in `seeds` instead of once per piece, so a swarm of seeds costs O(1) each.
 * Piece indices are checked by the caller; a bitfield of the wrong length throws `RangeError`.
 */
import type { AvailabilityOrder } from './availability-order.js';
import { forEachBit, hasBit, popcount8, setBit } from './piece-geometry.js';

/** What is known of one peer's pieces. */
interface PeerPieces {
  /** BEP 3 bit order, or null when the peer has every piece. */
  bits: Uint8Array | null;
  /** Pieces it has (bitfield peers). */
  count: number;
  /** Pieces it has that we lack and want (bitfield peers; for seeds it is the picker's wanted-missing count). */
  needed: number;
}

/** Per-peer piece sets and the swarm's availability counts. */
export class PeerAvailability {
  private readonly peers = new Map<string, PeerPieces>();
  private seeds = 0;

  /**
   * `have` and `wanted` are the picker's own arrays (1 = had, 1 = wanted), read to count what peers
   * can give us; the picker tells us when either changes (`weGot`, `wantChanged`).
   */
  constructor(
    private readonly pieceCount: number,
    private readonly order: AvailabilityOrder,
    private readonly have: Uint8Array,
    private readonly wanted: Uint8Array,
  ) {}

  /** The peer's bitfield, null when it has every piece, undefined for a peer we know nothing of. */
  bitsOf(peer: string): Uint8Array | null | undefined {
    return this.peers.get(peer)?.bits;
  }

  /** Connected peers having piece `index`. */
  count(index: number): number {
    return this.order.availability(index) + this.seeds;
  }

  /** Whether the peer has a piece we lack and want, given how many wanted pieces we lack. */
  hasWhatWeLack(peer: string, wantedMissing: number): boolean {
    const st = this.peers.get(peer);
    if (!st) return false;
    return st.bits ? st.needed > 0 : wantedMissing > 0;
  }

  /** A `have` message. A peer that thereby gets every piece is counted as a seed from then on. */
  addHave(peer: string, index: number): void {
    const st = this.peerPieces(peer);
    if (!st.bits || hasBit(st.bits, index)) return;
    setBit(st.bits, index);
    st.count++;
    this.order.increment(index);
    if (this.lacks(index)) st.needed++;
    if (st.count === this.pieceCount) {
      for (let i = 0; i < this.pieceCount; i++) this.order.decrement(i);
      this.becomeSeed(st);
    }
  }

  /** A `bitfield` message, replacing what the peer announced before; spare bits are ignored. */
  setBitfield(peer: string, bitfield: Uint8Array): void {
    const bytes = (this.pieceCount + 7) >> 3;
    if (bitfield.length !== bytes) throw new RangeError(`bitfield of ${bitfield.length} bytes, expected ${bytes}`);
    const st = this.peerPieces(peer);
    this.clear(st);
    const bits = new Uint8Array(bitfield);
    const spare = bytes * 8 - this.pieceCount;
    if (spare > 0) bits[bytes - 1] &= (0xff << spare) & 0xff;
    let count = 0;
    for (let b = 0; b < bytes; b++) count += popcount8(bits[b]);
    if (count === this.pieceCount && count > 0) return this.becomeSeed(st);
    st.bits = bits;
    st.count = count;
    forEachBit(bits, (i) => {
      this.order.increment(i);
      if (this.lacks(i)) st.needed++;
    });
  }

  /** BEP 6 `have all`: O(1). */
  setHaveAll(peer: string): void {
    const st = this.peerPieces(peer);
    if (!st.bits) return;
    this.clear(st);
    this.becomeSeed(st);
  }

  /** The peer left: its pieces no longer count. */
  forget(peer: string): void {
    const st = this.peers.get(peer);
    if (!st) return;
    this.clear(st);
    this.peers.delete(peer);
  }

  /** We now have piece `index` (called before `have` is set): peers having it have one piece fewer that we lack. */
  weGot(index: number): void {
    if (!this.lacks(index)) return;
    for (const st of this.peers.values()) if (st.bits && hasBit(st.bits, index)) st.needed--;
  }

  /** We lost piece `index` (a recheck found it damaged; called after `have` is cleared): peers having it have one more piece we lack. */
  weLost(index: number): void {
    if (!this.lacks(index)) return;
    for (const st of this.peers.values()) if (st.bits && hasBit(st.bits, index)) st.needed++;
  }

  /** Piece `index`, which we lack, became wanted or unwanted (called after `wanted` changed). */
  wantChanged(index: number): void {
    if (this.have[index]) return;
    const delta = this.wanted[index] ? 1 : -1;
    for (const st of this.peers.values()) if (st.bits && hasBit(st.bits, index)) st.needed += delta;
  }

  private lacks(index: number): boolean {
    return !this.have[index] && this.wanted[index] === 1;
  }

  private becomeSeed(st: PeerPieces): void {
    st.bits = null;
    st.count = 0;
    st.needed = 0;
    this.seeds++;
  }

  /** Removes the peer's contribution to the counts, leaving it with no pieces. */
  private clear(st: PeerPieces): void {
    if (st.bits === null) this.seeds--;
    else if (st.count > 0) forEachBit(st.bits, (i) => this.order.decrement(i));
    st.bits = new Uint8Array((this.pieceCount + 7) >> 3);
    st.count = 0;
    st.needed = 0;
  }

  private peerPieces(peer: string): PeerPieces {
    let st = this.peers.get(peer);
    if (!st) {
      st = { bits: new Uint8Array((this.pieceCount + 7) >> 3), count: 0, needed: 0 };
      this.peers.set(peer, st);
    }
    return st;
  }
}
