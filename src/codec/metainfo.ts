/**
 * Metainfo (.torrent files), BEP 3 v1, with BEP 12 `announce-list`, BEP 19 `url-list`,
 * BEP 27 `private`, BEP 47 padding files, and BEP 52 v2: v2-only and hybrid (v1 + v2) torrents.
 *
 * Parsing is strict about the `info` dictionary (it decides what bytes get written where on
 * disk: path traversal, wrong lengths and missing hashes are all rejected) and lenient about
 * the optional outer fields (a malformed `announce-list` entry is skipped, as other clients do).
 * Hashing is the caller's job: the v1 infohash is the SHA-1 of `infoBytes`, the v2 one its
 * SHA-256; piece layers are checked against their pieces roots by the caller too. The v2
 * `file tree` (walking it, the v2-only padding layout, the hybrid agreement check, building
 * one) is in file-tree.ts.
 */
import { bdecode, bencode, bytesToLatin1, latin1ToBytes, type BDict, type BEncodable, type BValue } from './bencode.js';
import { DecodeError } from './errors.js';
import { toHex } from './hex.js';
import { buildFileTree, layOutV2Only, matchHybrid, parseFileTree, PIECES_ROOT_LENGTH, type TreeChecks } from './file-tree.js';

/** One file of a torrent, in the order of the torrent's concatenated data. */
export interface TorrentFile {
  /** Path components below the torrent's directory (multi-file) or `[name]` (single-file). */
  path: string[];
  length: number;
  /** Byte offset of the file in the torrent's concatenated data. */
  offset: number;
  /** BEP 47 padding file (`attr` contains `p`): its bytes are zeros and are never written to disk. */
  padding?: boolean;
  /** BEP 52: SHA-256 merkle root of the file's 16 KiB blocks (32 bytes); v2 and hybrid torrents, files longer than 0. */
  piecesRoot?: Uint8Array;
}

/** A validated `info` dictionary: v1, v2-only or hybrid. */
export interface InfoDict {
  /** Suggested file name (single-file) or directory name (multi-file); a safe single component. */
  name: string;
  pieceLength: number;
  pieceCount: number;
  totalLength: number;
  /** Concatenated 20-byte SHA-1 piece hashes, `20 * pieceCount` bytes; absent in v2-only torrents. */
  pieces?: Uint8Array;
  /**
   * Single-file torrents have one file with path `[name]` (v2-only: `name` is then the file
   * tree's only key, as libtorrent takes it), plus its padding in v2-only. In v2-only torrents every file of non-zero length starts at a piece boundary: synthetic
   * padding entries `{ path: ['.pad', '<length>'], padding: true }` follow every file that does
   * not end at one (the last one too, as libtorrent lays them out).
   */
  files: TorrentFile[];
  multiFile: boolean;
  private: boolean;
  /** BEP 52 `meta version`: 1 for v1 torrents, 2 for v2-only and hybrid (hybrid = metaVersion 2 with `pieces`). */
  metaVersion: 1 | 2;
}

/** A parsed .torrent file. */
export interface Metainfo {
  info: InfoDict;
  /** The exact bytes of the `info` dictionary as they appear in the file: its SHA-1 is the infohash. */
  infoBytes: Uint8Array;
  announce?: string;
  /** BEP 12 tiers; empty when the file has none. */
  announceList: string[][];
  /** BEP 19 web seeds. */
  urlList: string[];
  comment?: string;
  createdBy?: string;
  /** Seconds since the Unix epoch. */
  creationDate?: number;
  /** BEP 52 `piece layers` (outside the info dict): hex of a file's pieces root → that file's concatenated 32-byte piece hashes. Empty for v1. */
  pieceLayers: Map<string, Uint8Array>;
}

/**
 * What `encodeMetainfo` takes: an `InfoDict` whose derived counts may be left out, and whose
 * `metaVersion` defaults to 1.
 */
export interface MetainfoInput {
  info: Omit<InfoDict, 'pieceCount' | 'totalLength' | 'metaVersion'> &
    Partial<Pick<InfoDict, 'pieceCount' | 'totalLength' | 'metaVersion'>>;
  /** BEP 52 piece layers, keyed by the hex pieces root (as in `Metainfo.pieceLayers`). */
  pieceLayers?: Map<string, Uint8Array>;
  announce?: string;
  announceList?: string[][];
  urlList?: string[];
  comment?: string;
  createdBy?: string;
  creationDate?: number;
}

/** A .torrent file or info dictionary that is malformed; the message names the bad field. */
export class MetainfoError extends DecodeError {
  override readonly code: string = 'METAINFO_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'MetainfoError';
  }
}

/** Largest .torrent file (or BEP 9 info dictionary) that is parsed at all. */
export const METAINFO_MAX_BYTES = 64 * 1024 * 1024;
/** Largest piece length accepted: 512 MiB, far above what clients make (libtorrent and qBittorrent stop at 256 MiB). */
export const METAINFO_MAX_PIECE_LENGTH = 512 * 1024 * 1024;
/** Most pieces a torrent may have: what a 64 MiB v1 `pieces` string can hold, for v2 torrents too. */
export const METAINFO_MAX_PIECES = Math.floor(METAINFO_MAX_BYTES / 20);
/** Element limit for the bencode decoder: ~30 list items/dict entries for each of 100,000 files. */
export const METAINFO_MAX_ELEMENTS = 3_000_000;
const LIMITS = { maxBytes: METAINFO_MAX_BYTES, maxElements: METAINFO_MAX_ELEMENTS, maxDepth: 32 };
const HASH_LENGTH = 20;
/** BEP 52: v2 merkle trees hash 16 KiB blocks; a v2 piece length is a power of two at least this. */
export const V2_BLOCK_SIZE = 16384;
/** Length of each hash in a piece layer: SHA-256, as a pieces root. */
const V2_HASH_LENGTH = PIECES_ROOT_LENGTH;

const utf8 = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });

function fail(message: string): never {
  throw new MetainfoError(`metainfo: ${message}`);
}

function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v);
}

/** Decodes with the metainfo limits, rewording bencode errors as metainfo errors. */
function decode(bytes: Uint8Array): BValue {
  try {
    return bdecode(bytes, LIMITS);
  } catch (err) {
    if (err instanceof DecodeError) fail(`not valid bencode (${err.message})`);
    throw err;
  }
}

/**
 * Parses a whole .torrent file. Throws `MetainfoError` (a `DecodeError`) naming the bad field
 * for anything malformed, and nothing else. `infoBytes` is a copy of the exact original span of
 * the `info` value (key order and all), `info.pieces` is a view into `infoBytes`, and pieces
 * roots and piece layers are copies: nothing refers to `bytes` afterwards.
 */
export function parseMetainfo(input: Uint8Array): Metainfo {
  // A plain Uint8Array over the same memory: a Node Buffer's `slice` is a view, not the copy the results must be.
  const bytes = new Uint8Array(input.buffer, input.byteOffset, input.byteLength);
  const root = decode(bytes);
  if (!isDict(root)) fail('top level is not a dictionary');
  const infoValue = root['info'];
  if (infoValue === undefined) fail('missing "info" dictionary');
  if (!isDict(infoValue)) fail('"info" must be a dictionary');
  const [start, end] = findInfoSpan(bytes);
  const infoBytes = bytes.slice(start, end);
  const info = validateInfo(infoValue);
  if (info.pieces !== undefined) {
    // Re-point `pieces` from the whole file into the (copied) info span, so the caller can drop
    // the file; `pieces` is a view into `bytes` that lies inside the info span.
    const piecesAt = info.pieces.byteOffset - bytes.byteOffset - start;
    info.pieces = infoBytes.subarray(piecesAt, piecesAt + info.pieces.length);
  }

  const m: Metainfo = { info, infoBytes, announceList: [], urlList: [], pieceLayers: parsePieceLayers(root['piece layers'], info) };
  const announce = optText(root['announce']);
  if (announce !== undefined && announce !== '') m.announce = announce;
  const tiers = root['announce-list'];
  if (Array.isArray(tiers)) {
    for (const tier of tiers) {
      if (!Array.isArray(tier)) continue;
      const urls = tier.map(optText).filter((u): u is string => u !== undefined && u !== '');
      if (urls.length > 0) m.announceList.push(urls);
    }
  }
  const urlList = root['url-list'];
  for (const u of Array.isArray(urlList) ? urlList : [urlList]) {
    const s = optText(u);
    if (s !== undefined && s !== '') m.urlList.push(s);
  }
  const comment = optText(root['comment.utf-8']) ?? optText(root['comment']);
  if (comment !== undefined) m.comment = comment;
  const createdBy = optText(root['created by']);
  if (createdBy !== undefined) m.createdBy = createdBy;
  const date = root['creation date'];
  if (typeof date === 'number') m.creationDate = date;
  return m;
}

function optText(v: BValue | undefined): string | undefined {
  return v instanceof Uint8Array ? utf8.decode(v) : undefined;
}

/**
 * Parses and validates an `info` dictionary on its own (e.g. metadata received over BEP 9),
 * with the same checks as `parseMetainfo`. `pieces` is a view into `infoBytes`.
 */
export function parseInfoDict(infoBytes: Uint8Array): InfoDict {
  const d = decode(new Uint8Array(infoBytes.buffer, infoBytes.byteOffset, infoBytes.byteLength));
  if (!isDict(d)) fail('"info" must be a dictionary');
  return validateInfo(d);
}

function validateInfo(d: BDict): InfoDict {
  const metaVersion = parseMetaVersion(d);
  const pieceLength = d['piece length'];
  const pieces = d['pieces'];
  if (pieceLength === undefined) fail('missing "info.piece length"');
  if (typeof pieceLength !== 'number' || pieceLength <= 0) fail('"info.piece length" must be a positive integer');
  // A piece is gathered in memory to be hashed: a hostile piece length must not make us allocate gigabytes.
  if (pieceLength > METAINFO_MAX_PIECE_LENGTH) fail(`"info.piece length" ${pieceLength} is larger than ${METAINFO_MAX_PIECE_LENGTH} (512 MiB)`);
  if (metaVersion === 2 && (pieceLength < V2_BLOCK_SIZE || 2 ** Math.round(Math.log2(pieceLength)) !== pieceLength)) {
    fail(`"info.piece length" ${pieceLength} must be a power of two of at least ${V2_BLOCK_SIZE} (meta version 2)`);
  }
  const name = parseName(d);
  if (metaVersion === 2 && pieces === undefined) return validateV2Only(d, name, pieceLength);

  if (pieces === undefined) {
    fail(d['file tree'] !== undefined ? 'missing "info.pieces" (a "file tree" needs "meta version" 2)' : 'missing "info.pieces"');
  }
  if (!(pieces instanceof Uint8Array)) fail('"info.pieces" must be a byte string');
  if (pieces.length % HASH_LENGTH !== 0) fail(`"info.pieces" length ${pieces.length} is not a multiple of 20`);

  const length = d['length'];
  const filesValue = d['files'];
  if (length !== undefined && filesValue !== undefined) fail('"info" has both "length" and "files"');
  let files: TorrentFile[];
  let multiFile: boolean;
  if (filesValue !== undefined) {
    multiFile = true;
    files = parseFiles(filesValue);
  } else if (length !== undefined) {
    multiFile = false;
    if (typeof length !== 'number' || length < 0) fail('"info.length" must be a non-negative integer');
    files = [{ path: [name], length, offset: 0 }];
  } else {
    fail('"info" has neither "length" nor "files"');
  }

  const last = files[files.length - 1];
  const totalLength = checkTotal(last.offset + last.length);
  const pieceCount = Math.ceil(totalLength / pieceLength);
  if (pieces.length !== pieceCount * HASH_LENGTH) {
    fail(
      `"info.pieces" holds ${pieces.length / HASH_LENGTH} hashes but ${totalLength} bytes ` +
        `at piece length ${pieceLength} need ${pieceCount}`,
    );
  }
  if (metaVersion === 2) matchHybrid(files, parseFileTree(d['file tree'], treeChecks()), pieceLength, fail);
  return { name, pieceLength, pieceCount, totalLength, pieces, files, multiFile, private: d['private'] === 1, metaVersion };
}

function parseMetaVersion(d: BDict): 1 | 2 {
  const v = d['meta version'];
  if (v === undefined) return 1;
  if (typeof v !== 'number') fail('"info.meta version" must be an integer');
  if (v !== 2) fail(`unsupported meta version ${v}`);
  return 2;
}

function parseName(d: BDict): string {
  const useUtf8Name = d['name.utf-8'] instanceof Uint8Array;
  const nameField = useUtf8Name ? 'info.name.utf-8' : 'info.name';
  const nameBytes = d[useUtf8Name ? 'name.utf-8' : 'name'];
  if (nameBytes === undefined) fail('missing "info.name"');
  if (!(nameBytes instanceof Uint8Array)) fail('"info.name" must be a byte string');
  return checkComponent(utf8.decode(nameBytes), nameField);
}

function checkTotal(totalLength: number): number {
  if (!Number.isSafeInteger(totalLength)) fail('total length of the files is too large');
  if (totalLength === 0) fail('total length of the files is 0');
  return totalLength;
}

/** v2-only: files in tree order, laid out on piece boundaries (see `layOutV2Only`). */
function validateV2Only(d: BDict, name: string, pieceLength: number): InfoDict {
  const tree = parseFileTree(d['file tree'], treeChecks());
  const files = layOutV2Only(tree, pieceLength, fail);
  const last = files[files.length - 1];
  const totalLength = checkTotal(last.offset + last.length);
  const multiFile = !(tree.length === 1 && tree[0].path.length === 1);
  const pieceCount = Math.ceil(totalLength / pieceLength);
  // v1 torrents are bounded by their 20 bytes per piece; a v2 one names its sizes freely, and the
  // engine keeps a few bytes per piece.
  if (pieceCount > METAINFO_MAX_PIECES) fail(`${totalLength} bytes at piece length ${pieceLength} are ${pieceCount} pieces, more than ${METAINFO_MAX_PIECES}`);
  // A single file is named by its key in the tree, as libtorrent names it on disk (`name` is only advisory).
  const shown = multiFile ? name : tree[0].path[0];
  return { name: shown, pieceLength, pieceCount, totalLength, files, multiFile, private: d['private'] === 1, metaVersion: 2 };
}

/** The file tree's checks: this module's errors, and the path rules the v1 file list gets. */
function treeChecks(): TreeChecks {
  const paths = new PathChecker();
  return { fail, component: checkComponent, addPath: (path, field) => paths.add(path, field) };
}

/**
 * BEP 52 `piece layers`: each entry must belong to a file (by pieces root) longer than one piece
 * and hold exactly one 32-byte hash per piece of it. Entries may be missing (peers have them).
 * Ignored in v1 torrents, where the field means nothing.
 */
function parsePieceLayers(value: BValue | undefined, info: InfoDict): Map<string, Uint8Array> {
  const layers = new Map<string, Uint8Array>();
  if (value === undefined || info.metaVersion === 1) return layers;
  if (!isDict(value)) fail('"piece layers" must be a dictionary');
  const byRoot = new Map<string, TorrentFile[]>();
  for (const f of info.files) {
    if (f.piecesRoot === undefined) continue;
    const hex = toHex(f.piecesRoot);
    const same = byRoot.get(hex);
    if (same === undefined) byRoot.set(hex, [f]);
    else same.push(f);
  }
  for (const key of Object.keys(value)) {
    if (key.length !== V2_HASH_LENGTH) fail(`"piece layers" has a key of ${key.length} bytes (pieces roots are 32)`);
    const hex = toHex(latin1ToBytes(key));
    const where = `"piece layers" entry ${hex}`;
    const owners = byRoot.get(hex);
    if (owners === undefined) fail(`${where} matches no file's pieces root`);
    const layer = value[key];
    if (!(layer instanceof Uint8Array)) fail(`${where} must be a byte string`);
    for (const f of owners) {
      if (f.length <= info.pieceLength) fail(`${where} is for a file of ${f.length} bytes, not longer than one piece (such files have none)`);
      const want = V2_HASH_LENGTH * Math.ceil(f.length / info.pieceLength);
      if (layer.length !== want) fail(`${where} is ${layer.length} bytes, a file of ${f.length} bytes needs ${want}`);
    }
    layers.set(hex, layer.slice());
  }
  return layers;
}

/**
 * Joined paths of real files and of the directories above them: two files may not share a
 * path, and a file may not also be a directory. Components never contain '/', so joining is safe.
 */
class PathChecker {
  private readonly files = new Set<string>();
  private readonly dirs = new Set<string>();

  add(path: string[], field: string): void {
    const joined = path.join('/');
    if (this.files.has(joined)) fail(`"${field}" duplicates the path of an earlier file`);
    if (this.dirs.has(joined)) fail(`"${field}" is also a directory of another file`);
    this.files.add(joined);
    let dir = '';
    for (let j = 0; j < path.length - 1; j++) {
      dir = j === 0 ? path[0] : `${dir}/${path[j]}`;
      if (this.files.has(dir)) fail(`"${field}" lies below another file`);
      this.dirs.add(dir);
    }
  }
}

function parseFiles(value: BValue): TorrentFile[] {
  if (!Array.isArray(value)) fail('"info.files" must be a list');
  if (value.length === 0) fail('"info.files" is empty');
  const files: TorrentFile[] = [];
  const paths = new PathChecker();
  let offset = 0;
  for (let i = 0; i < value.length; i++) {
    const where = `info.files[${i}]`;
    const f = value[i];
    if (!isDict(f)) fail(`"${where}" must be a dictionary`);
    const length = f['length'];
    if (length === undefined) fail(`missing "${where}.length"`);
    if (typeof length !== 'number' || length < 0) fail(`"${where}.length" must be a non-negative integer`);
    const useUtf8 = Array.isArray(f['path.utf-8']);
    const field = `${where}.${useUtf8 ? 'path.utf-8' : 'path'}`;
    const rawPath = f[useUtf8 ? 'path.utf-8' : 'path'];
    if (rawPath === undefined) fail(`missing "${where}.path"`);
    if (!Array.isArray(rawPath)) fail(`"${field}" must be a list`);
    if (rawPath.length === 0) fail(`"${field}" is empty`);
    const path = rawPath.map((c, j) => {
      if (!(c instanceof Uint8Array)) fail(`"${field}[${j}]" must be a byte string`);
      return checkComponent(utf8.decode(c), field);
    });
    const attr = f['attr'];
    const padding = attr instanceof Uint8Array && attr.includes(0x70 /* p */);
    const file: TorrentFile = { path, length, offset };
    if (padding) file.padding = true;
    else paths.add(path, field);
    files.push(file);
    offset += length;
    if (!Number.isSafeInteger(offset)) fail('total length of the files is too large');
  }
  return files;
}

/** Rejects anything that is not one safe path component (no traversal, no separators). */
function checkComponent(c: string, field: string): string {
  if (c === '') fail(`"${field}" has an empty component`);
  if (c === '.' || c === '..') fail(`"${field}" has component ${JSON.stringify(c)} (path traversal)`);
  if (c.startsWith('/') || c.startsWith('\\')) fail(`"${field}" has absolute component ${JSON.stringify(c)}`);
  if (c.includes('/') || c.includes('\\')) fail(`"${field}" component ${JSON.stringify(c)} contains a path separator`);
  if (c.includes('\0')) fail(`"${field}" component ${JSON.stringify(c)} contains a NUL character`);
  return c;
}

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;
const INFO_KEY = [0x69, 0x6e, 0x66, 0x6f]; // "info"

/**
 * Finds `[start, end)` of the value of the top-level "info" key by scanning tokens, without
 * re-encoding (some torrents have non-canonical key order). Called only on bytes `bdecode` has
 * accepted, but still bounds-checked so it can never loop or read past the end.
 */
function findInfoSpan(bytes: Uint8Array): [number, number] {
  if (bytes[0] !== CH_D) fail('top level is not a dictionary');
  let pos = 1;
  while (pos < bytes.length && bytes[pos] !== CH_E) {
    const [keyStart, keyEnd] = readStringSpan(bytes, pos);
    const valueEnd = skipValue(bytes, keyEnd);
    const isInfo = keyEnd - keyStart === 4 && INFO_KEY.every((ch, k) => bytes[keyStart + k] === ch);
    if (isInfo) return [keyEnd, valueEnd];
    pos = valueEnd;
  }
  return fail('missing "info" dictionary');
}

/** Reads `<len>:<bytes>` at `pos`; returns the content span (its end is where the next token starts). */
function readStringSpan(bytes: Uint8Array, pos: number): [number, number] {
  let n = 0;
  while (pos < bytes.length && bytes[pos] >= CH_0 && bytes[pos] <= CH_9) n = n * 10 + (bytes[pos++] - CH_0);
  if (bytes[pos] !== CH_COLON || pos + 1 + n > bytes.length) fail(`scanner: bad byte string at offset ${pos}`);
  return [pos + 1, pos + 1 + n];
}

/** Returns the offset just past the bencoded value that starts at `pos`. */
function skipValue(bytes: Uint8Array, pos: number): number {
  let depth = 0;
  do {
    if (pos >= bytes.length) fail('scanner: unexpected end of input');
    const c = bytes[pos];
    if (c === CH_I) {
      const e = bytes.indexOf(CH_E, pos);
      if (e < 0) fail(`scanner: unterminated integer at offset ${pos}`);
      pos = e + 1;
    } else if (c >= CH_0 && c <= CH_9) {
      pos = readStringSpan(bytes, pos)[1];
    } else if (c === CH_L || c === CH_D) {
      depth++;
      pos++;
    } else if (c === CH_E && depth > 0) {
      depth--;
      pos++;
    } else {
      fail(`scanner: unexpected byte 0x${c.toString(16)} at offset ${pos}`);
    }
  } while (depth > 0);
  return pos;
}

/**
 * Encodes a .torrent file canonically (sorted keys). Empty `announceList`/`urlList`/`pieceLayers`
 * are left out. `metaVersion` 2 adds `meta version` and a `file tree` built from the files that
 * are not padding; with `pieces` it is a hybrid torrent (the v1 fields too, pad files as
 * `attr: 'p'`), without it a v2-only one (no `pieces`, `files` or `length`). Throws `TypeError`
 * if the result would not parse back (the message says why). `infoBytes` equals the span of the
 * `info` value inside `bytes`.
 */
export function encodeMetainfo(m: MetainfoInput): { bytes: Uint8Array; infoBytes: Uint8Array } {
  const { info } = m;
  const metaVersion = info.metaVersion ?? 1;
  const infoDict: { [key: string]: BEncodable | undefined } = {
    name: info.name,
    'piece length': info.pieceLength,
    private: info.private ? 1 : undefined,
  };
  if (metaVersion === 2) {
    infoDict['meta version'] = 2;
    infoDict['file tree'] = buildFileTree(info.files, info.multiFile);
  }
  if (metaVersion !== 2 || info.pieces !== undefined) {
    infoDict['pieces'] = info.pieces;
    if (info.multiFile) {
      infoDict['files'] = info.files.map((f) => ({ length: f.length, path: f.path, attr: f.padding ? 'p' : undefined }));
    } else {
      if (info.files.length !== 1) throw new TypeError('metainfo: a single-file torrent needs exactly one file');
      infoDict['length'] = info.files[0].length;
    }
  }
  let layers: BDict | undefined;
  if (m.pieceLayers !== undefined && m.pieceLayers.size > 0) {
    if (metaVersion !== 2) throw new TypeError('metainfo: piece layers need meta version 2');
    layers = Object.create(null) as BDict;
    for (const [hex, layer] of m.pieceLayers) {
      if (!/^[0-9a-fA-F]{64}$/.test(hex)) throw new TypeError(`metainfo: piece layers key ${JSON.stringify(hex)} is not 64 hex digits`);
      layers[bytesToLatin1(Uint8Array.from(hex.match(/../g) ?? [], (h) => parseInt(h, 16)))] = layer;
    }
  }
  const infoBytes = bencode(infoDict);
  try {
    parsePieceLayers(layers, parseInfoDict(infoBytes));
  } catch (err) {
    if (err instanceof MetainfoError) throw new TypeError(`cannot encode: ${err.message}`);
    throw err;
  }
  const bytes = bencode({
    announce: m.announce,
    'announce-list': m.announceList !== undefined && m.announceList.length > 0 ? m.announceList : undefined,
    'url-list': m.urlList !== undefined && m.urlList.length > 0 ? m.urlList : undefined,
    comment: m.comment,
    'created by': m.createdBy,
    'creation date': m.creationDate,
    info: infoDict,
    'piece layers': layers,
  });
  return { bytes, infoBytes };
}

function checkIndex(info: InfoDict, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) {
    throw new RangeError(`piece index ${index} out of range 0..${info.pieceCount - 1}`);
  }
}

/** True for a v2-only torrent: meta version 2 without v1 piece hashes. */
export function isV2Only(info: InfoDict): boolean {
  return info.metaVersion === 2 && info.pieces === undefined;
}

/**
 * The 20-byte SHA-1 of piece `index` (a view into `info.pieces`). Throws `RangeError` out of
 * range, `TypeError` for a v2-only torrent (it has no SHA-1 hashes: see `isV2Only`).
 */
export function pieceHash(info: InfoDict, index: number): Uint8Array {
  if (info.pieces === undefined) throw new TypeError('metainfo: a v2-only torrent has no SHA-1 piece hashes');
  checkIndex(info, index);
  return info.pieces.subarray(index * HASH_LENGTH, (index + 1) * HASH_LENGTH);
}

/** Length in bytes of piece `index`: `pieceLength`, except the last may be shorter. Throws `RangeError` out of range. */
export function pieceSize(info: InfoDict, index: number): number {
  checkIndex(info, index);
  return index === info.pieceCount - 1 ? info.totalLength - index * info.pieceLength : info.pieceLength;
}
