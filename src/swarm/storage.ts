/**
 * A torrent's data on disk: positional reads and writes of pieces and blocks across the files
 * the pieces span, piece verification, fsync and file stats for resume. All I/O goes through the
 * injected `FileStore`; every file-system error becomes a `StorageError` with a stable code.
 *
 * Memory: nothing is cached; a piece is written straight from the caller's buffer (one write per
 * spanned file, as subarray views) and a single-file block is returned as read.
 */
import { createHash } from 'node:crypto';
import type { InfoDict } from '../codec/metainfo.js';
import { pieceHash, pieceSize } from '../codec/metainfo.js';
import type { FileHandle, FileStore } from '../runtime/interfaces.js';
import { StorageError, type StorageErrorCode } from './errors.js';
import { spansOf, type FileSpan } from './file-layout.js';
import { digestOf, type PieceCheck } from './piece-hasher.js';

/** SHA-1 of `data` (node:crypto). Used for piece hashes and infohashes. */
export function sha1(data: Uint8Array): Uint8Array {
  return createHash('sha1').update(data).digest();
}

/** Size and modification time of a data file, as `fileStats` reports and resume data records. */
export interface FileStamp {
  size: number;
  mtimeMs: number;
}

/** Options for `TorrentStorage`. */
export interface TorrentStorageOptions {
  /** Most file handles kept open at once; the least recently used idle one is closed. Default 64. */
  maxOpenFiles?: number;
}

/** One cached open file. `retired` entries are closed once their last user releases them. */
interface OpenFile {
  readonly fileIndex: number;
  readonly mode: 'r' | 'rw';
  readonly handle: Promise<FileHandle>;
  users: number;
  retired: boolean;
}

const ERROR_CODES: Record<string, StorageErrorCode> = {
  ENOSPC: 'DISK_FULL',
  EDQUOT: 'DISK_FULL',
  EACCES: 'PERMISSION',
  EPERM: 'PERMISSION',
  EROFS: 'PERMISSION',
  ENOENT: 'MISSING_FILE',
};

/** Turns a file-system error into a one-line `StorageError` naming the file. */
function storageError(error: unknown, path: string, doing: 'reading' | 'writing' | 'syncing' | 'opening'): StorageError {
  if (error instanceof StorageError) return error;
  const code = ERROR_CODES[(error as NodeJS.ErrnoException | undefined)?.code ?? ''] ?? 'IO';
  let message: string;
  if (code === 'DISK_FULL') message = `disk full ${doing} ${path}`;
  else if (code === 'PERMISSION') message = `permission denied ${doing} ${path}`;
  else if (code === 'MISSING_FILE') message = `${path} is missing`;
  else message = `I/O error ${doing} ${path}: ${String((error as Error | undefined)?.message ?? error).split('\n')[0]}`;
  return new StorageError(code, message, path, { cause: error });
}

function joinPath(dir: string, ...parts: string[]): string {
  const base = dir === '' || dir.endsWith('/') ? dir : `${dir}/`;
  return base + parts.join('/');
}

function parentDir(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? (i === 0 ? '/' : '') : path.slice(0, i);
}

/**
 * The files of one torrent under `rootDir`: `rootDir/name/<path...>` for a multi-file torrent,
 * `rootDir/name` for a single file. Directories are created when a file is first opened for
 * writing. Handles stay open (at most `maxOpenFiles`), so a file deleted while open keeps serving
 * its old bytes until `close()`; after `close()` the storage may be used again and reopens lazily.
 * BEP 47 padding files are never written; they read as zeros.
 */
export class TorrentStorage {
  /** Full path of each file, in metainfo order. */
  readonly paths: readonly string[];
  private readonly open = new Map<number, OpenFile>(); // insertion order = LRU order
  private readonly dirty = new Set<number>();
  private readonly maxOpen: number;
  /** Handles that failed to close (or to open, for a handle closed before use); for diagnostics. */
  closeErrors = 0;
  /** The last such failure. */
  lastCloseError: unknown;

  constructor(
    private readonly fs: FileStore,
    readonly info: InfoDict,
    rootDir: string,
    options: TorrentStorageOptions = {},
  ) {
    this.maxOpen = Math.max(1, options.maxOpenFiles ?? 64);
    this.paths = info.multiFile
      ? info.files.map((f) => joinPath(rootDir, info.name, ...f.path))
      : [joinPath(rootDir, info.name)];
  }

  /**
   * Writes a whole (already verified) piece. Resolves only once every span is written; on any
   * failure it still waits for the other spans, then rejects with the first `StorageError`.
   */
  async writePiece(index: number, data: Uint8Array): Promise<void> {
    const size = pieceSize(this.info, index);
    if (data.length !== size) throw new RangeError(`piece ${index} is ${size} bytes, got ${data.length}`);
    const spans = this.spans(index * this.info.pieceLength, size);
    const results = await Promise.allSettled(spans.map((s) => this.writeSpan(s, data)));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
  }

  /** Reads `length` bytes at `begin` in piece `index` (for uploading). Missing or short files → `StorageError`. */
  async readBlock(index: number, begin: number, length: number): Promise<Uint8Array> {
    const size = pieceSize(this.info, index);
    if (!Number.isInteger(begin) || !Number.isInteger(length) || begin < 0 || length < 0 || begin + length > size) {
      throw new RangeError(`block ${begin}+${length} out of range of piece ${index} (${size} bytes)`);
    }
    return this.readRange(index * this.info.pieceLength + begin, length);
  }

  /**
   * Reads the whole piece `index`; into `into` (which must be the piece's size) when given, and
   * then returns `into`. Settles only once no read is still filling `into`.
   */
  async readPiece(index: number, into?: Uint8Array): Promise<Uint8Array> {
    const offset = index * this.info.pieceLength;
    const size = pieceSize(this.info, index);
    if (!into) return this.readRange(offset, size);
    if (into.length !== size) throw new RangeError(`piece ${index} is ${size} bytes, got a buffer of ${into.length}`);
    const spans = this.spans(offset, size);
    const results = await Promise.allSettled(spans.map((s) => this.readSpanInto(s, into.subarray(s.bufferOffset, s.bufferOffset + s.length))));
    for (const r of results) if (r.status === 'rejected') throw r.reason;
    return into;
  }

  /**
   * Reads piece `index` from disk and checks it: against `check`, by default the piece's SHA-1 in
   * the info dictionary. `false` when it differs or a file is missing or too short; other errors
   * (permission, I/O) reject.
   */
  async verifyPiece(index: number, check: PieceCheck = { how: { kind: 'sha1' }, digest: pieceHash(this.info, index) }): Promise<boolean> {
    let data: Uint8Array;
    try {
      data = await this.readPiece(index);
    } catch (error) {
      if (error instanceof StorageError && error.code === 'MISSING_FILE') return false;
      throw error;
    }
    return Buffer.from(digestOf(data, check.how)).equals(check.digest);
  }

  /** fsyncs every file written since the last `sync()` (reopening any whose handle was evicted). */
  async sync(): Promise<void> {
    const files = [...this.dirty];
    this.dirty.clear();
    const results = await Promise.allSettled(files.map((i) => this.syncFile(i)));
    const failed = results.findIndex((r) => r.status === 'rejected');
    if (failed >= 0) {
      for (const i of files) this.dirty.add(i); // still not known durable
      throw (results[failed] as PromiseRejectedResult).reason;
    }
  }

  /** Syncs what was written, then closes every handle. The storage may be used again afterwards. */
  async close(): Promise<void> {
    try {
      await this.sync();
    } finally {
      const entries = [...this.open.values()];
      this.open.clear();
      for (const entry of entries) entry.retired = true;
      await Promise.allSettled(entries.filter((e) => e.users === 0).map((e) => this.closeEntry(e)));
    }
  }

  /** Size and mtime of each file (`undefined` if missing, and for padding files), for resume checks. */
  async fileStats(): Promise<(FileStamp | undefined)[]> {
    return Promise.all(
      this.info.files.map(async (file, i) => {
        if (file.padding) return undefined;
        const path = this.paths[i]!;
        try {
          const s = await this.fs.stat(path);
          return s === undefined || s.isDirectory ? undefined : { size: s.size, mtimeMs: s.mtimeMs };
        } catch (error) {
          throw storageError(error, path, 'reading');
        }
      }),
    );
  }

  /** Creates the torrent's zero-length files (no piece ever writes them) that are `chosen` (by index in `info.files`), with their directories. */
  async createEmptyFiles(chosen: (fileIndex: number) => boolean = () => true): Promise<void> {
    for (const [i, file] of this.info.files.entries()) {
      if (file.length !== 0 || file.padding || !chosen(i)) continue;
      const path = this.paths[i]!;
      try {
        await this.fs.mkdir(parentDir(path));
        const handle = await this.fs.open(path, 'rw');
        await handle.close();
      } catch (error) {
        throw storageError(error, path, 'writing');
      }
    }
  }

  private spans(offset: number, length: number): FileSpan[] {
    return spansOf(this.info.files, offset, length);
  }

  private async writeSpan(span: FileSpan, data: Uint8Array): Promise<void> {
    if (this.info.files[span.fileIndex]!.padding) return;
    const chunk = data.subarray(span.bufferOffset, span.bufferOffset + span.length);
    await this.withFile(span.fileIndex, 'rw', async (handle) => {
      try {
        await handle.write(chunk, span.fileOffset);
      } finally {
        // Marked once the write is done, so a `sync()` that started meanwhile cannot clear it early.
        this.dirty.add(span.fileIndex);
      }
    });
  }

  /** Reads torrent bytes [offset, offset + length); one span is returned without copying. */
  private async readRange(offset: number, length: number): Promise<Uint8Array> {
    const spans = this.spans(offset, length);
    const parts = await Promise.all(spans.map((s) => this.readSpan(s)));
    if (parts.length === 1 && parts[0]!.length === length) return parts[0]!;
    const out = Buffer.alloc(length); // zeroed: padding and zero-length gaps read as zeros
    for (const [k, span] of spans.entries()) out.set(parts[k]!, span.bufferOffset);
    return out;
  }

  private async readSpan(span: FileSpan): Promise<Uint8Array> {
    if (this.info.files[span.fileIndex]!.padding) return new Uint8Array(span.length);
    const data = await this.withFile(span.fileIndex, 'r', (handle) => handle.read(span.fileOffset, span.length));
    if (data.length < span.length) {
      const path = this.paths[span.fileIndex]!;
      throw new StorageError('MISSING_FILE', `${path} is too short (data missing at byte ${span.fileOffset + data.length})`, path);
    }
    return data;
  }

  private async readSpanInto(span: FileSpan, target: Uint8Array): Promise<void> {
    if (this.info.files[span.fileIndex]!.padding) {
      target.fill(0);
      return;
    }
    const read = await this.withFile(span.fileIndex, 'r', async (handle) => {
      if (handle.readInto) return handle.readInto(target, span.fileOffset);
      const data = await handle.read(span.fileOffset, span.length);
      target.set(data);
      return data.length;
    });
    if (read < span.length) {
      const path = this.paths[span.fileIndex]!;
      throw new StorageError('MISSING_FILE', `${path} is too short (data missing at byte ${span.fileOffset + read})`, path);
    }
  }

  private async syncFile(fileIndex: number): Promise<void> {
    await this.withFile(fileIndex, 'r', (handle) => handle.sync());
  }

  /** Runs `fn` with an open handle for the file (opened or upgraded as needed), mapping errors. */
  private async withFile<T>(fileIndex: number, mode: 'r' | 'rw', fn: (h: FileHandle) => Promise<T>): Promise<T> {
    const path = this.paths[fileIndex]!;
    const entry = this.acquire(fileIndex, mode);
    try {
      let handle: FileHandle;
      try {
        handle = await entry.handle;
      } catch (error) {
        if (this.open.get(fileIndex) === entry) this.open.delete(fileIndex); // retry the open next time
        throw storageError(error, path, 'opening');
      }
      try {
        return await fn(handle);
      } catch (error) {
        throw storageError(error, path, mode === 'rw' ? 'writing' : 'reading');
      }
    } finally {
      entry.users--;
      if (entry.retired && entry.users === 0) await this.closeEntry(entry);
      this.evict();
    }
  }

  private acquire(fileIndex: number, mode: 'r' | 'rw'): OpenFile {
    let entry = this.open.get(fileIndex);
    if (entry !== undefined && (mode === 'r' || entry.mode === 'rw')) {
      this.open.delete(fileIndex); // move to most recently used
    } else {
      if (entry !== undefined) entry.retired = true; // read-only handle replaced by a writable one
      entry = { fileIndex, mode, handle: this.openFile(fileIndex, mode), users: 0, retired: false };
      entry.handle.catch((e: unknown) => e); // rejection is handled by the awaiting caller
    }
    this.open.set(fileIndex, entry);
    entry.users++;
    return entry;
  }

  private async openFile(fileIndex: number, mode: 'r' | 'rw'): Promise<FileHandle> {
    const path = this.paths[fileIndex]!;
    if (mode === 'rw') await this.fs.mkdir(parentDir(path));
    return this.fs.open(path, mode);
  }

  /** Closes least recently used idle handles beyond the limit (dirty ones are synced first). */
  private evict(): void {
    if (this.open.size <= this.maxOpen) return;
    for (const entry of this.open.values()) {
      if (this.open.size <= this.maxOpen) break;
      if (entry.users > 0) continue;
      this.open.delete(entry.fileIndex);
      entry.retired = true;
      void this.closeEntry(entry);
    }
  }

  /**
   * Closes an entry's handle without syncing: fsync works through any descriptor of the file, so
   * `sync()` reopens a dirty file that was evicted. A failed close is counted, not thrown.
   */
  private async closeEntry(entry: OpenFile): Promise<void> {
    try {
      await (await entry.handle).close();
    } catch (error) {
      this.closeErrors++;
      this.lastCloseError = error;
    }
  }
}
