/**
 * An in-memory `FileStore` for the virtual runtime. Each simulated host has one, kept by the
 * `VirtualNetwork` across runtime re-creation so that restart tests find their saved state.
 * Tests can make it misbehave like a real disk: a byte quota (ENOSPC) and read-only paths (EACCES).
 */
import type { FileHandle, FileStat, FileStore } from './interfaces.js';

function fsError(code: string, message: string): Error {
  const error = new Error(`${code}: ${message}`) as Error & { code: string };
  error.code = code;
  return error;
}

function normalize(path: string): string {
  const absolute = path.startsWith('/');
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') parts.pop();
    else parts.push(part);
  }
  return (absolute ? '/' : '') + parts.join('/');
}

function parentOf(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '';
  return i === 0 ? '/' : path.slice(0, i);
}

function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

/** One stored file: `data` is a buffer of capacity ≥ `size`, grown by doubling. */
class MemFile {
  constructor(
    public data: Uint8Array,
    public size: number,
    public mtimeMs: number,
  ) {}

  /** Makes room for `size` bytes; new bytes are zero. */
  reserve(size: number): void {
    if (size <= this.data.length) return;
    const grown = new Uint8Array(Math.max(size, this.data.length * 2, 64));
    grown.set(this.data.subarray(0, this.size));
    this.data = grown;
  }

  /** Sets the length; bytes past a shrink are zeroed so a later grow reads zeros. */
  resize(size: number): void {
    if (size < this.size) this.data.fill(0, size, this.size);
    else this.reserve(size);
    this.size = size;
  }
}

/** Options for `MemoryFileStore`. */
export interface MemoryFileStoreOptions {
  /** Total bytes of file content allowed; writes past it reject with ENOSPC. Default: unlimited. */
  quotaBytes?: number;
  /** Source of modification times (e.g. a virtual clock). Default: a counter that rises by 1 per change. */
  now?: () => number;
}

/** A `FileHandle` on a `MemFile`. Like POSIX, it keeps working on a file removed after opening. */
class MemoryFileHandle implements FileHandle {
  private closed = false;

  constructor(
    private readonly store: MemoryFileStore,
    private readonly key: string,
    private readonly file: MemFile,
    private readonly writable: boolean,
  ) {}

  async read(position: number, length: number): Promise<Uint8Array> {
    this.checkOpen();
    const start = Math.min(position, this.file.size);
    const end = Math.min(position + length, this.file.size);
    return this.file.data.slice(start, end);
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    this.checkOpen();
    if (!this.writable) throw fsError('EBADF', `bad file descriptor, write '${this.key}'`);
    this.store.writeAt(this.key, this.file, data, position);
  }

  async sync(): Promise<void> {
    this.checkOpen();
  }

  async close(): Promise<void> {
    this.closed = true;
  }

  private checkOpen(): void {
    if (this.closed) throw fsError('EBADF', `bad file descriptor (closed), '${this.key}'`);
  }
}

/**
 * Files in a map. Like a real disk: writing into a directory that was never created with `mkdir`
 * rejects with code 'ENOENT' (the current directory '' and root '/' always exist); writing a file
 * over a directory rejects with 'EISDIR'. Bytes are copied in and out.
 *
 * Test switches: `quotaBytes` (constructor option or property) makes a write that would take the
 * total content past it reject with 'ENOSPC' and change nothing; `setReadOnly(path)` makes every
 * change at or under `path` (create, write — also through handles already open —, truncate,
 * remove, mkdir) reject with 'EACCES', while reads keep working.
 */
export class MemoryFileStore implements FileStore {
  /** Total bytes of content allowed (undefined: unlimited). May be changed at any time. */
  quotaBytes: number | undefined;
  private readonly files = new Map<string, MemFile>();
  private readonly dirs = new Map<string, number>([
    ['', 0],
    ['/', 0],
  ]);
  private readonly readOnly = new Set<string>();
  private readonly clock: () => number;
  private counter = 0;
  private used = 0;

  constructor(options: MemoryFileStoreOptions = {}) {
    this.quotaBytes = options.quotaBytes;
    this.clock = options.now ?? (() => ++this.counter);
  }

  /** Bytes of file content currently stored (what the quota counts). */
  get usedBytes(): number {
    return this.used;
  }

  /** Makes `path` and everything under it read-only (EACCES on change), or writable again. */
  setReadOnly(path: string, readOnly = true): void {
    if (readOnly) this.readOnly.add(normalize(path));
    else this.readOnly.delete(normalize(path));
  }

  /** Sets a file's or directory's modification time (like `touch -d`), for tests. */
  setMtime(path: string, mtimeMs: number): void {
    const key = normalize(path);
    const file = this.files.get(key);
    if (file) file.mtimeMs = mtimeMs;
    else if (this.dirs.has(key)) this.dirs.set(key, mtimeMs);
    else throw fsError('ENOENT', `no such file or directory, utime '${path}'`);
  }

  /** Names of all stored files (normalized paths), for tests. */
  allFiles(): string[] {
    return [...this.files.keys()].sort();
  }

  async readFile(path: string): Promise<Uint8Array | undefined> {
    const key = normalize(path);
    if (this.dirs.has(key)) throw fsError('EISDIR', `illegal operation on a directory, read '${path}'`);
    const file = this.files.get(key);
    return file === undefined ? undefined : file.data.slice(0, file.size);
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const key = normalize(path);
    if (this.dirs.has(key)) throw fsError('EISDIR', `illegal operation on a directory, open '${path}'`);
    if (!this.dirs.has(parentOf(key))) throw fsError('ENOENT', `no such file or directory, open '${path}'`);
    this.checkWritable(key, 'open');
    const old = this.files.get(key);
    this.charge(data.length - (old?.size ?? 0), key);
    // A new file object, like rename(2): handles open on the old content keep the old content.
    this.files.set(key, new MemFile(new Uint8Array(data), data.length, this.clock()));
  }

  async mkdir(path: string): Promise<void> {
    let key = normalize(path);
    const missing: string[] = [];
    while (!this.dirs.has(key)) {
      if (this.files.has(key)) throw fsError('EEXIST', `file already exists, mkdir '${path}'`);
      missing.push(key);
      key = parentOf(key);
    }
    for (const dir of missing) this.checkWritable(dir, 'mkdir');
    const now = this.clock();
    for (const dir of missing) this.dirs.set(dir, now);
  }

  async open(path: string, mode: 'r' | 'rw'): Promise<FileHandle> {
    const key = normalize(path);
    if (this.dirs.has(key)) throw fsError('EISDIR', `illegal operation on a directory, open '${path}'`);
    let file = this.files.get(key);
    if (mode === 'rw') this.checkWritable(key, 'open');
    if (file === undefined) {
      if (mode === 'r' || !this.dirs.has(parentOf(key))) throw fsError('ENOENT', `no such file or directory, open '${path}'`);
      file = new MemFile(new Uint8Array(0), 0, this.clock());
      this.files.set(key, file);
    }
    return new MemoryFileHandle(this, key, file, mode === 'rw');
  }

  async stat(path: string): Promise<FileStat | undefined> {
    const key = normalize(path);
    const file = this.files.get(key);
    if (file) return { size: file.size, mtimeMs: file.mtimeMs, isDirectory: false, isFile: true };
    const dirTime = this.dirs.get(key);
    return dirTime === undefined ? undefined : { size: 0, mtimeMs: dirTime, isDirectory: true, isFile: false };
  }

  async list(path: string): Promise<string[]> {
    const key = normalize(path);
    if (this.files.has(key)) throw fsError('ENOTDIR', `not a directory, scandir '${path}'`);
    if (!this.dirs.has(key)) throw fsError('ENOENT', `no such file or directory, scandir '${path}'`);
    const names: string[] = [];
    for (const name of [...this.files.keys(), ...this.dirs.keys()]) {
      if (name !== key && name !== '' && parentOf(name) === key) names.push(baseName(name));
    }
    return names.sort();
  }

  async remove(path: string): Promise<void> {
    const key = normalize(path);
    if (this.dirs.has(key)) throw fsError('EISDIR', `illegal operation on a directory, unlink '${path}'`);
    const file = this.files.get(key);
    if (file === undefined) return;
    this.checkWritable(key, 'unlink');
    this.files.delete(key);
    this.used -= file.size;
  }

  async truncate(path: string, length: number): Promise<void> {
    const key = normalize(path);
    if (this.dirs.has(key)) throw fsError('EISDIR', `illegal operation on a directory, open '${path}'`);
    const file = this.files.get(key);
    if (file === undefined) throw fsError('ENOENT', `no such file or directory, open '${path}'`);
    this.checkWritable(key, 'open');
    this.charge(length - file.size, key);
    file.resize(length);
    file.mtimeMs = this.clock();
  }

  /** A positional write through a handle (called by `MemoryFileHandle`). */
  writeAt(key: string, file: MemFile, data: Uint8Array, position: number): void {
    this.checkWritable(key, 'write');
    const end = position + data.length;
    const attached = this.files.get(key) === file;
    if (attached && end > file.size) this.charge(end - file.size, key);
    if (end > file.size) file.resize(end);
    file.data.set(data, position);
    file.mtimeMs = this.clock();
  }

  /** Accounts `delta` bytes of content against the quota, or rejects with ENOSPC. */
  private charge(delta: number, key: string): void {
    if (delta > 0 && this.quotaBytes !== undefined && this.used + delta > this.quotaBytes) {
      throw fsError('ENOSPC', `no space left on device, write '${key}'`);
    }
    this.used += delta;
  }

  private checkWritable(key: string, op: string): void {
    if (this.readOnly.size === 0) return;
    for (let p = key; ; p = parentOf(p)) {
      if (this.readOnly.has(p)) throw fsError('EACCES', `permission denied, ${op} '${key}'`);
      if (p === '' || p === '/') return;
    }
  }
}
