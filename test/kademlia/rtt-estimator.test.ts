import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { RttEstimator } from '../../src/kademlia/rtt-estimator.js';

describe('RttEstimator', () => {
  test('before any sample an unknown key gets the initial estimate', () => {
    const r = new RttEstimator();
    assert.equal(r.globalSrtt, 1000);
    assert.equal(r.softTimeout('1.2.3.4:5'), 1000);
    assert.equal(new RttEstimator({ initialMs: 300 }).softTimeout('x'), 300);
  });

  test('follows RFC 6298: first sample sets SRTT=R, RTTVAR=R/2; later ones smooth', () => {
    const r = new RttEstimator();
    r.sample('a', 100);
    assert.equal(r.softTimeout('a'), 100 + 4 * 50);
    assert.equal(r.globalSrtt, 100);
    // Unknown keys now use the global estimate.
    assert.equal(r.softTimeout('never-seen'), 300);
    r.sample('a', 200);
    const rttvar = 0.75 * 50 + 0.25 * 100;
    const srtt = 0.875 * 100 + 0.125 * 200;
    assert.equal(r.softTimeout('a'), srtt + 4 * rttvar);
    assert.equal(r.globalSrtt, srtt);
    // A different key starts fresh but moves the global estimate.
    r.sample('b', 40);
    assert.equal(r.softTimeout('b'), 40 + 4 * 20);
    assert.ok(r.globalSrtt < srtt);
  });

  test('clamps to [minTimeoutMs, maxTimeoutMs]', () => {
    const r = new RttEstimator({ minTimeoutMs: 50, maxTimeoutMs: 2000 });
    r.sample('fast', 1);
    r.sample('slow', 10_000);
    assert.equal(r.softTimeout('fast'), 50);
    assert.equal(r.softTimeout('slow'), 2000);
  });

  test('ignores negative and non-finite samples', () => {
    const r = new RttEstimator();
    r.sample('a', -5);
    r.sample('a', Number.NaN);
    r.sample('a', Number.POSITIVE_INFINITY);
    assert.equal(r.size, 0);
    assert.equal(r.globalSrtt, 1000);
  });

  test('bounded memory: evicts the least recently sampled key', () => {
    const r = new RttEstimator({ maxEntries: 2 });
    r.sample('a', 100);
    r.sample('b', 100);
    r.sample('a', 100); // a is now the most recent
    r.sample('c', 1000);
    assert.equal(r.size, 2);
    // b was evicted: it falls back to the global estimate, which differs from its own (300).
    assert.notEqual(r.softTimeout('b'), 300);
    assert.equal(r.softTimeout('b'), r.softTimeout('unknown'));
    assert.ok(r.softTimeout('a') < 300);
    assert.equal(r.softTimeout('c'), 2000);
  });
});
