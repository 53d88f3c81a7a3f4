/**
 * Per-source token buckets for incoming datagrams. A source that sends faster than `perSecond`
 * (after a `burst` allowance) has its excess dropped. Memory is bounded: at most `maxSources`
 * buckets are kept; when full, the least recently used one is forgotten.
 */
export interface RateLimiterOptions {
  perSecond?: number;
  burst?: number;
  maxSources?: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class RateLimiter {
  private readonly perSecond: number;
  private readonly burst: number;
  private readonly maxSources: number;
  private readonly buckets = new Map<string, Bucket>();

  constructor(
    private readonly now: () => number,
    options: RateLimiterOptions = {},
  ) {
    this.perSecond = options.perSecond ?? 100;
    this.burst = options.burst ?? 200;
    this.maxSources = options.maxSources ?? 10_000;
  }

  /** Takes one token for `source`; false means the datagram must be dropped. */
  allow(source: string): boolean {
    const now = this.now();
    let bucket = this.buckets.get(source);
    if (bucket) {
      this.buckets.delete(source); // re-insert to keep Map order = recency
      bucket.tokens = Math.min(this.burst, bucket.tokens + ((now - bucket.at) / 1000) * this.perSecond);
      bucket.at = now;
    } else {
      if (this.buckets.size >= this.maxSources) {
        const oldest = this.buckets.keys().next().value as string;
        this.buckets.delete(oldest);
      }
      bucket = { tokens: this.burst, at: now };
    }
    this.buckets.set(source, bucket);
    if (bucket.tokens < 1) return false;
    bucket.tokens -= 1;
    return true;
  }

  get size(): number {
    return this.buckets.size;
  }
}
