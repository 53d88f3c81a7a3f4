/**
 * The KRPC envelope of the mainline DHT (BEP 5), with BEP 42's top-level `ip` and BEP 43's
 * top-level `ro` flag. This file knows the three message kinds and their mandatory fields; the
 * per-method arguments and replies are parsed by `dht-messages.ts`.
 */
import type { Endpoint } from '../runtime/interfaces.js';
import { bdecode, bencode, bytesToLatin1, type BDict, type BEncodable, type BValue } from './bencode.js';
import { decodeCompactPeer, encodeCompactPeer, NODE_ID_LENGTH } from './compact.js';
import { DecodeError } from './errors.js';

/** Longest transaction id accepted or sent (real clients use 2 to 4 bytes). */
export const MAX_TRANSACTION_ID_LENGTH = 16;

/** KRPC error codes (BEP 5). The DHT answers malformed queries with `PROTOCOL` (203). */
export const KRPC_ERROR = { GENERIC: 201, SERVER: 202, PROTOCOL: 203, METHOD_UNKNOWN: 204 } as const;

/** Limits for bdecode of one KRPC datagram: small, flat messages only. */
const KRPC_LIMITS = { maxBytes: 2048, maxDepth: 8, maxElements: 512 } as const;

/** A query (`y` = "q"). `args` is the whole `a` dict, `id` included. */
export interface KrpcQuery {
  kind: 'query';
  transactionId: Uint8Array;
  /** Method name (`q`), decoded as latin1; real method names are ASCII. */
  method: string;
  args: BDict;
  /** `a.id`, always 20 bytes. */
  senderId: Uint8Array;
  /** BEP 43: top-level `ro` = 1 — the sender must not be added to routing tables. */
  readOnly: boolean;
  /** Client version (`v`), when present as a byte string. */
  version?: Uint8Array;
}

/** A response (`y` = "r"). `values` is the whole `r` dict, `id` included. */
export interface KrpcResponse {
  kind: 'response';
  transactionId: Uint8Array;
  values: BDict;
  /** `r.id`, always 20 bytes. */
  senderId: Uint8Array;
  /**
   * BEP 42: our address as the responder saw it (top-level `ip`: 6-byte compact IPv4, or 18-byte
   * IPv6 as BEP 32 nodes send it).
   */
  ip?: Endpoint;
  version?: Uint8Array;
}

/** An error (`y` = "e"): `e` is `[code, message]`. */
export interface KrpcError {
  kind: 'error';
  transactionId: Uint8Array;
  code: number;
  /** UTF-8 decoded message; '' when absent or not a byte string. */
  message: string;
  version?: Uint8Array;
}

/** Any decoded KRPC message. */
export type KrpcMessage = KrpcQuery | KrpcResponse | KrpcError;

/**
 * A datagram that is not a valid KRPC message. `transactionId` is set when the bytes were
 * bencode with a usable `t` (a byte string of at most 16 bytes), so that the receiver can answer
 * a bad query with error 203 (`KRPC_ERROR.PROTOCOL`); otherwise the datagram is just dropped.
 */
export class KrpcDecodeError extends DecodeError {
  override readonly code: string = 'KRPC_DECODE_ERROR';
  readonly transactionId?: Uint8Array;
  constructor(message: string, transactionId?: Uint8Array) {
    super(message);
    this.name = 'KrpcDecodeError';
    if (transactionId !== undefined) this.transactionId = transactionId;
  }
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: false });

function isDict(v: BValue | undefined): v is BDict {
  return typeof v === 'object' && !(v instanceof Uint8Array) && !Array.isArray(v);
}

/**
 * Decodes and validates one KRPC datagram (at most 2048 bytes, nesting 8, 512 elements).
 * Throws `KrpcDecodeError` for anything malformed: not bencode, not a dict, missing or bad
 * `t`/`y`, a query without a string `q` or dict `a` with a 20-byte `id`, a response without a
 * dict `r` with a 20-byte `id`, an error whose `e` is not a list starting with an integer.
 * Lenient on optional extras: a `v` that is not a byte string, an `ro` other than 1, or an `ip`
 * that is neither 6 nor 18 bytes is ignored rather than rejected.
 * Byte strings in the result are views into `data`.
 */
export function decodeKrpc(data: Uint8Array): KrpcMessage {
  let root: BValue;
  try {
    root = bdecode(data, KRPC_LIMITS);
  } catch (err) {
    if (err instanceof DecodeError) throw new KrpcDecodeError(`krpc: ${err.message}`);
    throw err;
  }
  if (!isDict(root)) throw new KrpcDecodeError('krpc: message is not a dict');

  const t = root.t;
  if (!(t instanceof Uint8Array)) throw new KrpcDecodeError('krpc: missing or non-string "t"');
  if (t.length > MAX_TRANSACTION_ID_LENGTH) {
    throw new KrpcDecodeError(`krpc: "t" longer than ${MAX_TRANSACTION_ID_LENGTH} bytes`);
  }
  const fail = (message: string): never => {
    throw new KrpcDecodeError(`krpc: ${message}`, t);
  };

  const version = root.v instanceof Uint8Array ? root.v : undefined;
  const y = root.y;
  if (!(y instanceof Uint8Array)) return fail('missing or non-string "y"');
  const kind = bytesToLatin1(y);

  if (kind === 'q') {
    const q = root.q;
    if (!(q instanceof Uint8Array)) return fail('missing or non-string "q"');
    const a = root.a;
    if (!isDict(a)) return fail('missing or non-dict "a"');
    const id = a.id;
    if (!(id instanceof Uint8Array) || id.length !== NODE_ID_LENGTH) return fail('"a.id" must be a 20-byte string');
    const msg: KrpcQuery = {
      kind: 'query',
      transactionId: t,
      method: bytesToLatin1(q),
      args: a,
      senderId: id,
      readOnly: root.ro === 1,
    };
    if (version !== undefined) msg.version = version;
    return msg;
  }

  if (kind === 'r') {
    const r = root.r;
    if (!isDict(r)) return fail('missing or non-dict "r"');
    const id = r.id;
    if (!(id instanceof Uint8Array) || id.length !== NODE_ID_LENGTH) return fail('"r.id" must be a 20-byte string');
    const msg: KrpcResponse = { kind: 'response', transactionId: t, values: r, senderId: id };
    if (root.ip instanceof Uint8Array && (root.ip.length === 6 || root.ip.length === 18)) msg.ip = decodeCompactPeer(root.ip);
    if (version !== undefined) msg.version = version;
    return msg;
  }

  if (kind === 'e') {
    const e = root.e;
    if (!Array.isArray(e) || e.length === 0) return fail('"e" must be a non-empty list');
    const code = e[0];
    if (typeof code !== 'number') return fail('"e[0]" (error code) must be an integer');
    const text = e[1];
    const msg: KrpcError = {
      kind: 'error',
      transactionId: t,
      code,
      message: text instanceof Uint8Array ? utf8Decoder.decode(text) : '',
    };
    if (version !== undefined) msg.version = version;
    return msg;
  }

  return fail(`unknown message type "y"=${JSON.stringify(kind)}`);
}

function checkEnvelope(transactionId: Uint8Array, senderId?: Uint8Array): void {
  if (transactionId.length > MAX_TRANSACTION_ID_LENGTH) {
    throw new TypeError(`krpc: transaction id longer than ${MAX_TRANSACTION_ID_LENGTH} bytes`);
  }
  if (senderId !== undefined && senderId.length !== NODE_ID_LENGTH) {
    throw new TypeError(`krpc: sender id must be ${NODE_ID_LENGTH} bytes, got ${senderId.length}`);
  }
}

/**
 * Encodes a query. `args.id` is always set to `senderId`; `ro` = 1 is added when `readOnly`.
 * Throws `TypeError` for a transaction id over 16 bytes, a sender id not 20 bytes, or args
 * that `bencode` rejects.
 */
export function encodeQuery(q: {
  transactionId: Uint8Array;
  method: string;
  args: Record<string, BEncodable | undefined>;
  senderId: Uint8Array;
  readOnly?: boolean;
  version?: Uint8Array;
}): Uint8Array {
  checkEnvelope(q.transactionId, q.senderId);
  return bencode({
    t: q.transactionId,
    y: 'q',
    q: q.method,
    a: { ...q.args, id: q.senderId },
    ro: q.readOnly === true ? 1 : undefined,
    v: q.version,
  });
}

/**
 * Encodes a response. `values.id` is always set to `senderId`; `ip` (BEP 42: the requester's
 * address as we see it) is added in compact form when given: 6 bytes for IPv4, 18 for IPv6.
 */
export function encodeResponse(r: {
  transactionId: Uint8Array;
  values: Record<string, BEncodable | undefined>;
  senderId: Uint8Array;
  ip?: Endpoint;
  version?: Uint8Array;
}): Uint8Array {
  checkEnvelope(r.transactionId, r.senderId);
  return bencode({
    t: r.transactionId,
    y: 'r',
    r: { ...r.values, id: r.senderId },
    ip: r.ip === undefined ? undefined : encodeCompactPeer(r.ip),
    v: r.version,
  });
}

/** Encodes an error reply `[code, message]` (see `KRPC_ERROR`). */
export function encodeError(e: { transactionId: Uint8Array; code: number; message: string; version?: Uint8Array }): Uint8Array {
  checkEnvelope(e.transactionId);
  return bencode({ t: e.transactionId, y: 'e', e: [e.code, e.message], v: e.version });
}
