/**
 * The web seed benchmark (`npm run bench -- webseed`), all on 127.0.0.1: one file of random bytes
 * served over HTTP (Node's http with `send`, Range support), and its .torrent whose only source is
 * that server (BEP 19 `url-list`, no peers, no DHT). In the same run:
 *
 * 1. a plain HTTP download of the file with curl, to a file: the reference (what one HTTP
 *    connection from this server gives);
 * 2. `warren get` of the torrent, from the web seed alone;
 * 3. `aria2c` of the same torrent, from the web seed alone.
 *
 * Each is a whole process run, start to exit (so it includes start-up and the final hash checks),
 * best of `--repeat=N` (default 2). Flags: `--size=256M` (default 512M). MB/s are 10^6 bytes per
 * second. Needs curl and aria2c on the PATH.
 */
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import send from 'send';
import { createNodeRuntime } from '../src/runtime/node-runtime.js';
import { createTorrent } from '../src/swarm/create-torrent.js';
import { fmt, ratio } from './lib/stats.js';
import { freeBytes, makeWorkDir, writeRandomFile } from './lib/swarm-data.js';

const CLI = fileURLToPath(new URL('../src/cli/main.js', import.meta.url));

function parseSize(text: string): number {
  const m = /^(\d+)([KMG])$/i.exec(text);
  if (!m) throw new Error(`bad --size '${text}' (e.g. 256M, 1G)`);
  return Number(m[1]) * { K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as 'K' | 'M' | 'G'];
}

/** Runs a command to its end; resolves with its wall-clock ms, rejects with its output on failure. */
function timed(command: string, args: string[]): Promise<number> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const child = spawn(command, args, { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-2000)));
    child.once('error', reject);
    child.once('exit', (code) => (code === 0 ? resolve(performance.now() - t0) : reject(new Error(`${command} exited ${code}: ${stderr}`))));
  });
}

/** Runs the benchmark, prints its figures, returns the headline. */
export async function runWebSeedBench(flags: string[]): Promise<string> {
  const size = parseSize(flags.find((f) => f.startsWith('--size='))?.slice(7) ?? '512M');
  const repeat = Number(flags.find((f) => f.startsWith('--repeat='))?.slice(9) ?? '2');
  console.log(`# web seed benchmark — node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
  const work = await makeWorkDir();
  if ((await freeBytes(work)) < size * 3) throw new Error(`not enough free disk under ${work} for --size=${size}`);
  const www = join(work, 'www');
  const server = createServer((req, res) => void send(req, decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname), { root: www }).pipe(res));
  try {
    await mkdir(www);
    const file = join(www, 'payload.bin');
    await writeRandomFile(file, size);
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const torrent = join(work, 'payload.torrent');
    await writeFile(torrent, (await createTorrent(createNodeRuntime().fs, file, { webSeeds: [base] })).bytes);
    console.log(`## ${fmt(size / 1e6, 0)} MB file served at ${base}; the torrent's only source is that URL`);

    const best = async (label: string, run: (out: string) => Promise<number>) => {
      let ms = Infinity;
      for (let i = 0; i < repeat; i++) {
        const out = join(work, `out-${label}-${i}`);
        await mkdir(out);
        ms = Math.min(ms, await run(out));
        await rm(out, { recursive: true, force: true });
      }
      const rate = size / 1e6 / (ms / 1000);
      console.log(`  ${label.padEnd(36)} ${fmt(rate, 1).padStart(8)} MB/s  (best of ${repeat}: ${fmt(ms / 1000, 2)} s)`);
      return rate;
    };
    const curl = await best('curl, plain HTTP GET (reference)', (out) => timed('curl', ['-s', '-o', join(out, 'payload.bin'), `${base}payload.bin`]));
    const warren = await best('warren get, web seed only', (out) =>
      timed(process.execPath, [CLI, 'get', torrent, '--no-dht', '--port', '0', '--data-dir', join(out, 'data'), '-o', out, '--json']),
    );
    const aria2 = await best('aria2c, web seed only', (out) =>
      timed('aria2c', ['--no-conf=true', '--enable-dht=false', '--bt-enable-lpd=false', '--seed-time=0', '--file-allocation=none', '--console-log-level=error', '--summary-interval=0', `--dir=${out}`, torrent]),
    );
    console.log(`  warren / aria2c = ${ratio(warren, aria2)}; warren / plain HTTP = ${ratio(warren, curl)}`);
    return `warren ${fmt(warren, 0)} MB/s, aria2c ${fmt(aria2, 0)} MB/s, curl ${fmt(curl, 0)} MB/s; warren/aria2c ${ratio(warren, aria2)}, warren/curl ${ratio(warren, curl)}`;
  } finally {
    server.close();
    await rm(work, { recursive: true, force: true });
  }
}
