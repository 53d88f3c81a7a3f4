import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Choker, type ChokerPeer } from '../../src/swarm/choker.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

function peer(key: string, fields: Partial<ChokerPeer> = {}): ChokerPeer {
  return { key, interested: true, downloadRate: 0, uploadRate: 0, isSeed: false, snubbed: false, ...fields };
}

function choker(seed = 1, slots?: number): Choker {
  const rng = new Mulberry32(seed);
  return new Choker({ random: () => rng.next(), ...(slots === undefined ? {} : { slots }) });
}

const sorted = (s: Set<string>): string[] => [...s].sort();

describe('Choker while downloading', () => {
  test('tit-for-tat: the 4 fastest uploaders to us, plus one optimistic among the rest', () => {
    const peers = [10, 50, 20, 90, 70, 30, 60].map((rate, i) => peer(`p${i}`, { downloadRate: rate * 1000 }));
    const d = choker().decide(peers, false);
    const regular = [...d.unchoke].filter((k) => k !== d.optimistic);
    assert.deepEqual(regular.sort(), ['p1', 'p3', 'p4', 'p6']);
    assert.ok(d.optimistic !== undefined && ['p0', 'p2', 'p5'].includes(d.optimistic));
    assert.equal(d.unchoke.size, 5);
  });

  test('not-interested peers, seeds and snubbed peers stay out of the regular slots', () => {
    const peers = [
      peer('fast-uninterested', { interested: false, downloadRate: 1e9 }),
      peer('seed', { isSeed: true, downloadRate: 1e9 }),
      peer('snubbed', { snubbed: true, downloadRate: 1e8 }),
      peer('a', { downloadRate: 10 }),
      peer('b', { downloadRate: 5 }),
    ];
    const c = choker();
    for (let round = 0; round < 12; round++) {
      const d = c.decide(peers, false);
      assert.ok(!d.unchoke.has('fast-uninterested'));
      assert.ok(!d.unchoke.has('seed'));
      assert.ok(d.unchoke.has('a') && d.unchoke.has('b'));
      if (d.unchoke.has('snubbed')) assert.equal(d.optimistic, 'snubbed', 'a snubbed peer only gets the optimistic slot');
    }
    assert.deepEqual(sorted(c.decide([peer('x', { interested: false })], false).unchoke), []);
  });

  test('the optimistic unchoke rotates every third call', () => {
    const peers = Array.from({ length: 10 }, (_, i) => peer(`p${i}`, { downloadRate: i < 4 ? 1000 : 0 }));
    const c = choker(5);
    const optimists: string[] = [];
    for (let call = 0; call < 12; call++) optimists.push(c.decide(peers, false).optimistic!);
    for (let g = 0; g < 4; g++) {
      const group = optimists.slice(g * 3, g * 3 + 3);
      assert.equal(new Set(group).size, 1, `stable within a 30 s period: ${group}`);
      assert.ok(!['p0', 'p1', 'p2', 'p3'].includes(group[0]!));
      if (g > 0) assert.notEqual(group[0], optimists[g * 3 - 1], 'changes at each rotation');
    }
  });

  test('an optimistic peer that leaves is replaced at once', () => {
    const c = choker(2, 1);
    const peers = [peer('fast', { downloadRate: 100 }), peer('x'), peer('y')];
    const first = c.decide(peers, false).optimistic!;
    const second = c.decide(
      peers.filter((p) => p.key !== first),
      false,
    );
    assert.ok(second.optimistic !== undefined && second.optimistic !== first);
  });

  test('new peers are about three times as likely to be the optimistic unchoke', () => {
    const peers = [...Array.from({ length: 5 }, (_, i) => peer(`old${i}`)), ...Array.from({ length: 5 }, (_, i) => peer(`new${i}`, { isNew: true }))];
    const c = choker(9, 0);
    let fresh = 0;
    let old = 0;
    for (let call = 0; call < 3000; call++) {
      const d = c.decide(peers, false);
      if (call % 3 !== 0) continue;
      if (d.optimistic!.startsWith('new')) fresh++;
      else old++;
    }
    const ratio = fresh / old;
    assert.ok(ratio > 2.2 && ratio < 4, `new/old ratio ${ratio.toFixed(2)}`);
  });
});

describe('Choker while seeding', () => {
  test('every interested peer gets a turn over the rounds; seeds and uninterested never', () => {
    const peers = [
      ...Array.from({ length: 12 }, (_, i) => peer(`p${i}`, { uploadRate: (12 - i) * 1000 })),
      peer('seed', { isSeed: true }),
      peer('idle', { interested: false, uploadRate: 1e9 }),
    ];
    const c = choker(3);
    const turns = new Map<string, number>();
    for (let round = 0; round < 9; round++) {
      const d = c.decide(peers, true);
      assert.ok(d.unchoke.size <= 5);
      assert.ok(!d.unchoke.has('seed') && !d.unchoke.has('idle'));
      for (const k of d.unchoke) turns.set(k, (turns.get(k) ?? 0) + 1);
    }
    assert.equal(turns.size, 12, `turns: ${JSON.stringify([...turns])}`);
    const counts = [...turns.values()];
    assert.ok(Math.max(...counts) - Math.min(...counts) <= 3, `fair shares: ${counts}`);
  });

  test('the first round of seeding goes to the peers we upload to fastest', () => {
    const peers = [5, 1, 9, 3, 7, 2, 8].map((r, i) => peer(`p${i}`, { uploadRate: r }));
    const d = choker().decide(peers, true);
    assert.deepEqual(sorted(d.unchoke), ['p0', 'p2', 'p3', 'p4', 'p6']);
    assert.equal(d.optimistic, undefined);
  });

  test('a peer keeps its slot for its turn when nobody waits', () => {
    const peers = [peer('a'), peer('b')];
    const c = choker();
    for (let round = 0; round < 6; round++) assert.deepEqual(sorted(c.decide(peers, true).unchoke), ['a', 'b']);
  });
});
