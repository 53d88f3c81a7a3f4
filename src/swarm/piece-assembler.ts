/**
 * Pieces being downloaded: blocks are gathered in a per-piece buffer (so a piece is hashed once
 * from memory and written in one go), then checked against its hash. Memory is one
 * buffer per piece in progress; the picker finishes started pieces first, which keeps that small.
 * How a piece is checked (SHA-1, or BEP 52's merkle root) is the torrent's to say (`check`).
 * Who sent each block is kept so a failed piece can be blamed (see `SmartBan`).
 */
import { pieceSize, type InfoDict } from '../codec/metainfo.js';
import { idEquals } from '../kademlia/id.js';
import { PieceBufferPool } from './piece-buffer-pool.js';
import type { PieceCheck, PieceHasher } from './piece-hasher.js';

export interface BlockSender {
  begin: number;
  length: number;
  peer: string;
}

interface PartialPiece {
  data: Uint8Array;
  senders: BlockSender[];
}

/** A piece whose last block arrived: its data, whether it matched its hash, and who sent what. */
export interface AssembledPiece {
  index: number;
  data: Uint8Array;
  valid: boolean;
  senders: BlockSender[];
}

export class PieceAssembler {
  private readonly partial = new Map<number, PartialPiece>();
  /** Bytes of the buffers in `partial`. */
  private held = 0;

  constructor(
    private readonly info: InfoDict,
    private readonly hasher: PieceHasher,
    /** What piece `index` must hash to; undefined when that is not known yet (it then fails). */
    private readonly check: (index: number) => PieceCheck | undefined,
    /** Where piece buffers come from; the owner of a finished piece gives its `data` back here. */
    readonly buffers = new PieceBufferPool(info.pieceLength),
  ) {}

  /** Stores a block (copying it out of the network buffer). */
  add(index: number, begin: number, block: Uint8Array, peer: string): void {
    let piece = this.partial.get(index);
    if (!piece) {
      // Not zero-filled: every byte is written by a block before the piece is hashed.
      piece = { data: this.buffers.take(pieceSize(this.info, index)), senders: [] };
      this.partial.set(index, piece);
      this.held += piece.data.length;
    }
    if (begin + block.length > piece.data.length) return;
    piece.data.set(block, begin);
    piece.senders.push({ begin, length: block.length, peer });
  }

  /** Takes the finished piece out and checks its hash. */
  async finish(index: number): Promise<AssembledPiece | undefined> {
    const piece = this.partial.get(index);
    if (!piece) return undefined;
    this.partial.delete(index);
    this.held -= piece.data.length;
    const check = this.check(index);
    if (!check) return { index, data: piece.data, valid: false, senders: piece.senders };
    const { digest, data } = await this.hasher.hash(piece.data, check.how);
    return { index, data, valid: idEquals(digest, check.digest), senders: piece.senders };
  }

  /** Forgets a piece (its blocks will be fetched again). */
  drop(index: number): void {
    const piece = this.partial.get(index);
    if (!piece) return;
    this.partial.delete(index);
    this.held -= piece.data.length;
    this.buffers.give(piece.data);
  }

  /** Bytes held in piece buffers. */
  get bufferedBytes(): number {
    return this.held;
  }
}
