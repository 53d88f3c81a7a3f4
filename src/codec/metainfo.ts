/**
 * Metainfo (.torrent files), BEP 3 v1, with BEP 12 `announce-list`, BEP 19 `url-list`,
 * BEP 27 `private` and BEP 47 padding files.
 *
 * Parsing is strict about the `info` dictionary (it decides what bytes get written where on
 * disk: path traversal, wrong lengths and missing hashes are all rejected) and lenient about
 * the optional outer fields (a malformed `announce-list` entry is skipped, as other clients do).
 * Hashing is the caller's job: the infohash is the SHA-1 of `infoBytes`.
 */
import { bdecode, bencode, type BDict, type BEncodable, type BValue } from './bencode.js';
import { DecodeError } from './errors.js';

/** One file of a torrent, in the order of the torrent's concatenated data. */
export interface TorrentFile {
  /** Path components below the torrent's directory (multi-file) or `[name]` (single-file). */
  path: string[];
  length: number;
  /** Byte offset of the file in the torrent's concatenated data. */
  offset: number;
  /** BEP 47 padding file (`attr` contains `p`): its bytes are zeros and are never written to disk. */
  padding?: boolean;
}

/** A validated v1 `info` dictionary. */
export interface InfoDict {
  /** Suggested file name (single-file) or directory name (multi-file); a safe single component. */
  name: string;
  pieceLength: number;
  pieceCount: number;
  totalLength: number;
  /** Concatenated 20-byte SHA-1 piece hashes, `20 * pieceCount` bytes. */
  pieces: Uint8Array;
  /** Single-file torrents have one entry with path `[name]`. */
  files: TorrentFile[];
  multiFile: boolean;
  private: boolean;
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
}

/** What `encodeMetainfo` takes: an `InfoDict` whose derived counts may be left out. */
export interface MetainfoInput {
  info: Omit<InfoDict, 'pieceCount' | 'totalLength'> & Partial<Pick<InfoDict, 'pieceCount' | 'totalLength'>>;
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
/** Element limit for the bencode decoder: ~30 list items/dict entries for each of 100,000 files. */
export const METAINFO_MAX_ELEMENTS = 3_000_000;
const LIMITS = { maxBytes: METAINFO_MAX_BYTES, maxElements: METAINFO_MAX_ELEMENTS, maxDepth: 32 };
const HASH_LENGTH = 20;

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
 * the `info` value (key order and all), and `info.pieces` is a view into `infoBytes`.
 */
export function parseMetainfo(bytes: Uint8Array): Metainfo {
  const root = decode(bytes);
  if (!isDict(root)) fail('top level is not a dictionary');
  const infoValue = root['info'];
  if (infoValue === undefined) fail('missing "info" dictionary');
  if (!isDict(infoValue)) fail('"info" must be a dictionary');
  const [start, end] = findInfoSpan(bytes);
  const infoBytes = bytes.slice(start, end);
  const info = validateInfo(infoValue);
  // Re-point `pieces` from the whole file into the (copied) info span, so the caller can drop
  // the file; `pieces` is a view into `bytes` that lies inside the info span.
  const piecesAt = info.pieces.byteOffset - bytes.byteOffset - start;
  info.pieces = infoBytes.subarray(piecesAt, piecesAt + info.pieces.length);

  const m: Metainfo = { info, infoBytes, announceList: [], urlList: [] };
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
  const d = decode(infoBytes);
  if (!isDict(d)) fail('"info" must be a dictionary');
  return validateInfo(d);
}

function validateInfo(d: BDict): InfoDict {
  const pieceLength = d['piece length'];
  const pieces = d['pieces'];
  if (pieces === undefined && d['file tree'] !== undefined) fail('v2-only torrents (BEP 52) are not supported yet');
  if (pieceLength === undefined) fail('missing "info.piece length"');
  if (typeof pieceLength !== 'number' || pieceLength <= 0) fail('"info.piece length" must be a positive integer');
  if (pieces === undefined) fail('missing "info.pieces"');
  if (!(pieces instanceof Uint8Array)) fail('"info.pieces" must be a byte string');
  if (pieces.length % HASH_LENGTH !== 0) fail(`"info.pieces" length ${pieces.length} is not a multiple of 20`);

  const useUtf8Name = d['name.utf-8'] instanceof Uint8Array;
  const nameField = useUtf8Name ? 'info.name.utf-8' : 'info.name';
  const nameBytes = d[useUtf8Name ? 'name.utf-8' : 'name'];
  if (nameBytes === undefined) fail('missing "info.name"');
  if (!(nameBytes instanceof Uint8Array)) fail('"info.name" must be a byte string');
  const name = checkComponent(utf8.decode(nameBytes), nameField);

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
  const totalLength = last.offset + last.length;
  if (!Number.isSafeInteger(totalLength)) fail('total length of the files is too large');
  if (totalLength === 0) fail('total length of the files is 0');
  const pieceCount = Math.ceil(totalLength / pieceLength);
  if (pieces.length !== pieceCount * HASH_LENGTH) {
    fail(
      `"info.pieces" holds ${pieces.length / HASH_LENGTH} hashes but ${totalLength} bytes ` +
        `at piece length ${pieceLength} need ${pieceCount}`,
    );
  }
  return { name, pieceLength, pieceCount, totalLength, pieces, files, multiFile, private: d['private'] === 1 };
}

function parseFiles(value: BValue): TorrentFile[] {
  if (!Array.isArray(value)) fail('"info.files" must be a list');
  if (value.length === 0) fail('"info.files" is empty');
  const files: TorrentFile[] = [];
  // Joined paths of real files and of the directories above them: two files may not share a
  // path, and a file may not also be a directory. Components never contain '/', so joining is safe.
  const filePaths = new Set<string>();
  const dirPaths = new Set<string>();
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
    if (padding) {
      file.padding = true;
    } else {
      const joined = path.join('/');
      if (filePaths.has(joined)) fail(`"${field}" duplicates the path of an earlier file`);
      if (dirPaths.has(joined)) fail(`"${field}" is also a directory of another file`);
      filePaths.add(joined);
      let dir = '';
      for (let j = 0; j < path.length - 1; j++) {
        dir = j === 0 ? path[0] : `${dir}/${path[j]}`;
        if (filePaths.has(dir)) fail(`"${field}" lies below another file`);
        dirPaths.add(dir);
      }
    }
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
 * Encodes a .torrent file canonically (sorted keys). Empty `announceList`/`urlList` are left
 * out. Throws `TypeError` if the result would not pass `parseInfoDict` (the message says why).
 * `infoBytes` equals the span of the `info` value inside `bytes`.
 */
export function encodeMetainfo(m: MetainfoInput): { bytes: Uint8Array; infoBytes: Uint8Array } {
  const { info } = m;
  const infoDict: { [key: string]: BEncodable | undefined } = {
    name: info.name,
    'piece length': info.pieceLength,
    pieces: info.pieces,
    private: info.private ? 1 : undefined,
  };
  if (info.multiFile) {
    infoDict['files'] = info.files.map((f) => ({ length: f.length, path: f.path, attr: f.padding ? 'p' : undefined }));
  } else {
    if (info.files.length !== 1) throw new TypeError('metainfo: a single-file torrent needs exactly one file');
    infoDict['length'] = info.files[0].length;
  }
  const infoBytes = bencode(infoDict);
  try {
    parseInfoDict(infoBytes);
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
  });
  return { bytes, infoBytes };
}

function checkIndex(info: InfoDict, index: number): void {
  if (!Number.isInteger(index) || index < 0 || index >= info.pieceCount) {
    throw new RangeError(`piece index ${index} out of range 0..${info.pieceCount - 1}`);
  }
}

/** The 20-byte SHA-1 of piece `index` (a view into `info.pieces`). Throws `RangeError` out of range. */
export function pieceHash(info: InfoDict, index: number): Uint8Array {
  checkIndex(info, index);
  return info.pieces.subarray(index * HASH_LENGTH, (index + 1) * HASH_LENGTH);
}

/** Length in bytes of piece `index`: `pieceLength`, except the last may be shorter. Throws `RangeError` out of range. */
export function pieceSize(info: InfoDict, index: number): number {
  checkIndex(info, index);
  return index === info.pieceCount - 1 ? info.totalLength - index * info.pieceLength : info.pieceLength;
}
