/**
 * The k-bucket routing table shared by the mainline DHT and the hidden network's database.
 *
 * Representation (libtorrent style): an array of buckets indexed by the common prefix length (cpl)
 * of an id with the local id. Bucket i < last holds ids with cpl exactly i; the last bucket holds
 * every id with cpl >= its index, covers the local id, and is the only one that splits. Membership
 * is a Map keyed by `idKey`, so `heard()` stays cheap when called millions of times.
 *
 * Full buckets follow Kademlia's least-recently-seen policy as BEP 5 words it: a newcomer waits in
 * the bucket's replacement cache; if the least-recently-seen entry is questionable (not heard from
 * for `questionableAfterMs`) it is pinged and the newcomer takes its place only when the ping fails.
 * A bucket full of good entries is left alone: no ping. Entries that fail queries repeatedly leave
 * (`failed`). The table does no I/O itself: `deps.ping` is provided by the protocol engine.
 */
import { commonPrefixLength, compareDistance, idKey, randomIdWithPrefix } from './id.js';

/** A node as the table sees it: an id and an opaque address (`A` is e.g. a UDP endpoint). */
export interface Contact<A> {
  readonly id: Uint8Array;
  readonly address: A;
}

/** A table (or replacement cache) entry. Owned by the table: callers read, never mutate. */
export interface TableEntry<A> extends Contact<A> {
  /** `deps.now()` when we last heard from it (or it answered a liveness ping). */
  lastSeen: number;
  /** Consecutive failed queries since it was last heard from. */
  failures: number;
  /** True once it answered a query of ours (its address is confirmed, not just claimed). */
  verified: boolean;
}

/** What the table needs from its owner (the DHT engine). */
export interface RoutingTableDeps<A> {
  now(): number;
  /** Liveness check of a questionable least-recently-seen entry of a full bucket before it is evicted; resolves true when the contact answered. */
  ping(contact: Contact<A>): Promise<boolean>;
}

/** Options of `RoutingTable`. */
export interface RoutingTableOptions {
  localId: Uint8Array;
  /** Bucket size (default 8). */
  k?: number;
  /** Replacement-cache size per bucket (default 8). */
  replacementCacheSize?: number;
  /** An entry that failed this many times in a row is removed and replaced from the cache (default 2). */
  maxFailures?: number;
  /** A bucket unchanged for this long is due for refresh (default 15 minutes). */
  refreshIntervalMs?: number;
  /** An entry not heard from for this long is questionable: a newcomer to its full bucket gets it pinged (default 15 minutes, BEP 5). */
  questionableAfterMs?: number;
}

interface Entry<A> {
  /** `idKey(id)`, computed once. */
  readonly key: string;
  id: Uint8Array;
  address: A;
  lastSeen: number;
  failures: number;
  verified: boolean;
}

interface Bucket<A> {
  entries: Entry<A>[];
  replacements: Entry<A>[];
  lastChanged: number;
  pinging: boolean;
}

/** Is `a` a better replacement than `b`? Verified first, then most recently seen. */
function betterReplacement<A>(a: Entry<A>, b: Entry<A>): boolean {
  if (a.verified !== b.verified) return a.verified;
  return a.lastSeen > b.lastSeen;
}

/** A Kademlia routing table generic in id width and address type; see the module comment. */
export class RoutingTable<A> {
  readonly localId: Uint8Array;
  readonly k: number;
  private readonly deps: RoutingTableDeps<A>;
  private readonly bits: number;
  private readonly replacementCacheSize: number;
  private readonly maxFailures: number;
  private readonly refreshIntervalMs: number;
  private readonly questionableAfterMs: number;
  private readonly table: Bucket<A>[];
  private readonly members = new Map<string, Entry<A>>();
  private readonly cached = new Map<string, Entry<A>>();

  constructor(deps: RoutingTableDeps<A>, options: RoutingTableOptions) {
    this.deps = deps;
    this.localId = Uint8Array.from(options.localId);
    this.bits = this.localId.length * 8;
    this.k = Math.max(1, options.k ?? 8);
    this.replacementCacheSize = Math.max(0, options.replacementCacheSize ?? 8);
    this.maxFailures = Math.max(1, options.maxFailures ?? 2);
    this.refreshIntervalMs = options.refreshIntervalMs ?? 15 * 60_000;
    this.questionableAfterMs = Math.max(0, options.questionableAfterMs ?? 15 * 60_000);
    this.table = [this.newBucket()];
  }

  /** Number of entries in the table proper (replacement caches not counted). */
  get size(): number {
    return this.members.size;
  }

  /**
   * Record that we heard from the contact (a query or a reply it sent). Existing id: refresh lastSeen,
   * reset failures, update address (the DHT layer decides beforehand whether an address change is
   * acceptable). New id: insert if the bucket has room; if the bucket is full and covers the local id,
   * split; otherwise if an entry has failures > 0 replace the worst such entry; otherwise if `verified`
   * is true and the bucket has an unverified entry, replace the least-recently-seen unverified entry
   * (moved to the replacement cache); otherwise put the newcomer in the replacement cache and, when the
   * least-recently-seen entry is questionable (not heard from for questionableAfterMs), ping it (at most
   * one ping in flight per bucket): if the ping fails the stale entry is evicted and the best replacement
   * (verified first, then most recent) takes its place; if it succeeds the stale entry's lastSeen is
   * refreshed. A bucket of good entries is not pinged (BEP 5). Never inserts the local id; ignores ids
   * whose length differs from the local id's.
   */
  heard(contact: Contact<A>, options?: { verified?: boolean }): void {
    const id = contact.id;
    if (id.length !== this.localId.length) return;
    const key = idKey(id);
    const now = this.deps.now();
    const verified = options?.verified === true;
    const existing = this.members.get(key);
    if (existing !== undefined) {
      existing.lastSeen = now;
      existing.failures = 0;
      existing.address = contact.address;
      if (verified) existing.verified = true;
      this.bucketOf(existing.id).lastChanged = now;
      return;
    }
    let entry = this.cached.get(key);
    if (entry !== undefined) {
      this.dropReplacement(this.bucketOf(entry.id), entry);
      entry.lastSeen = now;
      entry.failures = 0;
      entry.address = contact.address;
      if (verified) entry.verified = true;
    } else {
      if (commonPrefixLength(id, this.localId) === this.bits) return;
      entry = { key, id: Uint8Array.from(id), address: contact.address, lastSeen: now, failures: 0, verified };
    }
    this.place(entry, now);
  }

  /** A query to this contact failed (timeout). After maxFailures consecutive failures it is removed and the best replacement promoted. */
  failed(id: Uint8Array): void {
    if (id.length !== this.localId.length) return;
    const key = idKey(id);
    const entry = this.members.get(key);
    if (entry !== undefined) {
      entry.failures++;
      if (entry.failures >= this.maxFailures) this.evict(entry);
      return;
    }
    const repl = this.cached.get(key);
    if (repl !== undefined) {
      repl.failures++;
      if (repl.failures >= this.maxFailures) this.dropReplacement(this.bucketOf(id), repl);
    }
  }

  /** Removes the id from the table (promoting the best replacement) or from its replacement cache. */
  remove(id: Uint8Array): void {
    if (id.length !== this.localId.length) return;
    const key = idKey(id);
    const entry = this.members.get(key);
    if (entry !== undefined) {
      this.evict(entry);
      return;
    }
    const repl = this.cached.get(key);
    if (repl !== undefined) this.dropReplacement(this.bucketOf(id), repl);
  }

  /** The table entry for this id (replacement caches are not searched). */
  get(id: Uint8Array): TableEntry<A> | undefined {
    if (id.length !== this.localId.length) return undefined;
    return this.members.get(idKey(id));
  }

  /**
   * Up to n entries closest to target (XOR), closest first. Entries with failures >= 1 are excluded
   * unless fewer than n healthy entries exist, in which case the closest failing ones fill up to n.
   * Throws `InvalidIdError` when the target's length differs from the local id's.
   */
  closest(target: Uint8Array, n: number = this.k): TableEntry<A>[] {
    if (n <= 0) return [];
    const last = this.table.length - 1;
    const c = Math.min(commonPrefixLength(target, this.localId), last);
    const healthy: Entry<A>[] = [];
    const failing: Entry<A>[] = [];
    const group: Entry<A>[] = [];
    const cmp = (a: Entry<A>, b: Entry<A>): number => compareDistance(target, a.id, b.id);
    // Buckets visited in strictly increasing distance from target: bucket c (cpl with target > c),
    // then every bucket above c (cpl with target exactly c), then c-1 down to 0.
    const flush = (): void => {
      group.sort(cmp);
      for (const e of group) (e.failures > 0 ? failing : healthy).push(e);
      group.length = 0;
    };
    if (c === last) {
      group.push(...this.table[last]!.entries);
      flush();
    } else {
      group.push(...this.table[c]!.entries);
      flush();
      for (let i = c + 1; i <= last && healthy.length < n; i++) group.push(...this.table[i]!.entries);
      flush();
    }
    for (let i = c - 1; i >= 0 && healthy.length < n; i--) {
      group.push(...this.table[i]!.entries);
      flush();
    }
    if (healthy.length >= n) return healthy.slice(0, n);
    return healthy.concat(failing.slice(0, n - healthy.length)).sort(cmp);
  }

  /** Every table entry (replacement caches not included), bucket by bucket. */
  all(): TableEntry<A>[] {
    const out: TableEntry<A>[] = [];
    for (const b of this.table) out.push(...b.entries);
    return out;
  }

  /** Buckets as (prefix length, entries, replacements, lastChanged) for status views. */
  buckets(): ReadonlyArray<{ index: number; entries: readonly TableEntry<A>[]; replacements: readonly TableEntry<A>[]; lastChanged: number }> {
    return this.table.map((b, index) => ({ index, entries: b.entries.slice(), replacements: b.replacements.slice(), lastChanged: b.lastChanged }));
  }

  /** For every bucket whose lastChanged is older than refreshIntervalMs: a random id inside that bucket's range (to be looked up). Marks those buckets as refreshed now. */
  staleBucketTargets(randomBytes: (n: number) => Uint8Array): Uint8Array[] {
    const now = this.deps.now();
    const out: Uint8Array[] = [];
    this.table.forEach((b, i) => {
      if (now - b.lastChanged >= this.refreshIntervalMs) {
        // cpl exactly i is inside bucket i's range, including the last bucket's (cpl >= i).
        out.push(randomIdWithPrefix(this.localId, i, randomBytes));
        b.lastChanged = now;
      }
    });
    return out;
  }

  private newBucket(): Bucket<A> {
    return { entries: [], replacements: [], lastChanged: this.deps.now(), pinging: false };
  }

  private indexOf(id: Uint8Array): number {
    return Math.min(commonPrefixLength(id, this.localId), this.table.length - 1);
  }

  private bucketOf(id: Uint8Array): Bucket<A> {
    return this.table[this.indexOf(id)]!;
  }

  /** Inserts a new (not member, not cached) entry following the policy described on `heard`. */
  private place(entry: Entry<A>, now: number): void {
    let split = false;
    for (;;) {
      const index = this.indexOf(entry.id);
      const b = this.table[index]!;
      if (b.entries.length < this.k) {
        this.addEntry(b, entry, now);
        break;
      }
      if (index === this.table.length - 1 && this.table.length < this.bits) {
        this.split(now);
        split = true;
        continue;
      }
      let worst: Entry<A> | undefined;
      for (const e of b.entries) {
        if (e.failures > 0 && (worst === undefined || e.failures > worst.failures || (e.failures === worst.failures && e.lastSeen < worst.lastSeen))) worst = e;
      }
      if (worst !== undefined) {
        this.detach(b, worst);
        this.addEntry(b, entry, now);
        break;
      }
      if (entry.verified) {
        const lru = this.leastRecentlySeen(b, true);
        if (lru !== undefined) {
          this.detach(b, lru);
          this.addEntry(b, entry, now);
          this.addReplacement(b, lru);
          break;
        }
      }
      this.addReplacement(b, entry);
      this.pingStale(b, now);
      break;
    }
    if (split) {
      for (const b of this.table.slice(-2)) this.fill(b, now);
    }
  }

  /** Splits the last bucket: ids with cpl exactly its index stay, the rest move to a new last bucket. */
  private split(now: number): void {
    const index = this.table.length - 1;
    const old = this.table[index]!;
    const nb = this.newBucket();
    nb.lastChanged = now;
    const deeper = (e: Entry<A>): boolean => commonPrefixLength(e.id, this.localId) > index;
    nb.entries = old.entries.filter(deeper);
    old.entries = old.entries.filter((e) => !deeper(e));
    nb.replacements = old.replacements.filter(deeper);
    old.replacements = old.replacements.filter((e) => !deeper(e));
    this.table.push(nb);
  }

  private addEntry(b: Bucket<A>, entry: Entry<A>, now: number): void {
    b.entries.push(entry);
    this.members.set(entry.key, entry);
    b.lastChanged = now;
  }

  /** Removes an entry from a bucket without promoting anyone. */
  private detach(b: Bucket<A>, entry: Entry<A>): void {
    const i = b.entries.indexOf(entry);
    if (i >= 0) b.entries.splice(i, 1);
    this.members.delete(entry.key);
  }

  /** Removes a table entry and promotes the best replacement into the freed slot. */
  private evict(entry: Entry<A>): void {
    const b = this.bucketOf(entry.id);
    this.detach(b, entry);
    this.fill(b, this.deps.now());
  }

  /** Moves the best replacements into free slots of the bucket. */
  private fill(b: Bucket<A>, now: number): void {
    while (b.entries.length < this.k && b.replacements.length > 0) {
      let best = b.replacements[0]!;
      for (const r of b.replacements) if (betterReplacement(r, best)) best = r;
      this.dropReplacement(b, best);
      this.addEntry(b, best, now);
    }
  }

  private addReplacement(b: Bucket<A>, entry: Entry<A>): void {
    if (this.replacementCacheSize === 0) return;
    b.replacements.push(entry);
    this.cached.set(entry.key, entry);
    if (b.replacements.length > this.replacementCacheSize) {
      let worst = b.replacements[0]!;
      for (const r of b.replacements) if (betterReplacement(worst, r)) worst = r;
      this.dropReplacement(b, worst);
    }
  }

  private dropReplacement(b: Bucket<A>, entry: Entry<A>): void {
    const i = b.replacements.indexOf(entry);
    if (i >= 0) b.replacements.splice(i, 1);
    this.cached.delete(entry.key);
  }

  private leastRecentlySeen(b: Bucket<A>, unverifiedOnly: boolean): Entry<A> | undefined {
    let lru: Entry<A> | undefined;
    for (const e of b.entries) {
      if (unverifiedOnly && e.verified) continue;
      if (lru === undefined || e.lastSeen < lru.lastSeen) lru = e;
    }
    return lru;
  }

  /** Pings the bucket's least-recently-seen entry when it is questionable, unless a ping is already in flight for the bucket. */
  private pingStale(b: Bucket<A>, now: number): void {
    if (b.pinging) return;
    const stale = this.leastRecentlySeen(b, false);
    if (stale === undefined || now - stale.lastSeen < this.questionableAfterMs) return;
    b.pinging = true;
    const startedAt = stale.lastSeen;
    // A rejected ping counts as "did not answer": the stale entry is evicted.
    this.deps.ping({ id: stale.id, address: stale.address }).then(
      (ok) => this.pingDone(b, stale, startedAt, ok),
      () => this.pingDone(b, stale, startedAt, false),
    );
  }

  private pingDone(b: Bucket<A>, stale: Entry<A>, startedAt: number, ok: boolean): void {
    b.pinging = false;
    if (this.members.get(stale.key) !== stale) return; // removed or replaced meanwhile
    const now = this.deps.now();
    if (ok) {
      stale.lastSeen = now;
      stale.failures = 0;
      stale.verified = true;
      this.bucketOf(stale.id).lastChanged = now;
    } else if (stale.lastSeen <= startedAt) {
      this.evict(stale); // not heard from since the ping was sent
    }
  }
}
