/**
 * A child process that speaks JSON lines on stdout, run inside a `TestNamespace`: `warren … --json`
 * (`JsonProcess.warren`) or the test tracker (tracker-process.ts, `JsonProcess.tracker`). The test
 * stays outside the namespace and reads the events as they come. The drivers that also take
 * commands on stdin (json-driver.ts) are built on it.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { WARREN_MAIN } from '../cli/run-warren.js';
/** Where a child process runs: a `TestNamespace`, or one namespace of a `TestRouter` (`{ wrap: router.wrapLan }`). */
export interface CommandWrapper {
  wrap(command: string, args: readonly string[]): { command: string; args: string[] };
}

const TRACKER_MAIN = fileURLToPath(new URL('./tracker-process.js', import.meta.url));

export class JsonProcess {
  /** Every event so far, in order (a line that is not JSON as `{ event: 'unparsable', line }`). */
  readonly events: Record<string, unknown>[] = [];
  /** The tail of its stderr, for failure messages. */
  stderr = '';
  /** Its exit code (null when a signal ended it). */
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  /** `name` says whose process it is in failure messages ("warren", "libtorrent driver"). */
  constructor(
    readonly child: ChildProcess,
    protected readonly name = 'the process',
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      let event: Record<string, unknown>;
      try {
        event = JSON.parse(line) as Record<string, unknown>;
      } catch (error) {
        event = this.unparsable(line, error as Error);
      }
      this.events.push(event);
      this.wake();
    });
    child.stderr!.on('data', (d: Buffer) => (this.stderr = (this.stderr + d.toString()).slice(-4000)));
    this.exited = new Promise((resolve) =>
      child.on('exit', (code) => {
        resolve(code);
        this.wake();
      }),
    );
  }

  /** `warren <args> --json` inside `ns`. */
  static warren(ns: CommandWrapper, args: string[]): JsonProcess {
    const { command, args: wrapped } = ns.wrap(process.execPath, [WARREN_MAIN, ...args, '--json']);
    return new JsonProcess(spawn(command, wrapped, { stdio: ['ignore', 'pipe', 'pipe'] }), 'warren');
  }

  /** The test tracker listening on `host` inside `ns` (stdin open: it exits when stdin ends). */
  static tracker(ns: CommandWrapper, host: string): JsonProcess {
    const { command, args } = ns.wrap(process.execPath, [TRACKER_MAIN, 'serve', host]);
    return new JsonProcess(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }), 'the tracker');
  }

  /** The event that stands for a stdout line that is not JSON. */
  protected unparsable(line: string, _error: Error): Record<string, unknown> {
    return { event: 'unparsable', line };
  }

  private wake(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  /** Whether the process has exited. */
  protected get gone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /**
   * Resolves with what `take` finds among the events, trying again as each event arrives; fails
   * (with the tail of stderr) when the process exits before it finds anything, or when `take` throws.
   */
  protected async waitFor<T>(what: string, take: () => T | undefined): Promise<T> {
    for (;;) {
      const found = take();
      if (found !== undefined) return found;
      if (this.gone) throw new Error(`${this.name} exited (code ${this.child.exitCode}, signal ${this.child.signalCode}) while waiting for ${what}\n${this.stderr}`);
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  /** The first event `matches` accepts (past or future; it stays in `events`); fails when the process exits first. */
  next(what: string, matches: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    return this.waitFor(what, () => this.events.find(matches));
  }

  /** The first event named `name` (see `next`). */
  event(name: string): Promise<Record<string, unknown>> {
    return this.next(`"${name}"`, (e) => e.event === name);
  }

  /** Ends the process with SIGTERM; resolves once it has exited. */
  async stop(): Promise<void> {
    if (this.gone) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
