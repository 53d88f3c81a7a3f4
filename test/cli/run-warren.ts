/** Runs the built `warren` command in a child process and collects its output. */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const WARREN_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));

export interface WarrenResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

export function warren(args: string[]): Promise<WarrenResult> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [WARREN_MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
