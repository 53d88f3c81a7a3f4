/**
 * The KRPC transaction layer over one UDP socket: sends queries and matches their responses by
 * transaction id and source address, with a hard timeout; hands incoming queries to the node;
 * drops (and counts) malformed and rate-limited datagrams, answering error 203 when a transaction
 * id could be read from a malformed one.
 */
import type { Endpoint, Timer, UdpSocket } from '../runtime/interfaces.js';
import type { BEncodable } from '../codec/bencode.js';
import {
  decodeKrpc,
  encodeError,
  encodeQuery,
  encodeResponse,
  KRPC_ERROR,
  KrpcDecodeError,
  type KrpcError,
  type KrpcQuery,
  type KrpcResponse,
} from '../codec/krpc.js';
import { rateLimitSource } from './endpoint.js';
import type { RateLimiter } from './rate-limiter.js';
import type { DhtCounters } from './stats.js';
import type { NodeId } from './types.js';

/** What became of a query: a response, an error reply, or `undefined` for a timeout. */
export type QueryOutcome =
  | { kind: 'response'; response: KrpcResponse; rttMs: number }
  | { kind: 'error'; error: KrpcError }
  | undefined;

export interface KrpcTransportDeps {
  socket: UdpSocket;
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
  randomBytes(n: number): Uint8Array;
  rateLimiter: RateLimiter;
  counters: DhtCounters;
  onQuery(query: KrpcQuery, from: Endpoint): void;
  /** Debug log for dropped datagrams (never an address at info level). */
  debug(message: string): void;
}

export interface KrpcTransportOptions {
  localId: NodeId;
  timeoutMs: number;
  readOnly: boolean;
  version: Uint8Array;
}

interface Outstanding {
  resolve(outcome: QueryOutcome): void;
  timer: Timer;
  sentAt: number;
}

export class KrpcTransport {
  private readonly outstanding = new Map<string, Outstanding>();
  private nextTid: number;
  private closed = false;

  constructor(
    private readonly deps: KrpcTransportDeps,
    private readonly options: KrpcTransportOptions,
  ) {
    const seed = deps.randomBytes(2);
    this.nextTid = (seed[0]! << 8) | seed[1]!;
    deps.socket.onMessage((data, from) => this.receive(data, from));
  }

  get pending(): number {
    return this.outstanding.size;
  }

  /** Sends a query and resolves with its outcome; never rejects. */
  query(to: Endpoint, method: string, args: Record<string, BEncodable | undefined>): Promise<QueryOutcome> {
    if (this.closed) return Promise.resolve(undefined);
    const tid = this.allocateTid(to);
    const bytes = encodeQuery({
      transactionId: tid.bytes,
      method,
      args,
      senderId: this.options.localId,
      readOnly: this.options.readOnly,
      version: this.options.version,
    });
    return new Promise((resolve) => {
      const timer = this.deps.setTimer(this.options.timeoutMs, () => {
        this.outstanding.delete(tid.key);
        this.deps.counters.timeouts++;
        resolve(undefined);
      });
      this.outstanding.set(tid.key, { resolve, timer, sentAt: this.deps.now() });
      this.deps.counters.queriesOut++;
      this.send(bytes, to);
    });
  }

  /** Answers a query. `ip` is the asker's address as we see it (BEP 42). */
  respond(to: Endpoint, transactionId: Uint8Array, values: Record<string, BEncodable | undefined>): void {
    this.send(
      encodeResponse({ transactionId, values, senderId: this.options.localId, ip: to, version: this.options.version }),
      to,
    );
  }

  sendError(to: Endpoint, transactionId: Uint8Array, code: number, message: string): void {
    this.deps.counters.errorsOut++;
    this.send(encodeError({ transactionId, code, message, version: this.options.version }), to);
  }

  /** Fails every outstanding query (as timeouts) and stops sending. */
  close(): void {
    this.closed = true;
    for (const pending of this.outstanding.values()) {
      pending.timer.cancel();
      pending.resolve(undefined);
    }
    this.outstanding.clear();
  }

  private send(bytes: Uint8Array, to: Endpoint): void {
    if (this.closed) return;
    this.deps.counters.datagramsOut++;
    this.deps.counters.bytesOut += bytes.length;
    this.deps.socket.send(bytes, to);
  }

  private allocateTid(to: Endpoint): { bytes: Uint8Array; key: string } {
    for (;;) {
      this.nextTid = (this.nextTid + 1) & 0xffff;
      const bytes = Uint8Array.of(this.nextTid >> 8, this.nextTid & 0xff);
      const key = transactionKey(bytes, to);
      if (!this.outstanding.has(key)) return { bytes, key };
    }
  }

  private receive(data: Uint8Array, from: Endpoint): void {
    const counters = this.deps.counters;
    counters.datagramsIn++;
    counters.bytesIn += data.length;
    if (!this.deps.rateLimiter.allow(rateLimitSource(from))) {
      counters.rateLimited++;
      return;
    }
    let message;
    try {
      message = decodeKrpc(data);
    } catch (error) {
      counters.malformed++;
      this.deps.debug(`malformed datagram dropped: ${(error as Error).message}`);
      if (error instanceof KrpcDecodeError && error.transactionId) {
        this.sendError(from, error.transactionId, KRPC_ERROR.PROTOCOL, error.message);
      }
      return;
    }
    if (message.kind === 'query') {
      counters.queriesIn[message.method] = (counters.queriesIn[message.method] ?? 0) + 1;
      this.deps.onQuery(message, from);
      return;
    }
    const key = transactionKey(message.transactionId, from);
    const pending = this.outstanding.get(key);
    if (!pending) {
      counters.unexpected++;
      return;
    }
    this.outstanding.delete(key);
    pending.timer.cancel();
    if (message.kind === 'response') {
      counters.responsesIn++;
      pending.resolve({ kind: 'response', response: message, rttMs: this.deps.now() - pending.sentAt });
    } else {
      counters.errorsIn++;
      pending.resolve({ kind: 'error', error: message });
    }
  }
}

function transactionKey(tid: Uint8Array, from: Endpoint): string {
  let key = `${from.host}:${from.port}/`;
  for (const byte of tid) key += byte.toString(16).padStart(2, '0');
  return key;
}
