/**
 * The worker thread behind `createWorkerHasher`: it hashes each piece it is sent and sends the
 * buffer back with the digest (moved both ways, never copied).
 */
import { parentPort } from 'node:worker_threads';
import { digestOf, type PieceDigest } from './piece-hasher.js';

interface HashJob {
  id: number;
  buffer: ArrayBuffer;
  offset: number;
  length: number;
  how: PieceDigest;
}

parentPort?.on('message', ({ id, buffer, offset, length, how }: HashJob) => {
  const digest = digestOf(new Uint8Array(buffer, offset, length), how);
  parentPort!.postMessage({ id, buffer, digest }, [buffer]);
});
