/**
 * Who we upload to (BEP 3 choking). A pure policy object: the torrent engine calls `decide` every
 * 10 s (and when peers connect or leave) with a snapshot of its peers, then sends `choke` to every
 * peer outside the returned set and `unchoke` to every peer in it. Randomness is injected.
 *
 * - Downloading: tit-for-tat. The `slots` interested peers we download fastest from (snubbed ones
 *   skipped) plus one optimistic unchoke, chosen at random among the other interested peers, new
 *   peers three times as likely, and rotated every third call (30 s).
 * - Seeding: upload slots are handed round: a peer keeps its slot for `turnRounds` calls, then
 *   yields to whoever has waited longest; ties go to the peer we upload to fastest, so every
 *   interested peer gets a turn.
 * - Never unchoked: peers that are not interested, and seeds (they want nothing from us).
 */

/** The engine's view of one peer at decision time. */
export interface ChokerPeer {
  /** Opaque peer key (the same one the engine uses with the picker). */
  key: string;
  /** The peer is interested in our pieces. */
  interested: boolean;
  /** Bytes/s we download from them. */
  downloadRate: number;
  /** Bytes/s we upload to them. */
  uploadRate: number;
  /** The peer has every piece. */
  isSeed: boolean;
  /** The peer has sent us nothing for a while though we asked. */
  snubbed: boolean;
  /** Connected recently (e.g. within the last 3 optimistic rotations): 3x as likely to be the optimistic unchoke. */
  isNew?: boolean;
}

/** The peers to unchoke (`optimistic` is included in `unchoke`). */
export interface ChokeDecision {
  unchoke: Set<string>;
  optimistic?: string;
}

/** Options of a `Choker`. */
export interface ChokerOptions {
  /** Regular upload slots (the optimistic unchoke comes on top). Default 4. */
  slots?: number;
  /** Uniform in [0, 1). */
  random: () => number;
  /** Calls between optimistic rotations. Default 3 (30 s at one call per 10 s). */
  optimisticEvery?: number;
  /** Seeding: calls a peer keeps its slot before yielding to waiting peers. Default 3. */
  turnRounds?: number;
}

/** The choking policy of one torrent; keeps the little state rotation needs. */
export class Choker {
  private readonly slots: number;
  private readonly random: () => number;
  private readonly optimisticEvery: number;
  private readonly turnRounds: number;
  private calls = 0;
  private optimistic: string | undefined;
  /** The previous decision. */
  private unchoked = new Set<string>();
  /** Consecutive calls each currently unchoked peer has been unchoked. */
  private readonly streak = new Map<string, number>();
  /** The call at which each peer was last unchoked. */
  private readonly lastTurn = new Map<string, number>();

  constructor(options: ChokerOptions) {
    this.slots = options.slots ?? 4;
    this.random = options.random;
    this.optimisticEvery = options.optimisticEvery ?? 3;
    this.turnRounds = options.turnRounds ?? 3;
  }

  /** Decides the unchoked set for this round; see the file comment for the policy. */
  decide(peers: readonly ChokerPeer[], seeding: boolean): ChokeDecision {
    this.calls++;
    const candidates = peers.filter((p) => p.interested && !p.isSeed);
    const decision = seeding ? this.seedingRound(candidates) : this.downloadingRound(candidates);
    this.remember(peers, decision.unchoke);
    return decision;
  }

  private downloadingRound(candidates: ChokerPeer[]): ChokeDecision {
    const tie = new Map(candidates.map((p) => [p.key, this.random()]));
    const regular = candidates
      .filter((p) => !p.snubbed)
      .sort(
        (a, b) =>
          b.downloadRate - a.downloadRate ||
          Number(this.unchoked.has(b.key)) - Number(this.unchoked.has(a.key)) ||
          tie.get(a.key)! - tie.get(b.key)!,
      )
      .slice(0, this.slots);
    const unchoke = new Set(regular.map((p) => p.key));
    const pool = candidates.filter((p) => !unchoke.has(p.key));
    const current = this.optimistic;
    const keep = current !== undefined && pool.some((p) => p.key === current);
    const rotate = (this.calls - 1) % this.optimisticEvery === 0;
    if (!keep || rotate) {
      const others = pool.filter((p) => p.key !== current);
      this.optimistic = this.weightedPick(others.length > 0 ? others : pool)?.key;
    }
    if (this.optimistic === undefined) return { unchoke };
    unchoke.add(this.optimistic);
    return { unchoke, optimistic: this.optimistic };
  }

  private seedingRound(candidates: ChokerPeer[]): ChokeDecision {
    this.optimistic = undefined;
    const byUpload = (a: ChokerPeer, b: ChokerPeer): number => b.uploadRate - a.uploadRate || (a.key < b.key ? -1 : 1);
    const keeping: ChokerPeer[] = [];
    const waiting: ChokerPeer[] = [];
    const expired: ChokerPeer[] = [];
    for (const p of candidates) {
      if (!this.unchoked.has(p.key)) waiting.push(p);
      else if ((this.streak.get(p.key) ?? 0) < this.turnRounds) keeping.push(p);
      else expired.push(p);
    }
    const waited = (p: ChokerPeer): number => this.lastTurn.get(p.key) ?? -1;
    keeping.sort(byUpload);
    waiting.sort((a, b) => waited(a) - waited(b) || byUpload(a, b));
    expired.sort(byUpload);
    const chosen = [...keeping, ...waiting, ...expired].slice(0, this.slots + 1);
    return { unchoke: new Set(chosen.map((p) => p.key)) };
  }

  /** A random peer, those flagged `isNew` three times as likely. */
  private weightedPick(pool: ChokerPeer[]): ChokerPeer | undefined {
    if (pool.length === 0) return undefined;
    const weight = (p: ChokerPeer): number => (p.isNew ? 3 : 1);
    let total = 0;
    for (const p of pool) total += weight(p);
    let r = this.random() * total;
    for (const p of pool) {
      r -= weight(p);
      if (r < 0) return p;
    }
    return pool[pool.length - 1];
  }

  /** Records streaks and turns for the next round; forgets peers that are gone. */
  private remember(peers: readonly ChokerPeer[], unchoke: Set<string>): void {
    const present = new Set(peers.map((p) => p.key));
    for (const key of unchoke) {
      this.streak.set(key, this.unchoked.has(key) ? (this.streak.get(key) ?? 0) + 1 : 1);
      this.lastTurn.set(key, this.calls);
    }
    for (const key of [...this.streak.keys()]) if (!unchoke.has(key)) this.streak.delete(key);
    for (const key of [...this.lastTurn.keys()]) if (!present.has(key)) this.lastTurn.delete(key);
    if (this.optimistic !== undefined && !present.has(this.optimistic)) this.optimistic = undefined;
    this.unchoked = unchoke;
  }
}
