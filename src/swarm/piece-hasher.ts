/**
 * SHA-1 of whole pieces off the main thread. Hashing a piece costs about 1 ms per MiB; on the
 * event loop that is time not spent moving data, so a download hands each piece to a worker
 * thread (its buffer is transferred, not copied, and handed back with the digest). `inlineHasher`
 * does the same on the calling thread, for simulations that must stay deterministic.
 */
import { createHash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface PieceHasher {
  /**
   * The SHA-1 of `data`, and `data` itself (which the call may have moved to another thread and
   * back: use the returned one). Rejects only when the worker died with the piece.
   */
  sha1(data: Uint8Array): Promise<{ digest: Uint8Array; data: Uint8Array }>;
  close(): void;
}

export const inlineHasher: PieceHasher = {
  sha1: async (data) => ({ digest: createHash('sha1').update(data).digest(), data }),
  close: () => undefined,
};

const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
parentPort.on('message', ({ id, buffer, offset, length }) => {
  const digest = createHash('sha1').update(new Uint8Array(buffer, offset, length)).digest();
  parentPort.postMessage({ id, buffer, digest }, [buffer]);
});
`;

/** A hasher backed by one worker thread; falls back to hashing inline if the worker fails. */
export function createWorkerHasher(): PieceHasher {
  let worker: Worker | undefined = new Worker(WORKER_SOURCE, { eval: true });
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
    sha1(data) {
      // Only a buffer that owns its whole ArrayBuffer can be moved; anything else is hashed here.
      if (!worker || data.byteOffset !== 0 || data.byteLength !== data.buffer.byteLength || !(data.buffer instanceof ArrayBuffer)) {
        return inlineHasher.sha1(data);
      }
      const id = nextId++;
      return new Promise((resolve, reject) => {
        waiting.set(id, { offset: data.byteOffset, length: data.byteLength, resolve, reject });
        worker!.postMessage({ id, buffer: data.buffer, offset: data.byteOffset, length: data.byteLength }, [data.buffer as ArrayBuffer]);
      });
    },
    close() {
      void worker?.terminate();
      worker = undefined;
    },
  };
}
