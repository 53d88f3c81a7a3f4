/**
 * The block-by-block state of one piece a `PiecePicker` has started: which blocks arrived and
 * from whom (to blame a peer when the piece fails its hash), and which are requested from whom.
 * Internal to the picker, which keeps its own totals in step; exists only while the piece is in
 * progress, so memory follows the pieces in flight, not the torrent size.
 */
export class PieceProgress {
  /** 1 where the block arrived. */
  readonly received: Uint8Array;
  /** Peers the block is outstanding from (several only in endgame); undefined when none. */
  readonly requesters: (string[] | undefined)[];
  /** Who delivered each received block. */
  readonly deliveredBy: (string | undefined)[];
  receivedCount = 0;
  /** Blocks neither received nor requested from anyone. */
  unrequested: number;
  /** Every block before this one is received or requested. */
  private cursor = 0;

  constructor(
    readonly index: number,
    readonly blockCount: number,
  ) {
    this.received = new Uint8Array(blockCount);
    this.requesters = new Array<string[] | undefined>(blockCount).fill(undefined);
    this.deliveredBy = new Array<string | undefined>(blockCount).fill(undefined);
    this.unrequested = blockCount;
  }

  /** The lowest block neither received nor requested; the caller has checked `unrequested > 0`. */
  nextUnrequested(): number {
    while (this.cursor < this.blockCount && (this.received[this.cursor] || this.requesters[this.cursor])) this.cursor++;
    if (this.cursor >= this.blockCount) throw new Error(`piece ${this.index}: no unrequested block left`);
    return this.cursor;
  }

  /** Block `j` arrived from `peer`; its requests are forgotten. */
  markReceived(j: number, peer: string): void {
    this.received[j] = 1;
    this.deliveredBy[j] = peer;
    this.requesters[j] = undefined;
    this.receivedCount++;
  }

  /** Block `j` (not received) lost its last requester. */
  markUnrequested(j: number): void {
    this.requesters[j] = undefined;
    this.unrequested++;
    if (j < this.cursor) this.cursor = j;
  }
}
