/**
 * Creates a BEP 3 (v1) .torrent from a file or a folder, hashing the data as a stream: files are
 * read in chunks of at most 4 MiB (the next chunk is read while the current one is hashed), so
 * memory stays flat whatever the size. Used by `warren create` and `warren seed <path>`.
 */
import { encodeMetainfo, parseInfoDict, type InfoDict, type TorrentFile } from '../codec/metainfo.js';
import type { FileHandle, FileStore } from '../runtime/interfaces.js';
import { createHash, type Hash } from 'node:crypto';
import { sha1 } from './storage.js';

/** Options of `createTorrent`. */
export interface CreateTorrentOptions {
  /** Bytes per piece: a power of two from 16 KiB to 128 MiB. Default: see `choosePieceLength`. */
  pieceLength?: number;
  /** Announce URLs: a flat list (one tier each) or BEP 12 tiers. The first becomes `announce`. */
  trackers?: string[][] | string[];
  comment?: string;
  /** BEP 27: peers only from the trackers given (no DHT, no PEX). */
  private?: boolean;
  /** Default 'warren'. */
  createdBy?: string;
  /** Seconds since the Unix epoch; left out of the file when not given (the caller owns the clock). */
  creationDate?: number;
  /** The torrent's name; default the last component of `path`. */
  name?: string;
  /** BEP 19 web seeds (`url-list`): HTTP URLs where the files can also be fetched. */
  webSeeds?: string[];
}

/** A created torrent: the .torrent bytes, the exact info dictionary bytes and its SHA-1. */
export interface CreatedTorrent {
  bytes: Uint8Array;
  infoBytes: Uint8Array;
  infoHash: Uint8Array;
  info: InfoDict;
}

const MIN_PIECE = 16 * 1024;
const MAX_AUTO_PIECE = 16 * 1024 * 1024;
const MAX_PIECE = 128 * 1024 * 1024;
const TARGET_PIECES = 1500;
const READ_CHUNK = 4 * 1024 * 1024;
const MAX_DEPTH = 64;

/**
 * The automatic piece length: the smallest power of two from 16 KiB to 16 MiB that cuts
 * `totalLength` into at most 1,500 pieces (16 MiB for anything larger than ~23 GiB). For example
 * 1 GiB → 1 MiB (1,024 pieces), 100 MiB → 128 KiB (800 pieces), 10 MiB → 16 KiB (640 pieces).
 */
export function choosePieceLength(totalLength: number): number {
  let length = MIN_PIECE;
  while (length < MAX_AUTO_PIECE && Math.ceil(totalLength / length) > TARGET_PIECES) length *= 2;
  return length;
}

function isPowerOfTwo(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && Math.log2(n) % 1 === 0;
}

function trimSlashes(path: string): string {
  const trimmed = path.replace(/\/+$/, '');
  return trimmed === '' && path.startsWith('/') ? '/' : trimmed;
}

/** A file to hash: where it is on disk and its path below the torrent's folder. */
interface SourceFile {
  diskPath: string;
  components: string[];
  length: number;
}

/**
 * Regular files under `dir`, depth first in sorted order (what `FileStore.list` gives). FIFOs,
 * sockets and devices are left out: reading one would block or never end.
 */
async function walk(fs: FileStore, dir: string, prefix: string[], out: SourceFile[]): Promise<void> {
  if (prefix.length > MAX_DEPTH) throw new Error(`${dir}: folders nested deeper than ${MAX_DEPTH} levels (a link loop?)`);
  for (const name of await fs.list(dir)) {
    const diskPath = `${dir}/${name}`;
    const s = await fs.stat(diskPath);
    if (s === undefined) continue; // vanished while listing, or a dangling link: nothing to share
    if (s.isDirectory) await walk(fs, diskPath, [...prefix, name], out);
    else if (s.isFile) out.push({ diskPath, components: [...prefix, name], length: s.size });
  }
}

/** Feeds bytes into consecutive piece hashes. */
class PieceHasher {
  private hash: Hash = createHash('sha1');
  private filled = 0;
  private count = 0;

  constructor(
    private readonly pieceLength: number,
    private readonly out: Uint8Array,
  ) {}

  update(data: Uint8Array): void {
    let at = 0;
    while (at < data.length) {
      const take = Math.min(this.pieceLength - this.filled, data.length - at);
      this.hash.update(data.subarray(at, at + take));
      this.filled += take;
      at += take;
      if (this.filled === this.pieceLength) this.finishPiece();
    }
  }

  /** Hashes the short last piece, if any; returns the number of pieces. */
  finish(): number {
    if (this.filled > 0) this.finishPiece();
    return this.count;
  }

  private finishPiece(): void {
    this.out.set(this.hash.digest(), this.count * 20);
    this.count++;
    this.hash = createHash('sha1');
    this.filled = 0;
  }
}

/** Streams one file into the hasher; the file must still have the length it had when listed. */
async function hashFile(fs: FileStore, file: SourceFile, hasher: PieceHasher): Promise<void> {
  if (file.length === 0) return;
  const handle: FileHandle = await fs.open(file.diskPath, 'r');
  try {
    const readAt = (pos: number): Promise<Uint8Array> => handle.read(pos, Math.min(READ_CHUNK, file.length - pos));
    let pos = 0;
    let pending = readAt(0);
    while (pos < file.length) {
      const chunk = await pending;
      if (chunk.length === 0) throw new Error(`${file.diskPath} shrank while it was being hashed`);
      pos += chunk.length;
      if (pos < file.length) pending = readAt(pos); // read ahead while hashing
      hasher.update(chunk);
    }
  } finally {
    await handle.close();
  }
}

function trackerTiers(trackers: string[][] | string[] | undefined): string[][] {
  if (trackers === undefined) return [];
  const tiers = trackers.map((t) => (typeof t === 'string' ? [t] : [...t]));
  return tiers.filter((tier) => tier.length > 0);
}

/**
 * Builds a .torrent for the file or folder at `path` (a folder: every regular file below it,
 * recursively, in sorted path order; links are followed; FIFOs, sockets and devices are skipped). Throws an `Error` with a helpful
 * one-line message when the path does not exist or holds nothing to share, and `RangeError`
 * for a bad piece length.
 */
export async function createTorrent(fs: FileStore, path: string, options: CreateTorrentOptions = {}): Promise<CreatedTorrent> {
  const root = trimSlashes(path);
  const top = await fs.stat(root);
  if (top === undefined) throw new Error(`${path} does not exist`);
  const name = options.name ?? root.slice(root.lastIndexOf('/') + 1);
  if (name === '' || name === '.' || name === '..') throw new Error(`cannot name a torrent after ${path}: give a name`);

  const sources: SourceFile[] = [];
  if (top.isDirectory) await walk(fs, root, [], sources);
  else if (top.isFile) sources.push({ diskPath: root, components: [name], length: top.size });
  else throw new Error(`${path} is not a regular file or a folder`);
  const totalLength = sources.reduce((sum, f) => sum + f.length, 0);
  if (totalLength === 0) throw new Error(`nothing to share: ${path} is empty`);

  const pieceLength = options.pieceLength ?? choosePieceLength(totalLength);
  if (!isPowerOfTwo(pieceLength) || pieceLength < MIN_PIECE || pieceLength > MAX_PIECE) {
    throw new RangeError(`piece length must be a power of two from 16 KiB to 128 MiB, got ${pieceLength}`);
  }
  const pieceCount = Math.ceil(totalLength / pieceLength);
  const pieces = new Uint8Array(pieceCount * 20);
  const hasher = new PieceHasher(pieceLength, pieces);
  const files: TorrentFile[] = [];
  let offset = 0;
  for (const source of sources) {
    await hashFile(fs, source, hasher);
    files.push({ path: source.components, length: source.length, offset });
    offset += source.length;
  }
  if (hasher.finish() !== pieceCount) throw new Error(`${path} changed while it was being hashed`);

  const tiers = trackerTiers(options.trackers);
  const { bytes, infoBytes } = encodeMetainfo({
    info: { name, pieceLength, pieces, files, multiFile: top.isDirectory, private: options.private ?? false },
    announce: tiers[0]?.[0],
    announceList: tiers.flat().length > 1 ? tiers : undefined,
    urlList: options.webSeeds,
    comment: options.comment,
    createdBy: options.createdBy ?? 'warren',
    creationDate: options.creationDate,
  });
  return { bytes, infoBytes, infoHash: sha1(infoBytes), info: parseInfoDict(infoBytes) };
}
