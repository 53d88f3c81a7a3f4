import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';

function sleep(clock: VirtualClock, ms: number): Promise<void> {
  return new Promise((resolve) => clock.setTimer(ms, resolve));
}

describe('VirtualClock', () => {
  test('starts at 0 and fires timers in time order, FIFO for equal times', async () => {
    const clock = new VirtualClock();
    assert.equal(clock.now(), 0);
    const fired: string[] = [];
    clock.setTimer(30, () => fired.push(`c@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a1@${clock.now()}`));
    clock.setTimer(20, () => fired.push(`b@${clock.now()}`));
    clock.setTimer(10, () => fired.push(`a2@${clock.now()}`));
    clock.setTimer(-5, () => fired.push(`z@${clock.now()}`));
    assert.equal(clock.pending, 5);
    await clock.advance(25);
    assert.deepEqual(fired, ['z@0', 'a1@10', 'a2@10', 'b@20']);
    assert.equal(clock.now(), 25);
    assert.equal(clock.pending, 1);
    await clock.advance(5);
    assert.deepEqual(fired.at(-1), 'c@30');
    assert.equal(clock.pending, 0);
  });

  test('cancelled timers never fire; cancel is idempotent', async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const a = clock.setTimer(10, () => fired.push(1));
    clock.setTimer(20, () => fired.push(2));
    a.cancel();
    a.cancel();
    assert.equal(clock.pending, 1);
    await clock.advance(100);
    assert.deepEqual(fired, [2]);
    assert.equal(clock.pending, 0);
    const late = clock.setTimer(1, () => fired.push(3));
    await clock.advance(1);
    late.cancel(); // after firing: no effect, no negative count
    assert.equal(clock.pending, 0);
    assert.deepEqual(fired, [2, 3]);
  });

  test('survives heavy cancellation (heap compaction) and keeps order', async () => {
    const clock = new VirtualClock();
    const fired: number[] = [];
    const timers = [];
    for (let i = 0; i < 10_000; i++) timers.push(clock.setTimer(10_000 - i, () => fired.push(10_000 - i)));
    for (let i = 0; i < 10_000; i++) if (i % 10 !== 0) timers[i].cancel();
    assert.equal(clock.pending, 1000);
    await clock.advance(20_000);
    assert.equal(fired.length, 1000);
    for (let i = 1; i < fired.length; i++) assert.ok(fired[i - 1] < fired[i]);
  });

  test('promise chains that schedule timers run to completion within advance', async () => {
    const clock = new VirtualClock();
    const trace: string[] = [];
    const worker = async (name: string, steps: number, step: number): Promise<void> => {
      for (let i = 0; i < steps; i++) {
        await sleep(clock, step);
        await Promise.resolve();
        trace.push(`${name}${i}@${clock.now()}`);
      }
    };
    void worker('a', 3, 10);
    void worker('b', 2, 15);
    await clock.advance(30);
    assert.deepEqual(trace, ['a0@10', 'b0@15', 'a1@20', 'b1@30', 'a2@30'], 'b1 was scheduled before a2');
  });

  test('continuations of timers due at t settle before time moves on', async () => {
    const clock = new VirtualClock();
    const trace: string[] = [];
    void (async () => {
      await sleep(clock, 10);
      // A long chain of microtasks, then a zero-delay timer: still runs at t = 10.
      for (let i = 0; i < 200; i++) await Promise.resolve();
      clock.setTimer(0, () => trace.push(`zero@${clock.now()}`));
    })();
    clock.setTimer(11, () => trace.push(`eleven@${clock.now()}`));
    await clock.advance(20);
    assert.deepEqual(trace, ['zero@10', 'eleven@11']);
  });

  test('runUntil stops when done() turns true, else at the limit', async () => {
    const clock = new VirtualClock();
    let count = 0;
    const tick = (): void => {
      count++;
      clock.setTimer(7, tick);
    };
    clock.setTimer(7, tick);
    assert.equal(await clock.runUntil(() => count >= 3, 1000), true);
    assert.equal(clock.now(), 21);
    assert.equal(await clock.runUntil(() => count >= 1000, 70), false);
    assert.equal(clock.now(), 91);
    assert.equal(count, 13);
    assert.equal(await clock.runUntil(() => true, 1000), true, 'already true: returns at once');
    assert.equal(clock.now(), 91);
  });

  test('run returns the value, rethrows rejections, and times out or detects deadlock', async () => {
    const clock = new VirtualClock();
    const value = await clock.run(
      (async () => {
        await sleep(clock, 500);
        return 42;
      })(),
    );
    assert.equal(value, 42);
    assert.equal(clock.now(), 500);

    await assert.rejects(
      clock.run(
        (async () => {
          await sleep(clock, 5);
          throw new Error('boom');
        })(),
      ),
      /boom/,
    );

    const periodic = (): void => void clock.setTimer(100, periodic);
    periodic();
    const start = clock.now();
    await assert.rejects(clock.run(new Promise(() => undefined), 1000), (e: Error & { code?: string }) => e.code === 'ETIMEDOUT');
    assert.equal(clock.now(), start + 1000);

    const lone = new VirtualClock();
    await assert.rejects(lone.run(new Promise(() => undefined)), (e: Error & { code?: string }) => e.code === 'EDEADLOCK');
  });

  test('a throwing timer makes advance reject; re-entrant driving is refused', async () => {
    const clock = new VirtualClock();
    clock.setTimer(5, () => {
      throw new Error('timer failed');
    });
    await assert.rejects(clock.advance(10), /timer failed/);
    const first = clock.advance(10);
    await assert.rejects(clock.advance(10), /already in progress/);
    await first;
  });

  test('processes many timers quickly (rate printed, not asserted)', async (t) => {
    const clock = new VirtualClock();
    const n = 300_000;
    let fired = 0;
    let last = -1;
    let ordered = true;
    for (let i = 0; i < n; i++) {
      const at = (i * 7919) % 100_000; // scrambled times, many distinct
      clock.setTimer(at + (i % 3) / 4, () => {
        fired++;
        const now = clock.now();
        if (now < last) ordered = false;
        last = now;
      });
    }
    const t0 = performance.now();
    await clock.advance(200_000);
    const seconds = (performance.now() - t0) / 1000;
    assert.equal(fired, n);
    assert.ok(ordered);
    t.diagnostic(`VirtualClock: ${Math.round(n / seconds)} timer events/s`);
  });
});
