/**
 * The LEDBAT congestion window of uTP connections, fed by hand: slow start, losses, timeouts, the
 * delay target, the base delay's memory, and delay samples that wrap around 2^32.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { Ledbat, TARGET_DELAY_US } from '../../src/utp/ledbat.js';

const PACKET = 1400;

function ledbat(initialWindow?: number, maxWindow?: number): Ledbat {
  return new Ledbat({ packetSize: PACKET, initialWindow, maxWindow });
}

/** Takes a window out of slow start with a loss, then brings it to about `size` bytes. */
function congestionAvoidance(size: number): Ledbat {
  const l = ledbat(2 * size);
  l.onLoss();
  assert.equal(l.window, size);
  return l;
}

describe('Ledbat', () => {
  test('starts at two packets unless told otherwise', () => {
    assert.equal(ledbat().window, 2 * PACKET);
    assert.equal(ledbat(10_000).window, 10_000);
  });

  test('slow start grows the window by the bytes each ack acks', () => {
    const l = ledbat();
    l.onAck(PACKET, undefined, 0);
    assert.equal(l.window, 3 * PACKET);
    l.onAck(2 * PACKET, undefined, 10);
    assert.equal(l.window, 5 * PACKET);
    // A delay sample at the base (the first one is the base) keeps it in slow start.
    l.onAck(500, 40_000, 20);
    assert.equal(l.window, 5 * PACKET + 500);
    l.onAck(700, 40_000, 30);
    assert.equal(l.window, 5 * PACKET + 1200);
  });

  test('an ack of nothing changes nothing', () => {
    const l = ledbat();
    l.onAck(0, 1_000_000, 0);
    l.onAck(-5, undefined, 0);
    assert.equal(l.window, 2 * PACKET);
  });

  test('slow start ends once the queuing delay reaches half the target', () => {
    const l = ledbat(20 * PACKET);
    l.onAck(PACKET, 1000, 0); // base 1000
    assert.equal(l.window, 21 * PACKET);
    // 60 ms of queuing: no longer doubling; below target, so a small linear gain.
    l.onAck(PACKET, 1000 + 60_000, 10);
    const afterQueue = l.window;
    assert.ok(afterQueue > 21 * PACKET && afterQueue < 21 * PACKET + 3000 * 0.4 + 1, `window ${afterQueue}`);
    // Back at the base, slow start does not resume: gains stay linear (at most 3000 bytes per window).
    l.onAck(PACKET, 1000, 20);
    assert.ok(l.window - afterQueue < PACKET, `grew by ${l.window - afterQueue}`);
    assert.ok(l.window > afterQueue);
  });

  test('a loss halves the window, but not below one packet', () => {
    const l = ledbat(40_000);
    l.onLoss();
    assert.equal(l.window, 20_000);
    l.onLoss();
    assert.equal(l.window, 10_000);
    for (let i = 0; i < 10; i++) l.onLoss();
    assert.equal(l.window, PACKET);
  });

  test('after a loss the window grows linearly, not by the acked bytes', () => {
    const l = congestionAvoidance(20_000);
    l.onAck(PACKET, undefined, 0);
    // offTarget 1, window factor 1400/20000: 3000 * 0.07 = 210 bytes.
    assert.ok(Math.abs(l.window - (20_000 + (3000 * PACKET) / 20_000)) < 1e-6, `window ${l.window}`);
  });

  test('a timeout drops the window to one packet, then slow start up to half the old window', () => {
    const l = ledbat(40_000);
    l.onTimeout();
    assert.equal(l.window, PACKET);
    // Slow start again: each ack adds its bytes until 20 000 (half of 40 000) is reached.
    l.onAck(PACKET, undefined, 0);
    assert.equal(l.window, 2 * PACKET);
    for (let i = 0; i < 12; i++) l.onAck(PACKET, undefined, i);
    assert.equal(l.window, 14 * PACKET); // 19 600: still below the threshold
    l.onAck(PACKET, undefined, 20); // 21 000: reaches it, slow start ends
    assert.equal(l.window, 15 * PACKET);
    const before = l.window;
    l.onAck(PACKET, undefined, 30);
    assert.ok(l.window - before < 300, `linear growth expected, grew by ${l.window - before}`);
  });

  test('a timeout of a one-packet window stays at one packet', () => {
    const l = ledbat(PACKET);
    l.onTimeout();
    l.onTimeout();
    assert.equal(l.window, PACKET);
  });

  test('a delay above the 100 ms target shrinks the window; a delay at the base grows it', () => {
    const l = congestionAvoidance(30_000);
    l.onAck(PACKET, 5000, 0); // base 5000: grows
    const atBase = l.window;
    assert.ok(atBase > 30_000, `window ${atBase}`);
    l.onAck(PACKET, 5000 + 2 * TARGET_DELAY_US, 10);
    assert.ok(l.window < atBase, `window ${l.window} should shrink below ${atBase}`);
    const shrunk = l.window;
    // Exactly on target: no change.
    l.onAck(PACKET, 5000 + TARGET_DELAY_US, 20);
    assert.ok(Math.abs(l.window - shrunk) < 1e-9, `window ${l.window} moved from ${shrunk}`);
    l.onAck(PACKET, 5000, 30);
    assert.ok(l.window > shrunk);
  });

  test('a long stretch above target shrinks the window down to one packet, never below', () => {
    const l = congestionAvoidance(8000);
    l.onAck(PACKET, 0, 0);
    for (let i = 0; i < 1000; i++) l.onAck(8000, 10 * TARGET_DELAY_US, i);
    assert.equal(l.window, PACKET);
  });

  test('the window never grows past maxWindow', () => {
    const l = ledbat(10_000, 12_000);
    for (let i = 0; i < 10; i++) l.onAck(PACKET, undefined, i);
    assert.equal(l.window, 12_000);
  });

  test('a lower delay sample becomes the base', () => {
    const l = congestionAvoidance(30_000);
    l.onAck(PACKET, 80_000, 0); // base 80 000
    l.onAck(PACKET, 10_000, 1); // a lower sample: the new base
    const before = l.window;
    // 80 000 is now 70 ms above the base: still below target, so it grows, but less than at the base.
    l.onAck(PACKET, 80_000, 2);
    const gainAbove = l.window - before;
    const mid = l.window;
    l.onAck(PACKET, 10_000, 3);
    const gainAtBase = l.window - mid;
    assert.ok(gainAbove > 0 && gainAtBase > gainAbove, `gains ${gainAbove} then ${gainAtBase}`);
  });

  test('the base delay is forgotten after two periods of a minute', () => {
    const l = congestionAvoidance(30_000);
    l.onAck(PACKET, 1000, 0); // base 1000
    // A route change: every later sample is 300 ms higher. For a while that reads as queuing.
    l.onAck(PACKET, 301_000, 60_000);
    const w1 = l.window;
    l.onAck(PACKET, 301_000, 60_001);
    assert.ok(l.window < w1, 'still measured against the old base: shrinks');
    // Two periods later the old base is gone and the new delay is the base: the window grows.
    l.onAck(PACKET, 301_000, 120_000);
    const w2 = l.window;
    l.onAck(PACKET, 301_000, 120_001);
    assert.ok(l.window > w2, 'measured against the new base: grows');
  });

  test('delay samples that wrap past 2^32 count as a small increase, not a huge one', () => {
    const l = ledbat();
    l.onAck(PACKET, 0xffff_ff00, 0); // base just under 2^32
    // The peer's clock moved on by 0x300 µs (0.8 ms): the sample wrapped to 0x200.
    l.onAck(PACKET, 0x200, 10);
    // Still slow start (queuing far below 50 ms): the window grew by the acked bytes.
    assert.equal(l.window, 4 * PACKET);
    l.onAck(PACKET, 0x400, 20);
    assert.equal(l.window, 5 * PACKET);
    // The base is still the sample before the wrap: that value again reads as no queuing at all.
    l.onAck(PACKET, 0xffff_ff00, 30);
    assert.equal(l.window, 6 * PACKET);
  });

  test('a wrapped sample 200 ms above the base shrinks the window', () => {
    const l = congestionAvoidance(30_000);
    const base = 0xffff_0000;
    l.onAck(PACKET, base, 0);
    const before = l.window;
    l.onAck(PACKET, (base + 2 * TARGET_DELAY_US) >>> 0, 10);
    assert.ok(l.window < before, `window ${l.window} should shrink below ${before}`);
  });

  test('a sample that wrapped below a small base (0xfffffff0 after 0x10) becomes the new base', () => {
    const l = congestionAvoidance(30_000);
    l.onAck(PACKET, 0x10, 0); // base 16
    // 0xffff_fff0 is 32 µs earlier than 16 (wrapping): a lower base, not 4295 seconds of queuing.
    const before = l.window;
    l.onAck(PACKET, 0xffff_fff0, 10);
    assert.ok(l.window > before, 'at the new base: grows');
    // 16 is now 32 µs above the base: still essentially no queuing.
    const mid = l.window;
    l.onAck(PACKET, 0x10, 20);
    assert.ok(l.window > mid);
  });
});
