/**
 * A driver process of an interop test: it takes JSON commands on stdin (`{"cmd":...}`, `quit` to
 * end) and writes one JSON event per line on stdout. Events are queued as they arrive; `next` takes
 * the first one a predicate accepts. An `error` or `torrent_error` event fails whoever is waiting,
 * with the driver's message. The libtorrent drivers (lt-driver.ts) and warren's own DHT driver
 * (warren-dht-process.ts) are such processes.
 */
import { type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createInterface } from 'node:readline';

/** One JSON event of a driver. */
export interface DriverEvent {
  event: string;
  [key: string]: unknown;
}

export class JsonDriver {
  private readonly events: DriverEvent[] = [];
  /** Everyone waiting for the next event (several waits may be pending at once). */
  private readonly waiters = new Set<() => void>();
  private exited: string | undefined;
  private stderr = '';

  /** `name` says whose driver it is in failure messages ("libtorrent", "warren"). */
  protected constructor(
    protected readonly child: ChildProcessWithoutNullStreams,
    private readonly name: string,
  ) {
    createInterface({ input: child.stdout }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as DriverEvent);
      } catch (error) {
        this.events.push({ event: 'error', message: `unparsable driver line "${line}": ${(error as Error).message}` });
      }
      this.wake();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    child.on('exit', (code, signal) => {
      this.exited = `${name} driver exited (code ${code}, signal ${signal})`;
      this.wake();
    });
  }

  private wake(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const resolve of waiting) resolve();
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** Resolves with the first not yet consumed event `matches` accepts; rejects on an error event or exit. */
  async next(what: string, matches: (e: DriverEvent) => boolean): Promise<DriverEvent> {
    for (;;) {
      const index = this.events.findIndex((e) => e.event === 'error' || e.event === 'torrent_error' || matches(e));
      if (index >= 0) {
        const [event] = this.events.splice(index, 1) as [DriverEvent];
        if ((event.event === 'error' || event.event === 'torrent_error') && !matches(event)) {
          throw new Error(`${this.name} failed while waiting for ${what}: ${String(event.message)}\n${this.stderr}`);
        }
        return event;
      }
      if (this.exited) throw new Error(`${this.exited} while waiting for ${what}\n${this.stderr}`);
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  /** Sends `command` and awaits the named event. */
  async request(command: Record<string, unknown>, event: string): Promise<DriverEvent> {
    this.send(command);
    return this.next(event, (e) => e.event === event);
  }

  /** Asks the driver to quit and makes sure the process is gone. */
  async stop(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((resolve) => this.child.once('exit', () => resolve()));
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await gone;
    clearTimeout(killer);
  }
}
