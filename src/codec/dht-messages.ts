/**
 * Typed arguments and replies of the six mainline DHT methods: ping, find_node, get_peers,
 * announce_peer (BEP 5) and get, put (BEP 44), with BEP 32's IPv6 fields: `want` in queries,
 * `nodes6` (38-byte entries) in replies and 18-byte IPv6 peers in get_peers `values`.
 *
 * The answering side parses a query's `a` dict with `parse*Args`; the querying side parses a
 * response's `r` dict with `parse*Reply`. Every parser throws `DecodeError` with a message naming
 * the bad field; the DHT answers such queries with error 203 (`KRPC_ERROR.PROTOCOL`) and drops
 * such replies. Rule for optional fields: absent is fine, present with the wrong type is an error.
 * Byte strings in results are views into the decoded packet.
 */
import type { Endpoint } from '../runtime/interfaces.js';
import { bencode, bytesToLatin1, type BDict, type BValue } from './bencode.js';
import { decodeCompactNodes, decodeCompactPeer, COMPACT_PEER_LENGTH, COMPACT_PEER6_LENGTH, NODE_ID_LENGTH, type CompactNode } from './compact.js';
import { DecodeError } from './errors.js';

/** BEP 44: the bencoded `v` of a stored item may be at most 1000 bytes. */
export const MAX_ITEM_VALUE_LENGTH = 1000;
/** BEP 44: a mutable item's salt may be at most 64 bytes. */
export const MAX_SALT_LENGTH = 64;
/** BEP 44: ed25519 public key length. */
export const PUBLIC_KEY_LENGTH = 32;
/** BEP 44: ed25519 signature length. */
export const SIGNATURE_LENGTH = 64;

/** BEP 32: most `want` entries read; real clients send one or two ("n4", "n6"). */
export const MAX_WANT_ENTRIES = 8;

/**
 * BEP 32 `want` of find_node, get_peers and get: the families whose nodes the asker wants back,
 * "n4" (`nodes`) and/or "n6" (`nodes6`). Sent by a dual-stack node; the answering node replies
 * with the node lists it has of those families (absent: the family the query arrived on).
 * Unknown entries are kept (and ignored by the node); an answering node rejects (203) a `want`
 * that is not a list of byte strings, or longer than MAX_WANT_ENTRIES.
 */
export interface WantArgs {
  want?: string[];
}

/** find_node arguments. */
export interface FindNodeArgs extends WantArgs {
  target: Uint8Array;
}

/** get_peers arguments; `noSeed`/`scrape` are BEP 33 flags. */
export interface GetPeersArgs extends WantArgs {
  infoHash: Uint8Array;
  noSeed?: boolean;
  scrape?: boolean;
}

/**
 * announce_peer arguments. When `impliedPort` is set the receiver uses the UDP source port and
 * `port` is whatever was sent if it is a valid 0..65535 integer, else 0.
 */
export interface AnnouncePeerArgs {
  infoHash: Uint8Array;
  port: number;
  impliedPort: boolean;
  token: Uint8Array;
  seed?: boolean;
}

/** BEP 44 get arguments: `seq` asks only for a mutable item newer than it. */
export interface GetArgs extends WantArgs {
  target: Uint8Array;
  seq?: number;
}

/**
 * BEP 44 put arguments. Immutable when `k` is absent (then no `salt`/`seq`/`sig`/`cas`);
 * mutable when `k` is present (then `sig` and `seq` are required). `vEncoded` is `bencode(v)`.
 * Signature verification and target computation are the DHT's job, not the codec's.
 */
export interface PutArgs {
  token: Uint8Array;
  v: BValue;
  vEncoded: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
  salt?: Uint8Array;
  seq?: number;
  cas?: number;
}

/**
 * The contacts of a find_node/get_peers/get reply: `nodes` (IPv4, 26-byte entries) and BEP 32's
 * `nodes6` (IPv6, 38-byte entries). Either may be empty.
 */
export interface NodesReply {
  nodes: CompactNode[];
  nodes6: CompactNode[];
}

/** A get_peers reply: `token` for a later announce, `peers` from `values` (IPv4 and IPv6 peers). */
export interface GetPeersReply extends NodesReply {
  token?: Uint8Array;
  peers: Endpoint[];
}

/**
 * A BEP 44 get reply. A mutable item carries `k`, `sig`, `seq` and `v`; a node holding an item
 * not newer than the asked `seq` may answer with `seq` alone.
 */
export interface GetReply extends NodesReply {
  token?: Uint8Array;
  v?: BValue;
  vEncoded?: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
  seq?: number;
}

function bad(field: string, why: string): never {
  throw new DecodeError(`dht: "${field}" ${why}`);
}

function requiredBytes(d: BDict, field: string, length?: number): Uint8Array {
  const v = d[field];
  if (v === undefined) bad(field, 'is missing');
  if (!(v instanceof Uint8Array)) bad(field, 'must be a byte string');
  if (length !== undefined && v.length !== length) bad(field, `must be ${length} bytes, got ${v.length}`);
  return v;
}

function optionalBytes(d: BDict, field: string, length?: number): Uint8Array | undefined {
  return d[field] === undefined ? undefined : requiredBytes(d, field, length);
}

function optionalInt(d: BDict, field: string, min?: number): number | undefined {
  const v = d[field];
  if (v === undefined) return undefined;
  if (typeof v !== 'number') bad(field, 'must be an integer');
  if (min !== undefined && v < min) bad(field, `must be >= ${min}`);
  return v;
}

function optionalFlag(d: BDict, field: string): boolean | undefined {
  const v = optionalInt(d, field);
  return v === undefined ? undefined : v !== 0;
}

function optionalNodes(d: BDict, field: 'nodes' | 'nodes6'): CompactNode[] {
  const raw = optionalBytes(d, field);
  if (raw === undefined) return [];
  try {
    return decodeCompactNodes(raw, field === 'nodes' ? 4 : 6);
  } catch (err) {
    if (err instanceof DecodeError) bad(field, err.message);
    throw err;
  }
}

function bothNodes(r: BDict): NodesReply {
  return { nodes: optionalNodes(r, 'nodes'), nodes6: optionalNodes(r, 'nodes6') };
}

/** Reads BEP 32 `want` into `out` when present (see `WantArgs`). */
function readWant(a: BDict, out: WantArgs): void {
  const want = a.want;
  if (want === undefined) return;
  if (!Array.isArray(want)) bad('want', 'must be a list');
  if (want.length > MAX_WANT_ENTRIES) bad('want', `has ${want.length} entries, more than ${MAX_WANT_ENTRIES}`);
  out.want = want.map((w) => {
    if (!(w instanceof Uint8Array)) bad('want', 'items must be byte strings');
    return bytesToLatin1(w);
  });
}

/** Encodes `v` and checks the BEP 44 size limit. */
function encodeItemValue(v: BValue): Uint8Array {
  const encoded = bencode(v);
  if (encoded.length > MAX_ITEM_VALUE_LENGTH) {
    bad('v', `bencodes to ${encoded.length} bytes, over the ${MAX_ITEM_VALUE_LENGTH}-byte limit`);
  }
  return encoded;
}

/** Parses find_node's `a`: `target` must be 20 bytes; `want`, if present, a short list of byte strings. */
export function parseFindNodeArgs(a: BDict): FindNodeArgs {
  const out: FindNodeArgs = { target: requiredBytes(a, 'target', NODE_ID_LENGTH) };
  readWant(a, out);
  return out;
}

/** Parses get_peers' `a`: `info_hash` must be 20 bytes; `noseed`/`scrape` optional integers; `want` as in find_node. */
export function parseGetPeersArgs(a: BDict): GetPeersArgs {
  const out: GetPeersArgs = { infoHash: requiredBytes(a, 'info_hash', NODE_ID_LENGTH) };
  readWant(a, out);
  const noSeed = optionalFlag(a, 'noseed');
  if (noSeed !== undefined) out.noSeed = noSeed;
  const scrape = optionalFlag(a, 'scrape');
  if (scrape !== undefined) out.scrape = scrape;
  return out;
}

/**
 * Parses announce_peer's `a`: 20-byte `info_hash`, byte-string `token`, and `port` 1..65535
 * unless `implied_port` is non-zero (then `port` may be absent or anything).
 */
export function parseAnnouncePeerArgs(a: BDict): AnnouncePeerArgs {
  const infoHash = requiredBytes(a, 'info_hash', NODE_ID_LENGTH);
  const token = requiredBytes(a, 'token');
  const impliedPort = optionalFlag(a, 'implied_port') ?? false;
  const rawPort = a.port;
  let port: number;
  if (impliedPort) {
    port = typeof rawPort === 'number' && rawPort >= 0 && rawPort <= 65535 ? rawPort : 0;
  } else {
    if (rawPort === undefined) bad('port', 'is missing');
    if (typeof rawPort !== 'number') bad('port', 'must be an integer');
    if (rawPort < 1 || rawPort > 65535) bad('port', `must be in 1..65535, got ${rawPort}`);
    port = rawPort;
  }
  const out: AnnouncePeerArgs = { infoHash, port, impliedPort, token };
  const seed = optionalFlag(a, 'seed');
  if (seed !== undefined) out.seed = seed;
  return out;
}

/** Parses BEP 44 get's `a`: 20-byte `target`, optional `seq` >= 0, `want` as in find_node. */
export function parseGetArgs(a: BDict): GetArgs {
  const out: GetArgs = { target: requiredBytes(a, 'target', NODE_ID_LENGTH) };
  readWant(a, out);
  const seq = optionalInt(a, 'seq', 0);
  if (seq !== undefined) out.seq = seq;
  return out;
}

/**
 * Parses BEP 44 put's `a`: `token`, `v`, and for a mutable item a 32-byte `k`, 64-byte `sig`,
 * `seq` >= 0, optional `salt` and `cas` >= 0. An immutable put (no `k`) must not carry `salt`,
 * `seq`, `sig` or `cas`. The size limits of `v` (1000 bytes) and `salt` (64) are left to the
 * storing node, which answers them with their own BEP 44 error codes (205, 207).
 */
export function parsePutArgs(a: BDict): PutArgs {
  const token = requiredBytes(a, 'token');
  const v = a.v;
  if (v === undefined) bad('v', 'is missing');
  const out: PutArgs = { token, v, vEncoded: bencode(v) };
  const k = optionalBytes(a, 'k', PUBLIC_KEY_LENGTH);
  const sig = optionalBytes(a, 'sig', SIGNATURE_LENGTH);
  const salt = optionalBytes(a, 'salt');
  const seq = optionalInt(a, 'seq', 0);
  const cas = optionalInt(a, 'cas', 0);
  if (k === undefined) {
    for (const [field, value] of [['salt', salt], ['seq', seq], ['sig', sig], ['cas', cas]] as const) {
      if (value !== undefined) bad(field, 'is not allowed in an immutable put (no "k")');
    }
    return out;
  }
  if (sig === undefined) bad('sig', 'is required with "k"');
  if (seq === undefined) bad('seq', 'is required with "k"');
  out.k = k;
  out.sig = sig;
  out.seq = seq;
  if (salt !== undefined) out.salt = salt;
  if (cas !== undefined) out.cas = cas;
  return out;
}

/**
 * Parses the `nodes` and `nodes6` of any reply, as the querying node does (absent => none; the
 * length of `nodes` must be a multiple of 26, of `nodes6` a multiple of 38, else the whole reply
 * is rejected with DecodeError).
 */
export function parseNodesReply(r: BDict): NodesReply {
  return bothNodes(r);
}

/**
 * Parses a get_peers reply: optional `token`, `nodes`, `nodes6`, and `values` (a list of compact
 * peers: 6 bytes for IPv4, 18 for IPv6 (BEP 32); entries of another length, non-strings and
 * port-0 peers are skipped).
 */
export function parseGetPeersReply(r: BDict): GetPeersReply {
  const out: GetPeersReply = { ...bothNodes(r), peers: [] };
  const token = optionalBytes(r, 'token');
  if (token !== undefined) out.token = token;
  const values = r.values;
  if (values !== undefined) {
    if (!Array.isArray(values)) bad('values', 'must be a list');
    for (const item of values) {
      if (!(item instanceof Uint8Array)) continue;
      if (item.length !== COMPACT_PEER_LENGTH && item.length !== COMPACT_PEER6_LENGTH) continue;
      const peer = decodeCompactPeer(item);
      if (peer.port !== 0) out.peers.push(peer);
    }
  }
  return out;
}

/**
 * Parses a BEP 44 get reply. With `k`: 32-byte `k`, 64-byte `sig`, `seq` >= 0 and `v` are all
 * required; `sig` without `k` is an error; `v` must bencode to <= 1000 bytes.
 */
export function parseGetReply(r: BDict): GetReply {
  const out: GetReply = bothNodes(r);
  const token = optionalBytes(r, 'token');
  if (token !== undefined) out.token = token;
  const v = r.v;
  if (v !== undefined) {
    out.v = v;
    out.vEncoded = encodeItemValue(v);
  }
  const k = optionalBytes(r, 'k', PUBLIC_KEY_LENGTH);
  const sig = optionalBytes(r, 'sig', SIGNATURE_LENGTH);
  const seq = optionalInt(r, 'seq', 0);
  if (seq !== undefined) out.seq = seq;
  if (k === undefined) {
    if (sig !== undefined) bad('sig', 'is not allowed without "k"');
    return out;
  }
  if (sig === undefined) bad('sig', 'is required with "k"');
  if (seq === undefined) bad('seq', 'is required with "k"');
  if (v === undefined) bad('v', 'is required with "k"');
  out.k = k;
  out.sig = sig;
  return out;
}
