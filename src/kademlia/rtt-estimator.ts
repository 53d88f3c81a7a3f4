/**
 * Round-trip-time estimates for lookups: per contact (keyed by e.g. "host:port") and one global
 * estimate for contacts never measured, both smoothed as in RFC 6298 (SRTT/RTTVAR, alpha 1/8,
 * beta 1/4). The iterative lookup uses `softTimeout` to decide when a query is slow and its slot
 * should go to another node; the transport still owns the hard timeout.
 */

interface Estimate {
  srtt: number;
  rttvar: number;
}

/** Options of `RttEstimator`; all durations in milliseconds. */
export interface RttEstimatorOptions {
  /** Lower clamp of `softTimeout` (default 50). */
  minTimeoutMs?: number;
  /** Upper clamp of `softTimeout` (default 2000). */
  maxTimeoutMs?: number;
  /** Global estimate before any sample (default 1000); `softTimeout` of an unknown key is this then. */
  initialMs?: number;
  /** Most per-key estimates kept (default 10,000); the least recently sampled key is evicted. */
  maxEntries?: number;
}

const ALPHA = 1 / 8;
const BETA = 1 / 4;

function update(e: Estimate, rtt: number): void {
  e.rttvar = (1 - BETA) * e.rttvar + BETA * Math.abs(e.srtt - rtt);
  e.srtt = (1 - ALPHA) * e.srtt + ALPHA * rtt;
}

/** Per-contact round-trip estimates (SRTT/RTTVAR as in RFC 6298) plus a global estimate used for contacts never measured. */
export class RttEstimator {
  private readonly minTimeoutMs: number;
  private readonly maxTimeoutMs: number;
  private readonly maxEntries: number;
  private readonly perKey = new Map<string, Estimate>();
  private readonly global: Estimate;
  private globalSampled = false;

  constructor(options: RttEstimatorOptions = {}) {
    this.minTimeoutMs = options.minTimeoutMs ?? 50;
    this.maxTimeoutMs = options.maxTimeoutMs ?? 2000;
    this.maxEntries = Math.max(1, options.maxEntries ?? 10_000);
    this.global = { srtt: options.initialMs ?? 1000, rttvar: 0 };
  }

  /** Records one measured round trip (a reply arrived `rttMs` after the query was sent). Negative or non-finite samples are ignored. */
  sample(key: string, rttMs: number): void {
    if (!Number.isFinite(rttMs) || rttMs < 0) return;
    if (this.globalSampled) {
      update(this.global, rttMs);
    } else {
      this.global.srtt = rttMs;
      this.global.rttvar = rttMs / 2;
      this.globalSampled = true;
    }
    const e = this.perKey.get(key);
    if (e !== undefined) {
      update(e, rttMs);
      // Re-insert so Map order is "least recently sampled first".
      this.perKey.delete(key);
      this.perKey.set(key, e);
      return;
    }
    this.perKey.set(key, { srtt: rttMs, rttvar: rttMs / 2 });
    if (this.perKey.size > this.maxEntries) {
      const oldest = this.perKey.keys().next();
      if (oldest.done !== true) this.perKey.delete(oldest.value);
    }
  }

  /** When a query to this key should be considered slow (its lookup slot is given to another node): srtt + 4*rttvar clamped, or the global estimate's for an unknown key. */
  softTimeout(key: string): number {
    const e = this.perKey.get(key) ?? this.global;
    return Math.min(this.maxTimeoutMs, Math.max(this.minTimeoutMs, e.srtt + 4 * e.rttvar));
  }

  /** Global smoothed RTT (for stats). */
  get globalSrtt(): number {
    return this.global.srtt;
  }

  /** Number of per-key estimates held (bounded by `maxEntries`). */
  get size(): number {
    return this.perKey.size;
  }
}
