/**
 * Work done once per turn of the event loop: `schedule()` as often as you like, and `run` is called
 * once, in a microtask, after the current synchronous work (used to batch a connection's sends or
 * deliveries).
 */
export class TurnFlush {
  private scheduled = false;

  constructor(private readonly run: () => void) {}

  /** Whether a run is scheduled and has not happened yet. */
  get pending(): boolean {
    return this.scheduled;
  }

  schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    queueMicrotask(() => {
      this.scheduled = false;
      this.run();
    });
  }
}
