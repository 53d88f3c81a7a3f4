/**
 * A child process that speaks JSON lines on stdout, run inside a `TestNamespace`: `warren … --json`
 * (`JsonProcess.warren`) or the test tracker (tracker-process.ts, `JsonProcess.tracker`). The test
 * stays outside the namespace and reads the events as they come.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { WARREN_MAIN } from '../cli/run-warren.js';
import type { TestNamespace } from './netns.js';

const TRACKER_MAIN = fileURLToPath(new URL('./tracker-process.js', import.meta.url));

export class JsonProcess {
  readonly events: Record<string, unknown>[] = [];
  /** The tail of its stderr, for failure messages. */
  stderr = '';
  readonly exited: Promise<number | null>;
  private readonly waiters = new Set<() => void>();

  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      try {
        this.events.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        this.events.push({ event: 'unparsable', line });
      }
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
  static warren(ns: TestNamespace, args: string[]): JsonProcess {
    const { command, args: wrapped } = ns.wrap(process.execPath, [WARREN_MAIN, ...args, '--json']);
    return new JsonProcess(spawn(command, wrapped, { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  /** The test tracker listening on `host` inside `ns` (stdin open: it exits when stdin ends). */
  static tracker(ns: TestNamespace, host: string): JsonProcess {
    const { command, args } = ns.wrap(process.execPath, [TRACKER_MAIN, 'serve', host]);
    return new JsonProcess(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
  }

  private wake(): void {
    const waiting = [...this.waiters];
    this.waiters.clear();
    for (const wake of waiting) wake();
  }

  private get gone(): boolean {
    return this.child.exitCode !== null || this.child.signalCode !== null;
  }

  /** The first event `matches` accepts (past or future); fails when the process exits first. */
  async next(what: string, matches: (e: Record<string, unknown>) => boolean): Promise<Record<string, unknown>> {
    for (;;) {
      const found = this.events.find(matches);
      if (found) return found;
      if (this.gone) throw new Error(`the process exited (code ${this.child.exitCode}) before ${what}: ${this.stderr}`);
      await new Promise<void>((resolve) => this.waiters.add(resolve));
    }
  }

  /** The first event named `name`. */
  event(name: string): Promise<Record<string, unknown>> {
    return this.next(`"${name}"`, (e) => e.event === name);
  }

  async stop(): Promise<void> {
    if (this.gone) return;
    this.child.kill('SIGTERM');
    await this.exited;
  }
}
