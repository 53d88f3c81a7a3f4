/**
 * BEP 52 `file tree`: a v2 torrent's files as nested dictionaries whose leaves
 * (`{ "": { length, "pieces root" } }`) are the files. This module turns a tree into the ordered
 * file list of `InfoDict.files` and back: walking it in the order of the torrent's data, laying
 * a v2-only torrent's files out on piece boundaries as libtorrent does, checking a hybrid
 * torrent's v1 file list against it, and building one to encode.
 *
 * Malformed trees are reported through the caller's checks (metainfo.ts fails with a
 * `MetainfoError` naming the field), so the messages and the path rules are the ones its v1
 * file list gets.
 */
import { bytesToLatin1, latin1ToBytes, type BDict, type BEncodable, type BValue } from './bencode.js';
import type { TorrentFile } from './metainfo.js';

/** Length of a pieces root: a SHA-256 hash. */
export const PIECES_ROOT_LENGTH = 32;

/** A file of a BEP 52 file tree; `path` starts below the torrent's directory. */
export interface TreeFile {
  path: string[];
  length: number;
  /** A copy of the file's 32-byte pieces root; files longer than 0 only. */
  piecesRoot?: Uint8Array;
}

/** Throws the caller's error for malformed input; `message` names the bad field. */
export type Fail = (message: string) => never;

/** What walking a tree needs from the caller; one instance per tree (it remembers paths). */
export interface TreeChecks {
  fail: Fail;
  /** Returns `component` if it is one safe path component, else fails naming `field`. */
  component(component: string, field: string): string;
  /** Records a file's path; fails if it repeats an earlier one or puts a file where a directory is (or the reverse). */
  addPath(path: string[], field: string): void;
}

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
const utf8Encoder = new TextEncoder();

function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v);
}

/**
 * Walks a BEP 52 `file tree` in raw byte order of its keys (the canonical order, which is the
 * order of the torrent's data): a decoded dict's own key order is not that (JS objects list
 * integer-like keys first), so keys are sorted here.
 */
export function parseFileTree(value: BValue | undefined, checks: TreeChecks): TreeFile[] {
  const fail: Fail = checks.fail;
  if (value === undefined) fail('missing "info.file tree" (meta version 2 needs one)');
  if (!isDict(value)) fail('"info.file tree" must be a dictionary');
  const files: TreeFile[] = [];
  const walk = (dir: BDict, parent: string[]): void => {
    const keys = Object.keys(dir).sort();
    const field = parent.length === 0 ? 'info.file tree' : `info.file tree/${parent.join('/')}`;
    if (keys.length === 0) fail(`"${field}" is an empty directory`);
    for (const key of keys) {
      const path = [...parent, checks.component(utf8.decode(latin1ToBytes(key)), field)];
      const where = `info.file tree/${path.join('/')}`;
      const node = dir[key];
      if (!isDict(node)) fail(`"${where}" must be a dictionary`);
      const leaf = node[''];
      if (leaf === undefined) {
        // Recursion depth is bounded by the decoder's nesting limit.
        walk(node, path);
        continue;
      }
      if (Object.keys(node).length !== 1) fail(`"${where}" is a file ("" key) with other keys beside it`);
      if (!isDict(leaf)) fail(`"${where}": file entry must be a dictionary`);
      const length = leaf['length'];
      if (length === undefined) fail(`"${where}": missing "length"`);
      if (typeof length !== 'number' || length < 0) fail(`"${where}": "length" must be a non-negative integer`);
      const file: TreeFile = { path, length };
      if (length > 0) {
        const root = leaf['pieces root'];
        if (root === undefined) fail(`"${where}": missing "pieces root"`);
        if (!(root instanceof Uint8Array) || root.length !== PIECES_ROOT_LENGTH) fail(`"${where}": "pieces root" must be a 32-byte string`);
        file.piecesRoot = root.slice();
      }
      checks.addPath(path, where);
      files.push(file);
    }
  };
  walk(value, []);
  return files;
}

/**
 * The file list of a v2-only torrent, laid out as libtorrent 2.0.8 does: the files in tree
 * order, each followed by a padding entry `{ path: ['.pad', '<length>'], padding: true }` up to
 * the next piece boundary when its length is not a multiple of the piece length, the last file
 * too (so the last piece is a whole one, and peers ask for whole blocks there). A zero-length
 * file takes no space, is never padded, and sits where the next file would start.
 */
export function layOutV2Only(tree: readonly TreeFile[], pieceLength: number, fail: Fail): TorrentFile[] {
  const files: TorrentFile[] = [];
  let offset = 0;
  for (const { path, length, piecesRoot } of tree) {
    files.push(piecesRoot === undefined ? { path, length, offset } : { path, length, offset, piecesRoot });
    offset += length;
    const tail = length % pieceLength;
    if (tail !== 0) {
      // libtorrent's name for the padding it aligns v2 files with.
      const pad = pieceLength - tail;
      files.push({ path: ['.pad', String(pad)], length: pad, offset, padding: true });
      offset += pad;
    }
    if (!Number.isSafeInteger(offset)) fail('total length of the files is too large');
  }
  return files;
}

/**
 * Hybrid torrents: the v1 files other than padding must be the file tree's files, in order, and
 * each one of non-zero length must start at a piece boundary. Attaches the pieces roots.
 */
export function matchHybrid(files: TorrentFile[], tree: readonly TreeFile[], pieceLength: number, fail: Fail): void {
  const disagree = (i: number, why: string): never =>
    fail(`hybrid torrent: v1 file list and v2 file tree disagree at file ${i}: ${why}`);
  let t = 0;
  for (const f of files) {
    if (f.padding) continue;
    const v1Path = JSON.stringify(f.path.join('/'));
    const v2 = tree[t];
    if (v2 === undefined) disagree(t, `${v1Path} is not in the file tree`);
    const v2Path = JSON.stringify(v2.path.join('/'));
    if (f.path.length !== v2.path.length || f.path.some((c, j) => c !== v2.path[j])) disagree(t, `v1 has ${v1Path}, v2 has ${v2Path}`);
    if (f.length !== v2.length) disagree(t, `${v1Path} is ${f.length} bytes in v1, ${v2.length} in v2`);
    if (f.length > 0 && f.offset % pieceLength !== 0) disagree(t, `${v1Path} does not start at a piece boundary in the v1 layout`);
    if (v2.piecesRoot !== undefined) f.piecesRoot = v2.piecesRoot;
    t++;
  }
  if (t < tree.length) disagree(t, `${JSON.stringify(tree[t].path.join('/'))} is not in the v1 file list`);
}

/**
 * A BEP 52 file tree of the files that are not padding (dict keys are raw UTF-8 bytes as
 * latin1). Throws `TypeError` for files that cannot form a tree; the caller checks the rest by
 * parsing the result.
 */
export function buildFileTree(files: readonly TorrentFile[], multiFile: boolean): Map<string, BEncodable> {
  const key = (component: string): string => bytesToLatin1(utf8Encoder.encode(component));
  const real = files.filter((f) => f.padding !== true);
  if (!multiFile && (real.length !== 1 || real[0].path.length !== 1)) {
    throw new TypeError('metainfo: a single-file torrent needs exactly one file with a one-component path');
  }
  const root = new Map<string, BEncodable>();
  for (const f of real) {
    const shown = JSON.stringify(f.path.join('/'));
    if (f.path.length === 0) throw new TypeError('metainfo: cannot encode a file with an empty path');
    let dir = root;
    for (const component of f.path.slice(0, -1)) {
      const child = dir.get(key(component)) ?? new Map<string, BEncodable>();
      if (!(child instanceof Map) || child.has('')) throw new TypeError(`metainfo: cannot encode: ${shown} lies below another file`);
      dir.set(key(component), child);
      dir = child;
    }
    const leaf = key(f.path[f.path.length - 1]);
    if (dir.has(leaf)) throw new TypeError(`metainfo: cannot encode: ${shown} duplicates another file or directory`);
    const entry = { length: f.length, 'pieces root': f.length > 0 ? f.piecesRoot : undefined };
    dir.set(leaf, new Map([['', entry]]));
  }
  return root;
}
