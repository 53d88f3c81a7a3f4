/**
 * A byte-rate limit shared by a torrent's uploads or downloads (user settings, like libtorrent's
 * upload_rate_limit and download_rate_limit). A token bucket with a burst of one second's worth.
 * Uploads wait with `take(n)`, which resolves when n bytes may be sent (waiters in order).
 * Downloads are limited where they are asked for: `takeNow` grants what may be requested at
 * once, in whole blocks, and `whenRefilled` wakes a requester that got less than it wanted.
 */
import type { Runtime, Timer } from '../runtime/interfaces.js';

const REFILL_MS = 50;

export class TransferLimiter {
  private tokens: number;
  private last: number;
  private readonly waiters: { bytes: number; resolve(): void }[] = [];
  private readonly refillListeners = new Set<() => void>();
  private timer?: Timer;

  constructor(
    private readonly runtime: Pick<Runtime, 'now' | 'setTimer'>,
    private readonly bytesPerSecond: number,
  ) {
    this.tokens = bytesPerSecond;
    this.last = runtime.now();
  }

  take(bytes: number): Promise<void> {
    this.refill();
    if (this.waiters.length === 0 && this.tokens >= bytes) {
      this.tokens -= bytes;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.waiters.push({ bytes, resolve });
      this.schedule();
    });
  }

  /**
   * Takes up to `wanted` bytes in whole `unit`s and returns how many it took (0 if none are free).
   * A unit larger than a second's worth is granted from a full bucket, leaving it in debt.
   */
  takeNow(wanted: number, unit: number): number {
    this.refill();
    if (this.waiters.length > 0) return 0;
    let units = Math.min(Math.floor(wanted / unit), Math.floor(Math.max(0, this.tokens) / unit));
    if (units === 0 && wanted >= unit && this.tokens >= Math.min(unit, this.bytesPerSecond)) units = 1;
    this.tokens -= units * unit;
    return units * unit;
  }

  /** Gives back bytes taken with `takeNow` and not used. */
  giveBack(bytes: number): void {
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + bytes);
  }

  /** Calls `fn` once at the next refill (repeated registrations of the same `fn` count once). */
  whenRefilled(fn: () => void): void {
    this.refillListeners.add(fn);
    this.schedule();
  }

  private refill(): void {
    const now = this.runtime.now();
    this.tokens = Math.min(this.bytesPerSecond, this.tokens + ((now - this.last) * this.bytesPerSecond) / 1000);
    this.last = now;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = this.runtime.setTimer(REFILL_MS, () => {
      this.timer = undefined;
      this.refill();
      while (this.waiters.length > 0 && this.tokens >= Math.min(this.waiters[0]!.bytes, this.bytesPerSecond)) {
        const waiter = this.waiters.shift()!;
        this.tokens -= waiter.bytes;
        waiter.resolve();
      }
      const listeners = [...this.refillListeners];
      this.refillListeners.clear();
      for (const fn of listeners) fn();
      if (this.waiters.length > 0) this.schedule();
    });
  }
}
