/**
 * Fills the routing tables of many simulated DHT nodes from global knowledge instead of running
 * 10,000 bootstraps: for every node and every prefix length i, up to k nodes drawn at random
 * among those whose id shares exactly i leading bits with it — what a well-maintained Kademlia
 * table holds (bucket i full when it can be, all the nearest nodes in the deepest buckets).
 * At most k contacts per exact prefix length means no bucket ever overflows, so no liveness
 * ping is sent while filling.
 */
import type { Contact } from '../../src/kademlia/routing-table.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';
import type { Mulberry32 } from '../../src/runtime/prng.js';

/** A node whose table is to be filled. */
export interface Fillable {
  id: Uint8Array;
  address: Endpoint;
  table: { heard(contact: Contact<Endpoint>): void };
}

function toBigInt(id: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(id).toString('hex')}`);
}

/** Fills every node's table (see the module comment); returns the mean number of contacts offered per node. */
export function fillTables(nodes: readonly Fillable[], k: number, prng: Mulberry32): number {
  const bits = nodes[0]!.id.length * 8;
  const values = nodes.map((n) => toBigInt(n.id));
  const order = nodes.map((_, i) => i).sort((a, b) => (values[a]! < values[b]! ? -1 : values[a]! > values[b]! ? 1 : 0));
  const sorted = order.map((i) => values[i]!);
  const lowerBound = (v: bigint): number => {
    let lo = 0;
    let hi = sorted.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (sorted[mid]! < v) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
  let offered = 0;
  nodes.forEach((node, self) => {
    const x = values[self]!;
    for (let i = 0; i < bits; i++) {
      const shift = BigInt(bits - 1 - i);
      const mine = x >> shift;
      const other = mine ^ 1n;
      const start = lowerBound(other << shift);
      const end = lowerBound((other + 1n) << shift);
      const count = end - start;
      const picks = new Set<number>();
      if (count <= k) for (let j = start; j < end; j++) picks.add(j);
      else while (picks.size < k) picks.add(start + Math.floor(prng.next() * count));
      for (const j of picks) {
        const peer = nodes[order[j]!]!;
        node.table.heard({ id: peer.id, address: peer.address });
        offered++;
      }
      // Stop once no other node shares the first i+1 bits with this one.
      if (lowerBound((mine + 1n) << shift) - lowerBound(mine << shift) <= 1) break;
    }
  });
  return offered / nodes.length;
}
