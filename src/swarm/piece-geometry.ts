/**
 * How a torrent's bytes are numbered into pieces and 16 KiB blocks, and how a BEP 3 bitfield
 * addresses pieces. Used by the `PiecePicker` (and anyone who needs block boundaries); pure.
 */

/** The request size every client uses (BEP 3 de facto; larger requests are commonly refused). */
export const BLOCK_SIZE = 16384;

/** A block of a piece: what a `request`, `piece`, `cancel` or `reject` message names. */
export interface Block {
  index: number;
  begin: number;
  length: number;
}

/** Piece and block boundaries of one torrent. Throws `RangeError` for inconsistent sizes. */
export class PieceGeometry {
  /** Blocks in a full-size piece; also the stride of global block ids (`index * stride + block`). */
  readonly blocksPerPiece: number;
  readonly lastPieceLength: number;

  constructor(
    readonly pieceCount: number,
    readonly pieceLength: number,
    readonly totalLength: number,
  ) {
    if (!Number.isSafeInteger(pieceLength) || pieceLength <= 0) throw new RangeError(`bad piece length ${pieceLength}`);
    if (!Number.isSafeInteger(totalLength) || totalLength < 0) throw new RangeError(`bad total length ${totalLength}`);
    if (pieceCount !== Math.ceil(totalLength / pieceLength)) {
      throw new RangeError(`piece count ${pieceCount} does not match ${totalLength} bytes in pieces of ${pieceLength}`);
    }
    this.blocksPerPiece = Math.ceil(pieceLength / BLOCK_SIZE);
    this.lastPieceLength = pieceCount === 0 ? 0 : totalLength - (pieceCount - 1) * pieceLength;
  }

  /** Bytes in piece `index` (the last one may be short). */
  pieceSize(index: number): number {
    return index === this.pieceCount - 1 ? this.lastPieceLength : this.pieceLength;
  }

  /** Blocks in piece `index`. */
  blockCount(index: number): number {
    return index === this.pieceCount - 1 ? Math.ceil(this.lastPieceLength / BLOCK_SIZE) : this.blocksPerPiece;
  }

  /** Block `j` of piece `index`; only the very last block of the torrent may be short. */
  block(index: number, j: number): Block {
    return { index, begin: j * BLOCK_SIZE, length: Math.min(BLOCK_SIZE, this.pieceSize(index) - j * BLOCK_SIZE) };
  }

  /** Block number of `block` within its piece, or -1 when it is not exactly one of our blocks. */
  blockNumber(block: Block): number {
    const { index, begin, length } = block;
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) return -1;
    if (!Number.isInteger(begin) || begin < 0 || begin % BLOCK_SIZE !== 0) return -1;
    const j = begin / BLOCK_SIZE;
    if (j >= this.blockCount(index) || length !== Math.min(BLOCK_SIZE, this.pieceSize(index) - begin)) return -1;
    return j;
  }

  /** Throws `RangeError` unless `index` is a piece of this torrent. */
  checkIndex(index: number): void {
    if (!Number.isInteger(index) || index < 0 || index >= this.pieceCount) {
      throw new RangeError(`piece index ${index} out of range (0..${this.pieceCount - 1})`);
    }
  }
}

/** Whether bit `i` is set (BEP 3 order: the high bit of byte 0 is piece 0). */
export function hasBit(bits: Uint8Array, i: number): boolean {
  return (bits[i >> 3] & (0x80 >> (i & 7))) !== 0;
}

/** Sets bit `i` (BEP 3 order). */
export function setBit(bits: Uint8Array, i: number): void {
  bits[i >> 3] |= 0x80 >> (i & 7);
}

/** A BEP 3 bitfield of `count` pieces with the bits `has` says are set. */
export function bitfieldOf(count: number, has: (i: number) => boolean): Uint8Array {
  const bits = new Uint8Array(Math.ceil(count / 8));
  for (let i = 0; i < count; i++) if (has(i)) setBit(bits, i);
  return bits;
}

/** Set bits in one byte. */
export function popcount8(b: number): number {
  b = b - ((b >> 1) & 0x55);
  b = (b & 0x33) + ((b >> 2) & 0x33);
  return (b + (b >> 4)) & 0x0f;
}

/** Calls `fn` for every set bit, skipping zero bytes. */
export function forEachBit(bits: Uint8Array, fn: (i: number) => void): void {
  for (let b = 0; b < bits.length; b++) {
    const byte = bits[b];
    if (byte === 0) continue;
    for (let k = 0; k < 8; k++) if (byte & (0x80 >> k)) fn(b * 8 + k);
  }
}
