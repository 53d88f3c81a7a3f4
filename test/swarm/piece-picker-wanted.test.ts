import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { BLOCK_SIZE } from '../../src/swarm/piece-picker.js';
import { bitfieldOf, pickerFrom, piecesOf } from './picker-notation.js';

/** A mask from the notation: '1' wanted, anything else not. */
const mask = (text: string) => Uint8Array.from(text, (c) => (c === '1' ? 1 : 0));

describe('PiecePicker wanted pieces', () => {
  test('only wanted pieces are picked, in rarest-first and in sequential order', () => {
    const p = pickerFrom({ have: '........', peers: { s: '*' } });
    p.setWanted(mask('.11..1..'));
    assert.deepEqual(piecesOf(p.pick('s', 100)).sort(), [1, 2, 5]);
    assert.equal(p.check(), undefined);
    const q = pickerFrom({ have: '........', peers: { s: '*' } });
    q.setWanted(mask('1..1...1'));
    assert.deepEqual(piecesOf(q.pick('s', 100, { sequential: true })), [0, 3, 7]);
    assert.equal(q.check(), undefined);
  });

  test('done when every wanted piece is had; complete only with every piece', () => {
    const p = pickerFrom({ have: '....', peers: { s: '*' } });
    p.setWanted(mask('.1.1'));
    assert.equal(p.wantedCount, 2);
    assert.equal(p.wantedMissingCount, 2);
    p.setHave(1);
    assert.equal(p.done, false);
    p.setHave(3);
    assert.equal(p.done, true);
    assert.equal(p.complete, false);
    assert.deepEqual(p.pick('s', 100), [], 'nothing more is picked once done');
    assert.equal(p.inEndgame, false);
    assert.equal(p.check(), undefined);
  });

  test('interest counts only wanted pieces we lack', () => {
    const p = pickerFrom({ have: '1...', peers: { a: '1100', b: '0011', s: '*' } });
    p.setWanted(mask('11..'));
    assert.equal(p.peerHasAnythingWeNeed('a'), true);
    assert.equal(p.peerHasAnythingWeNeed('b'), false);
    assert.equal(p.peerHasAnythingWeNeed('s'), true);
    p.peerHave('b', 1);
    assert.equal(p.peerHasAnythingWeNeed('b'), true);
    p.setHave(1);
    assert.equal(p.peerHasAnythingWeNeed('a'), false);
    assert.equal(p.peerHasAnythingWeNeed('b'), false);
    assert.equal(p.peerHasAnythingWeNeed('s'), false, 'a seed has nothing we want once we are done');
    p.setWanted(mask('1111'));
    assert.equal(p.peerHasAnythingWeNeed('b'), true);
    assert.equal(p.peerHasAnythingWeNeed('a'), false, 'a has only pieces we have');
    assert.equal(p.peerHasAnythingWeNeed('s'), true);
    p.peerBitfield('c', bitfieldOf('0010'));
    p.setWanted(mask('11.1'));
    assert.equal(p.peerHasAnythingWeNeed('c'), false);
    assert.equal(p.check(), undefined);
  });

  test('wanting a piece again makes it pickable; a piece started before it became unwanted is finished', () => {
    const p = pickerFrom({ have: '....', peers: { s: '*' } });
    p.setWanted(mask('1...'));
    const first = p.pick('s', 2); // half of piece 0
    assert.deepEqual(piecesOf(first), [0]);
    p.setWanted(mask('.1..'));
    assert.equal(p.check(), undefined);
    const next = p.pick('s', 100);
    assert.deepEqual(piecesOf(next), [0, 1], 'the started piece 0 is finished, then piece 1');
    p.setWanted(mask('...1'));
    assert.equal(p.check(), undefined);
    // the requests of piece 1 fail: it is no longer wanted, so it does not go back to the free order
    for (const b of next.filter((b) => b.index === 1)) p.requestFailed('s', b);
    assert.equal(p.check(), undefined);
    assert.deepEqual(piecesOf(p.pick('s', 100)), [3], 'piece 1 is not picked again, piece 3 is');
    assert.equal(p.check(), undefined);
  });

  test('a failed unwanted piece is dropped; an unrequested block of an unwanted piece is ignored', () => {
    const p = pickerFrom({ have: '....', peers: { s: '*' } });
    const blocks = p.pick('s', 4); // all of one piece
    const index = blocks[0]!.index;
    for (const b of blocks) p.blockReceived('s', b);
    p.setWanted(Uint8Array.from([0, 1, 2, 3], (i) => (i === index ? 0 : 1)));
    assert.deepEqual(p.pieceFailed(index), ['s']);
    assert.equal(p.check(), undefined);
    assert.ok(!piecesOf(p.pick('s', 100)).includes(index), 'the failed piece is not picked again');
    const q = pickerFrom({ have: '....', peers: { s: '*' } });
    q.setWanted(mask('1...'));
    assert.equal(q.blockReceived('x', { index: 2, begin: 0, length: BLOCK_SIZE }).wanted, false);
    assert.equal(q.blockReceived('x', { index: 0, begin: 0, length: BLOCK_SIZE }).wanted, true);
    assert.equal(q.check(), undefined);
  });

  test('a mask of the wrong length is refused', () => {
    const p = pickerFrom({ have: '....' });
    assert.throws(() => p.setWanted(new Uint8Array(3)), RangeError);
  });
});
