/**
 * Payloads carried inside BEP 10 extended messages (peer-wire id 20): the extension handshake
 * (BEP 10, extended id 0), metadata exchange `ut_metadata` (BEP 9) and peer exchange `ut_pex`
 * (BEP 11, with the IPv6 lists `added6`/`dropped6`). These encode/decode the payload only;
 * `peer-wire.ts` adds the envelope. Every message here is sent by a peer of a connection; the
 * peer link that receives one rejects what its decoder throws for as a protocol error.
 */
import { bdecode, bencode, type BDict, type BEncodable, type BValue } from './bencode.js';
import { compactPeerLength, decodeCompactPeers, encodeCompactPeers } from './compact.js';
import { DecodeError } from './errors.js';
import { ipFamily, type IpFamily } from './ip.js';

/** The extended-message id of the extension handshake itself. */
export const EXTENDED_HANDSHAKE_ID = 0;
/** Size of every metadata piece but the last (BEP 9). */
export const METADATA_PIECE_SIZE = 16384;
/** Largest info dictionary accepted over ut_metadata (8 MiB); bigger `total_size` is rejected. */
export const MAX_METADATA_SIZE = 8 * 1024 * 1024;
/** At most this many entries of each PEX list (`added`, `added6`, `dropped`, `dropped6`) are considered. */
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
  /** The sender's own IPv4 address (4 bytes), for peers that reach it over IPv6; other lengths are dropped. */
  ipv4?: Uint8Array;
  /** The sender's own IPv6 address (16 bytes), for peers that reach it over IPv4; other lengths are dropped. */
  ipv6?: Uint8Array;
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
    ipv4: h.ipv4,
    ipv6: h.ipv6,
    upload_only: h.uploadOnly ? 1 : undefined,
  };
  return bencode(dict);
}

/**
 * Decodes a peer's handshake dict. Throws `DecodeError` for bad bencoding, wrong types (`yourip`,
 * `ipv4` or `ipv6` not a byte string included), an id outside 0..255 or a port outside 0..65535.
 * An address of the wrong length (`yourip` not 4 or 16 bytes, `ipv4` not 4, `ipv6` not 16) is
 * dropped: it is a hint only. A missing `m` reads as `{}`. Byte fields are copies.
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
  const ipv4 = optBytes(d, 'ipv4', what);
  if (ipv4 !== undefined && ipv4.length === 4) out.ipv4 = ipv4.slice();
  const ipv6 = optBytes(d, 'ipv6', what);
  if (ipv6 !== undefined && ipv6.length === 16) out.ipv6 = ipv6.slice();
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

/**
 * A BEP 11 message, sent by a peer about once a minute. `added` and `dropped` hold peers of both
 * families, spelled as `Endpoint.host` is (IPv6 canonical); on the wire IPv4 peers travel in
 * `added`/`added.f`/`dropped` and IPv6 peers in `added6`/`added6.f`/`dropped6`. `flags` is the
 * `added.f` byte (`PEX_ENCRYPTION` ...).
 */
export interface PexMessage {
  added: { host: string; port: number; flags: number }[];
  dropped: { host: string; port: number }[];
}

function ofFamily<T extends { host: string }>(list: readonly T[], family: IpFamily): T[] {
  return list.filter((p) => ipFamily(p.host) === family);
}

/**
 * Encodes a ut_pex dict: IPv4 peers in `added`, `added.f`, `dropped` (always present), IPv6 peers
 * in `added6`, `added6.f`, `dropped6` (present when there are any). Throws `TypeError` for a host
 * that is not an IP address or a bad port. BEP 11 suggests <= 50 added and 50 dropped per message.
 */
export function encodePex(m: PexMessage): Uint8Array {
  for (const p of [...m.added, ...m.dropped]) {
    if (ipFamily(p.host) === undefined) throw new TypeError(`ut_pex: ${JSON.stringify(p.host)} is not an IP address`);
  }
  const dict: { [key: string]: BEncodable } = {};
  for (const family of [4, 6] as const) {
    const suffix = family === 4 ? '' : '6';
    const added = ofFamily(m.added, family);
    const dropped = ofFamily(m.dropped, family);
    if (family === 6 && added.length === 0 && dropped.length === 0) continue;
    dict[`added${suffix}`] = encodeCompactPeers(added, family);
    dict[`added${suffix}.f`] = Uint8Array.from(added, (p) => p.flags & 0xff);
    dict[`dropped${suffix}`] = encodeCompactPeers(dropped, family);
  }
  return bencode(dict);
}

/** The first `MAX_PEX_ENTRIES` peers of one compact list; its whole length must be a multiple of 6 (18). */
function compactList(d: BDict, key: string, family: IpFamily): { host: string; port: number }[] {
  const b = optBytes(d, key, 'ut_pex');
  if (b === undefined) return [];
  const size = compactPeerLength(family);
  if (b.length % size !== 0) throw new DecodeError(`ut_pex: "${key}" length ${b.length} is not a multiple of ${size}`);
  return decodeCompactPeers(b.subarray(0, Math.min(b.length, MAX_PEX_ENTRIES * size)), family);
}

function addedList(d: BDict, family: IpFamily): PexMessage['added'] {
  const suffix = family === 4 ? '' : '6';
  const f = optBytes(d, `added${suffix}.f`, 'ut_pex') ?? new Uint8Array(0);
  return compactList(d, `added${suffix}`, family).map((p, i) => ({ ...p, flags: i < f.length ? f[i]! : 0 }));
}

/**
 * Decodes a ut_pex dict from a peer: IPv4 peers first, then IPv6 ones, in both lists. Only the
 * first `MAX_PEX_ENTRIES` of each wire list are returned; a missing or short `added.f`
 * (`added6.f`) reads as flags 0. Throws `DecodeError` for bad bencoding, wrong types, or compact
 * strings not a multiple of 6 (`added`, `dropped`) or 18 (`added6`, `dropped6`) bytes.
 */
export function decodePex(payload: Uint8Array): PexMessage {
  const d = asDict(bdecode(payload, LIMITS), 'ut_pex');
  return {
    added: [...addedList(d, 4), ...addedList(d, 6)],
    dropped: [...compactList(d, 'dropped', 4), ...compactList(d, 'dropped6', 6)],
  };
}
