/**
 * Answers one incoming query: dispatches it to the handler of its method and sends the response,
 * or the KRPC error the handler raised (204 for an unknown method, 203 for malformed arguments,
 * 202 if a handler failed unexpectedly, which is also logged).
 */
import { KRPC_ERROR, type KrpcQuery } from '../../codec/krpc.js';
import { DecodeError } from '../../codec/errors.js';
import type { Endpoint } from '../../runtime/interfaces.js';
import { KrpcErrorReply } from '../errors.js';
import type { KrpcTransport } from '../krpc-transport.js';
import type { DhtCounters } from '../stats.js';
import { handleAnnouncePeer } from './announce-peer.js';
import type { QueryContext, QueryHandler } from './context.js';
import { handleFindNode } from './find-node.js';
import { handleGetPeers } from './get-peers.js';
import { handleGet } from './get.js';
import { handlePing } from './ping.js';
import { handlePut } from './put.js';

const HANDLERS: Record<string, QueryHandler> = {
  ping: handlePing,
  find_node: handleFindNode,
  get_peers: handleGetPeers,
  announce_peer: handleAnnouncePeer,
  get: handleGet,
  put: handlePut,
};

export function answerQuery(
  ctx: QueryContext,
  transport: KrpcTransport,
  counters: DhtCounters,
  warn: (message: string) => void,
  query: KrpcQuery,
  from: Endpoint,
): void {
  const handler = Object.hasOwn(HANDLERS, query.method) ? HANDLERS[query.method] : undefined;
  if (!handler) {
    transport.sendError(from, query.transactionId, KRPC_ERROR.METHOD_UNKNOWN, 'method unknown');
    return;
  }
  try {
    transport.respond(from, query.transactionId, handler(ctx, query, from));
  } catch (error) {
    if (error instanceof KrpcErrorReply) {
      transport.sendError(from, query.transactionId, error.krpcCode, error.message);
    } else if (error instanceof DecodeError) {
      counters.malformed++;
      transport.sendError(from, query.transactionId, KRPC_ERROR.PROTOCOL, error.message);
    } else {
      warn(`query handler ${query.method} failed: ${(error as Error).stack ?? String(error)}`);
      transport.sendError(from, query.transactionId, KRPC_ERROR.SERVER, 'server error');
    }
  }
}
