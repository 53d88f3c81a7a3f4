/**
 * A simulated clock for tests and simulations. Time stands still until the test calls
 * `advance`, `runUntil` or `run`; those fire due timers in time order.
 *
 * Semantics: all timers due at virtual time `t` run (in the order they were scheduled), then all
 * promise continuations settle, then time moves on. "Settle" means the microtask queue is drained
 * completely, including continuations queued by continuations, however long the chain. Two limits:
 * microtasks queued from inside a timer's own `process.nextTick` callbacks may run after the next
 * step (engines have no reason to use nextTick), and work that waits on real I/O (real sockets,
 * real disk, real timers) is not waited for: virtual engines must only await virtual things.
 * Every 1024 batches the clock yields one real macrotask so I/O and the test runner can progress.
 *
 * Timers live in a 4-ary heap ordered by (time, sequence number); cancelled timers stay in the
 * heap and are skipped lazily, and the heap is compacted when most of it is cancelled.
 */
import type { Timer } from './interfaces.js';

/** One scheduled callback; it is also the `Timer` handle returned to the scheduler. */
class TimerEntry implements Timer {
  /** Set once the timer fired or was cancelled. */
  done = false;
  constructor(
    readonly time: number,
    readonly seq: number,
    public fn: (() => void) | undefined,
    private readonly clock: VirtualClock,
  ) {}

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.fn = undefined;
    this.clock.onCancel();
  }
}

const RESOLVED = Promise.resolve();

/** Every this many timer batches the clock yields a real macrotask so I/O and test runners breathe. */
const BATCHES_PER_MACROTASK = 1024;

/**
 * A virtual monotonic clock in milliseconds, starting at 0. Shared by every host of a
 * `VirtualNetwork`; tests drive it. Timer callbacks that throw make the driving call
 * (`advance`/`runUntil`/`run`) reject with that error.
 */
export class VirtualClock {
  private current = 0;
  private seq = 0;
  private slots: (TimerEntry | undefined)[] = [];
  private freeIds: number[] = [];
  private keys = new Float64Array(3 * 1024);
  private size = 0;
  private live = 0;
  private running = false;
  private batchesSinceYield = 0;

  /** Current virtual time in ms. */
  now(): number {
    return this.current;
  }

  /** Number of timers scheduled and neither fired nor cancelled. */
  get pending(): number {
    return this.live;
  }

  /** Schedules `fn` at now + ms (negative or NaN delays count as 0). */
  setTimer(ms: number, fn: () => void): Timer {
    const delay = ms > 0 ? ms : 0;
    const entry = new TimerEntry(this.current + delay, this.seq++, fn, this);
    this.push(entry);
    this.live++;
    return entry;
  }

  /** @internal Called by a timer when it is cancelled. */
  onCancel(): void {
    this.live--;
    const dead = this.size - this.live;
    if (dead > 1024 && dead > this.live) this.compact();
  }

  /**
   * Runs due timers in time order (FIFO for equal times) up to now+ms, letting promise
   * continuations settle after each group of timers sharing a time; ends with now = old now + ms.
   */
  async advance(ms: number): Promise<void> {
    await this.drive(this.current + Math.max(0, ms), undefined);
  }

  /**
   * Runs until `done()` is true (checked before starting, after every timer, and after every
   * settle) or `limitMs` of virtual time passes; returns whether `done()` became true. When done,
   * the clock stays at the time of the timer that made it so; otherwise it ends at start + limitMs.
   */
  async runUntil(done: () => boolean, limitMs: number): Promise<boolean> {
    return this.drive(this.current + Math.max(0, limitMs), done);
  }

  /**
   * Runs events until `p` settles and returns its value (or rethrows its rejection). Rejects with
   * an Error (`code` 'ETIMEDOUT') when `limitMs` virtual ms (default one day) pass first, or
   * (`code` 'EDEADLOCK') when no timer is left that could ever settle it.
   */
  async run<T>(p: Promise<T>, limitMs = 86_400_000): Promise<T> {
    let settled = false;
    const watched = p.then(
      (value) => {
        settled = true;
        return value;
      },
      (error: unknown) => {
        settled = true;
        throw error;
      },
    );
    // Keep an unobserved rejection from being reported before we return it.
    watched.catch(() => undefined);
    const start = this.current;
    const ok = await this.drive(start + Math.max(0, limitMs), () => settled, true);
    if (!ok) {
      const stuck = this.live === 0 && this.current - start < limitMs;
      const error = new Error(
        stuck
          ? `VirtualClock.run: promise unsettled and no timers pending at ${this.current} ms`
          : `VirtualClock.run: promise unsettled after ${limitMs} virtual ms`,
      ) as Error & { code: string };
      error.code = stuck ? 'EDEADLOCK' : 'ETIMEDOUT';
      throw error;
    }
    return watched;
  }

  /**
   * The event loop: fires batches of equal-time timers up to `target`, settling between. It is
   * driven by callbacks, not `await`, to keep per-batch overhead small: `step` runs as a microtask;
   * the `process.nextTick` it schedules runs only once the whole microtask queue has drained (that
   * is how Node orders the two queues), and that tick queues the next `step`.
   */
  private drive(target: number, done: (() => boolean) | undefined, stopWhenIdle = false): Promise<boolean> {
    if (this.running) return Promise.reject(new Error('VirtualClock: advance/runUntil/run already in progress'));
    this.running = true;
    return new Promise<boolean>((resolve, reject) => {
      const finish = (result: boolean): void => {
        this.running = false;
        resolve(result);
      };
      // `then` on a settled promise is the cheapest way to queue a microtask (much cheaper than
      // queueMicrotask when async hooks are on, as under node:test). `step` never throws.
      const afterDrain = (): void => void RESOLVED.then(step);
      const afterMacrotask = afterDrain;
      const step = (): void => {
        try {
          if (done?.()) return finish(true);
          const first = this.peek();
          if (first === undefined || first.time > target) {
            if (first === undefined && stopWhenIdle) return finish(false);
            if (Number.isFinite(target) && target > this.current) this.current = target;
            return finish(done?.() ?? false);
          }
          const t = first.time;
          this.current = t;
          for (let top = this.peek(); top !== undefined && top.time === t; top = this.peek()) {
            this.pop();
            const fn = top.fn as () => void;
            top.fn = undefined;
            top.done = true;
            this.live--;
            fn();
            // Stop firing; the next step settles continuations, re-checks and finishes.
            if (done?.()) break;
          }
          if (++this.batchesSinceYield >= BATCHES_PER_MACROTASK) {
            this.batchesSinceYield = 0;
            setImmediate(afterMacrotask);
          } else {
            process.nextTick(afterDrain);
          }
        } catch (error) {
          this.running = false;
          reject(error);
        }
      };
      // Let whatever the caller already queued settle before the first step.
      void RESOLVED.then(() => process.nextTick(afterDrain));
    });
  }

  /** The earliest live timer, discarding cancelled ones from the top. */
  private peek(): TimerEntry | undefined {
    const slots = this.slots;
    while (this.size > 0) {
      const top = slots[this.keys[2]] as TimerEntry;
      if (!top.done) return top;
      this.pop();
    }
    return undefined;
  }

  /*
   * The heap is 4-ary and holds only numbers: per element (time, seq, slot id) interleaved in one
   * Float64Array. Entries sit still in `slots`; sifting moves numbers, never object pointers, so
   * it stays cache-friendly and free of GC write barriers with millions of timers.
   */

  private push(entry: TimerEntry): void {
    if (this.size * 3 === this.keys.length) this.grow(this.size * 2);
    const id = this.freeIds.length > 0 ? (this.freeIds.pop() as number) : this.slots.length;
    this.slots[id] = entry;
    this.siftUp(this.size++, entry.time, entry.seq, id);
  }

  private siftUp(start: number, time: number, seq: number, id: number): void {
    const keys = this.keys;
    let i = start;
    while (i > 0) {
      const parent = (i - 1) >> 2;
      const p = parent * 3;
      const pt = keys[p];
      if (pt < time || (pt === time && keys[p + 1] < seq)) break;
      const k = i * 3;
      keys[k] = pt;
      keys[k + 1] = keys[p + 1];
      keys[k + 2] = keys[p + 2];
      i = parent;
    }
    const k = i * 3;
    keys[k] = time;
    keys[k + 1] = seq;
    keys[k + 2] = id;
  }

  /** Removes the top element and frees its slot. */
  private pop(): void {
    const keys = this.keys;
    const topId = keys[2];
    this.slots[topId] = undefined;
    this.freeIds.push(topId);
    const last = --this.size;
    if (last > 0) this.siftDown(0, keys[last * 3], keys[last * 3 + 1], keys[last * 3 + 2]);
  }

  private siftDown(start: number, time: number, seq: number, id: number): void {
    const keys = this.keys;
    const n = this.size;
    let i = start;
    for (;;) {
      const first = 4 * i + 1;
      if (first >= n) break;
      let best = first;
      let bt = keys[first * 3];
      let bs = keys[first * 3 + 1];
      const end = first + 4 < n ? first + 4 : n;
      for (let c = first + 1; c < end; c++) {
        const ct = keys[c * 3];
        if (ct < bt || (ct === bt && keys[c * 3 + 1] < bs)) {
          best = c;
          bt = ct;
          bs = keys[c * 3 + 1];
        }
      }
      if (time < bt || (time === bt && seq < bs)) break;
      const k = i * 3;
      keys[k] = bt;
      keys[k + 1] = bs;
      keys[k + 2] = keys[best * 3 + 2];
      i = best;
    }
    const k = i * 3;
    keys[k] = time;
    keys[k + 1] = seq;
    keys[k + 2] = id;
  }

  private grow(capacity: number): void {
    const keys = new Float64Array(capacity * 3);
    keys.set(this.keys.subarray(0, this.size * 3));
    this.keys = keys;
  }

  /** Drops cancelled entries and rebuilds the heap bottom-up. */
  private compact(): void {
    const keys = this.keys;
    const kept: TimerEntry[] = [];
    for (let i = 0; i < this.size; i++) {
      const entry = this.slots[keys[i * 3 + 2]] as TimerEntry;
      if (!entry.done) kept.push(entry);
    }
    this.slots = kept;
    this.freeIds = [];
    this.size = kept.length;
    for (let i = 0; i < kept.length; i++) {
      keys[i * 3] = kept[i].time;
      keys[i * 3 + 1] = kept[i].seq;
      keys[i * 3 + 2] = i;
    }
    for (let i = (kept.length - 2) >> 2; i >= 0; i--) this.siftDown(i, keys[i * 3], keys[i * 3 + 1], keys[i * 3 + 2]);
  }
}
