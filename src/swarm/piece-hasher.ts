/**
 * Hashes of whole pieces off the main thread. Hashing a piece costs about 1 ms per MiB; on the
 * event loop that is time not spent moving data, so a download hands each piece to a worker
 * thread (its buffer is transferred, not copied, and handed back with the digest). `inlineHasher`
 * does the same on the calling thread, for simulations that must stay deterministic.
 *
 * A piece is hashed the way its torrent says (`PieceDigest`): SHA-1 of the whole piece for v1 and
 * hybrid torrents, BEP 52's merkle root of its 16 KiB blocks for v2-only ones.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';
import { blockHashes, merkleRoot, padHash } from './merkle.js';

/**
 * How a piece is hashed: the SHA-1 of all of it (v1), or the merkle root over the SHA-256 of the
 * 16 KiB blocks of its first `length` bytes, padded with zero leaves to `width` leaves (BEP 52).
 */
export type PieceDigest = { kind: 'sha1' } | { kind: 'merkle'; length: number; width: number };

/** What a piece must hash to, and how it is hashed. */
export interface PieceCheck {
  how: PieceDigest;
  digest: Uint8Array;
}

/** The digest of `data` hashed as `how` says, on the calling thread. */
export function digestOf(data: Uint8Array, how: PieceDigest): Uint8Array {
  if (how.kind === 'sha1') return createHash('sha1').update(data).digest();
  return merkleRoot(blockHashes(data.subarray(0, how.length)), how.width, padHash(0));
}

export interface PieceHasher {
  /**
   * The digest of `data`, and `data` itself (which the call may have moved to another thread and
   * back: use the returned one). Rejects only when the worker died with the piece.
   */
  hash(data: Uint8Array, how: PieceDigest): Promise<{ digest: Uint8Array; data: Uint8Array }>;
  close(): void;
}

export const inlineHasher: PieceHasher = {
  hash: async (data, how) => ({ digest: digestOf(data, how), data }),
  close: () => undefined,
};

/** A hasher backed by one worker thread (`hash-worker.ts`); falls back to hashing inline if the worker fails. */
export function createWorkerHasher(): PieceHasher {
  let worker: Worker | undefined = new Worker(new URL('./hash-worker.js', import.meta.url));
  worker.unref();
  let nextId = 0;
  const waiting = new Map<
    number,
    { offset: number; length: number; resolve(r: { digest: Uint8Array; data: Uint8Array }): void; reject(e: Error): void }
  >();
  worker.on('message', ({ id, buffer, digest }: { id: number; buffer: ArrayBuffer; digest: Uint8Array }) => {
    const entry = waiting.get(id);
    if (!entry) return;
    waiting.delete(id);
    entry.resolve({ digest, data: new Uint8Array(buffer, entry.offset, entry.length) });
  });
  worker.on('error', (error) => {
    // The worker is gone and the pieces it held with it: they are fetched again; later ones are hashed inline.
    worker = undefined;
    for (const entry of waiting.values()) entry.reject(error);
    waiting.clear();
  });
  return {
    hash(data, how) {
      // Only a buffer that owns its whole ArrayBuffer can be moved; anything else is hashed here.
      if (!worker || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength || !(data.buffer instanceof ArrayBuffer)) {
        return inlineHasher.hash(data, how);
      }
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { offset: data.byteOffset, length: data.byteLength, resolve, reject });
        worker!.postMessage({ id, buffer: data.buffer, offset: data.byteOffset, length: data.byteLength, how }, [data.buffer as ArrayBuffer]);
      });
    },
    close() {
      void worker?.terminate();
      worker = undefined;
    },
  };
}
