/**
 * The API's view of the DHT (`DhtView`, `LookupView`): the routing table by bucket, what we store
 * for others, flattened counters, and the lookup tool's answer.
 */
import type { Dht } from '../dht/dht.js';
import { endpointKey } from '../dht/endpoint.js';
import { toHex, toInfoHash } from '../dht/types.js';
import { xorDistance } from '../kademlia/id.js';
import type { DhtBucketView, DhtView, LookupView } from './view-types.js';

const LOOKUP_PEERS = 50;
const LOOKUP_PEER_WAIT_MS = 10_000;

/** `queriesIn: {ping: 3}` becomes `queriesIn.ping: 3`. */
function flatten(value: object, prefix = '', out: Record<string, number> = {}): Record<string, number> {
  for (const [key, v] of Object.entries(value)) {
    if (typeof v === 'number') out[prefix + key] = v;
    else if (typeof v === 'object' && v !== null) flatten(v as object, `${prefix}${key}.`, out);
  }
  return out;
}

export function dhtView(dht: Dht | undefined): DhtView {
  if (!dht) return { enabled: false, nodes: 0, buckets: [], stored: { infoHashes: 0, peers: 0, items: 0 }, counters: {} };
  const stats = dht.stats();
  // The table's clock is the runtime's; shown as wall-clock times.
  const toWallClock = (t: number) => Math.round(Date.now() - (dht.runtime.now() - t));
  const bucketsOf = (table: Dht['table']): DhtBucketView[] =>
    table.buckets().map((b) => ({
      index: b.index,
      contacts: b.entries.map((e) => ({ id: toHex(e.id), address: endpointKey(e.address), lastSeen: toWallClock(e.lastSeen), failures: e.failures })),
      replacements: b.replacements.length,
    }));
  return {
    enabled: true,
    nodeId: stats.nodeId,
    address: endpointKey(stats.address),
    nodes: stats.tableSize,
    buckets: bucketsOf(dht.table),
    families: dht.families.map((family) => {
      const node = dht.family(family)!;
      return { family, nodeId: toHex(node.nodeId), address: endpointKey(node.address), nodes: node.table.size, buckets: bucketsOf(node.table) };
    }),
    stored: { infoHashes: stats.infoHashesStored, peers: stats.peersStored, items: stats.itemsStored },
    counters: flatten({ ...stats.counters, globalRttMs: Math.round(stats.globalRttMs) }),
  };
}

/** Looks `target` up both ways at once: the closest nodes, and peers for it as an infohash. */
export async function lookupView(dht: Dht, target: string): Promise<LookupView> {
  const started = performance.now();
  const id = toInfoHash(target);
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), LOOKUP_PEER_WAIT_MS);
  const peers = new Set<string>();
  const findPeers = (async () => {
    for await (const peer of dht.lookup(id, { signal: abort.signal })) {
      peers.add(endpointKey(peer));
      if (peers.size >= LOOKUP_PEERS) abort.abort();
    }
  })(); // aborting ends the search with what it found (a lookup never rejects on abort)
  const [closest] = await Promise.all([dht.findNode(id), findPeers]);
  clearTimeout(timer);
  return {
    target,
    closest: closest.map((c) => ({ id: toHex(c.id), address: endpointKey(c.address), distance: toHex(xorDistance(c.id, id)) })),
    peers: [...peers],
    ms: Math.round(performance.now() - started),
  };
}
