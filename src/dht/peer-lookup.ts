/**
 * Finding and announcing peers of a swarm (BEP 5, BEP 32): an iterative `get_peers` lookup in each
 * address family that streams peers (IPv4 and IPv6) as nodes return them, and `announce_peer` to
 * the k closest nodes of each family with the tokens they gave (each stores the address we sent
 * from, so a dual-stack node is listed under both of its addresses).
 */
import { ipFamily } from '../codec/ip.js';
import { parseGetPeersReply, type GetPeersReply } from '../codec/dht-messages.js';
import type { Endpoint } from '../runtime/interfaces.js';
import type { Dht } from './dht.js';
import { endpointKey } from './endpoint.js';
import type { InfoHash } from './types.js';

export interface AnnounceOptions {
  /** Ask nodes to store our UDP source port instead of `port` (BEP 5 `implied_port`). */
  impliedPort?: boolean;
  /** We are a seed (BEP 33 `seed`). */
  seed?: boolean;
  /** The TCP port for IPv6 peers when it is not `port` (a router's mapping changes the IPv4 one only). */
  port6?: number;
  signal?: AbortSignal;
}

/** The TCP port to announce to (or store for) an address of `host`'s family: `port6` for IPv6 when given. */
export function announcedPortFor(host: string, port: number, options: Pick<AnnounceOptions, 'port6'>): number {
  return options.port6 !== undefined && ipFamily(host) === 6 ? options.port6 : port;
}

export interface AnnounceResult {
  /** Nodes that accepted the announcement. */
  announcedTo: number;
  /** Peers the lookup found on the way. */
  peers: Endpoint[];
}

/** Yields each distinct peer of `infoHash` as soon as a node reports it; ends when the lookup ends. */
export async function* lookupPeers(dht: Dht, infoHash: InfoHash, signal?: AbortSignal): AsyncGenerator<Endpoint> {
  const seen = new Set<string>();
  const queue: Endpoint[] = [];
  let wake: (() => void) | undefined;
  let done = false;
  const controller = new AbortController();
  const onAbort = () => controller.abort();
  signal?.addEventListener('abort', onAbort, { once: true });
  const offer = (peer: Endpoint) => {
    const key = endpointKey(peer);
    if (seen.has(key)) return;
    seen.add(key);
    queue.push(peer);
    wake?.();
  };
  for (const peer of dht.localStores.peers.get(infoHash, Infinity, () => 0)) offer(peer);
  const run = dht
    .iterate(infoHash, 'get_peers', { info_hash: infoHash }, parseGetPeersReply, {
      signal: controller.signal,
      onReply: (_contact, reply) => reply.peers.forEach(offer),
    })
    .finally(() => {
      done = true;
      wake?.();
    });
  try {
    for (;;) {
      const next = queue.shift();
      if (next) {
        yield next;
        continue;
      }
      if (done) break;
      await new Promise<void>((resolve) => (wake = resolve));
      wake = undefined;
    }
    await run;
  } finally {
    controller.abort();
    signal?.removeEventListener('abort', onAbort);
  }
}

/** Looks up `infoHash` and announces `port` to the closest nodes that gave a token. */
export async function announcePeer(
  dht: Dht,
  infoHash: InfoHash,
  port: number,
  options: AnnounceOptions = {},
): Promise<AnnounceResult> {
  const peers = new Map<string, Endpoint>();
  const result = await dht.iterate<GetPeersReply>(infoHash, 'get_peers', { info_hash: infoHash }, parseGetPeersReply, {
    signal: options.signal,
    onReply: (_contact, reply) => reply.peers.forEach((p) => peers.set(endpointKey(p), p)),
  });
  const outcomes = await Promise.all(
    result.closest
      .filter((c) => c.reply.value?.token)
      .map((c) =>
        dht.rpc(
          c.contact.address,
          'announce_peer',
          {
            info_hash: infoHash,
            port: announcedPortFor(c.contact.address.host, port, options),
            token: c.reply.value!.token!,
            implied_port: options.impliedPort ? 1 : undefined,
            seed: options.seed ? 1 : undefined,
          },
          c.contact.id,
        ),
      ),
  );
  return { announcedTo: outcomes.filter((o) => o?.kind === 'response').length, peers: [...peers.values()] };
}
