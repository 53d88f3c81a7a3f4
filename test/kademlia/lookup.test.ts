import { describe, test, before } from 'node:test';
import assert from 'node:assert/strict';
import type { Timer } from '../../src/runtime/interfaces.js';
import { iterativeLookup, type LookupDeps, type LookupReply, type LookupResult } from '../../src/kademlia/lookup.js';
import { RoutingTable, type Contact } from '../../src/kademlia/routing-table.js';
import { RttEstimator } from '../../src/kademlia/rtt-estimator.js';
import { commonPrefixLength, compareDistance, idToHex } from '../../src/kademlia/id.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

/** Seeded random bytes and integers, so simulations are reproducible. */
function prng(seed: number): { bytes: (n: number) => Uint8Array; int: (n: number) => number } {
  const m = new Mulberry32(seed);
  return { bytes: (n) => m.bytes(n), int: (n) => m.nextUint32() % n };
}

/** A virtual clock with a timer queue; time only moves when the test runs it. */
class FakeScheduler {
  now = 0;
  private seq = 0;
  private queue: { at: number; seq: number; fn: () => void; cancelled: boolean }[] = [];

  setTimer(ms: number, fn: () => void): Timer {
    const t = { at: this.now + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    let lo = 0;
    let hi = this.queue.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      const q = this.queue[mid]!;
      if (q.at < t.at || (q.at === t.at && q.seq < t.seq)) lo = mid + 1;
      else hi = mid;
    }
    this.queue.splice(lo, 0, t);
    return { cancel: () => void (t.cancelled = true) };
  }

  /** Fires timers in time order until `p` settles; between timers, pending promise callbacks run. */
  async runUntil<T>(p: Promise<T>): Promise<T> {
    let settled = false;
    let value: T | undefined;
    void p.then((v) => {
      settled = true;
      value = v;
    });
    for (;;) {
      await new Promise((r) => setImmediate(r));
      if (settled) return value as T;
      let t = this.queue.shift();
      while (t?.cancelled === true) t = this.queue.shift();
      if (t === undefined) throw new Error('deadlock: promise unsettled and no timers left');
      this.now = t.at;
      t.fn();
    }
  }

  /** Fires every remaining timer (late replies after a lookup ended). */
  async drain(): Promise<void> {
    await this.runUntil(new Promise<void>(() => undefined)).catch((e: unknown) => {
      assert.match(String(e), /deadlock/);
    });
  }
}

interface SimNode {
  contact: Contact<string>;
  table: RoutingTable<string>;
  rtt: number;
  dead: boolean;
}

const ID_BYTES = 20;
const HARD_TIMEOUT = 2000;

/**
 * `n` nodes whose tables are filled from global knowledge: each node hears the others in a random
 * order (a random rotation of one shuffled list). To keep the build fast, ids of a prefix length the
 * node has already heard 16 of (a full bucket plus a full replacement cache) are skipped.
 */
function buildNetwork(n: number, seed: number) {
  const rnd = prng(seed);
  const nodes: SimNode[] = [];
  for (let i = 0; i < n; i++) {
    const contact = { id: rnd.bytes(ID_BYTES), address: `10.${i >> 8}.${i & 0xff}.1:6881` };
    const table = new RoutingTable<string>({ now: () => 0, ping: () => Promise.resolve(true) }, { localId: contact.id });
    nodes.push({ contact, table, rtt: 20 + rnd.int(81), dead: false });
  }
  const order = nodes.map((_, i) => i);
  for (let i = order.length - 1; i > 0; i--) {
    const j = rnd.int(i + 1);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const perCpl = new Uint16Array(ID_BYTES * 8 + 1);
  for (const node of nodes) {
    perCpl.fill(0);
    const start = rnd.int(n);
    for (let j = 0; j < n; j++) {
      const other = nodes[order[(start + j) % n]!]!;
      const cpl = commonPrefixLength(node.contact.id, other.contact.id);
      if (perCpl[cpl]! >= 16) continue;
      perCpl[cpl]!++;
      node.table.heard(other.contact);
    }
  }
  return { nodes, byAddress: new Map(nodes.map((x) => [x.contact.address, x])), rnd };
}

type Net = ReturnType<typeof buildNetwork>;

function makeDeps(net: Net, sched: FakeScheduler, rtt: RttEstimator, log?: string[]): LookupDeps<string, never> {
  return {
    now: () => sched.now,
    setTimer: (ms, fn) => sched.setTimer(ms, fn),
    rtt,
    key: (c) => c.address,
    query: (contact, target) =>
      new Promise<LookupReply<string, never> | undefined>((resolve) => {
        log?.push(contact.address);
        const node = net.byAddress.get(contact.address);
        if (node === undefined || node.dead) {
          sched.setTimer(HARD_TIMEOUT, () => resolve(undefined));
          return;
        }
        sched.setTimer(node.rtt, () => resolve({ contacts: node.table.closest(target, 8) }));
      }),
  };
}

function trueClosest(net: Net, target: Uint8Array, k = 8): string[] {
  return net.nodes
    .filter((x) => !x.dead)
    .map((x) => x.contact)
    .sort((a, b) => compareDistance(target, a.id, b.id))
    .slice(0, k)
    .map((c) => idToHex(c.id));
}

const resultIds = (r: LookupResult<string, unknown>): string[] => r.closest.map((c) => idToHex(c.contact.id));

describe('iterativeLookup on a 2,000-node in-memory network', () => {
  let net: Net;
  before(() => {
    net = buildNetwork(2000, 99);
  });

  async function successRate(lookups: number, rtt: RttEstimator, staleSeeds = false, log?: string[]): Promise<{ rate: number; results: LookupResult<string, never>[] }> {
    const sched = new FakeScheduler();
    let ok = 0;
    const results: LookupResult<string, never>[] = [];
    for (let i = 0; i < lookups; i++) {
      let initiator = net.nodes[net.rnd.int(net.nodes.length)]!;
      while (initiator.dead) initiator = net.nodes[net.rnd.int(net.nodes.length)]!;
      const target = net.rnd.bytes(ID_BYTES);
      // A stale view: the closest entries of the table regardless of recorded failures.
      const seeds = staleSeeds
        ? initiator.table.all().sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8)
        : initiator.table.closest(target, 8);
      const r = await sched.runUntil(iterativeLookup(makeDeps(net, sched, rtt, log), target, seeds));
      results.push(r);
      if (resultIds(r).join() === trueClosest(net, target).join()) ok++;
    }
    return { rate: ok / lookups, results };
  }

  test('finds the true 8 closest in >= 99% of lookups', async () => {
    const { rate, results } = await successRate(200, new RttEstimator());
    assert.ok(rate >= 0.99, `success rate ${rate}`);
    for (const r of results) {
      assert.equal(r.aborted, false);
      assert.equal(r.closest.length, 8);
      assert.ok(r.hops >= 1 && r.hops < 10);
      assert.ok(r.queried <= 200 && r.responded + r.failed <= r.queried);
    }
  });

  test('with 20% dead nodes still finds the 8 closest live nodes', async () => {
    // Live nodes have seen each dead entry time out once (so their replies rank them last), but the
    // initiators seed from a stale view that still holds dead nodes.
    const dead = new DeadSet(net, 0.2, 5);
    try {
      const log: string[] = [];
      const { rate, results } = await successRate(200, new RttEstimator(), true, log);
      assert.ok(rate >= 0.99, `success rate ${rate}`);
      const deadQueries = log.filter((a) => net.byAddress.get(a)!.dead).length;
      assert.ok(deadQueries > 100, `dead nodes were queried (${deadQueries} times)`);
      // Dead nodes answer only after the 2 s hard timeout, yet most lookups ended without waiting for them.
      assert.ok(results.filter((r) => r.failed === 0).length > 150);
    } finally {
      dead.revive();
    }
  });

  test('does not wait for a node 10x slower than the rest', async () => {
    const rtt = new RttEstimator();
    await successRate(20, rtt); // warm the global RTT estimate (all RTTs are 20..100 ms)
    const sched = new FakeScheduler();
    const rnd = prng(17);
    for (let attempt = 0; ; attempt++) {
      assert.ok(attempt < 100, 'no suitable setup found');
      const initiator = net.nodes[rnd.int(net.nodes.length)]!;
      const target = rnd.bytes(ID_BYTES);
      const seeds = initiator.table.closest(target, 8);
      const slow = net.byAddress.get(seeds[0]!.address)!;
      const expected = trueClosest(net, target);
      if (expected.includes(idToHex(slow.contact.id)) || rtt.softTimeout(slow.contact.address) > 500) continue;
      const savedRtt = slow.rtt;
      slow.rtt = 1000; // 10x the slowest other node
      try {
        const log: string[] = [];
        const start = sched.now;
        const r = await sched.runUntil(iterativeLookup(makeDeps(net, sched, rtt, log), target, seeds));
        const elapsed = sched.now - start;
        assert.equal(log[0], slow.contact.address, 'the slow node was asked first');
        assert.ok(elapsed < 1000, `lookup took ${elapsed} ms of virtual time`);
        assert.deepEqual(resultIds(r), expected);
        const before = rtt.softTimeout(slow.contact.address);
        await sched.drain();
        assert.ok(rtt.softTimeout(slow.contact.address) > before, 'the late reply still fed the RTT estimate');
      } finally {
        slow.rtt = savedRtt;
      }
      return;
    }
  });

  test('abort resolves at once with aborted: true', async () => {
    const sched = new FakeScheduler();
    const ctrl = new AbortController();
    const target = net.rnd.bytes(ID_BYTES);
    const far = net.nodes.map((x) => x.contact).sort((a, b) => compareDistance(target, b.id, a.id)).slice(0, 8);
    sched.setTimer(50, () => ctrl.abort());
    const r = await sched.runUntil(iterativeLookup(makeDeps(net, sched, new RttEstimator()), target, far, { signal: ctrl.signal }));
    assert.equal(r.aborted, true);
    assert.equal(sched.now, 50);
    assert.ok(r.queried >= 3 && r.responded < r.queried);

    const pre = new AbortController();
    pre.abort();
    let calls = 0;
    const deps = makeDeps(net, sched, new RttEstimator());
    const counting = { ...deps, query: (c: Contact<string>, t: Uint8Array) => (calls++, deps.query(c, t)) };
    const r2 = await sched.runUntil(iterativeLookup(counting, target, far, { signal: pre.signal }));
    assert.deepEqual([r2.aborted, r2.queried, calls, r2.closest.length], [true, 0, 0, 0]);
  });

  test('maxQueries bounds the number of queries sent', async () => {
    const sched = new FakeScheduler();
    for (const maxQueries of [0, 1, 5, 12]) {
      const log: string[] = [];
      const target = net.rnd.bytes(ID_BYTES);
      const far = net.nodes.map((x) => x.contact).sort((a, b) => compareDistance(target, b.id, a.id)).slice(0, 8);
      const r = await sched.runUntil(iterativeLookup(makeDeps(net, sched, new RttEstimator(), log), target, far, { maxQueries }));
      assert.equal(r.queried, maxQueries);
      assert.equal(log.length, maxQueries);
      assert.equal(r.aborted, false);
    }
  });
});

/** Marks a deterministic fraction of the network dead (and known as failing once by live tables) until `revive()`. */
class DeadSet {
  private readonly killed: SimNode[] = [];
  constructor(private readonly net: Net, fraction: number, seed: number) {
    const rnd = prng(seed);
    for (const node of net.nodes) {
      if (rnd.int(1000) < fraction * 1000) {
        node.dead = true;
        this.killed.push(node);
      }
    }
    assert.ok(this.killed.length > 300);
    for (const node of net.nodes) {
      if (node.dead) continue;
      for (const d of this.killed) if (node.table.get(d.contact.id) !== undefined) node.table.failed(d.contact.id);
    }
  }
  revive(): void {
    for (const node of this.killed) node.dead = false;
    for (const node of this.net.nodes) {
      for (const d of this.killed) if (node.table.get(d.contact.id) !== undefined) node.table.heard(d.contact);
    }
  }
}

/** A hand-made network of 1-byte ids: `links` says whom each node returns, `rtts` how long it takes. */
function tinyNet(links: Record<number, number[]>, rtts: Record<number, number>) {
  const sched = new FakeScheduler();
  const contact = (id: number): Contact<string> => ({ id: Uint8Array.of(id), address: `n${id}` });
  const log: number[] = [];
  const deps: LookupDeps<string, string> = {
    now: () => sched.now,
    setTimer: (ms, fn) => sched.setTimer(ms, fn),
    rtt: new RttEstimator({ initialMs: 100, minTimeoutMs: 50 }),
    key: (c) => c.address,
    query: (c) =>
      new Promise((resolve) => {
        const id = c.id[0]!;
        log.push(id);
        sched.setTimer(rtts[id] ?? 100, () => resolve(links[id] === undefined ? undefined : { contacts: links[id]!.map(contact), value: `from ${id}` }));
      }),
  };
  return { sched, contact, log, deps };
}

describe('iterativeLookup details', () => {
  test("a slow node's late reply is still used when it arrives before the end", async () => {
    // Target 0x00. 0x08 is slow (300 ms) and alone knows 0x01; a chain of fast nodes (30 ms each,
    // 0x80 -> 0x7c -> ... -> 0x0c) keeps the lookup busy well past 300 ms.
    const links: Record<number, number[]> = { 0x08: [0x01], 0x01: [], 0x0c: [] };
    const rtts: Record<number, number> = { 0x08: 300, 0x01: 30 };
    for (let id = 0x80; id > 0x0c; id -= 4) {
      links[id] = [id - 4];
      rtts[id] = rtts[id - 4] = 30;
    }
    const { sched, contact, deps, log } = tinyNet(links, rtts);
    const replies: string[] = [];
    const r = await sched.runUntil(
      iterativeLookup(deps, Uint8Array.of(0), [contact(0x80), contact(0x08)], { k: 2, alpha: 1, onReply: (_c, rep) => replies.push(rep.value!) }),
    );
    // 0x08 is one of the k = 2 closest, so it is asked once more; the retry holds no slot.
    assert.deepEqual(log.slice(0, 3), [0x08, 0x08, 0x80], 'the slow node was retried and lost its slot to the next candidate');
    assert.ok(sched.now > 300 && sched.now < 29 * 30, `ended at ${sched.now}: after the late reply, before the chain's end`);
    assert.deepEqual(r.closest.map((c) => c.contact.id[0]), [0x01, 0x08]);
    assert.equal(r.closest[1]!.reply.value, 'from 8');
    assert.equal(r.hops, 2);
    assert.ok(replies.includes('from 8') && replies.includes('from 1'));
    assert.equal(r.responded, replies.length);
    assert.equal(log.includes(0x0c), false, 'the chain was abandoned once the lookup converged');
  });

  test('dedupes by key and by id, ignores wrong-length ids, counts failures and rejections', async () => {
    const { sched, contact, deps, log } = tinyNet({ 0x80: [0x10, 0x20], 0x10: [], 0x20: [] }, { 0x10: 10, 0x20: 10, 0x40: 10 });
    const base = deps.query;
    deps.query = (c, t) => {
      if (c.id[0] === 0x80) {
        log.push(0x80);
        return Promise.resolve({
          contacts: [
            contact(0x10),
            { id: Uint8Array.of(0x10), address: 'other-address' }, // same id, new address
            contact(0x20),
            { id: Uint8Array.of(0x11), address: 'n32' }, // same address as 0x20, new id
            { id: Uint8Array.of(0x05, 0x00), address: 'wide' },
            contact(0x40), // dead: resolves undefined
            contact(0x41), // throws
          ],
        });
      }
      if (c.id[0] === 0x41) throw new Error('send failed');
      return base(c, t);
    };
    const r = await sched.runUntil(iterativeLookup(deps, Uint8Array.of(0), [contact(0x80), contact(0x80)], { k: 8 }));
    assert.deepEqual(log.slice().sort((a, b) => a - b), [0x10, 0x20, 0x40, 0x80], '0x41 threw before logging; 0x11 never asked');
    assert.deepEqual(r.closest.map((c) => c.contact.id[0]), [0x10, 0x20, 0x80]);
    assert.equal(r.queried, 5);
    assert.equal(r.failed, 2);
    assert.equal(r.responded, 3);
  });

  test('no seeds: resolves at once with nothing', async () => {
    const { sched, deps } = tinyNet({}, {});
    const r = await sched.runUntil(iterativeLookup(deps, Uint8Array.of(0), []));
    assert.deepEqual(r, { closest: [], queried: 0, responded: 0, failed: 0, hops: 0, aborted: false });
  });
});

describe('iterativeLookup: retry, final round, first round, RTT samples', () => {
  /** Nodes answer in 30 ms unless `rtts` says otherwise (soft timeouts start at 100 ms); the first `drops[id]` queries to node id are lost (they fail after a 2 s hard timeout). */
  function lossy(links: Record<number, number[]>, rtts: Record<number, number>, drops: Record<number, number>) {
    const net = tinyNet(links, { ...Object.fromEntries(Object.keys(links).map((id) => [id, 30])), ...rtts });
    const base = net.deps.query;
    const sentAt: { id: number; at: number }[] = [];
    net.deps.query = (c, t) => {
      const id = c.id[0]!;
      sentAt.push({ id, at: net.sched.now });
      if ((drops[id] ?? 0) > 0) {
        drops[id]!--;
        net.log.push(id);
        return new Promise((resolve) => net.sched.setTimer(HARD_TIMEOUT, () => resolve(undefined)));
      }
      return base(c, t);
    };
    return { ...net, sentAt };
  }

  test('a lost query to one of the k closest is sent once more, and the node is in the result', async () => {
    // Target 0x00; 0x02 is the closest node and its first query is lost.
    const links = { 0x40: [0x02, 0x10, 0x20], 0x02: [], 0x10: [], 0x20: [] };
    const withRetry = lossy(links, {}, { 0x02: 1 });
    const r = await withRetry.sched.runUntil(iterativeLookup(withRetry.deps, Uint8Array.of(0), [withRetry.contact(0x40)], { k: 3 }));
    assert.deepEqual(r.closest.map((c) => c.contact.id[0]), [0x02, 0x10, 0x20]);
    assert.equal(withRetry.log.filter((id) => id === 0x02).length, 2, 'asked twice');
    assert.ok(withRetry.sched.now < HARD_TIMEOUT, `ended at ${withRetry.sched.now}, without waiting for the hard timeout`);
    assert.deepEqual([r.queried, r.responded, r.failed], [5, 4, 0]);

    // The same loss without retries (maxAttempts 1) costs the closest node.
    const noRetry = lossy(links, {}, { 0x02: 1 });
    const r1 = await noRetry.sched.runUntil(iterativeLookup(noRetry.deps, Uint8Array.of(0), [noRetry.contact(0x40)], { k: 3, maxAttempts: 1 }));
    assert.deepEqual(r1.closest.map((c) => c.contact.id[0]), [0x10, 0x20, 0x40]);

    // A node that never answers is asked twice, then left behind; it ends up failed, not in the result.
    const dead = lossy(links, {}, { 0x02: 2 });
    const r2 = await dead.sched.runUntil(iterativeLookup(dead.deps, Uint8Array.of(0), [dead.contact(0x40)], { k: 3 }));
    assert.deepEqual(r2.closest.map((c) => c.contact.id[0]), [0x10, 0x20, 0x40]);
    assert.equal(dead.log.filter((id) => id === 0x02).length, 2, 'at most one retry');
    assert.ok(dead.sched.now < HARD_TIMEOUT, 'its hard timeouts are not awaited');
  });

  test('no retry for a slow node outside the k closest; a retry holds no slot', async () => {
    // k = 2, alpha = 1. 0x60 (the closest seed) is asked first and is slow (1000 ms); at its soft
    // timeout it is still one of the 2 closest, so it is retried. The retry does not keep the single
    // slot: 0x70 is asked at once, and its reply (0x01, 0x02) lets the lookup converge without 0x60.
    const links = { 0x70: [0x01, 0x02], 0x60: [0x01, 0x02], 0x01: [], 0x02: [] };
    const net = lossy(links, { 0x60: 1000 }, {});
    const r = await net.sched.runUntil(iterativeLookup(net.deps, Uint8Array.of(0), [net.contact(0x70), net.contact(0x60)], { k: 2, alpha: 1 }));
    const slow = net.sentAt.filter((s) => s.id === 0x60).map((s) => s.at);
    assert.equal(slow.length, 2, '0x60, one of the 2 closest at its soft timeout, was retried');
    const soft = slow[1]!;
    assert.ok(soft > 0 && soft < 1000);
    assert.deepEqual(net.sentAt.find((s) => s.id === 0x70)?.at, soft, 'the retry did not keep the slot: 0x70 was asked at once');
    assert.deepEqual(r.closest.map((c) => c.contact.id[0]), [0x01, 0x02]);
    assert.ok(net.sched.now < 1000, `converged at ${net.sched.now} without waiting for 0x60, no longer among the 2 closest`);

    // 0x70 is slow (1000 ms); by its soft timeout (100 ms) 0x60 has returned 0x01 and 0x02, so 0x70
    // is no longer among the k = 2 closest live candidates: it is not retried.
    const far = lossy({ 0x60: [0x01, 0x02], 0x01: [], 0x02: [] }, { 0x70: 1000, 0x01: 150 }, {});
    const r2 = await far.sched.runUntil(iterativeLookup(far.deps, Uint8Array.of(0), [far.contact(0x70), far.contact(0x60)], { k: 2, alpha: 2 }));
    assert.equal(far.sentAt.filter((s) => s.id === 0x70).length, 1, 'not among the k closest at its soft timeout: never retried');
    assert.deepEqual(r2.closest.map((c) => c.contact.id[0]), [0x01, 0x02]);
    assert.equal(far.sched.now, 180);
  });

  test('final round: once the closest candidate answered, the rest of the k closest are asked at once', async () => {
    // Target 0x00, k = 8, alpha = 2. Seeds 0x01..0x08 all answer in 100 ms with nothing new.
    const seeds = [1, 2, 3, 4, 5, 6, 7, 8];
    const links = Object.fromEntries(seeds.map((id) => [id, [] as number[]]));
    const net = lossy(links, {}, {});
    const r = await net.sched.runUntil(iterativeLookup(net.deps, Uint8Array.of(0), seeds.map(net.contact), { k: 8, alpha: 2 }));
    assert.deepEqual(r.closest.map((c) => c.contact.id[0]), seeds);
    // t = 0: the 2 closest; t = 30: 0x01 answered with nothing closer, so the 6 others go at once.
    assert.deepEqual(net.sentAt.map((s) => s.at), [0, 0, 30, 30, 30, 30, 30, 30]);
    assert.equal(net.sched.now, 60, 'two round trips instead of four');

    // While closer nodes keep turning up, at most alpha are in flight.
    const chain: Record<number, number[]> = { 0x80: [0x40], 0x40: [0x20], 0x20: [0x10], 0x10: [] };
    const c = lossy(chain, {}, {});
    await c.sched.runUntil(iterativeLookup(c.deps, Uint8Array.of(0), [c.contact(0x80)], { k: 8, alpha: 2 }));
    assert.deepEqual(c.sentAt.map((s) => [s.id, s.at]), [[0x80, 0], [0x40, 30], [0x20, 60], [0x10, 90]]);
  });

  test('firstRound: a wider first round, then alpha', async () => {
    const ids = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
    const links = Object.fromEntries(ids.map((id) => [id, [] as number[]]));
    const net = lossy(links, Object.fromEntries(ids.map((id) => [id, 30 + id])), {});
    await net.sched.runUntil(iterativeLookup(net.deps, Uint8Array.of(0), ids.map(net.contact), { k: 8, alpha: 2, firstRound: 6 }));
    assert.deepEqual(net.sentAt.filter((s) => s.at === 0).map((s) => s.id), [1, 2, 3, 4, 5, 6]);
    // 0x01 (the closest) answers first, with nothing closer: the final round asks 0x07 and 0x08.
    assert.deepEqual(net.sentAt.filter((s) => s.at > 0).map((s) => s.id), [7, 8]);
    assert.equal(net.sentAt.length, 8, '0x09 and 0x0a are not among the 8 closest: never asked');

    // The first reply ends the first round: its slow queries keep no slot, so alpha new ones go out at once.
    const slowSeeds = [0x10, 0x11, 0x12, 0x13, 0x14, 0x15];
    const wide = lossy({ 0x10: [0x01, 0x02, 0x03], 0x01: [], 0x02: [], 0x03: [] }, Object.fromEntries(slowSeeds.slice(1).map((id) => [id, 90])), {});
    await wide.sched.runUntil(iterativeLookup(wide.deps, Uint8Array.of(0), slowSeeds.map(wide.contact), { k: 8, alpha: 2, firstRound: 6 }));
    assert.deepEqual(wide.sentAt.slice(0, 8).map((s) => [s.id, s.at]), [
      ...slowSeeds.map((id) => [id, 0]),
      [0x01, 30],
      [0x02, 30],
    ]);
    assert.deepEqual(wide.sentAt[8], { id: 0x03, at: 60 });
    assert.equal(wide.sched.now, 90);
  });

  test('each reply gives one RTT sample: the transport measure when given, else the lookup own', async () => {
    const samples: [string, number][] = [];
    class Spy extends RttEstimator {
      override sample(key: string, ms: number): void {
        samples.push([key, ms]);
        super.sample(key, ms);
      }
    }
    const net = tinyNet({ 0x10: [], 0x20: [] }, { 0x10: 40, 0x20: 60 });
    net.deps.rtt = new Spy();
    const base = net.deps.query;
    net.deps.query = async (c, t) => {
      const reply = await base(c, t);
      return reply && c.id[0] === 0x20 ? { ...reply, rttMs: 57 } : reply;
    };
    await net.sched.runUntil(iterativeLookup(net.deps, Uint8Array.of(0), [net.contact(0x10), net.contact(0x20)]));
    assert.deepEqual(samples, [['n16', 40], ['n32', 57]]);
  });
});
