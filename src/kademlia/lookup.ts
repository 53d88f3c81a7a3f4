/**
 * The iterative Kademlia lookup, generic in address type `A` and reply type `R` (a find_node reply,
 * a get_peers reply with peers, a netDb store...). It keeps candidates sorted by XOR distance to the
 * target and never waits on a slow node when others can be asked: a query unanswered after
 * `rtt.softTimeout(key)` becomes "slow", frees its slot, and its late reply is still used if it
 * arrives before the lookup ends. The transport owns the hard timeout (`query` resolves `undefined`).
 *
 * How many queries hold a slot: `firstRound` until the first reply arrives (a wider first round
 * reaches the target's neighbourhood sooner; its queries then give up their slots, so the next
 * round starts at once and farther seeds never hold it back), then `alpha`; and once the closest live candidate has
 * answered (a round brought nothing closer), every remaining one of the k closest is asked at once,
 * as in Kademlia's final round. A query to one of the k closest live candidates that goes unanswered
 * past its soft timeout is sent once more (a lost datagram must not cost the closest node); the
 * retry holds no slot, but the lookup does not converge while it is among the k closest until it is
 * answered or its soft timeout (1.5 times longer) passes too.
 * No clock or timer is touched except through `deps`.
 */
import type { Timer } from '../runtime/interfaces.js';
import { compareDistance, idKey } from './id.js';
import type { Contact } from './routing-table.js';
import type { RttEstimator } from './rtt-estimator.js';

/**
 * The soft timeout of a retry, relative to the first query's. Measured on 10,000 virtual nodes (1%
 * loss, 20% dead): 1 lost 0.1% of closest nodes, 2 cost 15% more convergence time than 1.5.
 */
const RETRY_BACKOFF = 1.5;

/** One node's answer to a lookup query: closer contacts, and optionally a value (peers, a record...). */
export interface LookupReply<A, R> {
  contacts: Contact<A>[];
  value?: R;
  /** The exact round trip of this reply when the transport measured it; else the lookup measures it. */
  rttMs?: number;
}

/** What the lookup needs from the engine that runs it. */
export interface LookupDeps<A, R> {
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
  /** Sends the query to contact; resolves with its reply, or undefined when it failed or timed out for good (the transport owns the hard timeout). A rejection counts as a failure. */
  query(contact: Contact<A>, target: Uint8Array): Promise<LookupReply<A, R> | undefined>;
  /** Round-trip estimates: the lookup reads soft timeouts from it and records one sample per reply (the engine must not sample lookup replies again). */
  rtt: RttEstimator;
  /** Key of a contact for RTT estimates and de-duplication (e.g. "host:port"). */
  key(contact: Contact<A>): string;
}

/** Tuning and hooks of one lookup. */
export interface LookupOptions<A, R> {
  /** Queries active at once (default 3). */
  alpha?: number;
  /** Queries sent at once before the first reply arrives (default alpha; never less than alpha). */
  firstRound?: number;
  /** How many closest responders the lookup converges on (default 8). */
  k?: number;
  /** Times a query to one of the k closest live candidates is sent when it goes unanswered past its soft timeout (default 2: one retry; 1 disables retries). */
  maxAttempts?: number;
  /** Aborting resolves the lookup at once with `aborted: true` (it never rejects). */
  signal?: AbortSignal;
  /** Called for every reply received while the lookup runs (e.g. to collect peers or values). */
  onReply?: (contact: Contact<A>, reply: LookupReply<A, R>) => void;
  /** Most queries sent, retries included (default 200). */
  maxQueries?: number;
}

/** Outcome of `iterativeLookup`. */
export interface LookupResult<A, R> {
  /** Up to k closest contacts that answered, closest first, with their replies. */
  closest: { contact: Contact<A>; reply: LookupReply<A, R> }[];
  /** Queries sent, retries included. */
  queried: number;
  responded: number;
  failed: number;
  /** Largest hop count among `closest` (seeds are hop 1). */
  hops: number;
  aborted: boolean;
}

/**
 * new: not asked yet. pending: asked, within its soft timeout, holds a slot. retrying: asked again
 * after a soft timeout, holds no slot but blocks convergence. slow: given up on (a late reply is
 * still used). responded / failed: final.
 */
type State = 'new' | 'pending' | 'retrying' | 'slow' | 'responded' | 'failed';

interface Candidate<A, R> {
  contact: Contact<A>;
  key: string;
  hop: number;
  state: State;
  reply?: LookupReply<A, R>;
  timer?: Timer;
  /** Queries sent to it. */
  attempts: number;
  /** Queries to it not settled yet. */
  outstanding: number;
  /** Whether its query holds one of the `active` slots. */
  slot: boolean;
}

class Lookup<A, R> {
  private readonly candidates: Candidate<A, R>[] = [];
  private readonly seenKeys = new Set<string>();
  private readonly seenIds = new Set<string>();
  private readonly alpha: number;
  private readonly firstRound: number;
  private readonly k: number;
  private readonly maxAttempts: number;
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
    this.firstRound = Math.max(this.alpha, options.firstRound ?? this.alpha);
    this.k = Math.max(1, options.k ?? 8);
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 2);
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
    list.splice(lo, 0, { contact, key, hop, state: 'new', attempts: 0, outstanding: 0, slot: false });
  }

  /** How many queries may hold a slot now (see the module comment). */
  private width(): number {
    if (this.responded === 0) return this.firstRound;
    const closest = this.candidates.find((c) => c.state !== 'failed' && c.state !== 'slow');
    return closest?.state === 'responded' ? Math.max(this.alpha, this.k) : this.alpha;
  }

  /** Sends what may be sent and ends the lookup when it has converged. */
  private pump(): void {
    if (this.done) return;
    const width = this.width();
    let live = 0;
    let converged = true;
    let awaiting = false;
    for (const c of this.candidates) {
      if (live >= this.k) break;
      if (c.state === 'failed' || c.state === 'slow') continue;
      live++;
      if (c.state === 'new') {
        converged = false;
        if (this.active < width && this.queried < this.maxQueries) this.send(c);
      } else if (c.state === 'pending' || c.state === 'retrying') {
        converged = false;
        awaiting = true;
      }
    }
    // Converged: the k closest live candidates all answered (or fewer remain and all answered).
    // Otherwise stuck: no slot taken, nothing awaited among the k closest, nothing sendable (maxQueries reached).
    if (converged || (this.active === 0 && !awaiting)) this.finish(false);
  }

  /** Is `c` among the k closest candidates that are not failed or slow? */
  private amongClosestLive(c: Candidate<A, R>): boolean {
    let live = 0;
    for (const x of this.candidates) {
      if (x === c) return true;
      if (x.state === 'failed' || x.state === 'slow') continue;
      if (++live >= this.k) return false;
    }
    return false;
  }

  private send(c: Candidate<A, R>): void {
    c.state = 'pending';
    c.slot = true;
    this.active++;
    this.dispatch(c);
  }

  /** Sends one query to c and arms its soft timeout, 1.5 times longer for a retry (a retransmission timeout backs off). */
  private dispatch(c: Candidate<A, R>): void {
    const sentAt = this.deps.now();
    c.attempts++;
    c.outstanding++;
    this.queried++;
    c.timer = this.deps.setTimer(this.deps.rtt.softTimeout(c.key) * (c.attempts > 1 ? RETRY_BACKOFF : 1), () => this.softTimeout(c));
    // The executor turns a synchronous throw of `query` into a rejection; both count as a failure.
    new Promise<LookupReply<A, R> | undefined>((res) => res(this.deps.query(c.contact, this.target))).then(
      (reply) => this.settle(c, reply, sentAt),
      () => this.settle(c, undefined, sentAt),
    );
  }

  /** Frees c's slot if it holds one. */
  private release(c: Candidate<A, R>): void {
    if (!c.slot) return;
    c.slot = false;
    this.active--;
  }

  private softTimeout(c: Candidate<A, R>): void {
    c.timer = undefined;
    if (this.done || (c.state !== 'pending' && c.state !== 'retrying')) return;
    this.release(c);
    if (c.attempts < this.maxAttempts && this.queried < this.maxQueries && this.amongClosestLive(c)) {
      c.state = 'retrying';
      this.dispatch(c);
    } else {
      c.state = 'slow';
    }
    this.pump();
  }

  private settle(c: Candidate<A, R>, reply: LookupReply<A, R> | undefined, sentAt: number): void {
    c.outstanding--;
    if (reply !== undefined) this.deps.rtt.sample(c.key, reply.rttMs ?? this.deps.now() - sentAt);
    if (this.done || c.state === 'responded' || c.state === 'failed') return;
    if (reply === undefined && c.outstanding > 0) return; // another query to it may still be answered
    this.release(c);
    c.timer?.cancel();
    c.timer = undefined;
    if (reply === undefined) {
      c.state = 'failed';
      this.failed++;
    } else {
      c.state = 'responded';
      c.reply = reply;
      // The first reply ends the first round: its other queries stay pending but free their slots.
      if (this.responded++ === 0) for (const x of this.candidates) this.release(x);
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
