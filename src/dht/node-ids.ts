/**
 * Which node id each address family's DHT node uses (BEP 32, BEP 42).
 *
 * BEP 32 asks a node on both families to use the same id in both, and BEP 42 derives an id from
 * one external address, so the two agree only while at most one family has a public address to
 * derive from. libtorrent keeps one id per listen socket; warren does the same, per family:
 *   - a configured id is used in both families;
 *   - a family keeps its saved id unless its external address (as others reported it) is public
 *     and the id no longer matches it;
 *   - otherwise a family whose external (or bound) address is public gets a fresh BEP 42 id for it;
 *   - a family with nothing public to derive from shares the other family's id (or both share one
 *     random id), as BEP 32 promotes: on a private network, or before the first external address
 *     is known, a dual-stack node has one id.
 */
import type { IpFamily } from '../codec/ip.js';
import type { NodeState } from './node-state.js';
import { isExemptAddress, isSecureNodeId, secureNodeId } from './secure-id.js';
import { toNodeId, type NodeId } from './types.js';

export interface NodeIdInput {
  /** The families whose sockets are bound. */
  families: readonly IpFamily[];
  /** `DhtOptions.nodeId`. */
  configured?: string | Uint8Array;
  saved?: NodeState;
  /** The bound address of each family (a wildcard tells nothing). */
  bound: Partial<Record<IpFamily, string>>;
  randomBytes(n: number): Uint8Array;
}

/** The id of each bound family (see the module comment). */
export function chooseNodeIds(input: NodeIdInput): Map<IpFamily, NodeId> {
  const ids = new Map<IpFamily, NodeId>();
  if (input.configured !== undefined) {
    const id = toNodeId(input.configured);
    for (const family of input.families) ids.set(family, id);
    return ids;
  }
  const { saved } = input;
  for (const family of input.families) {
    const savedId = family === 4 ? saved?.nodeId : (saved?.nodeId6 ?? saved?.nodeId);
    const external = family === 4 ? saved?.externalIp : saved?.externalIp6;
    if (savedId && (!external || isExemptAddress(external) || isSecureNodeId(savedId, external))) {
      ids.set(family, savedId);
      continue;
    }
    const host = external ?? input.bound[family];
    if (host !== undefined && !isExemptAddress(host)) ids.set(family, secureNodeId(host, input.randomBytes(20)));
  }
  const shared = ids.get(4) ?? ids.get(6) ?? toNodeId(input.randomBytes(20));
  for (const family of input.families) if (!ids.has(family)) ids.set(family, shared);
  return ids;
}
