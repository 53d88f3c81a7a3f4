/**
 * Payloads carried inside BEP 10 extended messages (peer-wire id 20): the extension handshake
 * (BEP 10, extended id 0), metadata exchange `ut_metadata` (BEP 9) and peer exchange `ut_pex`
 * (BEP 11). These encode/decode the payload only; `peer-wire.ts` adds the envelope.
 */
import { bdecode, bencode, type BDict, type BEncodable, type BValue } from './bencode.js';
import { decodeCompactPeer, encodeCompactPeer } from './compact.js';
import { DecodeError } from './errors.js';

/** The extended-message id of the extension handshake itself. */
export const EXTENDED_HANDSHAKE_ID = 0;
/** Size of every metadata piece but the last (BEP 9). */
export const METADATA_PIECE_SIZE = 16384;
/** Largest info dictionary accepted over ut_metadata (8 MiB); bigger `total_size` is rejected. */
export const MAX_METADATA_SIZE = 8 * 1024 * 1024;
/** At most this many `added` / `dropped` entries of a PEX message are considered. */
export const MAX_PEX_ENTRIES = 200;

const LIMITS = { maxDepth: 8, maxElements: 1024, maxBytes: 65536 };
const utf8 = new TextDecoder();

/** The BEP 10 handshake payload. Unknown keys are ignored when decoding. */
export interface ExtendedHandshake {
  /** Extension name -> the id the sender wants to receive it under; 0 = disabled. */
  m: Record<string, number>;
  /** Client name and version. */
  v?: string;
  /** The sender's listen port. */
  p?: number;
  /** How many outstanding requests the sender accepts. */
  reqq?: number;
  /** BEP 9: size of the info dictionary. Not range-checked: compare with `MAX_METADATA_SIZE`. */
  metadataSize?: number;
  /** Our address as the sender sees it (4 or 16 bytes); other lengths are dropped. */
  yourIp?: Uint8Array;
  /**
   * BEP 21: the sender wants nothing more (a seed, or a partial seed that has the files it chose).
   * Sent as `upload_only: 1`; a value other than a positive integer reads as false.
   */
  uploadOnly?: boolean;
}

function asDict(v: BValue | undefined, what: string): BDict {
  if (typeof v !== 'object' || v instanceof Uint8Array || Array.isArray(v)) {
    throw new DecodeError(`${what} must be a dictionary`);
  }
  return v;
}

function optInt(d: BDict, key: string, what: string, min: number, max: number): number | undefined {
  const v = d[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v < min || v > max) throw new DecodeError(`${what}: "${key}" must be an integer in ${min}..${max}`);
  return v;
}

function reqInt(d: BDict, key: string, what: string, min: number, max: number): number {
  const v = optInt(d, key, what, min, max);
  if (v === undefined) throw new DecodeError(`${what}: missing "${key}"`);
  return v;
}

function optBytes(d: BDict, key: string, what: string): Uint8Array | undefined {
  const v = d[key];
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new DecodeError(`${what}: "${key}" must be a byte string`);
  return v;
}

/** Encodes the handshake dict. Throws `TypeError` for an id outside 0..255. */
export function encodeExtendedHandshake(h: ExtendedHandshake): Uint8Array {
  for (const [name, id] of Object.entries(h.m)) {
    if (!Number.isInteger(id) || id < 0 || id > 255) throw new TypeError(`extension ${name}: id ${id} is not in 0..255`);
  }
  const dict: { [key: string]: BEncodable | undefined } = {
    m: { ...h.m },
    v: h.v,
    p: h.p,
    reqq: h.reqq,
    metadata_size: h.metadataSize,
    yourip: h.yourIp,
    upload_only: h.uploadOnly ? 1 : undefined,
  };
  return bencode(dict);
}

/**
 * Decodes a peer's handshake dict. Throws `DecodeError` for bad bencoding, wrong types, an id
 * outside 0..255 or a port outside 0..65535. A missing `m` reads as `{}`. Byte fields are copies.
 */
export function decodeExtendedHandshake(payload: Uint8Array): ExtendedHandshake {
  const what = 'extended handshake';
  const d = asDict(bdecode(payload, LIMITS), what);
  const m: Record<string, number> = {};
  if (d.m !== undefined) {
    const md = asDict(d.m, `${what}: "m"`);
    for (const name of Object.keys(md)) m[name] = reqInt(md, name, `${what} "m"`, 0, 255);
  }
  const out: ExtendedHandshake = { m };
  const v = optBytes(d, 'v', what);
  if (v !== undefined) out.v = utf8.decode(v);
  const p = optInt(d, 'p', what, 0, 65535);
  if (p !== undefined) out.p = p;
  const reqq = optInt(d, 'reqq', what, 0, Number.MAX_SAFE_INTEGER);
  if (reqq !== undefined) out.reqq = reqq;
  const size = optInt(d, 'metadata_size', what, 0, Number.MAX_SAFE_INTEGER);
  if (size !== undefined) out.metadataSize = size;
  const ip = optBytes(d, 'yourip', what);
  if (ip !== undefined && (ip.length === 4 || ip.length === 16)) out.yourIp = ip.slice();
  // Lenient: a flag only saves a useless connection, so a strange value is not worth one.
  if (typeof d.upload_only === 'number' && d.upload_only > 0) out.uploadOnly = true;
  return out;
}

/** A BEP 9 message. `data` of a decoded 'data' message is a view into the payload. */
export type MetadataMessage =
  | { type: 'request'; piece: number }
  | { type: 'data'; piece: number; totalSize: number; data: Uint8Array }
  | { type: 'reject'; piece: number };

const MSG_TYPE = { request: 0, data: 1, reject: 2 } as const;

/** Number of metadata pieces for an info dictionary of `totalSize` bytes. */
export function metadataPieceCount(totalSize: number): number {
  return Math.ceil(totalSize / METADATA_PIECE_SIZE);
}

/** Length piece `piece` must have for `totalSize` (16 KiB except the last), or -1 if out of range. */
function metadataPieceLength(piece: number, totalSize: number): number {
  if (piece >= metadataPieceCount(totalSize)) return -1;
  return Math.min(METADATA_PIECE_SIZE, totalSize - piece * METADATA_PIECE_SIZE);
}

/** Encodes a ut_metadata message: the bencoded dict, then the raw piece for 'data'. */
export function encodeMetadataMessage(m: MetadataMessage): Uint8Array {
  if (!Number.isInteger(m.piece) || m.piece < 0) throw new TypeError(`ut_metadata: bad piece ${m.piece}`);
  if (m.type !== 'data') return bencode({ msg_type: MSG_TYPE[m.type], piece: m.piece });
  if (m.data.length !== metadataPieceLength(m.piece, m.totalSize)) {
    throw new TypeError(`ut_metadata: piece ${m.piece} of ${m.totalSize} bytes cannot hold ${m.data.length} bytes`);
  }
  const head = bencode({ msg_type: MSG_TYPE.data, piece: m.piece, total_size: m.totalSize });
  const out = new Uint8Array(head.length + m.data.length);
  out.set(head, 0);
  out.set(m.data, head.length);
  return out;
}

/**
 * Finds where the one bencoded value starting at `start` ends (exclusive), without building it.
 * Iterative and O(n); used where raw bytes follow a bencoded dict. Checks only the framing
 * (lengths, `i...e`, nesting, here at most `maxDepth`); `bdecode` of the span checks the rest.
 */
export function bencodedValueEnd(b: Uint8Array, start: number, maxDepth = 16): number {
  let pos = start;
  let depth = 0;
  do {
    if (pos >= b.length) throw new DecodeError(`bencode: truncated value at offset ${pos}`);
    const c = b[pos];
    if (c === 0x64 || c === 0x6c) { // 'd' or 'l'
      if (++depth > maxDepth) throw new DecodeError(`bencode: nesting deeper than ${maxDepth}`);
      pos++;
    } else if (c === 0x65 && depth > 0) { // 'e'
      depth--;
      pos++;
    } else if (c === 0x69) { // 'i'
      pos++;
      while (pos < b.length && b[pos] !== 0x65) pos++;
      if (pos >= b.length) throw new DecodeError('bencode: truncated integer');
      pos++;
    } else if (c >= 0x30 && c <= 0x39) {
      let n = 0;
      while (pos < b.length && b[pos] >= 0x30 && b[pos] <= 0x39) {
        n = n * 10 + (b[pos++] - 0x30);
        if (n > b.length) throw new DecodeError('bencode: string length exceeds input');
      }
      if (b[pos] !== 0x3a) throw new DecodeError(`bencode: expected ':' at offset ${pos}`);
      pos += 1 + n;
      if (pos > b.length) throw new DecodeError('bencode: string length exceeds input');
    } else {
      throw new DecodeError(`bencode: unexpected byte 0x${c.toString(16)} at offset ${pos}`);
    }
  } while (depth > 0);
  return pos;
}

/**
 * Decodes a ut_metadata payload: a bencoded dict, followed for 'data' by the raw piece. Throws
 * `DecodeError` for bad bencoding, an unknown `msg_type`, bytes after a request/reject, a
 * `total_size` outside 1..`MAX_METADATA_SIZE`, or a piece whose index or length does not fit
 * `total_size` (every piece 16 KiB but the last).
 */
export function decodeMetadataMessage(payload: Uint8Array): MetadataMessage {
  const what = 'ut_metadata';
  const end = bencodedValueEnd(payload, 0);
  const d = asDict(bdecode(payload.subarray(0, end), LIMITS), what);
  const type = reqInt(d, 'msg_type', what, 0, Number.MAX_SAFE_INTEGER);
  const piece = reqInt(d, 'piece', what, 0, Number.MAX_SAFE_INTEGER);
  const rest = payload.subarray(end);
  if (type === MSG_TYPE.data) {
    const totalSize = reqInt(d, 'total_size', what, 1, MAX_METADATA_SIZE);
    const expected = metadataPieceLength(piece, totalSize);
    if (expected < 0) throw new DecodeError(`${what}: piece ${piece} is beyond total_size ${totalSize}`);
    if (rest.length !== expected) throw new DecodeError(`${what}: piece ${piece} has ${rest.length} bytes, expected ${expected}`);
    return { type: 'data', piece, totalSize, data: rest };
  }
  if (rest.length !== 0) throw new DecodeError(`${what}: ${rest.length} bytes after a msg_type ${type} dict`);
  if (type === MSG_TYPE.request) return { type: 'request', piece };
  if (type === MSG_TYPE.reject) return { type: 'reject', piece };
  throw new DecodeError(`${what}: unknown msg_type ${type}`);
}

/** Bits of BEP 11's `added.f`: the peer prefers encryption, is a seed, speaks uTP, can hole-punch, is reachable (a connection to it succeeded). */
export const PEX_ENCRYPTION = 0x01;
export const PEX_SEED = 0x02;
export const PEX_UTP = 0x04;
export const PEX_HOLEPUNCH = 0x08;
export const PEX_REACHABLE = 0x10;

/** A BEP 11 message (IPv4 part). `flags` is the `added.f` byte (`PEX_ENCRYPTION` ...). */
export interface PexMessage {
  added: { host: string; port: number; flags: number }[];
  dropped: { host: string; port: number }[];
}

/** Encodes a ut_pex dict. Throws `TypeError` for a non-IPv4 host or bad port. BEP 11 suggests <= 50 each. */
export function encodePex(m: PexMessage): Uint8Array {
  const added = new Uint8Array(m.added.length * 6);
  const flags = new Uint8Array(m.added.length);
  m.added.forEach((p, i) => {
    added.set(encodeCompactPeer(p), i * 6);
    flags[i] = p.flags & 0xff;
  });
  const dropped = new Uint8Array(m.dropped.length * 6);
  m.dropped.forEach((p, i) => dropped.set(encodeCompactPeer(p), i * 6));
  return bencode({ added, 'added.f': flags, dropped });
}

function compactList(d: BDict, key: string): { host: string; port: number }[] {
  const b = optBytes(d, key, 'ut_pex');
  if (b === undefined) return [];
  if (b.length % 6 !== 0) throw new DecodeError(`ut_pex: "${key}" length ${b.length} is not a multiple of 6`);
  const out: { host: string; port: number }[] = [];
  for (let off = 0; off < b.length && out.length < MAX_PEX_ENTRIES; off += 6) {
    out.push(decodeCompactPeer(b.subarray(off, off + 6)));
  }
  return out;
}

/**
 * Decodes a ut_pex dict (IPv4 only: `added6`/`dropped6` are ignored). Only the first
 * `MAX_PEX_ENTRIES` of each list are returned; a missing or short `added.f` reads as flags 0.
 * Throws `DecodeError` for bad bencoding, wrong types or compact strings not a multiple of 6.
 */
export function decodePex(payload: Uint8Array): PexMessage {
  const d = asDict(bdecode(payload, LIMITS), 'ut_pex');
  const f = optBytes(d, 'added.f', 'ut_pex') ?? new Uint8Array(0);
  const added = compactList(d, 'added').map((p, i) => ({ ...p, flags: i < f.length ? f[i] : 0 }));
  return { added, dropped: compactList(d, 'dropped') };
}
