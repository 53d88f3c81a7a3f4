/**
 * A transfer rate over a sliding window (bytes per second), for choking decisions, request
 * pipelining and progress display. Time comes from the caller.
 */
const WINDOW_MS = 5000;
const SLOT_MS = 250;
const SLOTS = WINDOW_MS / SLOT_MS;

export class RateMeter {
  private readonly slots = new Float64Array(SLOTS);
  private slotStart: number;
  private sum = 0;
  total = 0;
  private readonly startedAt: number;

  constructor(private readonly now: () => number) {
    this.startedAt = now();
    this.slotStart = Math.floor(this.startedAt / SLOT_MS);
  }

  add(bytes: number): void {
    this.advance();
    this.slots[this.slotStart % SLOTS]! += bytes;
    this.sum += bytes;
    this.total += bytes;
  }

  /** Bytes per second over the last 5 seconds (or since creation, when younger). */
  get rate(): number {
    this.advance();
    const elapsed = Math.min(WINDOW_MS, Math.max(SLOT_MS, this.now() - this.startedAt));
    return (this.sum * 1000) / elapsed;
  }

  private advance(): void {
    const slot = Math.floor(this.now() / SLOT_MS);
    const steps = Math.min(SLOTS, slot - this.slotStart);
    for (let i = 1; i <= steps; i++) {
      const at = (this.slotStart + i) % SLOTS;
      this.sum -= this.slots[at]!;
      this.slots[at] = 0;
    }
    if (slot > this.slotStart) this.slotStart = slot;
  }
}
