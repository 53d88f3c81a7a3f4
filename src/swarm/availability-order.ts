/**
 * The pieces a `PiecePicker` may still start, kept ordered by availability (rarest first) and
 * updated in O(1) per availability change, so picking never sorts or scans every piece.
 *
 * Layout (libtorrent's trick): `order` holds the member pieces sorted by availability; `start[a]`
 * is the first position whose piece has availability >= a. Moving a piece up or down one
 * availability level is a single swap with the edge of its bucket. Adding or removing a member
 * costs one swap per bucket above it (buckets <= connected peers).
 *
 * Availability here counts only peers with a partial bitfield; peers with every piece are the
 * same for every piece and are counted by the picker separately. Piece indices are plain numbers
 * (0-based), checked by the caller.
 */
export class AvailabilityOrder {
  /** position -> piece, valid for positions [0, size). */
  private readonly order: Int32Array;
  /** piece -> position, or -1 when the piece is not a member. */
  private readonly pos: Int32Array;
  /** piece -> number of partial-bitfield peers having it (members or not). */
  private readonly avail: Int32Array;
  /** start[a] = first position of the bucket of availability a; buckets past the end start at size. */
  private readonly start: number[] = [0];
  private size = 0;

  constructor(pieceCount: number) {
    this.order = new Int32Array(pieceCount);
    this.pos = new Int32Array(pieceCount).fill(-1);
    this.avail = new Int32Array(pieceCount);
  }

  /** How many pieces are members. */
  get count(): number {
    return this.size;
  }

  /** Partial-bitfield peers having `piece`. */
  availability(piece: number): number {
    return this.avail[piece];
  }

  /** Whether `piece` is a member (missing and not started). */
  contains(piece: number): boolean {
    return this.pos[piece] >= 0;
  }

  /** One more peer has `piece`. */
  increment(piece: number): void {
    const a = this.avail[piece]++;
    const p = this.pos[piece];
    if (p < 0) return;
    this.ensure(a + 2);
    const last = this.start[a + 1] - 1;
    this.swap(p, last);
    this.start[a + 1] = last;
  }

  /** One fewer peer has `piece`. Throws if its count is already zero (a bookkeeping bug). */
  decrement(piece: number): void {
    const a = this.avail[piece];
    if (a === 0) throw new RangeError(`availability of piece ${piece} would go negative`);
    this.avail[piece] = a - 1;
    const p = this.pos[piece];
    if (p < 0) return;
    const first = this.start[a];
    this.swap(p, first);
    this.start[a] = first + 1;
  }

  /** Makes `piece` a member again (no-op if it is one). */
  insert(piece: number): void {
    if (this.pos[piece] >= 0) return;
    const a = this.avail[piece];
    this.ensure(a + 1);
    let p = this.size++;
    this.order[p] = piece;
    this.pos[piece] = p;
    // It sits at the end of the top bucket; walk it down to the end of bucket `a`.
    for (let b = this.start.length - 1; b > a; b--) {
      const first = this.start[b];
      this.swap(p, first);
      p = first;
      this.start[b] = first + 1;
    }
  }

  /** Removes `piece` from the members (no-op if it is not one). */
  remove(piece: number): void {
    let p = this.pos[piece];
    if (p < 0) return;
    const top = this.start.length - 1;
    // Walk it up to the start of each higher bucket, then out past the end.
    for (let b = this.avail[piece]; b < top; b++) {
      const last = this.start[b + 1] - 1;
      this.swap(p, last);
      p = last;
      this.start[b + 1] = last;
    }
    this.swap(p, this.size - 1);
    this.size--;
    this.pos[piece] = -1;
  }

  /**
   * Visits members rarest first; within one availability level the visit starts at a random
   * member and wraps, so ties are broken randomly. Stops when `visit` returns true. `visit` must
   * not change this structure.
   */
  scanRarest(random: () => number, visit: (piece: number) => boolean): void {
    const buckets = this.start.length;
    for (let a = 0; a < buckets; a++) {
      const s = this.start[a];
      const e = a + 1 < buckets ? this.start[a + 1] : this.size;
      if (this.scanRange(s, e, random, visit)) return;
    }
  }

  /** Visits every member once, starting at a random one; stops when `visit` returns true. */
  scanRandom(random: () => number, visit: (piece: number) => boolean): void {
    this.scanRange(0, this.size, random, visit);
  }

  /** Checks the internal invariants (for tests): returns a description of the first violation. */
  check(): string | undefined {
    for (let p = 0; p < this.size; p++) {
      const piece = this.order[p];
      if (this.pos[piece] !== p) return `pos[${piece}] != ${p}`;
      if (p > 0 && this.avail[this.order[p - 1]] > this.avail[piece]) return `unsorted at ${p}`;
    }
    for (let a = 0; a < this.start.length; a++) {
      const s = this.start[a];
      if (s < 0 || s > this.size) return `start[${a}] out of range`;
      if (s < this.size && this.avail[this.order[s]] < a) return `start[${a}] too early`;
      if (s > 0 && this.avail[this.order[s - 1]] >= a) return `start[${a}] too late`;
    }
    return undefined;
  }

  private scanRange(s: number, e: number, random: () => number, visit: (piece: number) => boolean): boolean {
    const n = e - s;
    if (n <= 0) return false;
    const offset = Math.min(n - 1, Math.floor(random() * n));
    for (let k = 0; k < n; k++) {
      let p = s + offset + k;
      if (p >= e) p -= n;
      if (visit(this.order[p])) return true;
    }
    return false;
  }

  private ensure(length: number): void {
    while (this.start.length < length) this.start.push(this.size);
  }

  private swap(p: number, q: number): void {
    if (p === q) return;
    const x = this.order[p];
    const y = this.order[q];
    this.order[p] = y;
    this.order[q] = x;
    this.pos[y] = p;
    this.pos[x] = q;
  }
}
