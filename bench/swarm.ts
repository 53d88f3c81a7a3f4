/**
 * The swarm benchmark (`npm run bench -- swarm`), all on 127.0.0.1 with one random file:
 *
 * 1. Physical limit: SHA-1 over the file on one core, and a plain TCP copy of it between two
 *    processes (written to a file; also discarded, for reference). The limit is the slower of the
 *    SHA-1 rate and the copy-to-file rate.
 * 2. 1 seed → 1 leecher: warren → warren (separate processes) and libtorrent → libtorrent
 *    (Debian's python3-libtorrent, `high_performance_seed` settings, TCP only).
 * 3. warren 4 seeds → 1 leecher and 1 seed → 4 leechers: throughput and CPU seconds per GiB.
 * 4. Peak RSS (VmHWM) of the warren leecher; with `--big`, also for a 4 GiB file.
 *
 * Flags: `--size=256M` (default 1G; K/M/G suffixes are powers of 1024), `--big` (adds the 4 GiB
 * RSS run), `--profile` (adds a warren 1 → 1 run under `node --cpu-prof` and prints the top
 * self-time functions of seed and leecher), `--keep-profiles=DIR` (where to keep them),
 * `--no-libtorrent`, `--quick` (only warren 1 → 1, `--repeat=N` times in a row: for A/B comparisons
 * of CPU seconds per GiB), `--encryption=prefer|require|allow` (every warren peer's policy; default
 * prefer, whose payload is plain: `require` measures RC4), `--format=v1|v2|hybrid` (the torrent made of
 * the file; default v1: v2 measures BEP 52's SHA-256 merkle checks, on both warren and libtorrent). MB/s are 10^6 bytes per second. The child processes run from a copy of the
 * compiled code taken at the start, so a rebuild during the run does not disturb them. The work
 * directory under /tmp is removed at the end.
 */
import { execFileSync } from 'node:child_process';
import os from 'node:os';
import { join } from 'node:path';
import { rm, readdir, cp } from 'node:fs/promises';
import { fmt, ratio } from './lib/stats.js';
import { freeBytes, makeBenchData, makeWorkDir, parseSize, type BenchData } from './lib/swarm-data.js';
import type { TorrentFormat } from '../src/swarm/create-torrent.js';
import { runLibtorrent } from './lib/swarm-libtorrent.js';
import { snapshotBuild } from './lib/swarm-proc.js';
import { sha1FileMs, tcpCopy } from './lib/swarm-physical.js';
import { selfTimes } from './lib/swarm-profile.js';
import { runWarren, type WarrenRunOptions, type WarrenRunResult } from './lib/swarm-warren.js';
import type { EncryptionPolicy } from '../src/swarm/mse-handshake.js';

const GiB = 1024 ** 3;

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

function mb(bytes: number): string {
  return `${fmt(bytes / 1e6, 0)} MB`;
}

function flagValue(flags: string[], name: string): string | undefined {
  const f = flags.find((x) => x.startsWith(`${name}=`));
  return f?.slice(name.length + 1);
}

/** Lets dirty pages of the previous transfer reach the disk so runs don't throttle each other. */
function settle(): void {
  execFileSync('sync');
}

function timeoutFor(size: number): number {
  return Math.max(60_000, (size / 5e6) * 1000);
}

function warrenLine(label: string, r: WarrenRunResult): { rate: number; line: string } {
  const bytes = r.size * r.leechers;
  const wall = Math.max(...r.leechMs);
  const rate = mbps(bytes, wall);
  const gib = bytes / GiB;
  const each = r.leechMs.map((ms) => fmt(mbps(r.size, ms), 0)).join(', ');
  const line =
    `  ${label.padEnd(30)} ${fmt(rate, 1).padStart(8)} MB/s  ${fmt(wall / 1000, 2).padStart(7)} s  ` +
    `CPU s/GiB: seeds ${fmt(r.seedCpu / gib, 2)}, leechers ${fmt(r.leechCpu / gib, 2)}, all ${fmt((r.seedCpu + r.leechCpu) / gib, 2)}  ` +
    `leecher peak RSS ${r.leechPeakRss.map(mb).join(', ')}${r.leechers > 1 ? `  (per leecher MB/s: ${each})` : ''}`;
  const m = r.leechPeakMemory[0];
  const memory = m ? `\n    leecher 0 sampled peaks: rss ${mb(m.rss!)}, arrayBuffers ${mb(m.arrayBuffers!)}, JS heap ${mb(m.heapUsed!)}, piece buffers ${mb(m.pieceBuffers!)}` : '';
  return { rate, line: line + memory };
}

async function printProfile(path: string, who: string): Promise<void> {
  const { totalMs, rows } = await selfTimes(path);
  console.log(`  ${who}: ${fmt(totalMs / 1000, 2)} s sampled; top self time:`);
  for (const row of rows.slice(0, 25)) console.log(`    ${fmt(row.percent, 1).padStart(5)}%  ${fmt(row.ms, 0).padStart(6)} ms  ${row.name}`);
}

/** Options every warren run of this benchmark shares. */
type Common = Pick<WarrenRunOptions, 'encryption'>;

/**
 * Whether the "2× libtorrent" target can be met in this run at all: no engine moves data faster
 * than the physical limit, so it can only when libtorrent ran at no more than half of it.
 */
function twiceLibtorrent(ltRate: number, physical: number): string {
  if (!Number.isFinite(ltRate)) return '2× libtorrent: libtorrent not run';
  const verdict = 2 * ltRate <= physical ? 'reachable in this run' : 'above the physical limit: no engine could reach it in this run';
  return `2× libtorrent = ${fmt(2 * ltRate, 0)} MB/s vs physical ${fmt(physical, 0)} MB/s: ${verdict}`;
}

/** Runs the swarm benchmark, prints its figures, returns the headline. */
export async function runSwarmBench(flags: string[]): Promise<string> {
  const size = parseSize(flagValue(flags, '--size') ?? '1G');
  const big = flags.includes('--big');
  const profile = flags.includes('--profile');
  const keepProfiles = flagValue(flags, '--keep-profiles');
  const withLibtorrent = !flags.includes('--no-libtorrent');
  const quick = flags.includes('--quick');
  const encryption = flagValue(flags, '--encryption');
  const format = flagValue(flags, '--format') ?? 'v1';
  if (!['v1', 'v2', 'hybrid'].includes(format)) throw new Error(`bad --format '${format}' (v1, v2 or hybrid)`);
  if (encryption !== undefined && !['prefer', 'require', 'allow'].includes(encryption)) throw new Error(`bad --encryption '${encryption}' (prefer, require or allow)`);
  const common: Common = { encryption: encryption as EncryptionPolicy | undefined };
  console.log(
    `# swarm benchmark — node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`,
  );
  const work = await makeWorkDir();
  const free = await freeBytes(work);
  // The source, four leecher copies at once, and a TCP copy (never at the same time as the leechers).
  const needed = size * 5 + GiB;
  if (free < needed) throw new Error(`not enough free disk under ${work}: ${mb(free)} free, ${mb(needed)} needed for --size=${size}`);
  const headline: string[] = [];
  try {
    await snapshotBuild(work);
    const t0 = performance.now();
    const data = await makeBenchData(work, 'payload.bin', size, format as TorrentFormat);
    const { info } = data.torrent;
    console.log(
      `## data: ${mb(size)} (${fmt(size / GiB, 2)} GiB) of random bytes in ${work}; a ${format} torrent, ${info.pieceCount} pieces of ${info.pieceLength / 1024} KiB; ` +
        `generated + hashed by warren's createTorrent in ${fmt((performance.now() - t0) / 1000, 1)} s (createTorrent alone ${fmt(mbps(size, data.createMs), 0)} MB/s); ${mb(free)} free`,
    );

    const seeds = Number(flagValue(flags, '--seeds') ?? '1');
    if (!Number.isInteger(seeds) || seeds < 1 || seeds > 8) throw new Error(`bad --seeds '${flagValue(flags, '--seeds')}' (1 to 8)`);
    if (quick) return await quickRuns(data, common, Number(flagValue(flags, '--repeat') ?? '1'), seeds, profile, keepProfiles);

    console.log('## physical limit');
    const shaMs = Math.min(await sha1FileMs(data.sourcePath), await sha1FileMs(data.sourcePath));
    const sha = mbps(size, shaMs);
    const copyPath = join(work, 'tcp-copy.bin');
    const copy = await tcpCopy(data.sourcePath, copyPath);
    await rm(copyPath, { force: true });
    settle();
    const discard = await tcpCopy(data.sourcePath, '-');
    const tcp = mbps(copy.bytes, copy.ms);
    const physical = Math.min(sha, tcp);
    console.log(`  SHA-1 of the file, one core (best of 2)   ${fmt(sha, 1).padStart(8)} MB/s`);
    console.log(`  TCP copy, file → socket → file           ${fmt(tcp, 1).padStart(8)} MB/s  (CPU s/GiB: sender ${fmt(copy.cpuSend / (size / GiB), 2)}, receiver ${fmt(copy.cpuRecv / (size / GiB), 2)})`);
    console.log(`  TCP copy, file → socket → discarded      ${fmt(mbps(discard.bytes, discard.ms), 1).padStart(8)} MB/s  (reference only)`);
    console.log(`  physical limit = min(SHA-1, TCP copy to file) = ${fmt(physical, 1)} MB/s`);

    console.log('## 1 seed → 1 leecher');
    const timeoutMs = timeoutFor(size);
    const w11 = warrenLine('warren → warren', await runWarren(data, { ...common, seeds: 1, leechers: 1, timeoutMs }));
    console.log(w11.line);
    settle();
    let ltRate = NaN;
    if (withLibtorrent) {
      const lt = await runLibtorrent(data);
      ltRate = mbps(size, lt.ms);
      console.log(
        `  ${`libtorrent ${lt.version} → libtorrent`.padEnd(30)} ${fmt(ltRate, 1).padStart(8)} MB/s  ${fmt(lt.ms / 1000, 2).padStart(7)} s  ` +
          `CPU s/GiB (both sessions, one process) ${fmt(lt.cpu / (size / GiB), 2)}`,
      );
      console.log(`    libtorrent settings: high_performance_seed + ${JSON.stringify(lt.settings)}`);
      settle();
    }
    console.log(`  warren / libtorrent = ${ratio(w11.rate, ltRate)} (target ≥ 2); warren / physical = ${ratio(w11.rate, physical)} (target ≥ 0.5)`);
    const twice = twiceLibtorrent(ltRate, physical);
    console.log(`  ${twice}`);

    console.log('## warren, several peers');
    const w41 = warrenLine('4 seeds → 1 leecher', await runWarren(data, { ...common, seeds: 4, leechers: 1, timeoutMs }));
    console.log(w41.line);
    settle();
    const w14 = warrenLine('1 seed → 4 leechers (aggregate)', await runWarren(data, { ...common, seeds: 1, leechers: 4, timeoutMs: timeoutMs * 2 }));
    console.log(w14.line);
    settle();

    const rss1 = w11.line.match(/leecher peak RSS (\d+) MB/)?.[1];
    let rssBig = 'not run (pass --big)';
    if (big) {
      const bigSize = 4 * GiB;
      const freeNow = await freeBytes(work);
      if (freeNow < bigSize * 2 + 2 * GiB) {
        rssBig = `skipped: ${mb(freeNow)} free, ${mb(bigSize * 2 + 2 * GiB)} needed`;
        console.log(`## 4 GiB: ${rssBig}`);
      } else {
        const bigData = await makeBenchData(work, 'payload-4g.bin', bigSize);
        const r = await runWarren(bigData, { ...common, seeds: 1, leechers: 1, timeoutMs: timeoutFor(bigSize) });
        const wb = warrenLine('4 GiB: warren → warren', r);
        console.log('## 4 GiB file');
        console.log(wb.line);
        rssBig = `${mb(r.leechPeakRss[0]!)} at 4 GiB`;
        await rm(bigData.sourceDir, { recursive: true, force: true });
        settle();
      }
    }

    if (profile) await profileRun(data, common, timeoutMs, keepProfiles);

    headline.push(
      `warren 1→1 ${fmt(w11.rate, 0)} MB/s, libtorrent ${fmt(ltRate, 0)} MB/s, physical ${fmt(physical, 0)} MB/s ` +
        `(SHA-1 ${fmt(sha, 0)}, TCP ${fmt(tcp, 0)}); warren/libtorrent ${ratio(w11.rate, ltRate)} (≥2: ${twice}), warren/physical ${ratio(w11.rate, physical)} (≥0.5); ` +
        `4→1 ${fmt(w41.rate, 0)} MB/s, 1→4 ${fmt(w14.rate, 0)} MB/s aggregate; leecher peak RSS ${rss1 ?? '?'} MB at ${fmt(size / GiB, 2)} GiB (≤200), ${rssBig}`,
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
  return headline.join('');
}

/** `--quick`: warren `seeds` → 1 only (1 unless `--seeds=N`), `repeat` times back to back; the headline lists every run. */
async function quickRuns(data: BenchData, common: Common, repeat: number, seeds: number, profile: boolean, keep: string | undefined): Promise<string> {
  const timeoutMs = timeoutFor(data.size);
  const gib = data.size / GiB;
  const runs: string[] = [];
  console.log(`## warren ${seeds} seed(s) → 1 leecher, ${repeat} run(s)`);
  for (let i = 0; i < repeat; i++) {
    const r = await runWarren(data, { ...common, seeds, leechers: 1, timeoutMs });
    console.log(warrenLine(`run ${i + 1}`, r).line);
    const threads = (t: Record<string, number>) =>
      Object.entries(t).sort((a, b) => b[1] - a[1]).filter(([, s]) => s >= 0.05).map(([name, s]) => `${name} ${fmt(s, 2)}`).join(', ');
    console.log(`    CPU s by thread (whole process): seed: ${threads(r.seedThreads)}; leecher: ${threads(r.leechThreads)}`);
    runs.push(`${fmt(mbps(data.size, r.leechMs[0]!), 0)} MB/s ${fmt((r.seedCpu + r.leechCpu) / gib, 2)} CPU s/GiB RSS ${mb(r.leechPeakRss[0]!)}`);
    settle();
  }
  if (profile) await profileRun(data, common, timeoutMs, keep);
  return `warren ${seeds}→1 (quick): ${runs.join('; ')}`;
}

async function profileRun(data: BenchData, common: Common, timeoutMs: number, keep: string | undefined): Promise<void> {
  const dir = join(data.dir, 'profiles');
  console.log('## profile: warren 1 seed → 1 leecher under node --cpu-prof');
  const r = await runWarren(data, { ...common, seeds: 1, leechers: 1, timeoutMs, profileDir: dir });
  console.log(warrenLine('warren → warren (profiled)', r).line);
  for (const who of ['leech-0', 'seed-0']) {
    const files = await readdir(join(dir, who)).catch(() => [] as string[]);
    const main = files.find((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f));
    const name = who === 'leech-0' ? 'leecher' : 'seeder';
    if (main) await printProfile(join(dir, who, main), `${name} (main thread)`);
    else console.log(`  ${who}: no profile written`);
    for (const worker of files.filter((f) => f !== main)) {
      const { totalMs, rows } = await selfTimes(join(dir, who, worker));
      const busy = totalMs - (rows.find((r) => r.name === '(idle)')?.ms ?? 0);
      console.log(`  ${name}, worker thread ${worker}: ${fmt(busy / 1000, 2)} s busy of ${fmt(totalMs / 1000, 2)} s sampled`);
    }
  }
  if (keep) {
    await cp(dir, keep, { recursive: true });
    console.log(`  profiles kept in ${keep}`);
  }
}
