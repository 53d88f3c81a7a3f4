/**
 * The pieces most recently read for uploading, and the reuse of their buffers. Reading every
 * uploaded piece into a fresh 1 MiB buffer costs page faults and garbage collection on the
 * seeder; here a piece's buffer is recycled for the next read once it has left the cache and
 * no socket can still send from it.
 *
 * A block handed out for sending holds its piece (`hold`); whoever sends it calls `release()`
 * once the runtime no longer reads the bytes (`TcpConnection.writev`'s `done`). A piece is
 * recycled only when it has been evicted, its read has finished, and nothing holds it. Blocks
 * handed out without a release (`pin`) keep their buffer out of the pool for good.
 */
import { PieceBufferPool } from './piece-buffer-pool.js';

/** What a sender gives back once it is done with a block (see `PeerConnection.sendPiece`). */
export interface BlockOwner {
  release(): void;
}

/** One cached piece: `data` once read. */
export class UploadPiece implements BlockOwner {
  data: Uint8Array | undefined;
  /** @internal The pooled buffer the piece is read into; recycled only if `data` lives in it. */
  buffer: Uint8Array | undefined;
  /** Settles when the read is over: resolves with `data` set, or rejects with the read's error. */
  loaded: Promise<void> = Promise.resolve();
  /** Holds not yet released (one per block being sent, one per caller of `acquire`). */
  private holders = 0;
  private evicted = false;
  /** A block was handed out for good: never recycle this buffer. */
  private pinned = false;

  constructor(private readonly cache: UploadCache) {}

  /** One more user: the buffer is not recycled until it calls `release()`. */
  hold(): this {
    this.holders++;
    return this;
  }

  /** A view of bytes `begin..begin + length` of the read piece (valid while held). */
  block(begin: number, length: number): Uint8Array {
    const data = this.data!;
    return new Uint8Array(data.buffer, data.byteOffset + begin, length);
  }

  /** Never recycle this buffer (a block of it was handed to code that does not release). */
  pin(): void {
    this.pinned = true;
  }

  release(): void {
    if (this.holders <= 0) throw new Error('upload piece released more often than held');
    this.holders--;
    this.recycleIfIdle();
  }

  /** @internal Left the cache. */
  evict(): void {
    this.evicted = true;
    this.recycleIfIdle();
  }

  /** @internal Gives the buffer back once the piece is out of the cache, read, and not held. */
  recycleIfIdle(): void {
    if (!this.evicted || this.holders > 0 || this.data === undefined || this.pinned) return;
    const buffer = this.buffer;
    const mine = buffer !== undefined && this.data.buffer === buffer.buffer;
    this.data = undefined;
    this.buffer = undefined;
    if (mine) this.cache.buffers.give(buffer);
  }
}

export class UploadCache {
  /** By piece index, in insertion order (the oldest is evicted first). */
  private readonly pieces = new Map<number, UploadPiece>();

  constructor(
    /** Reads piece `index` into `into` (a pooled buffer of the piece's size) and returns the bytes. */
    private readonly read: (index: number, into: Uint8Array) => Promise<Uint8Array>,
    readonly buffers: PieceBufferPool,
    private readonly capacity = 16,
  ) {}

  /** The piece if it is cached and read (not held: the caller holds it before handing out a block). */
  ready(index: number): UploadPiece | undefined {
    const piece = this.pieces.get(index);
    return piece?.data !== undefined ? piece : undefined;
  }

  /**
   * The piece, held once for the caller (who must `release()` it), read from storage if it is not
   * cached: await `loaded` before using `data`. A failed read leaves the cache.
   */
  acquire(index: number, size: number): UploadPiece {
    const cached = this.pieces.get(index);
    if (cached) return cached.hold();
    const piece = new UploadPiece(this).hold();
    const buffer = this.buffers.take(size);
    piece.buffer = buffer;
    piece.loaded = this.read(index, buffer).then(
      (data) => {
        piece.data = data;
        piece.recycleIfIdle(); // evicted while reading and already released
      },
      (error: unknown) => {
        // The buffer is dropped, not pooled: a read of another span may still be filling it.
        if (this.pieces.get(index) === piece) this.pieces.delete(index);
        throw error;
      },
    );
    piece.loaded.catch(() => undefined); // the holder awaits it; this only marks it handled
    this.pieces.set(index, piece);
    if (this.pieces.size > this.capacity) {
      const [oldest, entry] = this.pieces.entries().next().value as [number, UploadPiece];
      this.pieces.delete(oldest);
      entry.evict();
    }
    return piece;
  }

  /** Pieces in the cache (read or being read). */
  get size(): number {
    return this.pieces.size;
  }
}
