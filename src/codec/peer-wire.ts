/**
 * The BitTorrent peer wire protocol (BEP 3), with the fast extension's messages (BEP 6), the
 * extension-protocol envelope (BEP 10, message id 20) and BEP 52's hash messages (ids 21-23).
 *
 * A connection starts with a fixed 68-byte handshake (`encodeHandshake`/`decodeHandshake`); after
 * it every message is `<uint32 length><id><payload>`, split into messages by `WireFramer`.
 * All integers are big-endian. Pure: no I/O, no Node-only APIs.
 */
import { DecodeError } from './errors.js';

/** Length of a BEP 3 handshake: pstrlen, pstr, 8 reserved bytes, info hash, peer id. */
export const HANDSHAKE_LENGTH = 68;

/** The 20-byte protocol header every handshake starts with: 0x13 "BitTorrent protocol". */
const PROTOCOL_HEADER = new Uint8Array([0x13, ...Array.from('BitTorrent protocol', (c) => c.charCodeAt(0))]);

/** Default `FramerLimits.maxMessageLength`: a 256 KiB block plus the piece header. */
export const DEFAULT_MAX_MESSAGE_LENGTH = 256 * 1024 + 13;

/** The handshake both sides send first. Decoded fields are copies (they outlive the read buffer). */
export interface Handshake {
  /** 8 reserved bytes: feature bits (see `RESERVED`). */
  reserved: Uint8Array;
  /** 20-byte SHA-1 of the info dictionary. */
  infoHash: Uint8Array;
  /** 20-byte peer id. */
  peerId: Uint8Array;
}

/** Feature bits in the handshake's reserved bytes: readers, and `makeReserved` to build them. */
export const RESERVED = {
  /** BEP 10 extension protocol: bit 0x10 of byte 5. */
  extensionProtocol: (r: Uint8Array): boolean => (r[5] & 0x10) !== 0,
  /** BEP 6 fast extension: bit 0x04 of byte 7. */
  fast: (r: Uint8Array): boolean => (r[7] & 0x04) !== 0,
  /** BEP 5 DHT (the peer accepts `port` messages): bit 0x01 of byte 7. */
  dht: (r: Uint8Array): boolean => (r[7] & 0x01) !== 0,
  /** BEP 52 v2: bit 0x10 of byte 7. When both sides set it on a hybrid torrent, the connection upgrades to v2. */
  v2: (r: Uint8Array): boolean => (r[7] & 0x10) !== 0,
};

/** Builds the 8 reserved bytes advertising the given features. */
export function makeReserved(f: { extensions?: boolean; fast?: boolean; dht?: boolean; v2?: boolean }): Uint8Array {
  const r = new Uint8Array(8);
  if (f.extensions) r[5] |= 0x10;
  if (f.fast) r[7] |= 0x04;
  if (f.dht) r[7] |= 0x01;
  if (f.v2) r[7] |= 0x10;
  return r;
}

function checkLength(what: string, b: Uint8Array, n: number): void {
  if (b.length !== n) throw new TypeError(`peer-wire: ${what} must be ${n} bytes, got ${b.length}`);
}

/** Encodes a handshake (68 bytes). Throws `TypeError` if a field has the wrong length. */
export function encodeHandshake(h: Handshake): Uint8Array {
  checkLength('reserved', h.reserved, 8);
  checkLength('infoHash', h.infoHash, 20);
  checkLength('peerId', h.peerId, 20);
  const out = new Uint8Array(HANDSHAKE_LENGTH);
  out.set(PROTOCOL_HEADER, 0);
  out.set(h.reserved, 20);
  out.set(h.infoHash, 28);
  out.set(h.peerId, 48);
  return out;
}

/**
 * Decodes the handshake at the start of `buf`: 'need-more' until 68 bytes are there. It consumes
 * exactly `HANDSHAKE_LENGTH` bytes; anything after them belongs to the `WireFramer`. Throws
 * `DecodeError` as soon as the bytes present differ from "\x13BitTorrent protocol" (so an
 * encrypted or non-BitTorrent stream is rejected without waiting for 68 bytes).
 */
export function decodeHandshake(buf: Uint8Array): Handshake | 'need-more' {
  const n = Math.min(buf.length, PROTOCOL_HEADER.length);
  for (let i = 0; i < n; i++) {
    if (buf[i] !== PROTOCOL_HEADER[i]) throw new DecodeError(`peer-wire: not a BitTorrent handshake (byte ${i})`);
  }
  if (buf.length < HANDSHAKE_LENGTH) return 'need-more';
  return { reserved: buf.slice(20, 28), infoHash: buf.slice(28, 48), peerId: buf.slice(48, 68) };
}

/** A message after the handshake. Byte fields of decoded messages are views (see `WireFramer`). */
export type PeerMessage =
  | { type: 'keep-alive' }
  | { type: 'choke' }
  | { type: 'unchoke' }
  | { type: 'interested' }
  | { type: 'not-interested' }
  | { type: 'have'; index: number }
  | { type: 'bitfield'; bitfield: Uint8Array }
  | { type: 'request'; index: number; begin: number; length: number }
  | { type: 'piece'; index: number; begin: number; block: Uint8Array }
  | { type: 'cancel'; index: number; begin: number; length: number }
  | { type: 'port'; port: number }
  | { type: 'suggest'; index: number }
  | { type: 'have-all' }
  | { type: 'have-none' }
  | { type: 'reject'; index: number; begin: number; length: number }
  | { type: 'allowed-fast'; index: number }
  | { type: 'extended'; id: number; payload: Uint8Array }
  /**
   * BEP 52: asks for `length` hashes of the merkle tree of the file with `piecesRoot`, starting at
   * `index` in layer `baseLayer` (0 = 16 KiB blocks), with `proofLayers` layers of uncle hashes.
   * Sent by a v2 peer that lacks a piece layer; the receiver answers `hashes` or `hash-reject`.
   */
  | { type: 'hash-request' } & HashRange
  /**
   * BEP 52: the answer to a `hash-request`, echoing its fields: the requested hashes then the
   * uncle hashes, 32 bytes each (`hashes` is a view). The receiver must verify them against
   * `piecesRoot` before use, and drop (not trust) an answer it never asked for.
   */
  | { type: 'hashes'; hashes: Uint8Array } & HashRange
  /**
   * BEP 52: sent instead of `hashes` by a peer that cannot or will not serve the `hash-request`
   * with these fields (e.g. it lacks that piece layer); the requester asks someone else.
   */
  | { type: 'hash-reject' } & HashRange;

/** The fields BEP 52's hash messages share: which hashes of which file's merkle tree. */
export interface HashRange {
  /** 32-byte merkle root of the file (`TorrentFile.piecesRoot`); a view when decoded. */
  piecesRoot: Uint8Array;
  baseLayer: number;
  index: number;
  length: number;
  proofLayers: number;
}

/** Message ids on the wire (BEP 3, BEP 6, BEP 10, BEP 52). */
export const MESSAGE_ID = {
  choke: 0, unchoke: 1, interested: 2, 'not-interested': 3, have: 4, bitfield: 5, request: 6, piece: 7,
  cancel: 8, port: 9, suggest: 13, 'have-all': 14, 'have-none': 15, reject: 16, 'allowed-fast': 17, extended: 20,
  'hash-request': 21, hashes: 22, 'hash-reject': 23,
} as const;

/** Length prefix of `hash-request`/`hash-reject`: id, 32-byte root, four uint32s. */
const HASH_HEADER_LENGTH = 49;
/** Size of one hash in a `hashes` message. */
const HASH_SIZE = 32;

/**
 * Allowed payload length (the length prefix, id byte included) per id: an exact size, or a
 * minimum written as a negative number. Ids not listed are unknown. `hashes` (22) must in
 * addition carry a whole number of 32-byte hashes (checked in `checkLengthForId`).
 */
const LENGTH_RULE: ReadonlyMap<number, number> = new Map([
  [0, 1], [1, 1], [2, 1], [3, 1], [4, 5], [5, -1], [6, 13], [7, -9], [8, 13], [9, 3],
  [13, 5], [14, 1], [15, 1], [16, 13], [17, 5], [20, -2],
  [21, HASH_HEADER_LENGTH], [22, -(HASH_HEADER_LENGTH + HASH_SIZE)], [23, HASH_HEADER_LENGTH],
]);

function u32(what: string, v: number): number {
  if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) throw new TypeError(`peer-wire: ${what} ${v} is not a uint32`);
  return v;
}

function frame(id: number, payloadLength: number): { out: Uint8Array; view: DataView } {
  const out = new Uint8Array(5 + payloadLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, 1 + payloadLength);
  out[4] = id;
  return { out, view };
}

/** Bytes of the shared slab piece headers are cut from (see `encodePieceHeader`). */
const HEADER_SLAB_SIZE = 16 * 1024;
let headerSlab = new Uint8Array(HEADER_SLAB_SIZE);
let headerSlabUsed = 0;

function putUint32(out: Uint8Array, at: number, v: number): void {
  out[at] = v >>> 24;
  out[at + 1] = v >>> 16;
  out[at + 2] = v >>> 8;
  out[at + 3] = v;
}

/**
 * The 13-byte header of a piece message, so a sender can write it and then the block as is.
 * Headers are views into a shared slab (one allocation per 1,260 headers instead of one each); a
 * returned header is never written again, so it may be kept as long as needed.
 */
export function encodePieceHeader(index: number, begin: number, blockLength: number): Uint8Array {
  u32('index', index);
  u32('begin', begin);
  u32('9 + blockLength', 9 + u32('blockLength', blockLength));
  if (headerSlabUsed + 13 > HEADER_SLAB_SIZE) {
    headerSlab = new Uint8Array(HEADER_SLAB_SIZE);
    headerSlabUsed = 0;
  }
  const out = headerSlab.subarray(headerSlabUsed, headerSlabUsed + 13);
  headerSlabUsed += 13;
  putUint32(out, 0, 9 + blockLength);
  out[4] = 7;
  putUint32(out, 5, index);
  putUint32(out, 9, begin);
  return out;
}

/**
 * Several `request` messages (or `cancel`, `reject`) in one buffer, back to back: what a batch of
 * requests looks like on the wire, built with one allocation. Throws `TypeError` like `encodeMessage`.
 */
export function encodeBlockMessages(type: 'request' | 'cancel' | 'reject', blocks: readonly { index: number; begin: number; length: number }[]): Uint8Array {
  const id = MESSAGE_ID[type];
  const out = new Uint8Array(17 * blocks.length);
  let at = 0;
  for (const b of blocks) {
    putUint32(out, at, 13);
    out[at + 4] = id;
    putUint32(out, at + 5, u32('index', b.index));
    putUint32(out, at + 9, u32('begin', b.begin));
    putUint32(out, at + 13, u32('length', b.length));
    at += 17;
  }
  return out;
}

/** Writes the 32-byte root and the four uint32s of a hash message at offset 5 of `out`. */
function putHashRange(out: Uint8Array, m: HashRange): void {
  if (m.piecesRoot.length !== HASH_SIZE) throw new TypeError(`peer-wire: piecesRoot must be 32 bytes, got ${m.piecesRoot.length}`);
  out.set(m.piecesRoot, 5);
  putUint32(out, 37, u32('baseLayer', m.baseLayer));
  putUint32(out, 41, u32('index', m.index));
  putUint32(out, 45, u32('length', m.length));
  putUint32(out, 49, u32('proofLayers', m.proofLayers));
}

/**
 * Encodes one message with its length prefix. Throws `TypeError` for integers out of range
 * (uint32 fields, port 0..65535, extended id 0..255), a `piecesRoot` that is not 32 bytes, or
 * `hashes` that are not one or more 32-byte hashes. For large blocks prefer
 * `encodePieceHeader` + the block, which avoids copying the block.
 */
export function encodeMessage(m: PeerMessage): Uint8Array {
  switch (m.type) {
    case 'keep-alive':
      return new Uint8Array(4);
    case 'choke': case 'unchoke': case 'interested': case 'not-interested': case 'have-all': case 'have-none':
      return frame(MESSAGE_ID[m.type], 0).out;
    case 'have': case 'suggest': case 'allowed-fast': {
      const { out, view } = frame(MESSAGE_ID[m.type], 4);
      view.setUint32(5, u32('index', m.index));
      return out;
    }
    case 'request': case 'cancel': case 'reject': {
      const { out, view } = frame(MESSAGE_ID[m.type], 12);
      view.setUint32(5, u32('index', m.index));
      view.setUint32(9, u32('begin', m.begin));
      view.setUint32(13, u32('length', m.length));
      return out;
    }
    case 'bitfield': {
      const { out } = frame(5, m.bitfield.length);
      out.set(m.bitfield, 5);
      return out;
    }
    case 'piece': {
      const out = new Uint8Array(13 + m.block.length);
      out.set(encodePieceHeader(m.index, m.begin, m.block.length), 0);
      out.set(m.block, 13);
      return out;
    }
    case 'port': {
      if (!Number.isInteger(m.port) || m.port < 0 || m.port > 65535) throw new TypeError(`peer-wire: bad port ${m.port}`);
      const { out, view } = frame(9, 2);
      view.setUint16(5, m.port);
      return out;
    }
    case 'extended': {
      if (!Number.isInteger(m.id) || m.id < 0 || m.id > 255) throw new TypeError(`peer-wire: bad extended id ${m.id}`);
      const { out } = frame(20, 1 + m.payload.length);
      out[5] = m.id;
      out.set(m.payload, 6);
      return out;
    }
    case 'hash-request': case 'hash-reject': {
      const { out } = frame(MESSAGE_ID[m.type], HASH_HEADER_LENGTH - 1);
      putHashRange(out, m);
      return out;
    }
    case 'hashes': {
      if (m.hashes.length === 0 || m.hashes.length % HASH_SIZE !== 0) {
        throw new TypeError(`peer-wire: hashes must be one or more 32-byte hashes, got ${m.hashes.length} bytes`);
      }
      u32('message length', HASH_HEADER_LENGTH + m.hashes.length);
      const { out } = frame(22, HASH_HEADER_LENGTH - 1 + m.hashes.length);
      putHashRange(out, m);
      out.set(m.hashes, 5 + HASH_HEADER_LENGTH - 1);
      return out;
    }
  }
}

/**
 * Checks a (length, id) pair before the payload is buffered. Throws `DecodeError` for an unknown
 * id or a length that id can never have.
 */
function checkLengthForId(length: number, id: number): void {
  const rule = LENGTH_RULE.get(id);
  if (rule === undefined) throw new DecodeError(`peer-wire: unknown message id ${id}`);
  if ((rule > 0 ? length !== rule : length < -rule) || (id === 22 && (length - HASH_HEADER_LENGTH) % HASH_SIZE !== 0)) {
    throw new DecodeError(`peer-wire: message id ${id} with bad length ${length}`);
  }
}

/** The big-endian uint32 at `at`. */
function getUint32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/**
 * Decodes the message body (id + payload, already length-checked) of `length` bytes at `at` in
 * `b`. Byte fields are plain `Uint8Array` views into `b` (cheaper to make than `Buffer` views).
 */
function decodeBody(b: Uint8Array, at: number, length: number): PeerMessage {
  const id = b[at];
  const view = (from: number) => new Uint8Array(b.buffer, b.byteOffset + at + from, length - from);
  switch (id) {
    case 0: return { type: 'choke' };
    case 1: return { type: 'unchoke' };
    case 2: return { type: 'interested' };
    case 3: return { type: 'not-interested' };
    case 4: return { type: 'have', index: getUint32(b, at + 1) };
    case 5: return { type: 'bitfield', bitfield: view(1) };
    case 6: return { type: 'request', index: getUint32(b, at + 1), begin: getUint32(b, at + 5), length: getUint32(b, at + 9) };
    case 7: return { type: 'piece', index: getUint32(b, at + 1), begin: getUint32(b, at + 5), block: view(9) };
    case 8: return { type: 'cancel', index: getUint32(b, at + 1), begin: getUint32(b, at + 5), length: getUint32(b, at + 9) };
    case 9: return { type: 'port', port: (b[at + 1] << 8) | b[at + 2] };
    case 13: return { type: 'suggest', index: getUint32(b, at + 1) };
    case 14: return { type: 'have-all' };
    case 15: return { type: 'have-none' };
    case 16: return { type: 'reject', index: getUint32(b, at + 1), begin: getUint32(b, at + 5), length: getUint32(b, at + 9) };
    case 17: return { type: 'allowed-fast', index: getUint32(b, at + 1) };
    case 20: return { type: 'extended', id: b[at + 1], payload: view(2) };
    case 21: case 22: case 23: {
      const type = id === 21 ? 'hash-request' : id === 22 ? 'hashes' : 'hash-reject';
      const range: HashRange = {
        piecesRoot: new Uint8Array(b.buffer, b.byteOffset + at + 1, HASH_SIZE),
        baseLayer: getUint32(b, at + 33),
        index: getUint32(b, at + 37),
        length: getUint32(b, at + 41),
        proofLayers: getUint32(b, at + 45),
      };
      return type === 'hashes' ? { type, ...range, hashes: view(HASH_HEADER_LENGTH) } : { type, ...range };
    }
    default: throw new DecodeError(`peer-wire: unknown message id ${id}`);
  }
}

/** Limits for `WireFramer`. */
export interface FramerLimits {
  /**
   * Largest accepted length prefix (id byte included). Default `DEFAULT_MAX_MESSAGE_LENGTH`
   * (256 KiB + 13). A larger prefix is rejected as soon as its 4 bytes are seen, before any of
   * the message is buffered.
   */
  maxMessageLength?: number;
  /**
   * Transient mode: pushed chunks may be overwritten once the caller has drained `next()` and
   * called `keepRest()` (a socket reading into one reused buffer). Returned views are then valid
   * only until the next call on the framer: the caller copies what it keeps. Default false.
   */
  transient?: boolean;
}

/** Smallest carry buffer of a transient framer: a 16 KiB block message with its prefix fits. */
const MIN_CARRY = 32 * 1024;

/**
 * Stream framer for everything after the handshake: `push()` TCP chunks as they arrive, then call
 * `next()` until it returns `undefined`. Used by the peer connection, one per socket.
 *
 * Cost is O(bytes) overall whatever the chunking (1-byte chunks included): chunks are queued, not
 * concatenated, and a message is copied at most once. A message lying inside one chunk is
 * returned as views into that chunk (no copy); a message spanning chunks is assembled into one
 * fresh buffer once all of it has arrived.
 *
 * Returned views (`block`, `bitfield`, `payload`) stay valid indefinitely: the framer never
 * writes into pushed chunks, reuses them or keeps a ring buffer. The caller must in turn not
 * overwrite a chunk after pushing it (Node's socket `data` buffers are fresh per read). Note a
 * view pins its whole chunk in memory until the view is dropped. In transient mode
 * (`FramerLimits.transient`, for a socket that reads into one reused buffer) it is the other way
 * round: views live until the next call, and `keepRest()` copies a partial message out of the
 * caller's chunk before the caller reuses it; no allocation per read or per spanning message.
 *
 * After `next()` has thrown, the stream is unrecoverable and every later `next()` throws again.
 */
export class WireFramer {
  private readonly maxMessageLength: number;
  /** Queued chunks; `chunks[head]` is the oldest, consumed from `offset`. */
  private chunks: Uint8Array[] = [];
  private head = 0;
  private offset = 0;
  private total = 0;
  /** Length prefix already consumed from the queue and validated, or -1. */
  private pending = -1;
  private failure: DecodeError | undefined;
  private readonly transient: boolean;
  /** Transient mode: the framer's own copy of the bytes left over after `keepRest()` (reused). */
  private carry: Uint8Array | undefined;
  /** Transient mode: where a message spanning chunks is assembled (reused). */
  private scratch: Uint8Array | undefined;

  /** `limits.maxMessageLength` must be a positive integer (default 256 KiB + 13). */
  constructor(limits: FramerLimits = {}) {
    this.transient = limits.transient ?? false;
    this.maxMessageLength = limits.maxMessageLength ?? DEFAULT_MAX_MESSAGE_LENGTH;
    if (!Number.isInteger(this.maxMessageLength) || this.maxMessageLength < 1) {
      throw new TypeError(`peer-wire: bad maxMessageLength ${limits.maxMessageLength}`);
    }
  }

  /** Queues a chunk (not copied; must not be modified afterwards). Empty chunks are ignored. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.total += chunk.length;
  }

  /**
   * Transient mode, after `next()` returned `undefined`: copies the bytes still buffered (an
   * incomplete message) out of the pushed chunks into the framer's own buffer, so the caller may
   * reuse its chunk. Invalidates the views of earlier messages. A no-op in normal mode.
   */
  keepRest(): void {
    if (!this.transient || this.total === 0) return;
    const need = this.total;
    const carry = this.carry !== undefined && this.carry.length >= need ? this.carry : new Uint8Array(Math.max(need, MIN_CARRY));
    let filled = 0;
    for (let i = this.head; i < this.chunks.length; i++) {
      const c = this.chunks[i];
      const from = i === this.head ? this.offset : 0;
      // Only the head can be the old carry (filled is still 0 then): copyWithin handles the overlap.
      if (c.buffer === carry.buffer) carry.copyWithin(filled, c.byteOffset + from, c.byteOffset + c.length);
      else carry.set(from === 0 ? c : c.subarray(from), filled);
      filled += c.length - from;
    }
    this.carry = carry;
    this.chunks = [carry.subarray(0, filled)];
    this.head = 0;
    this.offset = 0;
  }

  /** Bytes received but not yet returned as messages (a consumed length prefix excluded). */
  get buffered(): number {
    return this.total;
  }

  /**
   * The next complete message, or `undefined` when more bytes are needed. Throws `DecodeError`
   * for bytes that can never be valid: a length prefix over the limit, an unknown message id
   * (known: 0-9, 13-17, 20-23), or a length its id can never have (e.g. `have` not 5, `hashes`
   * without a whole number of at least one 32-byte hash). Both are
   * detected from the first 5 bytes of the message, before its payload is buffered.
   */
  next(): PeerMessage | undefined {
    if (this.failure) throw this.failure;
    try {
      return this.step();
    } catch (e) {
      if (e instanceof DecodeError) this.failure = e;
      throw e;
    }
  }

  private step(): PeerMessage | undefined {
    if (this.pending < 0) {
      if (this.total < 4) return undefined;
      const length = this.readUint32();
      if (length > this.maxMessageLength) {
        throw new DecodeError(`peer-wire: length prefix ${length} exceeds limit ${this.maxMessageLength}`);
      }
      if (length === 0) return { type: 'keep-alive' };
      this.pending = length;
    }
    const length = this.pending;
    if (this.total === 0) return undefined;
    checkLengthForId(length, this.peekByte());
    if (this.total < length) return undefined;
    this.pending = -1;
    const c = this.chunks[this.head];
    if (c.length - this.offset >= length) {
      // The whole message lies in the head chunk: decode it in place.
      const message = decodeBody(c, this.offset, length);
      this.advance(length);
      return message;
    }
    return decodeBody(this.take(length), 0, length);
  }

  private peekByte(): number {
    return this.chunks[this.head][this.offset];
  }

  /** Reads a big-endian uint32 across chunk boundaries (the caller checked 4 bytes are there). */
  private readUint32(): number {
    const c = this.chunks[this.head];
    if (c.length - this.offset >= 4) {
      const o = this.offset;
      const v = ((c[o] << 24) | (c[o + 1] << 16) | (c[o + 2] << 8) | c[o + 3]) >>> 0;
      this.advance(4);
      return v;
    }
    const b = this.take(4);
    return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
  }

  /** Removes `n` buffered bytes: a view if they lie in the head chunk, else one copy. */
  private take(n: number): Uint8Array {
    const c = this.chunks[this.head];
    if (c.length - this.offset >= n) {
      const view = new Uint8Array(c.buffer, c.byteOffset + this.offset, n);
      this.advance(n);
      return view;
    }
    let out: Uint8Array;
    if (this.transient) {
      // Views of transient messages live only until the next call: one reused buffer will do.
      if (this.scratch === undefined || this.scratch.length < n) this.scratch = new Uint8Array(Math.max(n, MIN_CARRY));
      out = this.scratch;
    } else {
      out = new Uint8Array(n);
    }
    let filled = 0;
    while (filled < n) {
      const chunk = this.chunks[this.head];
      const m = Math.min(n - filled, chunk.length - this.offset);
      out.set(chunk.subarray(this.offset, this.offset + m), filled);
      filled += m;
      this.advance(m);
    }
    return out;
  }

  /** Consumes `n` bytes that lie within the head chunk, dropping it when exhausted. */
  private advance(n: number): void {
    this.offset += n;
    this.total -= n;
    if (this.offset === this.chunks[this.head].length) {
      this.offset = 0;
      this.head++;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head >= 16 && this.head * 2 >= this.chunks.length) {
        // Compact often enough that consumed chunks (TCP reads of up to 64 KiB each) do not pile
        // up on a busy connection whose queue never empties; amortised O(1) per chunk.
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    }
  }
}
