/**
 * An in-memory `FileStore` for the virtual runtime. Each simulated host has one, kept by the
 * `VirtualNetwork` across runtime re-creation so that restart tests find their saved state.
 */
import type { FileStore } from './interfaces.js';

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

/**
 * Whole files in a map. Like a real disk: `writeFile` into a directory that was never created
 * with `mkdir` rejects with code 'ENOENT' (the current directory '' and root '/' always exist);
 * writing a file over a directory rejects with 'EISDIR'. Bytes are copied in and out.
 */
export class MemoryFileStore implements FileStore {
  private readonly files = new Map<string, Uint8Array>();
  private readonly dirs = new Set<string>(['', '/']);

  async readFile(path: string): Promise<Uint8Array | undefined> {
    const key = normalize(path);
    if (this.dirs.has(key)) throw fsError('EISDIR', `illegal operation on a directory, read '${path}'`);
    const data = this.files.get(key);
    return data === undefined ? undefined : new Uint8Array(data);
  }

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const key = normalize(path);
    if (this.dirs.has(key)) throw fsError('EISDIR', `illegal operation on a directory, open '${path}'`);
    if (!this.dirs.has(parentOf(key))) throw fsError('ENOENT', `no such file or directory, open '${path}'`);
    this.files.set(key, new Uint8Array(data));
  }

  async mkdir(path: string): Promise<void> {
    let key = normalize(path);
    const missing: string[] = [];
    while (!this.dirs.has(key)) {
      if (this.files.has(key)) throw fsError('EEXIST', `file already exists, mkdir '${path}'`);
      missing.push(key);
      key = parentOf(key);
    }
    for (const dir of missing) this.dirs.add(dir);
  }

  /** Names of all stored files (normalized paths), for tests. */
  list(): string[] {
    return [...this.files.keys()].sort();
  }
}
