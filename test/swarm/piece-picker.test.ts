import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_SIZE, PiecePicker, type Block } from '../../src/swarm/piece-picker.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { availabilityOf, bitfieldOf, deliver, havesOf, names, pickerFrom, piecesOf } from './picker-notation.js';

describe('PiecePicker availability', () => {
  test('the notation counts bitfields, haves and have-all peers', () => {
    const p = pickerFrom({ have: '1100....', peers: { a: '11111111', b: '00111100', s: '*' } });
    assert.equal(availabilityOf(p), '22333322');
    assert.equal(havesOf(p), '11......');
    assert.equal(p.haveCount, 2);
    p.peerHave('b', 7);
    assert.equal(availabilityOf(p), '22333323');
    p.peerHave('b', 7); // repeated have counts once
    assert.equal(p.availability(7), 3);
    assert.equal(p.check(), undefined);
  });

  test('have-all is counted in O(1) and removed on peerGone', () => {
    const p = pickerFrom({ peers: { a: '1000', s: '*', t: '*' } });
    assert.equal(availabilityOf(p), '3222');
    p.peerGone('s');
    assert.equal(availabilityOf(p), '2111');
    p.peerGone('t');
    p.peerGone('a');
    assert.equal(availabilityOf(p), '0000');
  });

  test('a peer that collects every piece by have messages becomes a seed', () => {
    const p = pickerFrom({ peers: { a: '1100', b: '0100' } });
    p.peerHave('a', 2);
    p.peerHave('a', 3);
    assert.equal(availabilityOf(p), '1211');
    p.peerHave('a', 3);
    assert.equal(availabilityOf(p), '1211');
    p.peerGone('a');
    assert.equal(availabilityOf(p), '0100');
    assert.equal(p.check(), undefined);
  });

  test('bitfield: spare bits ignored, wrong length and out-of-range indices rejected', () => {
    const p = pickerFrom({ have: '..........' });
    p.peerBitfield('a', Uint8Array.of(0b10000000, 0b01111111)); // piece 9 plus 6 spare bits
    assert.equal(availabilityOf(p), '1........1'.replace(/\./g, '0'));
    assert.throws(() => p.peerBitfield('a', new Uint8Array(1)), RangeError);
    assert.throws(() => p.peerHave('a', 10), RangeError);
    assert.throws(() => p.peerHave('a', -1), RangeError);
    // a full bitfield is a seed
    p.peerBitfield('b', Uint8Array.of(0xff, 0xc0));
    assert.equal(availabilityOf(p), '2111111112');
    // a second bitfield replaces the first
    p.peerBitfield('a', bitfieldOf('0100000000'));
    assert.equal(availabilityOf(p), '1211111111');
    assert.equal(p.check(), undefined);
  });

  test('interest follows what the peer has that we lack', () => {
    const p = pickerFrom({ have: '1100', peers: { a: '1100', b: '0110', s: '*' } });
    assert.equal(p.peerHasAnythingWeNeed('a'), false);
    assert.equal(p.peerHasAnythingWeNeed('b'), true);
    assert.equal(p.peerHasAnythingWeNeed('s'), true);
    assert.equal(p.peerHasAnythingWeNeed('nobody'), false);
    p.setHave(2);
    assert.equal(p.peerHasAnythingWeNeed('b'), false);
    p.peerHave('a', 3);
    assert.equal(p.peerHasAnythingWeNeed('a'), true);
    p.setHave(3);
    assert.equal(p.peerHasAnythingWeNeed('a'), false);
    assert.equal(p.peerHasAnythingWeNeed('s'), false, 'nothing left to want');
    assert.equal(p.complete, true);
  });
});

describe('PiecePicker picking', () => {
  test('rarest first: the piece only one peer has comes before common ones', () => {
    const p = pickerFrom({ have: '........', peers: { a: '11111111', b: '11101111', c: '11101111' } });
    assert.deepEqual(piecesOf(p.pick('a', 4)), [3]);
    const p2 = pickerFrom({ peers: { a: '11111111', b: '01111111', c: '00111111', d: '00011111' } });
    const order: number[] = [];
    for (let k = 0; k < 3; k++) {
      const blocks = p2.pick('a', 4);
      order.push(...piecesOf(blocks));
      deliver(p2, 'a', blocks);
    }
    assert.deepEqual(order, [0, 1, 2]);
  });

  test('rarest first breaks ties randomly (different seeds, different first pieces)', () => {
    const firsts = new Set<number>();
    for (let seed = 1; seed <= 20; seed++) {
      const p = pickerFrom({ seed, peers: { a: '11111111', b: '11110111' } });
      const piece = piecesOf(p.pick('a', 4))[0];
      assert.equal(piece, 4, 'the rarest still wins whatever the seed');
      p.peerHave('b', 4);
      firsts.add(piecesOf(p.pick('a', 4))[0]!);
    }
    assert.ok(firsts.size >= 4, `ties broken in ${firsts.size} ways`);
  });

  test('random first pieces: order varies across seeds, then rarest first takes over', () => {
    const orders = new Set<string>();
    for (let seed = 1; seed <= 8; seed++) {
      const p = pickerFrom({ seed, randomFirstPieces: 4, peers: { a: '1111111111111111', b: '0111111111111111' } });
      const got: number[] = [];
      for (let k = 0; k < 4; k++) {
        const blocks = p.pick('a', 4);
        got.push(...piecesOf(blocks));
        deliver(p, 'a', blocks);
      }
      orders.add(got.join(','));
      assert.equal(p.haveCount, 4);
      // now rarest first: piece 0 (only peer a) unless the random phase already took it
      const next = piecesOf(p.pick('a', 4))[0];
      if (!got.includes(0)) assert.equal(next, 0);
    }
    assert.ok(orders.size >= 6, `only ${orders.size} distinct random-first orders over 8 seeds`);
  });

  test('partial pieces are finished first', () => {
    const p = pickerFrom({ have: '........', peers: { a: '*', b: '*' } });
    const first = p.pick('a', 2);
    assert.equal(first.length, 2);
    const [piece] = piecesOf(first);
    const second = p.pick('b', 3);
    assert.deepEqual(names(second).slice(0, 2), [`${piece}:2`, `${piece}:3`]);
    assert.notEqual(second[2]!.index, piece);
  });

  test('sequential mode picks strictly in index order, skipping what we have or the peer lacks', () => {
    const p = pickerFrom({ have: '1.1.....', peers: { a: '11101111', b: '11111111' } });
    assert.deepEqual(piecesOf(p.pick('a', 12, { sequential: true })), [1, 4, 5]);
    assert.deepEqual(piecesOf(p.pick('b', 8, { sequential: true })), [3, 6], 'pieces a is fetching are skipped');
  });

  test('onlyFrom (allowed fast) restricts the pieces', () => {
    const p = pickerFrom({ peers: { a: '11111111' } });
    const blocks = p.pick('a', 100, { onlyFrom: new Set([2, 6, 9]) });
    assert.deepEqual(piecesOf(blocks).sort(), [2, 6]);
    assert.equal(blocks.length, 8);
  });

  test('noNewPieces: only the rest of pieces already begun, in rarest-first and sequential order alike', () => {
    for (const sequential of [false, true]) {
      const p = pickerFrom({ peers: { a: '11111111', b: '11111111' } });
      const begun = piecesOf(p.pick('a', 6, { sequential })); // four blocks a piece: one whole piece and half of another
      assert.equal(begun.length, 2);
      const b = p.pick('b', 100, { sequential, noNewPieces: true });
      assert.deepEqual(piecesOf(b), [begun[1]], 'only the half piece a has not asked all of');
      assert.equal(b.length, 2);
      assert.deepEqual(p.pick('b', 100, { sequential, noNewPieces: true }), [], 'nothing left of begun pieces');
      assert.ok(p.pick('b', 100, { sequential }).length > 0, 'without the option, new pieces are begun');
    }
  });

  test('a block already requested is not handed out again outside endgame, and requestFailed frees it', () => {
    const p = pickerFrom({ peers: { a: '1100', b: '1100' } });
    const a = p.pick('a', 5);
    assert.equal(p.outstanding('a'), 5);
    const b = p.pick('b', 5);
    assert.equal(b.length, 3);
    assert.equal(new Set(names([...a, ...b])).size, 8);
    assert.equal(p.inEndgame, false, 'pieces 2 and 3 are missing and nobody has them');
    assert.deepEqual(p.pick('b', 5), []);
    p.requestFailed('a', a[0]!);
    assert.equal(p.outstanding('a'), 4);
    assert.deepEqual(names(p.pick('b', 5)), names([a[0]!]));
    assert.equal(p.check(), undefined);
  });

  test('endgame: duplicates handed out, never twice to one peer, duplicates reported on receipt', () => {
    const p = pickerFrom({ peers: { a: '11', b: '11' } });
    const a = p.pick('a', 100);
    assert.equal(a.length, 8);
    assert.equal(p.inEndgame, true);
    assert.deepEqual(p.pick('a', 100), [], 'never the same block twice to one peer');
    const b = p.pick('b', 3);
    assert.equal(b.length, 3);
    assert.ok(b.every((blk) => names(a).includes(names([blk])[0]!)));
    const r1 = p.blockReceived('b', b[0]!);
    assert.deepEqual(r1.duplicates, ['a']);
    assert.equal(r1.wanted, true);
    assert.equal(p.outstanding('a'), 7);
    const late = p.blockReceived('a', b[0]!);
    assert.equal(late.wanted, false, 'a late duplicate is not written again');
    assert.deepEqual(late.duplicates, []);
    const c = p.pick('b', 100);
    assert.equal(c.length, 5, 'b gets every unreceived block it has not requested yet');
    assert.equal(new Set(names([...b, ...c])).size, 8);
    assert.equal(p.check(), undefined);
  });

  test('peerGone releases requests and availability', () => {
    const p = pickerFrom({ peers: { a: '1111', b: '0011' } });
    const a = p.pick('a', 16);
    assert.equal(a.length, 16);
    assert.equal(p.inEndgame, true);
    p.peerGone('a');
    assert.equal(p.inEndgame, false);
    assert.equal(p.outstanding('a'), 0);
    assert.equal(availabilityOf(p), '0011');
    const b = p.pick('b', 16);
    assert.deepEqual(piecesOf(b).sort(), [2, 3]);
    assert.equal(b.length, 8);
    assert.equal(p.check(), undefined);
  });

  test('pieceFailed blames the contributors and the piece is picked again', () => {
    const p = pickerFrom({ peers: { a: '1', b: '1' } });
    const a = p.pick('a', 2);
    const b = p.pick('b', 2);
    deliver(p, 'a', a);
    let complete = false;
    for (const blk of b) complete = p.blockReceived('b', blk).pieceComplete;
    assert.equal(complete, true);
    assert.deepEqual(p.pieceFailed(0).sort(), ['a', 'b']);
    assert.equal(p.has(0), false);
    const again = p.pick('b', 10);
    assert.deepEqual(names(again), ['0:0', '0:1', '0:2', '0:3']);
    deliver(p, 'b', again);
    assert.equal(p.complete, true);
  });

  test('the last piece is shorter with a short last block', () => {
    const pieceLength = 4 * BLOCK_SIZE;
    const totalLength = 2 * pieceLength + BLOCK_SIZE + 3616;
    const p = pickerFrom({ peers: { a: '111' }, pieceLength, totalLength });
    const blocks = p.pick('a', 100, { sequential: true });
    assert.equal(blocks.length, 10);
    assert.deepEqual(blocks.at(-1), { index: 2, begin: BLOCK_SIZE, length: 3616 });
    assert.equal(blocks.reduce((n, b) => n + b.length, 0), totalLength);
    assert.equal(p.blockReceived('a', { index: 2, begin: BLOCK_SIZE, length: BLOCK_SIZE }).wanted, false, 'wrong length');
    assert.equal(p.blockReceived('a', { index: 2, begin: 1, length: 3616 }).wanted, false, 'misaligned');
    deliver(p, 'a', blocks);
    assert.equal(p.complete, true);
  });

  test('a torrent smaller than one block', () => {
    const p = new PiecePicker({ pieceCount: 1, pieceLength: 32768, totalLength: 100, random: () => 0.5 });
    p.peerHaveAll('s');
    assert.deepEqual(p.pick('s', 10), [{ index: 0, begin: 0, length: 100 }]);
    assert.throws(() => new PiecePicker({ pieceCount: 2, pieceLength: 32768, totalLength: 100, random: () => 0 }), RangeError);
  });
});

describe('PiecePicker at scale', () => {
  test('8 peers download a 65,536-block torrent; every block requested once outside endgame', () => {
    const pieceLength = 16 * BLOCK_SIZE;
    const pieceCount = 4096;
    const rng = new Mulberry32(7);
    const p = new PiecePicker({ pieceCount, pieceLength, totalLength: pieceCount * pieceLength, random: () => rng.next() });
    const peers = ['s0', 's1', 'p2', 'p3', 'p4', 'p5', 'p6', 'p7'];
    p.peerHaveAll('s0');
    p.peerHaveAll('s1');
    for (const peer of peers.slice(2)) {
      const pieces = Array.from({ length: pieceCount }, () => (rng.next() < 0.6 ? '1' : '.')).join('');
      p.peerBitfield(peer, bitfieldOf(pieces));
    }
    const queues = new Map<string, Block[]>(peers.map((k) => [k, []]));
    const requests = new Map<string, number>();
    let duplicates = 0;
    let endgameSeen = false;
    let rounds = 0;
    while (!p.complete) {
      rounds++;
      assert.ok(rounds < 100_000, 'simulation stalled');
      peers.forEach((peer, k) => {
        const queue = queues.get(peer)!;
        const endgameBefore = p.inEndgame;
        const picked = p.pick(peer, 32 - p.outstanding(peer));
        for (const b of picked) {
          const key = `${b.index}:${b.begin}`;
          const n = (requests.get(key) ?? 0) + 1;
          requests.set(key, n);
          if (n > 1) {
            duplicates++;
            assert.ok(endgameBefore || p.inEndgame, `block ${key} requested twice outside endgame`);
          }
        }
        endgameSeen ||= p.inEndgame;
        queue.push(...picked);
        // peer k serves k + 1 blocks per round, oldest first
        for (const b of queue.splice(0, k + 1)) {
          const r = p.blockReceived(peer, b);
          for (const other of r.duplicates) {
            const q = queues.get(other)!;
            const at = q.findIndex((x) => x.index === b.index && x.begin === b.begin);
            if (at >= 0) q.splice(at, 1); // cancelled
          }
          if (r.pieceComplete) p.pieceVerified(b.index);
        }
      });
    }
    assert.equal(requests.size, 65_536);
    assert.ok(endgameSeen);
    assert.ok(duplicates > 0 && duplicates < 655, `${duplicates} endgame duplicates (under 1% of blocks)`);
    assert.equal(p.check(), undefined);
    for (const peer of peers) assert.equal(p.outstanding(peer), 0);
  });

  test('rarest-first pick over 10,000 pieces with 50 peers stays cheap', () => {
    const rng = new Mulberry32(3);
    const pieceCount = 10_000;
    const p = new PiecePicker({ pieceCount, pieceLength: 4 * BLOCK_SIZE, totalLength: pieceCount * 4 * BLOCK_SIZE, random: () => rng.next() });
    for (let k = 0; k < 50; k++) {
      const bits = rng.bytes(Math.ceil(pieceCount / 8));
      bits[bits.length - 1]! &= 0xf0;
      p.peerBitfield(`p${k}`, bits);
    }
    for (let i = 0; i < 4; i++) p.setHave(i);
    const t0 = performance.now();
    let picked = 0;
    for (let round = 0; round < 100; round++) {
      for (let k = 0; k < 50; k++) {
        const peer = `p${k}`;
        const blocks = p.pick(peer, 8);
        picked += blocks.length;
        for (const b of blocks) p.requestFailed(peer, b); // keep the torrent state unchanged
      }
    }
    const perPick = (performance.now() - t0) / 5000;
    assert.equal(picked, 5000 * 8);
    // a scan of all pieces per pick would cost tens of microseconds; generous bound for slow CI
    assert.ok(perPick < 200e-3, `pick took ${(perPick * 1000).toFixed(1)} us`);
    assert.equal(p.check(), undefined);
  });

  test('random operations keep the internal invariants and match a naive availability model', () => {
    const rng = new Mulberry32(11);
    const pieceCount = 37;
    const p = new PiecePicker({ pieceCount, pieceLength: 2 * BLOCK_SIZE, totalLength: 36 * 2 * BLOCK_SIZE + 1000, random: () => rng.next() });
    const model = new Map<string, Set<number> | 'all'>();
    const outstanding = new Map<string, Block[]>();
    const peerNames = ['a', 'b', 'c', 'd', 'e'];
    for (let step = 0; step < 5000 && !p.complete; step++) {
      const peer = peerNames[Math.floor(rng.next() * peerNames.length)]!;
      const r = rng.next();
      const mine = outstanding.get(peer) ?? [];
      outstanding.set(peer, mine);
      if (r < 0.3) {
        const i = Math.floor(rng.next() * pieceCount);
        p.peerHave(peer, i);
        const known = model.get(peer) ?? new Set<number>();
        if (known !== 'all') model.set(peer, known.add(i));
      } else if (r < 0.33) {
        p.peerHaveAll(peer);
        model.set(peer, 'all');
      } else if (r < 0.36) {
        p.peerGone(peer);
        model.delete(peer);
        outstanding.set(peer, []);
      } else if (r < 0.6) {
        mine.push(...p.pick(peer, 1 + Math.floor(rng.next() * 6), { sequential: rng.next() < 0.2 }));
      } else if (r < 0.9 && mine.length > 0) {
        const b = mine.shift()!;
        const got = p.blockReceived(peer, b);
        for (const other of got.duplicates) {
          const q = outstanding.get(other)!;
          q.splice(q.findIndex((x) => x.index === b.index && x.begin === b.begin), 1);
        }
        if (got.pieceComplete) {
          if (rng.next() < 0.2) p.pieceFailed(b.index);
          else p.pieceVerified(b.index);
        }
      } else if (mine.length > 0) {
        p.requestFailed(peer, mine.pop()!);
      }
      assert.equal(p.check(), undefined, `step ${step}`);
      for (const name of peerNames) assert.equal(p.outstanding(name), (outstanding.get(name) ?? []).length, `step ${step} ${name}`);
      const i = step % pieceCount;
      const expected = [...model.values()].filter((m) => m === 'all' || m.has(i)).length;
      assert.equal(p.availability(i), expected, `step ${step} availability of ${i}`);
    }
    assert.ok(p.haveCount > 0, 'the random walk made progress');
  });
});

describe('PiecePicker setMissing (a recheck found a piece damaged)', () => {
  test('the piece is missing again: picked, counted in interest and in done, sequential restarts at it', () => {
    const p = pickerFrom({ have: '1111', peers: { a: '0100', s: '*' } });
    assert.equal(p.complete, true);
    assert.equal(p.peerHasAnythingWeNeed('a'), false);
    p.setMissing(1);
    p.setMissing(1); // twice is once
    assert.equal(havesOf(p), '1.11');
    assert.equal(p.haveCount, 3);
    assert.equal(p.done, false);
    assert.equal(p.peerHasAnythingWeNeed('a'), true);
    assert.equal(p.peerHasAnythingWeNeed('s'), true);
    assert.deepEqual(piecesOf(p.pick('a', 100, { sequential: true })), [1]);
    assert.equal(p.check(), undefined);
  });

  test('an unwanted piece found damaged is not fetched again', () => {
    const p = pickerFrom({ have: '1111', peers: { s: '*' } });
    p.setWanted(Uint8Array.of(1, 1, 0, 1));
    p.setMissing(2);
    assert.equal(p.done, true);
    assert.equal(p.peerHasAnythingWeNeed('s'), false);
    assert.deepEqual(p.pick('s', 100), []);
    assert.equal(p.check(), undefined);
  });
});
