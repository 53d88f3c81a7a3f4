/**
 * Child processes for the swarm benchmark: spawns a process that speaks JSON lines on stdout,
 * waits for named events, and reads its peak RSS and CPU time from /proc when it cannot report
 * them itself (the libtorrent driver, the TCP copy children report their own).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { cp, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

/** Where child scripts are loaded from: this build's `dist/bench`, or a snapshot of it. */
let benchRoot = fileURLToPath(new URL('../', import.meta.url));

/** The path of a compiled benchmark script in `dist/bench/lib` (or in the snapshot). */
export function benchScript(name: string): string {
  return join(benchRoot, 'lib', name);
}

/**
 * Copies the compiled `dist/src` and `dist/bench` into `into/dist` and loads child scripts from
 * there, so a rebuild of the working tree during the run cannot break or change the children.
 */
export async function snapshotBuild(into: string): Promise<void> {
  const dist = fileURLToPath(new URL('../../', import.meta.url));
  const target = join(into, 'dist');
  await cp(join(dist, 'src'), join(target, 'src'), { recursive: true });
  await cp(join(dist, 'bench'), join(target, 'bench'), { recursive: true });
  await writeFile(join(target, 'package.json'), '{"type":"module"}\n');
  benchRoot = join(target, 'bench');
}

/** One JSON event printed by a child (`{"event": name, ...}`). */
export type ChildEvent = { event: string } & Record<string, unknown>;

/** A child that prints JSON lines; `next(name)` resolves with the next event of that name. */
export class JsonChild {
  readonly proc: ChildProcess;
  private readonly events: ChildEvent[] = [];
  private readonly waiters: { name: string; resolve(e: ChildEvent): void; reject(e: Error): void }[] = [];
  private stderr = '';
  private exited?: string;
  /** The latest event of each name (for reporting where a stalled child was). */
  readonly latest = new Map<string, ChildEvent>();
  readonly exit: Promise<number | null>;

  constructor(
    readonly label: string,
    command: string,
    args: string[],
    env: NodeJS.ProcessEnv = process.env,
  ) {
    this.proc = spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'], env });
    createInterface({ input: this.proc.stdout! }).on('line', (line) => this.onLine(line));
    this.proc.stderr!.on('data', (chunk: Buffer) => {
      this.stderr = (this.stderr + chunk.toString()).slice(-4000);
    });
    this.exit = new Promise((resolve) => {
      this.proc.on('exit', (code, signal) => {
        this.exited = `${label} exited (code ${code}, signal ${signal}); stderr: ${this.stderr.trim().slice(-1500) || '(empty)'}`;
        for (const w of this.waiters.splice(0)) w.reject(new Error(this.exited));
        resolve(code);
      });
    });
  }

  get pid(): number {
    return this.proc.pid!;
  }

  private onLine(line: string): void {
    let event: ChildEvent;
    try {
      event = JSON.parse(line) as ChildEvent;
    } catch (error) {
      this.stderr += `\n[non-JSON stdout: ${line.slice(0, 200)}; ${(error as Error).message}]`;
      return;
    }
    if (typeof event.event !== 'string') return;
    this.latest.set(event.event, event);
    const i = this.waiters.findIndex((w) => w.name === event.event || (event.event === 'error' && w.name !== 'error'));
    if (i >= 0) {
      const [w] = this.waiters.splice(i, 1);
      if (event.event === 'error' && w!.name !== 'error') w!.reject(new Error(`${this.label}: ${JSON.stringify(event)}`));
      else w!.resolve(event);
    } else this.events.push(event);
  }

  /** The next event named `name` (an `error` event from the child rejects). */
  next(name: string): Promise<ChildEvent> {
    const i = this.events.findIndex((e) => e.event === name || e.event === 'error');
    if (i >= 0) {
      const [e] = this.events.splice(i, 1);
      return e!.event === 'error' && name !== 'error' ? Promise.reject(new Error(`${this.label}: ${JSON.stringify(e)}`)) : Promise.resolve(e!);
    }
    if (this.exited) return Promise.reject(new Error(this.exited));
    return new Promise((resolve, reject) => this.waiters.push({ name, resolve, reject }));
  }

  /** Sends one line on the child's stdin. */
  send(line: string): void {
    this.proc.stdin!.write(`${line}\n`);
  }

  /** Stops the child (SIGTERM, then SIGKILL after 5 s) and waits for it. */
  async stop(): Promise<void> {
    if (this.exited) return;
    this.proc.kill('SIGTERM');
    const timer = setTimeout(() => this.proc.kill('SIGKILL'), 5000);
    await this.exit;
    clearTimeout(timer);
  }
}

/** Peak resident set (VmHWM) of a live process, in bytes; undefined when unreadable. */
export function peakRss(pid: number | 'self'): number | undefined {
  try {
    const status = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = /VmHWM:\s+(\d+) kB/.exec(status);
    return m ? Number(m[1]) * 1024 : undefined;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** User + system CPU seconds a live process has used so far (/proc/<pid>/stat, all threads). */
export function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after the command: state is index 0, utime is field 14 overall → index 11 here.
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/**
 * CPU seconds of each thread of this process since it started (/proc/self/task/<tid>/stat):
 * `main` for the event loop's thread, `t<tid>` for the others (hashing worker, libuv's file I/O
 * pool, V8's garbage collection helpers; Node 20 leaves them all named "node").
 */
export function threadCpu(): Record<string, number> {
  const byThread: Record<string, number> = {};
  for (const tid of readdirSync('/proc/self/task')) {
    try {
      const stat = readFileSync(`/proc/self/task/${tid}/stat`, 'latin1');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      byThread[Number(tid) === process.pid ? 'main' : `t${tid}`] = (Number(fields[11]) + Number(fields[12])) / 100;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error; // the thread just ended
    }
  }
  return byThread;
}
