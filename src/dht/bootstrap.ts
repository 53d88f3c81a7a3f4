/**
 * Joining the network, per address family (BEP 5, BEP 32). Every endpoint we know (saved contacts,
 * the bootstrap list, and for a family whose table is empty the closest contacts of the other
 * family's table) is asked for our own neighbourhood over the socket of its family; when more
 * than one family is up, the query says `want` for the families being joined, so that a node on
 * both families hands us contacts of the other (this is how a dual-stack node that knows only IPv4
 * routers finds the IPv6 DHT). Each joined family then looks up its own id and fills its sparse
 * buckets.
 */
import type { IpFamily } from '../codec/ip.js';
import { randomIdWithPrefix } from '../kademlia/id.js';
import type { Contact } from '../kademlia/routing-table.js';
import type { Endpoint, Runtime } from '../runtime/interfaces.js';
import type { Dht } from './dht.js';
import { parseHostPort } from './endpoint.js';
import type { DhtFamily } from './family.js';
import type { NodeState } from './node-state.js';
import { DEFAULT_BOOTSTRAP } from './options.js';

/**
 * The endpoints to join through: the saved contacts, then the bootstrap list (`host:port` or
 * `[v6]:port`; names resolved, an entry that cannot be is reported through `warn` and skipped).
 */
export async function knownEndpoints(
  saved: NodeState | undefined,
  bootstrap: string[] | false | undefined,
  runtime: Runtime,
  warn: (message: string) => void,
): Promise<Endpoint[]> {
  const endpoints: Endpoint[] = (saved?.contacts ?? []).map((c) => c.address);
  for (const entry of bootstrap === false ? [] : (bootstrap ?? DEFAULT_BOOTSTRAP)) {
    try {
      const { host, port } = parseHostPort(entry);
      endpoints.push({ host: await runtime.resolveHost(host), port });
    } catch (error) {
      warn(`cannot resolve bootstrap host ${entry}: ${(error as Error).message}`);
    }
  }
  return endpoints;
}

/**
 * Joins `targets` (some of the families that are up, `all`), starting from `endpoints`; resolves
 * once each has looked up its own id and refreshed its sparse buckets.
 */
export async function joinFamilies(
  dht: Dht,
  targets: readonly DhtFamily[],
  all: readonly DhtFamily[],
  endpoints: readonly Endpoint[],
  randomBytes: (n: number) => Uint8Array,
  k: number,
): Promise<void> {
  if (targets.length === 0) return;
  const want = all.length > 1 ? targets.map((f) => `n${f.family}`) : undefined;
  const asked = [...endpoints];
  for (const other of all) {
    if (targets.includes(other)) continue;
    asked.push(...other.routing.closest(targets[0]!.id, k).map((c) => c.address));
  }
  const seeds = new Map<IpFamily, Contact<Endpoint>[]>(targets.map((f) => [f.family, []]));
  await Promise.all(
    asked.map(async (to) => {
      const via = all.find((f) => f.reaches(to));
      if (!via) return;
      const target = (targets.includes(via) ? via : targets[0]!).id;
      const outcome = await dht.rpc(to, 'find_node', { target, want });
      if (outcome?.kind !== 'response') return;
      seeds.get(via.family)?.push({ id: outcome.response.senderId, address: to });
      for (const f of targets) seeds.get(f.family)!.push(...f.contactsIn(outcome.response.values));
    }),
  );
  await Promise.all(
    targets.map(async (f) => {
      await dht.findNodeIn(f, f.id, seeds.get(f.family));
      // Fill the farther buckets too, as the self-lookup only fills the ones near our own id. The
      // last bucket is always refreshed: while it is the only one, it holds the far half as well.
      const buckets = f.routing.buckets();
      const sparse = buckets.filter((b) => b.entries.length < k || b.index === buckets.length - 1);
      await Promise.all(sparse.map((b) => dht.findNodeIn(f, randomIdWithPrefix(f.id, b.index, randomBytes))));
    }),
  );
}
