/**
 * Iterative lookups over the families of a `Dht` (BEP 32): one Kademlia lookup per family, each
 * through its own routing table and socket and following only contacts of its family (`nodes` or
 * `nodes6`), then one merged result.
 */
import type { BEncodable, BValue } from '../codec/bencode.js';
import { DecodeError } from '../codec/errors.js';
import { compareDistance } from '../kademlia/id.js';
import { iterativeLookup, type LookupReply, type LookupResult } from '../kademlia/lookup.js';
import type { Contact } from '../kademlia/routing-table.js';
import type { RttEstimator } from '../kademlia/rtt-estimator.js';
import type { Endpoint, Runtime } from '../runtime/interfaces.js';
import { endpointKey } from './endpoint.js';
import type { DhtFamily } from './family.js';
import type { QueryOutcome } from './krpc-transport.js';
import type { DhtCounters } from './stats.js';

/** Seeds and hooks of a lookup (`Dht.iterate`): extra seeds of either family, abort, a callback per reply. */
export interface LookupOptions<R> {
  extraSeeds?: Contact<Endpoint>[];
  signal?: AbortSignal;
  onReply?: (contact: Contact<Endpoint>, value: R) => void;
}

/** What a family's lookup takes from its `Dht`. */
export interface FamilyLookupDeps {
  runtime: Runtime;
  rtt: RttEstimator;
  counters: DhtCounters;
  tuning: { alpha: number; firstRound: number; k: number };
  /** `Dht.rpc` without its own RTT sample. */
  rpc(to: Endpoint, method: string, args: Record<string, BEncodable | undefined>, expectedId: Uint8Array): Promise<QueryOutcome>;
  debug(message: string): void;
}

/** One lookup in `node`'s family, seeded from its table (2k closest) and the extra seeds of its family. */
export function lookupInFamily<R>(
  deps: FamilyLookupDeps,
  node: DhtFamily,
  target: Uint8Array,
  method: string,
  args: Record<string, BEncodable | undefined>,
  parse: (values: Record<string, BValue>) => R,
  options: LookupOptions<R>,
): Promise<LookupResult<Endpoint, R>> {
  const extra = (options.extraSeeds ?? []).filter((c) => node.reaches(c.address));
  const seeds = [...node.routing.closest(target, deps.tuning.k * 2), ...extra];
  return iterativeLookup<Endpoint, R>(
    {
      now: () => deps.runtime.now(),
      setTimer: (ms, fn) => deps.runtime.setTimer(ms, fn),
      rtt: deps.rtt,
      key: (c) => endpointKey(c.address),
      query: async (contact): Promise<LookupReply<Endpoint, R> | undefined> => {
        // The lookup records this round trip in the RTT estimator itself (once).
        const outcome = await deps.rpc(contact.address, method, args, contact.id);
        if (outcome?.kind !== 'response') return undefined;
        try {
          // Parsed first: a malformed reply counts once, not again for its contacts.
          const value = parse(outcome.response.values);
          return { contacts: node.contactsIn(outcome.response.values), value, rttMs: outcome.rttMs };
        } catch (error) {
          if (!(error instanceof DecodeError)) throw error;
          deps.counters.malformed++;
          deps.debug(`malformed ${method} reply: ${error.message}`);
          return undefined;
        }
      },
    },
    target,
    seeds,
    { ...deps.tuning, signal: options.signal, onReply: options.onReply && ((contact, reply) => options.onReply!(contact, reply.value!)) },
  );
}

/** The lookups of several families as one: `closest` holds each one's closest, ordered by distance. */
export function mergeLookups<R>(target: Uint8Array, results: readonly LookupResult<Endpoint, R>[]): LookupResult<Endpoint, R> {
  return {
    closest: results.flatMap((r) => r.closest).sort((a, b) => compareDistance(target, a.contact.id, b.contact.id)),
    queried: results.reduce((sum, r) => sum + r.queried, 0),
    responded: results.reduce((sum, r) => sum + r.responded, 0),
    failed: results.reduce((sum, r) => sum + r.failed, 0),
    hops: Math.max(0, ...results.map((r) => r.hops)),
    aborted: results.some((r) => r.aborted),
  };
}
