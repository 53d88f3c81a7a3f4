/**
 * A byte-rate limit shared by the uploads of a torrent (a user setting, like libtorrent's
 * upload_rate_limit): `take(n)` resolves when n bytes may be sent. A token bucket refilled on a
 * timer, with a burst of one second's worth; waiters are served in order.
 */
import type { Runtime, Timer } from '../runtime/interfaces.js';

const REFILL_MS = 50;

export class TransferLimiter {
  private tokens: number;
  private last: number;
  private readonly waiters: { bytes: number; resolve(): void }[] = [];
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
      if (this.waiters.length > 0) this.schedule();
    });
  }
}
