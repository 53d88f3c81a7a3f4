/**
 * What a query handler may use. Handlers are pure functions of (context, query, sender): they read
 * and write the node's stores and return the response values, or throw `KrpcErrorReply` (or a
 * `DecodeError` for malformed arguments, answered with 203).
 */
import type { BEncodable } from '../../codec/bencode.js';
import type { IpFamily } from '../../codec/ip.js';
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
  /** Our id in the family the query arrived on. */
  readonly localId: NodeId;
  readonly version: Uint8Array;
  /** The family the query arrived on: its routing table answers, and its peers are returned. */
  readonly family: IpFamily;
  /** The routing table of each family that is up (BEP 32 `want` may ask for either). */
  readonly tables: Partial<Record<IpFamily, RoutingTable<Endpoint>>>;
  readonly peers: PeerStore;
  readonly items: ItemStore;
  readonly tokens: TokenManager;
  readonly k: number;
  random(): number;
}

export type QueryHandler = (ctx: QueryContext, query: KrpcQuery, from: Endpoint) => Record<string, BEncodable | undefined>;

/**
 * The k contacts closest to `target` in compact form, leaving out the asker itself: `nodes` from
 * the IPv4 table, `nodes6` from the IPv6 one (BEP 32). Which: the families `want` names ("n4",
 * "n6") that we have a table of; without `want`, or when we have none of those, the family the
 * query arrived on.
 */
export function closestNodes(
  ctx: QueryContext,
  target: Uint8Array,
  asker: Uint8Array,
  want?: readonly string[],
): { nodes?: Uint8Array; nodes6?: Uint8Array } {
  const wanted = ([4, 6] as const).filter((f) => want?.includes(`n${f}`) && ctx.tables[f]);
  const families = wanted.length > 0 ? wanted : [ctx.family];
  const out: { nodes?: Uint8Array; nodes6?: Uint8Array } = {};
  for (const family of families) {
    const table = ctx.tables[family];
    if (!table) continue;
    const contacts = table.closest(target, ctx.k + 1).filter((c) => !idEquals(c.id, asker));
    out[family === 4 ? 'nodes' : 'nodes6'] = encodeCompactNodes(contacts.slice(0, ctx.k), family);
  }
  return out;
}
