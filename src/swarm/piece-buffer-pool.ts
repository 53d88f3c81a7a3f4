/**
 * Reused buffers for whole pieces being downloaded. A fresh 1 MiB buffer per piece costs more CPU
 * than copying the data into it: the memory is mapped anew, every page faults on first touch, and
 * the garbage collector counts it as external memory. A buffer that has been hashed and written
 * goes back here and holds the next piece instead.
 *
 * Only full-size pieces (`pieceLength` bytes) are pooled; a buffer owns its whole ArrayBuffer, so
 * the worker hasher can move it to its thread and back. At most `maxFree` idle buffers are kept;
 * the pool never holds a buffer that is in use (callers give back only buffers they are done with).
 */
export class PieceBufferPool {
  private readonly free: Uint8Array[] = [];

  constructor(
    readonly pieceLength: number,
    private readonly maxFree = 16,
  ) {}

  /** A buffer of `size` bytes, not zero-filled: from the pool when `size` is a full piece. */
  take(size: number): Uint8Array {
    if (size === this.pieceLength) {
      const reused = this.free.pop();
      if (reused) return reused;
    }
    return Buffer.allocUnsafeSlow(size);
  }

  /** Gives back a buffer nothing reads or writes any more (others are ignored). */
  give(buffer: Uint8Array): void {
    if (buffer.byteLength !== this.pieceLength || buffer.byteOffset !== 0 || buffer.buffer.byteLength !== this.pieceLength) return;
    if (this.free.length < this.maxFree) this.free.push(buffer);
  }

  /** Lets go of the idle buffers (the download is over: nothing will take them again). */
  clear(): void {
    this.free.length = 0;
  }

  /** Bytes held by idle buffers. */
  get idleBytes(): number {
    return this.free.length * this.pieceLength;
  }
}
