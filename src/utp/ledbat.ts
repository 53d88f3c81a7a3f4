/**
 * The congestion window of a uTP connection: LEDBAT (RFC 6817) as BEP 29 applies it. The window
 * grows while the one-way delay the peer measures on our packets stays near its lowest seen value,
 * and shrinks as the delay rises towards the 100 ms target, so uTP yields to TCP and to other
 * traffic sharing the link. It starts in slow start (the window grows by what each ack acks) until
 * the first loss or until the delay reaches the target; a loss halves it, a timeout drops it to
 * one packet. Pure: the connection feeds it acks, delay samples and losses.
 */

/** Queuing delay the window aims for, in microseconds. */
export const TARGET_DELAY_US = 100_000;
/** Most the window grows per round trip once out of slow start, in bytes. */
const MAX_GAIN_PER_RTT = 3000;
/** How long the lowest delay is remembered: the base delay is the minimum over the last two such periods. */
const BASE_DELAY_PERIOD_MS = 60_000;

export interface LedbatOptions {
  /** The largest packet payload, which is also the smallest window. */
  packetSize: number;
  /** Window at the start (default 2 packets). */
  initialWindow?: number;
  /** Largest window (default 4 MiB). */
  maxWindow?: number;
}

export class Ledbat {
  /** Bytes that may be in flight. */
  window: number;
  private slowStart = true;
  private threshold = Infinity;
  private readonly minWindow: number;
  private readonly maxWindow: number;
  /** Lowest delay seen in the current and the previous period (signed 32-bit arithmetic on wrapping samples). */
  private baseCurrent: number | undefined;
  private basePrevious: number | undefined;
  private periodStart = -Infinity;

  constructor(options: LedbatOptions) {
    this.minWindow = options.packetSize;
    this.maxWindow = options.maxWindow ?? 4 * 1024 * 1024;
    this.window = options.initialWindow ?? 2 * options.packetSize;
  }

  /**
   * `bytes` were acked. `delayUs` is the peer's measure of our newest acked packet's one-way delay
   * (its clock minus ours, modulo 2^32, so only differences between samples mean anything).
   */
  onAck(bytes: number, delayUs: number | undefined, nowMs: number): void {
    if (bytes <= 0) return;
    const queuing = delayUs === undefined ? 0 : this.queuingDelay(delayUs, nowMs);
    if (this.slowStart && queuing < TARGET_DELAY_US / 2) {
      this.window += bytes;
      if (this.window >= this.threshold) this.slowStart = false;
    } else {
      this.slowStart = false;
      const offTarget = (TARGET_DELAY_US - queuing) / TARGET_DELAY_US;
      const windowFactor = Math.min(bytes, this.window) / Math.max(bytes, this.window);
      this.window += MAX_GAIN_PER_RTT * offTarget * windowFactor;
    }
    this.clamp();
  }

  /** A packet was lost (found by selective or duplicate acks): halve the window. */
  onLoss(): void {
    this.window = this.window / 2;
    this.threshold = Math.max(this.window, this.minWindow);
    this.slowStart = false;
    this.clamp();
  }

  /** The resend timer fired: one packet in flight, then slow start up to half the old window. */
  onTimeout(): void {
    this.threshold = Math.max(this.window / 2, this.minWindow);
    this.window = this.minWindow;
    this.slowStart = true;
  }

  private queuingDelay(delayUs: number, nowMs: number): number {
    if (nowMs - this.periodStart >= BASE_DELAY_PERIOD_MS) {
      this.basePrevious = this.baseCurrent;
      this.baseCurrent = undefined;
      this.periodStart = nowMs;
    }
    if (this.baseCurrent === undefined || ((delayUs - this.baseCurrent) | 0) < 0) this.baseCurrent = delayUs;
    let base = this.baseCurrent;
    if (this.basePrevious !== undefined && ((this.basePrevious - base) | 0) < 0) base = this.basePrevious;
    return Math.max(0, (delayUs - base) | 0);
  }

  private clamp(): void {
    this.window = Math.min(this.maxWindow, Math.max(this.minWindow, this.window));
  }
}
