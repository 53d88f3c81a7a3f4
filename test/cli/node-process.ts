/** Runs `warren node --json` in a child process on 127.0.0.1 for tests, and waits for its ready line. */
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { WARREN_MAIN } from './run-warren.js';

export interface NodeProcess {
  child: ChildProcess;
  api: string;
  /** The UI's login link. */
  ui: string;
  /** TCP port peers connect to. */
  port: number;
  /** Resolves with the exit code (or the signal's name). */
  exited: Promise<number | string | null>;
  stderr(): string;
}

/** Starts a node with its own data dir, no DHT bootstrap, ports picked by the OS. */
export function startNodeProcess(dataDir: string, extra: string[] = []): Promise<NodeProcess> {
  const args = ['node', '--data-dir', dataDir, '--host', '127.0.0.1', '--port', '0', '--dht-port', '0', '--api', '127.0.0.1:0', '--no-bootstrap', '--json', ...extra];
  const child = spawn(process.execPath, [WARREN_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
  const exited = new Promise<number | string | null>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal)));
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const ready = JSON.parse(line) as { event: string; api: string; ui: string; swarm: string };
      if (ready.event !== 'ready') reject(new Error(`expected a ready line, got ${line}`));
      resolve({ child, api: ready.api, ui: ready.ui, port: Number(ready.swarm.split(':')[1]), exited, stderr: () => stderr });
    });
    void exited.then((code) => reject(new Error(`warren node exited (${code}) before it was ready: ${stderr}`)));
  });
}
