/**
 * Checking a torrent's data on disk: each piece is read and hashed, and the ones that match are
 * reported. A few pieces are in flight at once, so the reads of the next pieces overlap the
 * hashing of this one, and the hashing runs where the torrent's `PieceHasher` runs it (the
 * session's worker thread): a check of a large torrent leaves the event loop free for the peers of
 * other torrents. Used on start (`ResumeKeeper.restore`) and by `Torrent.recheck`.
 */
import { pieceSize, type InfoDict } from '../codec/metainfo.js';
import { idEquals } from '../kademlia/id.js';
import { StorageError } from './errors.js';
import { PieceBufferPool } from './piece-buffer-pool.js';
import type { PieceCheck, PieceHasher } from './piece-hasher.js';
import type { TorrentStorage } from './storage.js';

/** Pieces read or hashed at once: enough to keep the disk and the hashing thread both busy... */
const IN_FLIGHT = 4;
/** ...unless the pieces are large: their buffers then take at most this much memory (one piece at least). */
const IN_FLIGHT_BYTES = 32 * 1024 * 1024;

export interface PieceCheckJob {
  info: InfoDict;
  storage: TorrentStorage;
  hasher: PieceHasher;
  /** How piece `index` is checked; undefined when it cannot be yet (it counts as not good). */
  check(index: number): PieceCheck | undefined;
  /** Piece `index` is on disk and matches its hash (called in any order). */
  good(index: number): void;
  /** The check is to end early (the torrent closed). */
  stopped(): boolean;
}

/**
 * Checks the pieces `indices` (each once). A piece in a missing or short file is not good; any
 * other read error (permission, I/O) rejects, once the pieces in flight have settled.
 */
export async function checkPieces(job: PieceCheckJob, indices: Iterable<number>): Promise<void> {
  const { info, storage, hasher } = job;
  const inFlight = Math.max(1, Math.min(IN_FLIGHT, Math.floor(IN_FLIGHT_BYTES / info.pieceLength)));
  const buffers = new PieceBufferPool(info.pieceLength, inFlight);
  const next = indices[Symbol.iterator]();
  let failure: unknown;
  const worker = async (): Promise<void> => {
    for (let step = next.next(); !step.done && failure === undefined && !job.stopped(); step = next.next()) {
      const index = step.value;
      const check = job.check(index);
      if (!check) continue;
      let data = buffers.take(pieceSize(info, index));
      try {
        await storage.readPiece(index, data);
        const hashed = await hasher.hash(data, check.how);
        data = hashed.data;
        if (idEquals(hashed.digest, check.digest)) job.good(index);
      } catch (error) {
        if (!(error instanceof StorageError && error.code === 'MISSING_FILE')) failure ??= error;
      } finally {
        buffers.give(data);
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  if (failure !== undefined) throw failure;
}
