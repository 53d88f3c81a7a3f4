/**
 * `TransferLimiter` on the virtual clock: uploads wait in order with `take`; downloads are granted
 * in whole blocks with `takeNow`, give back what they did not use, and are woken at the next
 * refill; a unit larger than a second's worth is still granted from a full bucket.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualClock } from '../../src/runtime/virtual-clock.js';
import { TransferLimiter } from '../../src/swarm/transfer-limiter.js';

const KiB = 1024;

test('takeNow grants whole units up to what the bucket holds, and refills with time', async () => {
  const clock = new VirtualClock();
  const limiter = new TransferLimiter(clock, 64 * KiB);
  assert.equal(limiter.takeNow(100 * KiB, 16 * KiB), 64 * KiB, 'the first second is a burst');
  assert.equal(limiter.takeNow(16 * KiB, 16 * KiB), 0, 'empty');
  await clock.advance(250);
  assert.equal(limiter.takeNow(100 * KiB, 16 * KiB), 16 * KiB, 'a quarter second later, a quarter of the rate');
  limiter.giveBack(16 * KiB);
  assert.equal(limiter.takeNow(10 * KiB, 16 * KiB), 0, 'less than a unit wanted: nothing');
  assert.equal(limiter.takeNow(32 * KiB, 16 * KiB), 16 * KiB, 'what was given back is there again');
});

test('whenRefilled wakes a waiting requester once, however often it registered', async () => {
  const clock = new VirtualClock();
  const limiter = new TransferLimiter(clock, 32 * KiB);
  limiter.takeNow(32 * KiB, 16 * KiB);
  let woken = 0;
  const wake = () => woken++;
  limiter.whenRefilled(wake);
  limiter.whenRefilled(wake);
  await clock.advance(200);
  assert.equal(woken, 1);
  await clock.advance(1000);
  assert.equal(woken, 1, 'not again without a new registration');
});

test('a unit above the rate is granted from a full bucket, and the debt is paid before the next', async () => {
  const clock = new VirtualClock();
  const limiter = new TransferLimiter(clock, 8 * KiB);
  assert.equal(limiter.takeNow(16 * KiB, 16 * KiB), 16 * KiB, 'one 16 KiB block at 8 KiB/s');
  await clock.advance(1000);
  assert.equal(limiter.takeNow(16 * KiB, 16 * KiB), 0, 'one second repays only half the debt');
  await clock.advance(1000);
  assert.equal(limiter.takeNow(16 * KiB, 16 * KiB), 16 * KiB);
});

test('take makes uploads wait in order for the rate', async () => {
  const clock = new VirtualClock();
  const limiter = new TransferLimiter(clock, 10 * KiB);
  const done: string[] = [];
  await limiter.take(10 * KiB);
  void limiter.take(5 * KiB).then(() => done.push(`a@${clock.now()}`));
  void limiter.take(5 * KiB).then(() => done.push(`b@${clock.now()}`));
  assert.equal(limiter.takeNow(16 * KiB, 1 * KiB), 0, 'downloads do not jump the queue of waiting uploads');
  await clock.advance(1100);
  assert.deepEqual(done.map((d) => d.split('@')[0]), ['a', 'b']);
  assert.ok(Number(done[0]!.split('@')[1]) >= 500, `a was served too early: ${done[0]}`);
});
