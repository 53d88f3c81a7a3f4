/**
 * What a query handler may use. Handlers are pure functions of (context, query, sender): they read
 * and write the node's stores and return the response values, or throw `KrpcErrorReply` (or a
 * `DecodeError` for malformed arguments, answered with 203).
 */
import type { BEncodable } from '../../codec/bencode.js';
import type { KrpcQuery } from '../../codec/krpc.js';
import type { RoutingTable } from '../../kademlia/routing-table.js';
import type { Endpoint } from '../../runtime/interfaces.js';
import { encodeCompactNodes } from '../../codec/compact.js';
import { idEquals } from '../../kademlia/id.js';
import type { ItemStore } from '../item-store.js';
import type { PeerStore } from '../peer-store.js';
import type { TokenManager } from '../token-manager.js';
import type { NodeId } from '../types.js';

export interface QueryContext {
  readonly localId: NodeId;
  readonly version: Uint8Array;
  readonly table: RoutingTable<Endpoint>;
  readonly peers: PeerStore;
  readonly items: ItemStore;
  readonly tokens: TokenManager;
  readonly k: number;
  random(): number;
}

export type QueryHandler = (ctx: QueryContext, query: KrpcQuery, from: Endpoint) => Record<string, BEncodable | undefined>;

/** The compact `nodes` string of the k contacts closest to `target`, leaving out the asker itself. */
export function closestNodes(ctx: QueryContext, target: Uint8Array, asker: Uint8Array): Uint8Array {
  const contacts = ctx.table.closest(target, ctx.k + 1).filter((c) => !idEquals(c.id, asker));
  return encodeCompactNodes(contacts.slice(0, ctx.k));
}
