/**
 * Tracker protocols, as the tracker client uses them: HTTP announce (BEP 3) with compact peer
 * lists (BEP 23) and IPv6 peers (BEP 7: `peers6`), and the UDP tracker protocol (BEP 15), whose
 * announce reply carries peers of the family the request was sent over. Encoding of requests and
 * decoding of replies only; sockets, retries and the connection-id lifetime belong to the client.
 *
 * BEP 7's `ipv6=` announce parameter is optional (its 2020 revision discourages IP parameters) and
 * warren does not send it: a tracker learns the address an announce comes from, and an announce
 * over IPv6 tells it our IPv6 address.
 */
import { bdecode, type BDict, type BValue } from './bencode.js';
import { compactPeerLength, decodeCompactPeers } from './compact.js';
import { DecodeError } from './errors.js';
import { canonicalIp, type IpFamily } from './ip.js';

/** What an announce tells the tracker. Byte counts are safe non-negative integers. */
export interface AnnounceParams {
  infoHash: Uint8Array;
  peerId: Uint8Array;
  port: number;
  uploaded: number;
  downloaded: number;
  left: number;
  event?: 'started' | 'completed' | 'stopped';
  numWant?: number;
  /** A per-session random uint32 that lets the tracker recognise us across IP changes. */
  key?: number;
}

/** A tracker's answer to an announce. */
export interface AnnounceResponse {
  /** Seconds the tracker asks us to wait before the next regular announce. */
  interval: number;
  minInterval?: number;
  /** Peers of both families: IPv4 from `peers`, then IPv6 from `peers6` (BEP 7). */
  peers: { host: string; port: number }[];
  /** Seeders. */
  complete?: number;
  /** Leechers. */
  incomplete?: number;
  warning?: string;
}

/** The tracker refused the announce; `message` is its "failure reason". */
export class TrackerError extends Error {
  readonly code: string = 'TRACKER_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'TrackerError';
  }
}

function checkParams(p: AnnounceParams): void {
  if (p.infoHash.length !== 20) throw new TypeError(`tracker: infoHash must be 20 bytes, got ${p.infoHash.length}`);
  if (p.peerId.length !== 20) throw new TypeError(`tracker: peerId must be 20 bytes, got ${p.peerId.length}`);
  if (!Number.isInteger(p.port) || p.port < 0 || p.port > 65535) throw new TypeError(`tracker: bad port ${p.port}`);
  for (const k of ['uploaded', 'downloaded', 'left'] as const) {
    if (!Number.isSafeInteger(p[k]) || p[k] < 0) throw new TypeError(`tracker: bad ${k} ${p[k]}`);
  }
  if (p.numWant !== undefined && (!Number.isInteger(p.numWant) || p.numWant < 0 || p.numWant > 0x7fffffff)) {
    throw new TypeError(`tracker: bad numWant ${p.numWant}`);
  }
  if (p.key !== undefined && (!Number.isInteger(p.key) || p.key < 0 || p.key > 0xffffffff)) {
    throw new TypeError(`tracker: bad key ${p.key}`);
  }
}

/** Percent-encodes raw bytes: unreserved characters (RFC 3986) as is, every other byte as %XX. */
export function percentEncodeBytes(b: Uint8Array): string {
  let out = '';
  for (const c of b) {
    const unreserved = (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
      c === 0x2d || c === 0x2e || c === 0x5f || c === 0x7e;
    out += unreserved ? String.fromCharCode(c) : `%${c.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/**
 * The GET URL of an HTTP announce: `base` (keeping any query it has, e.g. a passkey, and dropping
 * a `#fragment`) plus info_hash, peer_id, port, uploaded, downloaded, left, compact=1 and the
 * optional event, numwant and key (8 hex digits). Throws `TypeError` for out-of-range params.
 */
export function buildHttpAnnounceUrl(base: string, p: AnnounceParams): string {
  checkParams(p);
  const hash = base.indexOf('#');
  const url = hash >= 0 ? base.slice(0, hash) : base;
  const parts = [
    `info_hash=${percentEncodeBytes(p.infoHash)}`,
    `peer_id=${percentEncodeBytes(p.peerId)}`,
    `port=${p.port}`,
    `uploaded=${p.uploaded}`,
    `downloaded=${p.downloaded}`,
    `left=${p.left}`,
    'compact=1',
  ];
  if (p.event !== undefined) parts.push(`event=${p.event}`);
  if (p.numWant !== undefined) parts.push(`numwant=${p.numWant}`);
  if (p.key !== undefined) parts.push(`key=${p.key.toString(16).toUpperCase().padStart(8, '0')}`);
  const sep = !url.includes('?') ? '?' : url.endsWith('?') || url.endsWith('&') ? '' : '&';
  return url + sep + parts.join('&');
}

const HTTP_LIMITS = { maxDepth: 8, maxElements: 16384, maxBytes: 1 << 20 };
const utf8 = new TextDecoder();

function asDict(v: BValue | undefined, what: string): BDict {
  if (typeof v !== 'object' || v instanceof Uint8Array || Array.isArray(v)) throw new DecodeError(`${what} must be a dictionary`);
  return v;
}

function optInt(d: BDict, key: string, min: number, max: number): number | undefined {
  const v = d[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || v < min || v > max) throw new DecodeError(`tracker response: "${key}" must be an integer in ${min}..${max}`);
  return v;
}

function optString(d: BDict, key: string): string | undefined {
  const v = d[key];
  if (v === undefined) return undefined;
  if (!(v instanceof Uint8Array)) throw new DecodeError(`tracker response: "${key}" must be a byte string`);
  return utf8.decode(v);
}

/** Decodes a compact peer list of one family; port-0 entries are skipped (unreachable). */
function compactPeers(b: Uint8Array, what: string, family: IpFamily): { host: string; port: number }[] {
  const size = compactPeerLength(family);
  if (b.length % size !== 0) throw new DecodeError(`${what}: compact peers length ${b.length} is not a multiple of ${size}`);
  return decodeCompactPeers(b, family).filter((e) => e.port !== 0);
}

/**
 * Dictionary-model peers (BEP 3). An `ip` that is an IP address is spelled canonically (IPv6 in
 * Node's spelling, an IPv4-mapped IPv6 address as its dotted quad); any other text (a host name)
 * is kept as given.
 */
function dictPeers(list: BValue[]): { host: string; port: number }[] {
  const out: { host: string; port: number }[] = [];
  for (const item of list) {
    const d = asDict(item, 'tracker response: peer');
    const ip = d.ip;
    if (!(ip instanceof Uint8Array) || ip.length === 0) throw new DecodeError('tracker response: peer "ip" must be a non-empty byte string');
    const port = optInt(d, 'port', 0, 65535);
    if (port === undefined) throw new DecodeError('tracker response: peer without "port"');
    const text = utf8.decode(ip);
    if (port !== 0) out.push({ host: canonicalIp(text) ?? text, port });
  }
  return out;
}

/**
 * Parses an HTTP announce reply body (sent by an HTTP tracker; the client rejects what this
 * throws for and announces again later). Throws `TrackerError` for a "failure reason", and
 * `DecodeError` for anything malformed (bad bencoding, missing `interval`, wrong types, a `peers`
 * string not a multiple of 6 bytes or a `peers6` string not a multiple of 18). Accepts compact
 * (BEP 23) and dictionary peer lists in `peers` and compact IPv6 peers in `peers6` (BEP 7), and
 * returns both in `peers`; dictionary peers' IP addresses are canonicalized (see `dictPeers`).
 * Port-0 peers are dropped.
 */
export function parseHttpAnnounceResponse(body: Uint8Array): AnnounceResponse {
  const d = asDict(bdecode(body, HTTP_LIMITS), 'tracker response');
  const failure = optString(d, 'failure reason');
  if (failure !== undefined) throw new TrackerError(failure);
  const interval = optInt(d, 'interval', 0, 0xffffffff);
  if (interval === undefined) throw new DecodeError('tracker response: missing "interval"');
  let peers: { host: string; port: number }[] = [];
  const raw = d.peers;
  if (raw instanceof Uint8Array) peers = compactPeers(raw, 'tracker response "peers"', 4);
  else if (Array.isArray(raw)) peers = dictPeers(raw);
  else if (raw !== undefined) throw new DecodeError('tracker response: "peers" must be a string or a list');
  const raw6 = d.peers6;
  if (raw6 instanceof Uint8Array) peers = peers.concat(compactPeers(raw6, 'tracker response "peers6"', 6));
  else if (raw6 !== undefined) throw new DecodeError('tracker response: "peers6" must be a byte string');
  const out: AnnounceResponse = { interval, peers };
  const minInterval = optInt(d, 'min interval', 0, 0xffffffff);
  if (minInterval !== undefined) out.minInterval = minInterval;
  const complete = optInt(d, 'complete', 0, Number.MAX_SAFE_INTEGER);
  if (complete !== undefined) out.complete = complete;
  const incomplete = optInt(d, 'incomplete', 0, Number.MAX_SAFE_INTEGER);
  if (incomplete !== undefined) out.incomplete = incomplete;
  const warning = optString(d, 'warning message');
  if (warning !== undefined) out.warning = warning;
  return out;
}

// ---- BEP 15: UDP trackers ----

/** The magic `protocol_id` of a UDP connect request. */
const UDP_PROTOCOL_ID_HI = 0x417;
const UDP_PROTOCOL_ID_LO = 0x27101980;
const ACTION = { connect: 0, announce: 1, scrape: 2, error: 3 } as const;
const UDP_EVENT = { completed: 1, started: 2, stopped: 3 } as const;

function checkTid(t: number): void {
  if (!Number.isInteger(t) || t < 0 || t > 0xffffffff) throw new TypeError(`tracker: bad transaction id ${t}`);
}

function setUint64(v: DataView, off: number, n: number): void {
  v.setUint32(off, Math.floor(n / 0x100000000));
  v.setUint32(off + 4, n >>> 0);
}

/** The 16-byte connect request (protocol id, action 0, transaction id). */
export function encodeUdpConnect(transactionId: number): Uint8Array {
  checkTid(transactionId);
  const out = new Uint8Array(16);
  const v = new DataView(out.buffer);
  v.setUint32(0, UDP_PROTOCOL_ID_HI);
  v.setUint32(4, UDP_PROTOCOL_ID_LO);
  v.setUint32(8, ACTION.connect);
  v.setUint32(12, transactionId);
  return out;
}

/**
 * The 98-byte announce request, with the connection id from a connect reply. IP is 0 (the
 * tracker uses the sender's); num_want is -1 (tracker default) unless `numWant` is given.
 */
export function encodeUdpAnnounce(connectionId: Uint8Array, transactionId: number, p: AnnounceParams): Uint8Array {
  if (connectionId.length !== 8) throw new TypeError(`tracker: connection id must be 8 bytes, got ${connectionId.length}`);
  checkTid(transactionId);
  checkParams(p);
  const out = new Uint8Array(98);
  const v = new DataView(out.buffer);
  out.set(connectionId, 0);
  v.setUint32(8, ACTION.announce);
  v.setUint32(12, transactionId);
  out.set(p.infoHash, 16);
  out.set(p.peerId, 36);
  setUint64(v, 56, p.downloaded);
  setUint64(v, 64, p.left);
  setUint64(v, 72, p.uploaded);
  v.setUint32(80, p.event === undefined ? 0 : UDP_EVENT[p.event]);
  v.setUint32(84, 0);
  v.setUint32(88, p.key ?? 0);
  v.setInt32(92, p.numWant ?? -1);
  v.setUint16(96, p.port);
  return out;
}

/** A decoded UDP tracker datagram. `connectionId` is a copy. */
export type UdpTrackerReply =
  | { action: 'connect'; transactionId: number; connectionId: Uint8Array }
  | { action: 'announce'; transactionId: number; interval: number; leechers: number; seeders: number; peers: { host: string; port: number }[] }
  | { action: 'error'; transactionId: number; message: string };

/**
 * Decodes a reply datagram from a UDP tracker. An announce reply carries peers of the family of
 * the socket the request went over (BEP 15: 6-byte peers over IPv4, 18-byte over IPv6), so the
 * client passes `family`, the tracker address's. Throws `DecodeError` for one too short for its
 * action, an unknown or unrequested action (scrape), or an announce whose peer list is not a
 * multiple of 6 bytes (18 for IPv6); the client drops such a datagram. The caller must match
 * `transactionId` against what it sent.
 */
export function decodeUdpTrackerReply(buf: Uint8Array, family: IpFamily = 4): UdpTrackerReply {
  if (buf.length < 8) throw new DecodeError(`udp tracker: reply of ${buf.length} bytes is too short`);
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const action = v.getUint32(0);
  const transactionId = v.getUint32(4);
  switch (action) {
    case ACTION.connect:
      if (buf.length < 16) throw new DecodeError(`udp tracker: connect reply of ${buf.length} bytes`);
      return { action: 'connect', transactionId, connectionId: buf.slice(8, 16) };
    case ACTION.announce:
      if (buf.length < 20) throw new DecodeError(`udp tracker: announce reply of ${buf.length} bytes`);
      return {
        action: 'announce',
        transactionId,
        interval: v.getUint32(8),
        leechers: v.getUint32(12),
        seeders: v.getUint32(16),
        peers: compactPeers(buf.subarray(20), 'udp tracker', family),
      };
    case ACTION.error:
      return { action: 'error', transactionId, message: utf8.decode(buf.subarray(8)) };
    default:
      throw new DecodeError(`udp tracker: unexpected action ${action}`);
  }
}
