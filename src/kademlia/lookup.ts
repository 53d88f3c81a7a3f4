/**
 * The iterative Kademlia lookup, generic in address type `A` and reply type `R` (a find_node reply,
 * a get_peers reply with peers, a netDb store...). It keeps candidates sorted by XOR distance to the
 * target, keeps at most `alpha` queries "active", and never waits on a slow node when others can be
 * asked: a query unanswered after `rtt.softTimeout(key)` becomes "slow", frees its slot, and its
 * late reply is still used if it arrives before the lookup ends. The transport owns the hard
 * timeout (`query` resolves `undefined`). No clock or timer is touched except through `deps`.
 */
import type { Timer } from '../runtime/interfaces.js';
import { compareDistance, idKey } from './id.js';
import type { Contact } from './routing-table.js';
import type { RttEstimator } from './rtt-estimator.js';

/** One node's answer to a lookup query: closer contacts, and optionally a value (peers, a record...). */
export interface LookupReply<A, R> {
  contacts: Contact<A>[];
  value?: R;
}

/** What the lookup needs from the engine that runs it. */
export interface LookupDeps<A, R> {
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
  /** Sends the query to contact; resolves with its reply, or undefined when it failed or timed out for good (the transport owns the hard timeout). A rejection counts as a failure. */
  query(contact: Contact<A>, target: Uint8Array): Promise<LookupReply<A, R> | undefined>;
  rtt: RttEstimator;
  /** Key of a contact for RTT estimates and de-duplication (e.g. "host:port"). */
  key(contact: Contact<A>): string;
}

/** Tuning and hooks of one lookup. */
export interface LookupOptions<A, R> {
  /** Queries active at once (default 3). */
  alpha?: number;
  /** How many closest responders the lookup converges on (default 8). */
  k?: number;
  /** Aborting resolves the lookup at once with `aborted: true` (it never rejects). */
  signal?: AbortSignal;
  /** Called for every reply received while the lookup runs (e.g. to collect peers or values). */
  onReply?: (contact: Contact<A>, reply: LookupReply<A, R>) => void;
  /** Most queries sent (default 200). */
  maxQueries?: number;
}

/** Outcome of `iterativeLookup`. */
export interface LookupResult<A, R> {
  /** Up to k closest contacts that answered, closest first, with their replies. */
  closest: { contact: Contact<A>; reply: LookupReply<A, R> }[];
  queried: number;
  responded: number;
  failed: number;
  /** Largest hop count among `closest` (seeds are hop 1). */
  hops: number;
  aborted: boolean;
}

type State = 'new' | 'pending' | 'slow' | 'responded' | 'failed';

interface Candidate<A, R> {
  contact: Contact<A>;
  key: string;
  hop: number;
  state: State;
  reply?: LookupReply<A, R>;
  timer?: Timer;
  sentAt: number;
}

class Lookup<A, R> {
  private readonly candidates: Candidate<A, R>[] = [];
  private readonly seenKeys = new Set<string>();
  private readonly seenIds = new Set<string>();
  private readonly alpha: number;
  private readonly k: number;
  private readonly maxQueries: number;
  private active = 0;
  private queried = 0;
  private responded = 0;
  private failed = 0;
  private done = false;
  private readonly onAbort = (): void => this.finish(true);

  constructor(
    private readonly deps: LookupDeps<A, R>,
    private readonly target: Uint8Array,
    private readonly options: LookupOptions<A, R>,
    private readonly resolve: (r: LookupResult<A, R>) => void,
  ) {
    this.alpha = Math.max(1, options.alpha ?? 3);
    this.k = Math.max(1, options.k ?? 8);
    this.maxQueries = Math.max(0, options.maxQueries ?? 200);
  }

  start(seeds: Contact<A>[]): void {
    const signal = this.options.signal;
    if (signal?.aborted === true) {
      this.finish(true);
      return;
    }
    signal?.addEventListener('abort', this.onAbort, { once: true });
    for (const s of seeds) this.add(s, 1);
    this.pump();
  }

  /** Adds a candidate unless its id length is wrong or its key or id was already seen. */
  private add(contact: Contact<A>, hop: number): void {
    if (contact.id.length !== this.target.length) return;
    const key = this.deps.key(contact);
    const ik = idKey(contact.id);
    if (this.seenKeys.has(key) || this.seenIds.has(ik)) return;
    this.seenKeys.add(key);
    this.seenIds.add(ik);
    const list = this.candidates;
    let lo = 0;
    let hi = list.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (compareDistance(this.target, list[mid]!.contact.id, contact.id) <= 0) lo = mid + 1;
      else hi = mid;
    }
    list.splice(lo, 0, { contact, key, hop, state: 'new', sentAt: 0 });
  }

  /** Sends what may be sent and ends the lookup when it has converged. */
  private pump(): void {
    if (this.done) return;
    let live = 0;
    let converged = true;
    for (const c of this.candidates) {
      if (live >= this.k) break;
      if (c.state === 'failed' || c.state === 'slow') continue;
      live++;
      if (c.state === 'new') {
        converged = false;
        if (this.active < this.alpha && this.queried < this.maxQueries) this.send(c);
      } else if (c.state === 'pending') {
        converged = false;
      }
    }
    // Converged: the k closest live candidates all answered (or fewer remain and all answered).
    // Otherwise stuck: nothing active and nothing sendable (maxQueries reached); slow nodes don't count.
    if (converged || this.active === 0) this.finish(false);
  }

  private send(c: Candidate<A, R>): void {
    c.state = 'pending';
    c.sentAt = this.deps.now();
    this.active++;
    this.queried++;
    c.timer = this.deps.setTimer(this.deps.rtt.softTimeout(c.key), () => {
      c.timer = undefined;
      if (this.done || c.state !== 'pending') return;
      c.state = 'slow';
      this.active--;
      this.pump();
    });
    // The executor turns a synchronous throw of `query` into a rejection; both count as a failure.
    new Promise<LookupReply<A, R> | undefined>((res) => res(this.deps.query(c.contact, this.target))).then(
      (reply) => this.settle(c, reply),
      () => this.settle(c, undefined),
    );
  }

  private settle(c: Candidate<A, R>, reply: LookupReply<A, R> | undefined): void {
    if (reply !== undefined) this.deps.rtt.sample(c.key, this.deps.now() - c.sentAt);
    if (this.done) return;
    if (c.state === 'pending') {
      this.active--;
      c.timer?.cancel();
      c.timer = undefined;
    }
    if (reply === undefined) {
      c.state = 'failed';
      this.failed++;
    } else {
      c.state = 'responded';
      c.reply = reply;
      this.responded++;
      for (const contact of reply.contacts) this.add(contact, c.hop + 1);
      this.options.onReply?.(c.contact, reply);
    }
    this.pump();
  }

  private finish(aborted: boolean): void {
    if (this.done) return;
    this.done = true;
    this.options.signal?.removeEventListener('abort', this.onAbort);
    const closest: LookupResult<A, R>['closest'] = [];
    let hops = 0;
    for (const c of this.candidates) {
      c.timer?.cancel();
      c.timer = undefined;
      if (c.state === 'responded' && c.reply !== undefined && closest.length < this.k) {
        closest.push({ contact: c.contact, reply: c.reply });
        hops = Math.max(hops, c.hop);
      }
    }
    this.resolve({ closest, queried: this.queried, responded: this.responded, failed: this.failed, hops, aborted });
  }
}

/**
 * Runs one iterative lookup for `target` starting from `seeds` (typically the routing table's
 * closest). Candidates are de-duplicated by `deps.key()` and by id; reply contacts whose id length
 * differs from the target's are ignored. Each contact learned from a hop-h node's reply is hop h+1.
 * Ends when the k closest candidates that are not failed or slow have all responded and nothing
 * closer is left to ask, when no candidates remain, when `maxQueries` is spent, or on abort. Never rejects.
 */
export function iterativeLookup<A, R>(deps: LookupDeps<A, R>, target: Uint8Array, seeds: Contact<A>[], options: LookupOptions<A, R> = {}): Promise<LookupResult<A, R>> {
  return new Promise((resolve) => new Lookup(deps, target, options, resolve).start(seeds));
}
