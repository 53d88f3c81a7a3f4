/**
 * The check benchmark (`npm run bench -- check`): how fast a torrent's data on disk is checked,
 * on one random file (1 GiB by default; `--size=256M`), warm in the page cache (just written).
 *
 * - SHA-1 of the file on one core, reading 1 MiB and hashing it in turn (as a check without
 *   overlap would): a reference; a check that overlaps its reads with the hashing can beat it.
 *   Hashing alone (no reads) is faster still, about 1.4 GB/s on the machine of BENCHMARKS.md.
 * - warren: a session as `warren node` and the commands run it (hashing on its worker thread)
 *   adds the torrent without resume data, so every piece is read and hashed before `add` resolves.
 * - libtorrent (Debian's python3-libtorrent): the same .torrent added without resume data, until
 *   it seeds; with its default of one hashing thread, and with two (this machine has two cores).
 *
 * `--repeat=N` rounds of each (default 3); the table gives the median. MB/s are 10^6 bytes per
 * second. The work directory under /tmp is removed at the end.
 */
import { rm } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import os from 'node:os';
import { toInfoHash } from '../src/dht/types.js';
import { createNodeRuntime } from '../src/runtime/node-runtime.js';
import { SwarmSession } from '../src/swarm/session.js';
import { fmt, ratio } from './lib/stats.js';
import { freeBytes, makeBenchData, makeWorkDir, parseSize, type BenchData } from './lib/swarm-data.js';
import { sha1FileMs } from './lib/swarm-physical.js';
import { JsonChild } from './lib/swarm-proc.js';

const GiB = 1024 ** 3;
const DRIVER = fileURLToPath(new URL('../../bench/lib/libtorrent-check-bench.py', import.meta.url));

interface Round {
  ms: number;
  cpu: number;
}

function median(rounds: Round[]): Round {
  const sorted = [...rounds].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor(sorted.length / 2)]!;
}

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

/** warren: one session with the worker hasher; each round adds the torrent fresh and removes it. */
async function warrenRounds(data: BenchData, repeat: number): Promise<Round[]> {
  const session = new SwarmSession({ host: '127.0.0.1', port: 0, hashInWorker: true, utp: false }, createNodeRuntime());
  await session.start();
  const rounds: Round[] = [];
  try {
    const infoHash = toInfoHash(data.torrent.infoHash);
    for (let i = 0; i < repeat; i++) {
      const cpu0 = process.cpuUsage();
      const t0 = performance.now();
      const torrent = await session.add({ infoHash, infoBytes: data.torrent.infoBytes, dir: data.sourceDir, paused: true });
      const ms = performance.now() - t0;
      const cpu = process.cpuUsage(cpu0);
      const stats = torrent.stats();
      if (stats.piecesHad !== stats.pieceCount) throw new Error(`warren found ${stats.piecesHad} of ${stats.pieceCount} pieces good`);
      rounds.push({ ms, cpu: (cpu.user + cpu.system) / 1e6 });
      await session.remove(infoHash);
    }
  } finally {
    await session.close();
  }
  return rounds;
}

async function libtorrentRounds(data: BenchData, threads: number, repeat: number): Promise<{ version: string; rounds: Round[] }> {
  const child = new JsonChild('libtorrent check driver', '/usr/bin/python3', [DRIVER, data.torrentPath, data.sourceDir, String(threads), String(repeat)]);
  try {
    const settings = await child.next('settings');
    const rounds: Round[] = [];
    for (let i = 0; i < repeat; i++) {
      const e = await child.next('checked');
      if (e.pieces !== data.torrent.info.pieceCount) throw new Error(`libtorrent found ${String(e.pieces)} of ${data.torrent.info.pieceCount} pieces`);
      rounds.push({ ms: e.ms as number, cpu: e.cpu as number });
    }
    await child.exit;
    return { version: String(settings.version), rounds };
  } finally {
    await child.stop();
  }
}

export async function runCheckBench(flags: string[]): Promise<string> {
  const sizeFlag = flags.find((f) => f.startsWith('--size='))?.slice(7);
  const size = sizeFlag ? parseSize(sizeFlag) : GiB;
  const repeat = Number(flags.find((f) => f.startsWith('--repeat='))?.slice(9) ?? '3');
  const dir = await makeWorkDir();
  try {
    if ((await freeBytes(dir)) < size * 1.2) throw new Error(`not enough free space in ${dir} for ${size} bytes`);
    const data = await makeBenchData(dir, 'check.bin', size);
    console.log(`# check benchmark — node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`);
    console.log(`## data: ${fmt(size / 1e6, 0)} MB, ${data.torrent.info.pieceCount} pieces of ${data.torrent.info.pieceLength / 1024} KiB, warm in the page cache; ${repeat} rounds each, median shown`);
    const sha1 = mbps(size, await sha1FileMs(data.sourcePath));
    const warren = median(await warrenRounds(data, repeat));
    const lt1 = await libtorrentRounds(data, 1, repeat);
    const lt2 = await libtorrentRounds(data, 2, repeat);
    const row = (name: string, r: Round) =>
      console.log(`  ${name.padEnd(40)} ${fmt(mbps(size, r.ms), 1).padStart(8)} MB/s  ${fmt(r.ms / 1000, 2).padStart(6)} s  ${fmt(r.cpu / (size / GiB), 2)} CPU s/GiB`);
    console.log(`  ${'read, then SHA-1, in turn, one core'.padEnd(40)} ${fmt(sha1, 1).padStart(8)} MB/s`);
    row('warren (hashing thread)', warren);
    row(`libtorrent ${lt1.version}, 1 hashing thread`, median(lt1.rounds));
    row(`libtorrent ${lt2.version}, 2 hashing threads`, median(lt2.rounds));
    const w = mbps(size, warren.ms);
    const best = Math.max(mbps(size, median(lt1.rounds).ms), mbps(size, median(lt2.rounds).ms));
    return `warren ${fmt(w, 0)} MB/s, libtorrent ${fmt(mbps(size, median(lt1.rounds).ms), 0)} (1 thread) / ${fmt(mbps(size, median(lt2.rounds).ms), 0)} (2 threads) MB/s: warren/best libtorrent ${ratio(w, best)}, warren/(read, then SHA-1) ${ratio(w, sha1)}`;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
