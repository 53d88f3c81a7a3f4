import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RoutingTable, type Contact, type RoutingTableOptions } from '../../src/kademlia/routing-table.js';
import { commonPrefixLength, compareDistance, idEquals, idToHex, randomIdWithPrefix } from '../../src/kademlia/id.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

/** Seeded random bytes, so property tests are reproducible. */
function prng(seed: number): (n: number) => Uint8Array {
  const m = new Mulberry32(seed);
  return (n) => m.bytes(n);
}

/** BEP 5: an entry not heard from for 15 minutes is questionable (the default `questionableAfterMs`). */
const Q = 15 * 60_000;

/** Lets pending promise callbacks (ping outcomes) run; not a clock sleep. */
const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

interface PendingPing {
  contact: Contact<string>;
  resolve: (ok: boolean) => void;
}

/** A table on a fake clock whose pings are answered by the test. */
function harness(options: Omit<RoutingTableOptions, 'localId'> = {}, seed = 1) {
  const rnd = prng(seed);
  const clock = { now: 0 };
  const pings: PendingPing[] = [];
  const localId = rnd(20);
  const table = new RoutingTable<string>(
    {
      now: () => clock.now,
      ping: (contact) => new Promise<boolean>((resolve) => pings.push({ contact, resolve })),
    },
    { localId, ...options },
  );
  let n = 0;
  const contactWithCpl = (cpl: number): Contact<string> => ({ id: randomIdWithPrefix(localId, cpl, rnd), address: `10.0.0.${++n}:6881` });
  return { rnd, clock, pings, localId, table, contactWithCpl };
}

function has(table: RoutingTable<string>, c: Contact<string>): boolean {
  return table.get(c.id) !== undefined;
}

function inReplacements(table: RoutingTable<string>, c: Contact<string>): boolean {
  return table.buckets().some((b) => b.replacements.some((r) => idEquals(r.id, c.id)));
}

/** Fills the far bucket (cpl 0) with k contacts, one per ms, after forcing the first split. */
function fillFarBucket(h: ReturnType<typeof harness>, k = 8): Contact<string>[] {
  const far: Contact<string>[] = [];
  for (let i = 0; i < k; i++) {
    h.clock.now++;
    const c = h.contactWithCpl(0);
    h.table.heard(c);
    far.push(c);
  }
  // A near contact forces the single bucket to split so that bucket 0 no longer covers the local id.
  h.table.heard(h.contactWithCpl(5));
  assert.ok(h.table.buckets().length >= 2);
  assert.equal(h.table.buckets()[0]!.entries.length, k);
  return far;
}

describe('RoutingTable', () => {
  test('inserts, refreshes, never inserts the local id or ids of another width', () => {
    const h = harness();
    const c = h.contactWithCpl(3);
    h.clock.now = 10;
    h.table.heard(c);
    assert.equal(h.table.size, 1);
    const e = h.table.get(c.id)!;
    assert.deepEqual([e.lastSeen, e.failures, e.verified, e.address], [10, 0, false, c.address]);

    h.table.failed(c.id);
    assert.equal(h.table.get(c.id)!.failures, 1);
    h.clock.now = 20;
    h.table.heard({ id: c.id, address: '10.9.9.9:1' }, { verified: true });
    const e2 = h.table.get(c.id)!;
    assert.deepEqual([e2.lastSeen, e2.failures, e2.verified, e2.address], [20, 0, true, '10.9.9.9:1']);
    h.table.heard({ id: c.id, address: '10.9.9.9:1' });
    assert.equal(h.table.get(c.id)!.verified, true, 'verified is sticky');

    h.table.heard({ id: h.localId, address: 'self' });
    h.table.heard({ id: h.rnd(32), address: 'wide' });
    h.table.heard({ id: h.rnd(19), address: 'narrow' });
    assert.equal(h.table.size, 1);
    assert.equal(h.table.get(h.localId), undefined);

    h.table.remove(c.id);
    assert.equal(h.table.size, 0);
  });

  test('only the bucket covering the local id splits; every bucket holds at most k', () => {
    const h = harness();
    fillFarBucket(h);
    const before = h.table.buckets().length;
    for (let i = 0; i < 20; i++) h.table.heard(h.contactWithCpl(0));
    const buckets = h.table.buckets();
    assert.equal(buckets.length, before, 'far ids never cause a split');
    assert.equal(buckets[0]!.entries.length, 8);
    assert.equal(buckets[0]!.replacements.length, 8);
    for (let i = 0; i < 200; i++) h.table.heard(h.contactWithCpl(1 + (i % 40)));
    for (const b of h.table.buckets()) assert.ok(b.entries.length <= 8);
    assert.ok(h.table.buckets().length > 30, 'the own bucket split as near ids arrived');
  });

  test('ids in each bucket share exactly the bucket prefix with the local id', () => {
    const h = harness({}, 7);
    for (let i = 0; i < 5000; i++) h.table.heard({ id: h.rnd(20), address: `a${i}` });
    for (let i = 0; i < 300; i++) h.table.heard(h.contactWithCpl(8 + (i % 30)));
    const buckets = h.table.buckets();
    const last = buckets.length - 1;
    let total = 0;
    for (const b of buckets) {
      assert.ok(b.entries.length <= 8);
      assert.ok(b.replacements.length <= 8);
      total += b.entries.length;
      for (const e of [...b.entries, ...b.replacements]) {
        const cpl = commonPrefixLength(e.id, h.localId);
        if (b.index < last) assert.equal(cpl, b.index);
        else assert.ok(cpl >= b.index);
      }
    }
    assert.equal(total, h.table.size);
    assert.equal(h.table.all().length, h.table.size);
    // Far buckets are full: 5000 random ids give hundreds of candidates for bucket 0..4.
    for (let i = 0; i < 5; i++) assert.equal(buckets[i]!.entries.length, 8);
  });

  test('a full bucket of good entries is not pinged: the newcomer only waits in the replacement cache (BEP 5)', async () => {
    const h = harness();
    const far = fillFarBucket(h);
    // far[0] was heard at t = 1: still good until t = 1 + Q.
    for (const t of [100, Q]) {
      h.clock.now = t;
      const newcomer = h.contactWithCpl(0);
      h.table.heard(newcomer);
      assert.equal(h.pings.length, 0, `no ping at t = ${t}: every entry is good`);
      assert.ok(!has(h.table, newcomer) && inReplacements(h.table, newcomer));
    }
    assert.ok(far.every((c) => has(h.table, c)), 'nobody evicted');
    // Once far[0] is questionable, the next newcomer gets it (and only it) pinged.
    h.clock.now = 1 + Q;
    h.table.heard(h.contactWithCpl(0));
    assert.equal(h.pings.length, 1);
    assert.ok(idEquals(h.pings[0]!.contact.id, far[0]!.id));
    // An entry heard from again is good again: its ping answered, far[1] (t = 2) is next, but not before t = 2 + Q.
    h.pings[0]!.resolve(true);
    await flush();
    h.clock.now = 1 + Q;
    h.table.heard(h.contactWithCpl(0));
    assert.equal(h.pings.length, 1, 'far[1] is still good at t = 1 + Q');
    h.clock.now = 2 + Q;
    h.table.heard(h.contactWithCpl(0));
    assert.equal(h.pings.length, 2);
    assert.ok(idEquals(h.pings[1]!.contact.id, far[1]!.id));

    // questionableAfterMs is an option: 0 pings on every newcomer (the old, chatty behaviour).
    const eager = harness({ questionableAfterMs: 0 });
    fillFarBucket(eager);
    eager.table.heard(eager.contactWithCpl(0));
    assert.equal(eager.pings.length, 1);
  });

  test('a full bucket evicts a questionable entry only after a failed ping of it', async () => {
    const h = harness();
    const far = fillFarBucket(h);
    h.clock.now = Q + 100;
    const newcomer1 = h.contactWithCpl(0);
    h.table.heard(newcomer1);
    assert.equal(h.pings.length, 1);
    assert.ok(idEquals(h.pings[0]!.contact.id, far[0]!.id), 'pings the least recently seen');
    h.clock.now = Q + 101;
    const newcomer2 = h.contactWithCpl(0);
    h.table.heard(newcomer2);
    assert.equal(h.pings.length, 1, 'at most one ping in flight per bucket');
    assert.ok(has(h.table, far[0]!));
    assert.ok(!has(h.table, newcomer1) && !has(h.table, newcomer2));
    assert.ok(inReplacements(h.table, newcomer1) && inReplacements(h.table, newcomer2));

    h.clock.now = Q + 200;
    h.pings[0]!.resolve(false);
    await flush();
    assert.ok(!has(h.table, far[0]!), 'stale entry evicted');
    assert.ok(has(h.table, newcomer2), 'most recent replacement promoted');
    assert.ok(inReplacements(h.table, newcomer1));
    assert.equal(h.table.buckets()[0]!.entries.length, 8);

    // The bucket can ping again once the first ping is done.
    h.table.heard(h.contactWithCpl(0));
    assert.equal(h.pings.length, 2);
    assert.ok(idEquals(h.pings[1]!.contact.id, far[1]!.id));
  });

  test('a successful ping keeps the old entry and refreshes it', async () => {
    const h = harness();
    const far = fillFarBucket(h);
    h.clock.now = Q + 50;
    const newcomer = h.contactWithCpl(0);
    h.table.heard(newcomer);
    h.clock.now = Q + 60;
    h.pings[0]!.resolve(true);
    await flush();
    assert.ok(has(h.table, far[0]!));
    assert.equal(h.table.get(far[0]!.id)!.lastSeen, Q + 60);
    assert.ok(!has(h.table, newcomer));
    assert.ok(inReplacements(h.table, newcomer));
    // The next newcomer pings the new least-recently-seen entry.
    h.table.heard(h.contactWithCpl(0));
    assert.ok(idEquals(h.pings[1]!.contact.id, far[1]!.id));
  });

  test('a rejected ping counts as no answer; an entry heard from during the ping is kept', async () => {
    const h = harness();
    const far = fillFarBucket(h);
    h.clock.now = Q + 50;
    h.table.heard(h.contactWithCpl(0));
    h.clock.now = Q + 55;
    h.table.heard(far[0]!); // it spoke to us meanwhile
    h.pings[0]!.resolve(false);
    await flush();
    assert.ok(has(h.table, far[0]!));

    const h2 = harness({}, 3);
    const far2 = fillFarBucket(h2);
    const rejecting = new RoutingTable<string>(
      { now: () => 0, ping: () => Promise.reject(new Error('socket closed')) },
      { localId: h2.localId, k: 1, questionableAfterMs: 0 },
    );
    rejecting.heard(far2[0]!);
    rejecting.heard(h2.contactWithCpl(6)); // split
    rejecting.heard(far2[1]!); // bucket 0 full: far2[1] cached, far2[0] pinged
    await flush();
    assert.ok(!has(rejecting, far2[0]!));
    assert.ok(has(rejecting, far2[1]!));
  });

  test('failed(): after maxFailures the entry is replaced from the cache', () => {
    const h = harness({ maxFailures: 2 });
    const far = fillFarBucket(h);
    const r1 = h.contactWithCpl(0);
    const r2 = h.contactWithCpl(0);
    h.clock.now = 100;
    h.table.heard(r1, { verified: true });
    h.clock.now = 101;
    h.table.heard(r2);
    // r1 came in verified but all entries are unverified, so r1 displaced the LRS unverified entry.
    assert.ok(has(h.table, r1));
    assert.ok(!has(h.table, far[0]!) && inReplacements(h.table, far[0]!));
    assert.ok(inReplacements(h.table, r2));

    h.table.failed(far[3]!.id);
    assert.equal(h.table.get(far[3]!.id)!.failures, 1);
    assert.ok(has(h.table, far[3]!), 'one failure is not enough');
    h.table.failed(far[3]!.id);
    assert.ok(!has(h.table, far[3]!));
    // Best replacement: r2 (most recent; far[0] is older and neither is verified).
    assert.ok(has(h.table, r2));
    assert.equal(h.table.buckets()[0]!.entries.length, 8);
  });

  test('a newcomer replaces the worst failing entry at once, without a ping', () => {
    const h = harness();
    const far = fillFarBucket(h);
    h.table.failed(far[2]!.id);
    h.table.failed(far[5]!.id);
    h.table.failed(far[5]!.id);
    assert.ok(!has(h.table, far[5]!), 'two failures remove it (default maxFailures 2)');
    h.table.heard(h.contactWithCpl(0)); // fills the free slot
    const newcomer = h.contactWithCpl(0);
    h.table.heard(newcomer);
    assert.ok(has(h.table, newcomer));
    assert.ok(!has(h.table, far[2]!));
    assert.equal(h.pings.length, 0);
  });

  test('verified preference: replacement order and displacement of unverified entries', async () => {
    const h = harness();
    const far: Contact<string>[] = [];
    for (let i = 0; i < 8; i++) {
      h.clock.now++;
      const c = h.contactWithCpl(0);
      h.table.heard(c, { verified: true });
      far.push(c);
    }
    h.table.heard(h.contactWithCpl(4)); // split
    const verifiedOld = h.contactWithCpl(0);
    const unverifiedNew = h.contactWithCpl(0);
    h.clock.now = Q + 100;
    h.table.heard(verifiedOld, { verified: true });
    h.clock.now = Q + 110;
    h.table.heard(unverifiedNew);
    // All entries are verified: the verified newcomer cannot displace anyone and waits for the ping.
    assert.ok(!has(h.table, verifiedOld));
    assert.equal(h.pings.length, 1);
    h.pings[0]!.resolve(false);
    await flush();
    assert.ok(has(h.table, verifiedOld), 'verified replacement preferred over a more recent unverified one');
    assert.ok(inReplacements(h.table, unverifiedNew));
  });

  test('closest() matches brute force and skips failing entries unless needed', () => {
    const h = harness({}, 11);
    for (let i = 0; i < 3000; i++) h.table.heard({ id: h.rnd(20), address: `a${i}` });
    const all = h.table.all();
    for (let t = 0; t < 200; t++) {
      const target = t % 4 === 0 ? randomIdWithPrefix(h.localId, t % 40, h.rnd) : h.rnd(20);
      const expected = all.slice().sort((a, b) => compareDistance(target, a.id, b.id)).slice(0, 8);
      assert.deepEqual(h.table.closest(target).map((e) => idToHex(e.id)), expected.map((e) => idToHex(e.id)));
      assert.equal(h.table.closest(target, 20).length, 20);
    }
    assert.deepEqual(h.table.closest(h.localId).map((e) => idToHex(e.id)), all.slice().sort((a, b) => compareDistance(h.localId, a.id, b.id)).slice(0, 8).map((e) => idToHex(e.id)));

    const target = h.rnd(20);
    const top = h.table.closest(target, 3);
    h.table.failed(top[0]!.id);
    const after = h.table.closest(target, 3);
    assert.ok(!after.some((e) => idEquals(e.id, top[0]!.id)), 'failing entry skipped');
    assert.ok(idEquals(after[0]!.id, top[1]!.id));

    const small = harness({}, 12);
    const a = small.contactWithCpl(0);
    const b = small.contactWithCpl(1);
    small.table.heard(a);
    small.table.heard(b);
    small.table.failed(a.id);
    const res = small.table.closest(a.id, 8);
    assert.equal(res.length, 2, 'failing entries fill in when too few healthy ones exist');
    assert.ok(idEquals(res[0]!.id, a.id), 'still sorted by distance');
    assert.deepEqual(small.table.closest(a.id, 1).map((e) => e.address), [b.address]);
    assert.deepEqual(small.table.closest(a.id, 0), []);
  });

  test('staleBucketTargets: one target per stale bucket, inside its range, then fresh', () => {
    const h = harness({ refreshIntervalMs: 1000 }, 5);
    for (let i = 0; i < 500; i++) h.table.heard({ id: h.rnd(20), address: `a${i}` });
    assert.deepEqual(h.table.staleBucketTargets(h.rnd), []);
    h.clock.now = 999;
    assert.deepEqual(h.table.staleBucketTargets(h.rnd), []);
    h.clock.now = 1000;
    const buckets = h.table.buckets();
    const targets = h.table.staleBucketTargets(h.rnd);
    assert.equal(targets.length, buckets.length);
    targets.forEach((t, i) => assert.equal(commonPrefixLength(t, h.localId), i));
    assert.deepEqual(h.table.staleBucketTargets(h.rnd), [], 'marked refreshed');

    // A bucket that changed in the meantime is not stale.
    h.clock.now = 1500;
    const member = buckets[1]!.entries[0]!;
    h.table.heard(member);
    h.clock.now = 2000;
    const again = h.table.staleBucketTargets(h.rnd);
    assert.equal(again.length, buckets.length - 1);
    assert.ok(again.every((t) => commonPrefixLength(t, h.localId) !== 1));
  });
});
