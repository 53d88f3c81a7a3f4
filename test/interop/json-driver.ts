/**
 * A driver process of an interop test: a `JsonProcess` that also takes JSON commands on stdin
 * (`{"cmd":...}`, `quit` to end). Unlike a `JsonProcess`, `next` takes the event it returns out of
 * the queue, so a command's reply is not found again by the next wait; and an `error` or
 * `torrent_error` event (or a line that is not JSON) fails whoever is waiting, with the driver's
 * message. The libtorrent drivers (lt-driver.ts) and warren's own DHT driver
 * (warren-dht-process.ts) are such processes.
 */
import { type ChildProcessWithoutNullStreams } from 'node:child_process';
import { JsonProcess } from './json-process.js';

/** One JSON event of a driver. */
export interface DriverEvent {
  event: string;
  [key: string]: unknown;
}

const isError = (e: DriverEvent): boolean => e.event === 'error' || e.event === 'torrent_error';

export class JsonDriver extends JsonProcess {
  declare readonly child: ChildProcessWithoutNullStreams;
  declare readonly events: DriverEvent[];

  /** `name` says whose driver it is in failure messages ("libtorrent", "warren"). */
  protected constructor(child: ChildProcessWithoutNullStreams, name: string) {
    super(child, `${name} driver`);
  }

  protected override unparsable(line: string, error: Error): DriverEvent {
    return { event: 'error', message: `unparsable driver line "${line}": ${error.message}` };
  }

  send(command: Record<string, unknown>): void {
    this.child.stdin.write(`${JSON.stringify(command)}\n`);
  }

  /** Resolves with the first not yet consumed event `matches` accepts (and consumes it); rejects on an error event or exit. */
  override next(what: string, matches: (e: DriverEvent) => boolean): Promise<DriverEvent> {
    return this.waitFor(what, () => {
      const index = this.events.findIndex((e) => isError(e) || matches(e));
      if (index < 0) return undefined;
      const [event] = this.events.splice(index, 1) as [DriverEvent];
      if (isError(event) && !matches(event)) throw new Error(`${this.name} failed while waiting for ${what}: ${String(event.message)}\n${this.stderr}`);
      return event;
    });
  }

  /** Sends `command` and awaits the named event. */
  async request(command: Record<string, unknown>, event: string): Promise<DriverEvent> {
    this.send(command);
    return this.next(event, (e) => e.event === event);
  }

  /** Asks the driver to quit and makes sure the process is gone (SIGKILL after 5 s). */
  override async stop(): Promise<void> {
    if (this.gone) return;
    this.child.stdin.end(`${JSON.stringify({ cmd: 'quit' })}\n`);
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(killer);
  }
}
