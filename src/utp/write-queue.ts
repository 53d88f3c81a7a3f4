/**
 * The bytes written to a uTP connection and not yet cut into packets, with the `writev` callbacks
 * waiting for them: a callback is due once every byte of its batch is in a packet (the caller may
 * then reuse its buffers). Packets are carved from 64 KiB slabs, with room left for the header, so
 * a DATA packet costs one copy of its payload and an allocation per ~46 packets.
 */

/** Size of the buffers packets are carved from. */
const SLAB_BYTES = 64 * 1024;
/** Taken chunks are dropped from the front in batches of at least this many (not one shift per chunk). */
const COMPACT_AFTER = 1024;

export class UtpWriteQueue {
  private chunks: Uint8Array[] = [];
  /** The first chunk not wholly taken, and how much of it is. */
  private head = 0;
  private offset = 0;
  private pushed = 0;
  private taken = 0;
  private readonly callbacks: { until: number; done: () => void }[] = [];
  private slab = new Uint8Array(0);
  private slabUsed = 0;

  /** Bytes waiting to be taken. */
  get pending(): number {
    return this.pushed - this.taken;
  }

  /** Queues `chunks` (kept, not copied, until taken); `done` is called once they all are. */
  push(chunks: readonly Uint8Array[], done?: () => void): void {
    for (const chunk of chunks) {
      if (chunk.length === 0) continue;
      this.chunks.push(chunk);
      this.pushed += chunk.length;
    }
    if (!done) return;
    if (this.pending === 0) queueMicrotask(done);
    else this.callbacks.push({ until: this.pushed, done });
  }

  /**
   * Moves up to `max` bytes into a new packet buffer, after `room` bytes left free for the header;
   * the callbacks whose bytes are now all taken are called next.
   */
  take(max: number, room: number): Uint8Array {
    const length = Math.min(max, this.pending);
    const out = this.carve(room + length);
    let filled = 0;
    while (filled < length) {
      const chunk = this.chunks[this.head];
      const n = Math.min(length - filled, chunk.length - this.offset);
      out.set(n === chunk.length ? chunk : chunk.subarray(this.offset, this.offset + n), room + filled);
      filled += n;
      this.offset += n;
      if (this.offset === chunk.length) {
        this.head++;
        this.offset = 0;
      }
    }
    if (this.head === this.chunks.length) {
      this.chunks = [];
      this.head = 0;
    } else if (this.head >= COMPACT_AFTER) {
      this.chunks = this.chunks.slice(this.head);
      this.head = 0;
    }
    this.taken += length;
    // Asynchronously, as `writev` promises: by then the packet has gone out.
    while (this.callbacks.length > 0 && this.callbacks[0].until <= this.taken) queueMicrotask(this.callbacks.shift()!.done);
    return out;
  }

  /** The connection is over: what waits is dropped, and every callback is called (asynchronously). */
  abort(): void {
    this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.taken = this.pushed;
    for (const { done } of this.callbacks.splice(0)) queueMicrotask(done);
  }

  /** A view of `bytes` fresh bytes of the slab (a new slab when it is used up). */
  private carve(bytes: number): Uint8Array {
    if (this.slabUsed + bytes > this.slab.length) {
      this.slab = new Uint8Array(Math.max(SLAB_BYTES, bytes));
      this.slabUsed = 0;
    }
    const view = this.slab.subarray(this.slabUsed, this.slabUsed + bytes);
    this.slabUsed += bytes;
    return view;
  }
}
