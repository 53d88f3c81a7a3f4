/**
 * A wide-area latency model for the virtual network: every host gets a base one-way delay drawn
 * from a log-normal distribution (its access link and distance), clipped to [minMs, maxMs]; a
 * datagram from a to b takes base(a) + base(b), plus up to `jitter` of that at random. With the
 * defaults the round trip between two random hosts has a median near 80 ms and a tail that
 * reaches about 1 s (2 × (250 + 250) ms at most).
 */
import type { Endpoint } from '../../src/runtime/interfaces.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

/** Parameters of `LatencyModel`. */
export interface LatencyModelOptions {
  seed: number;
  /** Median of the per-host one-way base delay (default 17 ms). */
  medianMs?: number;
  /** Log-normal sigma (default 0.75). */
  sigma?: number;
  minMs?: number;
  maxMs?: number;
  /** Extra random delay per datagram as a fraction of the base (default 0.1). */
  jitter?: number;
}

/** Per-host base delays plus per-datagram jitter; `latencyMs` plugs into `VirtualNetwork`. */
export class LatencyModel {
  private readonly base = new Map<string, number>();
  private readonly prng: Mulberry32;
  private readonly jitterPrng: Mulberry32;
  private readonly mu: number;
  private readonly sigma: number;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly jitter: number;

  constructor(options: LatencyModelOptions) {
    this.prng = new Mulberry32(options.seed);
    this.jitterPrng = new Mulberry32(options.seed ^ 0x5bd1e995);
    this.mu = Math.log(options.medianMs ?? 17);
    this.sigma = options.sigma ?? 0.75;
    this.minMs = options.minMs ?? 2;
    this.maxMs = options.maxMs ?? 250;
    this.jitter = options.jitter ?? 0.1;
  }

  /** The base one-way delay of `host` (drawn on first use). */
  hostDelay(host: string): number {
    let d = this.base.get(host);
    if (d === undefined) {
      // Box-Muller from two uniforms in (0, 1].
      const u = 1 - this.prng.next();
      const v = this.prng.next();
      const normal = Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * v);
      d = Math.min(this.maxMs, Math.max(this.minMs, Math.exp(this.mu + this.sigma * normal)));
      this.base.set(host, d);
    }
    return d;
  }

  /** One-way delay of one datagram. */
  readonly latencyMs = (from: Endpoint, to: Endpoint): number => {
    const base = this.hostDelay(from.host) + this.hostDelay(to.host);
    return base * (1 + this.jitter * this.jitterPrng.next());
  };

  /** Median and 99th percentile and max of the round trip over `pairs` random pairs of `hosts` (without jitter). */
  rttProfile(hosts: readonly string[], pairs: number, prng: Mulberry32): { median: number; p99: number; max: number } {
    const rtts: number[] = [];
    for (let i = 0; i < pairs; i++) {
      const a = hosts[Math.floor(prng.next() * hosts.length)]!;
      const b = hosts[Math.floor(prng.next() * hosts.length)]!;
      rtts.push(2 * (this.hostDelay(a) + this.hostDelay(b)) * (1 + this.jitter / 2));
    }
    rtts.sort((x, y) => x - y);
    return { median: rtts[rtts.length >> 1]!, p99: rtts[Math.floor(rtts.length * 0.99)]!, max: rtts[rtts.length - 1]! };
  }
}
