/**
 * Resume data: which pieces of a torrent were verified and on disk, and the size and mtime of
 * each file at that moment, so a restart re-downloads nothing and re-hashes only what may have
 * changed.
 *
 * Crash-safety protocol (the engine follows it every time it saves, and last at shutdown):
 *   1. snapshot the have-set (pieces whose `writePiece` resolved and whose hash was verified);
 *   2. `await storage.sync()` — every snapshotted piece is now durable;
 *   3. `await storage.fileStats()` — stamps taken after the data is on disk;
 *   4. `await saveResume(...)` — atomic, so a kill -9 leaves the previous or the new record.
 * Hence a piece recorded as had is always fully on disk (it was synced before the record was
 * written), and any later change to a file — our own later writes or anyone else's — changes its
 * size or mtime, so `trustedPieces` sends that file's pieces to be re-hashed instead of trusting them.
 * The caller checks `infoHash` against the torrent it is resuming.
 */
import type { InfoDict } from '../codec/metainfo.js';
import type { FileStore } from '../runtime/interfaces.js';
import { piecesOfFile } from './file-layout.js';
import type { FileStamp } from './storage.js';

/** What is saved between runs for one torrent, every few seconds while it changes. */
export interface ResumeRecord {
  /** The torrent's infohash, 40 lowercase hex characters. */
  infoHash: string;
  pieceCount: number;
  /** Verified pieces as a bitfield in BEP 3 bit order (piece 0 is the high bit of byte 0). */
  have: Uint8Array;
  /** Size and mtime of each file (metainfo order) when `have` was saved; null when it was missing. */
  files: (FileStamp | null)[];
}

/** A record with the torrent's v2 piece layers, as `ResumeStore.load` returns it. */
export interface ResumeData extends ResumeRecord {
  /**
   * A v2 torrent's verified piece layers (BEP 52) by the hex of their file's root, so that a
   * restart checks pieces without asking peers for the hashes again. Checked again on load.
   */
  pieceLayers?: ReadonlyMap<string, Uint8Array>;
}

const FORMAT_VERSION = 1;

/** Whether piece `index` is set in a BEP 3 bitfield. */
export function hasPiece(bitfield: Uint8Array, index: number): boolean {
  const byte = bitfield[index >>> 3];
  return byte !== undefined && (byte & (0x80 >>> (index & 7))) !== 0;
}

/** A JSON object of root hex → base64 layer; `undefined` when anything in it is malformed. */
function decodeLayerMap(value: unknown): Map<string, Uint8Array> | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const layers = new Map<string, Uint8Array>();
  for (const [root, layer] of Object.entries(value as Record<string, unknown>)) {
    if (!/^[0-9a-f]{64}$/.test(root) || typeof layer !== 'string' || !/^[A-Za-z0-9+/]+={0,2}$/.test(layer)) return undefined;
    const bytes = new Uint8Array(Buffer.from(layer, 'base64'));
    if (bytes.length === 0 || bytes.length % 32 !== 0) return undefined;
    layers.set(root, bytes);
  }
  return layers;
}

/** Parses UTF-8 JSON; `undefined` for bytes that are not. */
function parseJson(bytes: Uint8Array): unknown {
  try {
    return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    if (error instanceof SyntaxError || error instanceof TypeError) return undefined; // damaged record
    throw error;
  }
}

function isStamp(v: unknown): v is FileStamp {
  if (typeof v !== 'object' || v === null) return false;
  const { size, mtimeMs } = v as Record<string, unknown>;
  return Number.isSafeInteger(size) && (size as number) >= 0 && typeof mtimeMs === 'number' && Number.isFinite(mtimeMs);
}

/** Parses an encoded record (see `encodeResume`); `undefined` for anything malformed. */
export function decodeResume(bytes: Uint8Array): ResumeData | undefined {
  const value = parseJson(bytes);
  if (typeof value !== 'object' || value === null) return undefined;
  const v = value as Record<string, unknown>;
  if (v['version'] !== FORMAT_VERSION) return undefined;
  const { infoHash, pieceCount, have, files, pieceLayers } = v;
  if (typeof infoHash !== 'string' || !/^[0-9a-f]{40}$/.test(infoHash)) return undefined;
  if (!Number.isSafeInteger(pieceCount) || (pieceCount as number) < 0) return undefined;
  if (typeof have !== 'string' || !/^[A-Za-z0-9+/]*={0,2}$/.test(have)) return undefined;
  const bits = new Uint8Array(Buffer.from(have, 'base64'));
  if (bits.length !== Math.ceil((pieceCount as number) / 8)) return undefined;
  if (!Array.isArray(files) || !files.every((f) => f === null || isStamp(f))) return undefined;
  const data: ResumeData = {
    infoHash,
    pieceCount: pieceCount as number,
    have: bits,
    files: (files as (FileStamp | null)[]).map((f) => (f === null ? null : { size: f.size, mtimeMs: f.mtimeMs })),
  };
  if (pieceLayers !== undefined) {
    // Records written before the layers had a record of their own carry them here.
    const layers = decodeLayerMap(pieceLayers);
    if (!layers) return undefined;
    data.pieceLayers = layers;
  }
  return data;
}

/**
 * Reads resume data. `undefined` when the file is missing or damaged in any way (never throws for
 * bad content; file-system errors other than a missing file do reject).
 */
export async function loadResume(fs: FileStore, path: string): Promise<ResumeData | undefined> {
  const bytes = await fs.readFile(path);
  return bytes === undefined ? undefined : decodeResume(bytes);
}

/** Encodes a resume record as a small versioned JSON record (the layers go apart: `encodePieceLayers`). */
export function encodeResume(data: ResumeRecord): Uint8Array {
  if (data.have.length !== Math.ceil(data.pieceCount / 8)) {
    throw new RangeError(`resume bitfield is ${data.have.length} bytes for ${data.pieceCount} pieces`);
  }
  const record = {
    version: FORMAT_VERSION,
    infoHash: data.infoHash.toLowerCase(),
    pieceCount: data.pieceCount,
    have: Buffer.from(data.have.buffer, data.have.byteOffset, data.have.length).toString('base64'),
    files: data.files.map((f) => (f === null ? null : { size: f.size, mtimeMs: f.mtimeMs })),
  };
  return new TextEncoder().encode(JSON.stringify(record));
}

/**
 * Encodes a v2 torrent's verified piece layers as a versioned JSON record of their own. They never
 * change once verified, so they are written when one more is known, not with every resume record
 * (a 100 GB torrent's layers are megabytes).
 */
export function encodePieceLayers(infoHash: string, layers: ReadonlyMap<string, Uint8Array>): Uint8Array {
  const record = {
    version: FORMAT_VERSION,
    infoHash: infoHash.toLowerCase(),
    pieceLayers: Object.fromEntries([...layers].map(([root, layer]) => [root, Buffer.from(layer.buffer, layer.byteOffset, layer.length).toString('base64')])),
  };
  return new TextEncoder().encode(JSON.stringify(record));
}

/** Parses a record of `encodePieceLayers`; `undefined` for anything malformed. */
export function decodePieceLayers(bytes: Uint8Array): { infoHash: string; layers: Map<string, Uint8Array> } | undefined {
  const value = parseJson(bytes);
  if (typeof value !== 'object' || value === null) return undefined;
  const { version, infoHash, pieceLayers } = value as Record<string, unknown>;
  if (version !== FORMAT_VERSION || typeof infoHash !== 'string' || !/^[0-9a-f]{40}$/.test(infoHash)) return undefined;
  const layers = decodeLayerMap(pieceLayers);
  return layers && { infoHash, layers };
}

/** Writes resume data atomically (`FileStore.writeFile`); see the protocol in the module comment. */
export async function saveResume(fs: FileStore, path: string, data: ResumeRecord): Promise<void> {
  await fs.writeFile(path, encodeResume(data));
}

/**
 * Where a session keeps its torrents' resume data: JSON files for the standalone commands, the
 * node's SQLite store for `warren node`. `save` must be atomic and durable when it resolves.
 */
export interface ResumeStore {
  /** The record with its piece layers; `undefined` when there is no record or it is damaged. */
  load(infoHash: string): Promise<ResumeData | undefined>;
  save(record: ResumeRecord): Promise<void>;
  /** Replaces the torrent's saved piece layers (see `encodePieceLayers`). */
  saveLayers(infoHash: string, layers: ReadonlyMap<string, Uint8Array>): Promise<void>;
}

/**
 * Puts the layers of a layers record (bytes of `encodePieceLayers`) into `record`, if they are for
 * its torrent; damaged layers are dropped (peers give them again), not the record.
 */
export function withPieceLayers(record: ResumeData | undefined, layerBytes: Uint8Array | undefined): ResumeData | undefined {
  if (!record || !layerBytes) return record;
  const saved = decodePieceLayers(layerBytes);
  if (saved?.infoHash !== record.infoHash) return record;
  return { ...record, pieceLayers: new Map([...(record.pieceLayers ?? []), ...saved.layers]) };
}

/** Resume data as files per torrent: `dir/<infohash>.json`, and `dir/<infohash>.layers.json` for v2 layers. */
export function fileResumeStore(fs: FileStore, dir: string): ResumeStore {
  return {
    load: async (infoHash) => withPieceLayers(await loadResume(fs, `${dir}/${infoHash}.json`), await fs.readFile(`${dir}/${infoHash}.layers.json`)),
    save: async (record) => {
      await fs.mkdir(dir);
      await saveResume(fs, `${dir}/${record.infoHash}.json`, record);
    },
    saveLayers: async (infoHash, layers) => {
      await fs.mkdir(dir);
      await fs.writeFile(`${dir}/${infoHash.toLowerCase()}.layers.json`, encodePieceLayers(infoHash, layers));
    },
  };
}

/**
 * Which pieces can be trusted without re-hashing: those marked had whose files (every file the
 * piece spans, ignoring padding files) still have the recorded size and mtime. The other had
 * pieces go to `recheck`, and so do the pieces not marked had that lie in a file that exists and
 * changed since the record was saved: a download killed between two saves wrote (and verified)
 * pieces the record does not list yet, and they must not be fetched again. If the record does not
 * match the torrent's shape (piece or file count), every had piece is rechecked.
 */
export function trustedPieces(
  data: ResumeData,
  info: InfoDict,
  current: (FileStamp | undefined)[],
): { trusted: Set<number>; recheck: Set<number> } {
  const trusted = new Set<number>();
  const recheck = new Set<number>();
  const pieceCount = Math.min(data.pieceCount, info.pieceCount);
  const shapeMatches = data.pieceCount === info.pieceCount && data.files.length === info.files.length;
  const tainted = new Uint8Array(pieceCount);
  const grown = new Uint8Array(pieceCount);
  if (shapeMatches) {
    for (const [i, file] of info.files.entries()) {
      if (file.padding) continue;
      const range = piecesOfFile(info, i);
      if (range === undefined) continue; // zero-length: lies in no piece
      const was = data.files[i];
      const now = current[i];
      const same = was != null && now !== undefined && was.size === now.size && was.mtimeMs === now.mtimeMs;
      if (!same) tainted.fill(1, range[0], range[1] + 1);
      if (!same && now !== undefined && now.size > 0) grown.fill(1, range[0], range[1] + 1);
    }
  } else {
    tainted.fill(1);
  }
  for (let p = 0; p < pieceCount; p++) {
    if (!hasPiece(data.have, p)) {
      if (grown[p]) recheck.add(p);
    } else if (tainted[p]) recheck.add(p);
    else trusted.add(p);
  }
  return { trusted, recheck };
}
