/**
 * Creates a .torrent from a file or a folder: BEP 3 (v1), BEP 52 (v2), or hybrid (both, with BEP
 * 47 padding files so that every file starts a piece, as libtorrent makes them). The data is
 * hashed as a stream: files are read in chunks of at most 4 MiB (the next chunk is read while the
 * current one is hashed), so memory stays flat whatever the size; a v2 file's piece layer (32
 * bytes per piece) is all that is kept. Used by `warren create` and `warren seed <path>`.
 */
import { encodeMetainfo, parseInfoDict, type InfoDict, type TorrentFile } from '../codec/metainfo.js';
import type { FileHandle, FileStore } from '../runtime/interfaces.js';
import { createHash, type Hash } from 'node:crypto';
import { torrentHashes } from './info-hashes.js';
import { FileMerkleBuilder } from './merkle.js';

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
  /** v1 (BEP 3, the default), v2 (BEP 52 only) or hybrid (both in one info dictionary). */
  format?: TorrentFormat;
}

export type TorrentFormat = 'v1' | 'v2' | 'hybrid';

/** A created torrent: the .torrent bytes, the exact info dictionary bytes and its hashes. */
export interface CreatedTorrent {
  bytes: Uint8Array;
  infoBytes: Uint8Array;
  /** The 20 bytes the swarm knows it by: the SHA-1 of the info dictionary, or for v2 its truncated SHA-256. */
  infoHash: Uint8Array;
  /** The SHA-256 of the info dictionary (v2 and hybrid). */
  infoHashV2?: Uint8Array;
  info: InfoDict;
  /** The v2 piece layers (BEP 52), by the hex of each file's root; empty for v1. */
  pieceLayers: Map<string, Uint8Array>;
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

/** Feeds bytes into consecutive SHA-1 piece hashes (v1). */
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

/** Streams one file into the hashers; the file must still have the length it had when listed. */
async function hashFile(fs: FileStore, file: SourceFile, hashers: { update(chunk: Uint8Array): void }[]): Promise<void> {
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
      for (const hasher of hashers) hasher.update(chunk);
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

  const format = options.format ?? 'v1';
  const sources: SourceFile[] = [];
  if (top.isDirectory) await walk(fs, root, [], sources);
  else if (top.isFile) sources.push({ diskPath: root, components: [name], length: top.size });
  else throw new Error(`${path} is not a regular file or a folder`);
  // BEP 52's file tree lists files in the byte order of their UTF-8 names; a hybrid's v1 list must agree.
  if (format !== 'v1') sources.sort((a, b) => compareUtf8Paths(a.components, b.components));
  const totalLength = sources.reduce((sum, f) => sum + f.length, 0);
  if (totalLength === 0) throw new Error(`nothing to share: ${path} is empty`);

  const pieceLength = options.pieceLength ?? choosePieceLength(totalLength);
  if (!isPowerOfTwo(pieceLength) || pieceLength < MIN_PIECE || pieceLength > MAX_PIECE) {
    throw new RangeError(`piece length must be a power of two from 16 KiB to 128 MiB, got ${pieceLength}`);
  }
  // v2 and hybrid: each file starts a piece; the gap after a file is a BEP 47 padding file.
  const aligned = format !== 'v1';
  const files: TorrentFile[] = [];
  const sourceOf = new Map<TorrentFile, SourceFile>();
  let offset = 0;
  sources.forEach((source, i) => {
    const file: TorrentFile = { path: source.components, length: source.length, offset };
    files.push(file);
    sourceOf.set(file, source);
    offset += source.length;
    const gap = (pieceLength - (offset % pieceLength)) % pieceLength;
    if (aligned && gap > 0 && i < sources.length - 1) {
      files.push({ path: ['.pad', String(gap)], length: gap, offset, padding: true });
      offset += gap;
    }
  });
  const pieceCount = Math.ceil(offset / pieceLength);
  const pieces = format === 'v2' ? undefined : new Uint8Array(pieceCount * 20);
  const v1 = pieces && new PieceHasher(pieceLength, pieces);
  const pieceLayers = new Map<string, Uint8Array>();
  for (const file of files) {
    if (file.padding) {
      v1?.update(new Uint8Array(file.length));
      continue;
    }
    const v2 = aligned && file.length > 0 ? new FileMerkleBuilder(pieceLength) : undefined;
    await hashFile(fs, sourceOf.get(file)!, [...(v1 ? [v1] : []), ...(v2 ? [v2] : [])]);
    if (v2) {
      const { root, pieceLayer } = v2.finish();
      file.piecesRoot = root;
      if (pieceLayer) pieceLayers.set(Buffer.from(root).toString('hex'), pieceLayer);
    }
  }
  if (v1 && v1.finish() !== pieceCount) throw new Error(`${path} changed while it was being hashed`);

  const tiers = trackerTiers(options.trackers);
  const { bytes, infoBytes } = encodeMetainfo({
    info: { name, pieceLength, pieces, files, multiFile: top.isDirectory, private: options.private ?? false, metaVersion: aligned ? 2 : 1 },
    pieceLayers: pieceLayers.size > 0 ? pieceLayers : undefined,
    announce: tiers[0]?.[0],
    announceList: tiers.flat().length > 1 ? tiers : undefined,
    urlList: options.webSeeds,
    comment: options.comment,
    createdBy: options.createdBy ?? 'warren',
    creationDate: options.creationDate,
  });
  const info = parseInfoDict(infoBytes);
  return { bytes, infoBytes, ...torrentHashes(infoBytes, info), info, pieceLayers };
}

function compareUtf8Paths(a: string[], b: string[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) {
    const order = Buffer.compare(Buffer.from(a[i]!), Buffer.from(b[i]!));
    if (order !== 0) return order;
  }
  return a.length - b.length;
}
