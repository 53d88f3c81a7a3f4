/**
 * warren → warren transfers for the swarm benchmark: S seeds and L leechers, each a separate
 * `swarm-warren-child.js` process on 127.0.0.1. Every leecher is given every seed and every other
 * leecher as peers, and all start at once. Reports each leecher's time, peak RSS (VmHWM) and the
 * CPU seconds of every process. Optionally runs the children under `node --cpu-prof`.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import type { EncryptionPolicy } from '../../src/swarm/mse-handshake.js';
import type { BenchData } from './swarm-data.js';
import { benchScript, JsonChild, type ChildEvent } from './swarm-proc.js';

export interface WarrenRunOptions {
  seeds: number;
  leechers: number;
  /** Write a .cpuprofile per child into this directory. */
  profileDir?: string;
  /** Give up after this many ms (the run then fails, naming where each leecher was). */
  timeoutMs: number;
  /** Every child's protocol encryption policy (default: the session's default, `prefer`). */
  encryption?: EncryptionPolicy;
}

export interface WarrenRunResult {
  seeds: number;
  leechers: number;
  size: number;
  /** Each leecher's time from `go` to complete, ms. */
  leechMs: number[];
  /** Each leecher's peak RSS (VmHWM) at completion, bytes. */
  leechPeakRss: number[];
  /** Each leecher's sampled peaks: rss, arrayBuffers, heapUsed, pieceBuffers (bytes). */
  leechPeakMemory: Record<string, number>[];
  /** CPU seconds of all seeds / all leechers over the whole run. */
  seedCpu: number;
  leechCpu: number;
  /** CPU seconds by thread name of the first seed and the first leecher, whole process lifetime. */
  seedThreads: Record<string, number>;
  leechThreads: Record<string, number>;
}

function spawnPeer(label: string, mode: 'seed' | 'leech', data: BenchData, dir: string, options: WarrenRunOptions): JsonChild {
  const { profileDir, encryption } = options;
  // One directory per child: each of its threads (the hashing worker too) writes its own profile
  // there, named CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile (the main thread is id 0).
  const nodeArgs = profileDir ? ['--cpu-prof', '--cpu-prof-dir', join(profileDir, label)] : [];
  return new JsonChild(label, process.execPath, [...nodeArgs, benchScript('swarm-warren-child.js'), mode, data.torrentPath, dir, ...(encryption ? [encryption] : [])]);
}

function describe(child: JsonChild): string {
  const p = child.latest.get('progress');
  if (!p) return `${child.label}: no progress report`;
  return `${child.label}: state ${String(p.state)}, ${String(p.piecesHad)}/${String(p.pieceCount)} pieces, downloaded ${String(p.downloaded)} B, peers [${(p.peers as string[]).join('; ')}]`;
}

/** Runs one warren transfer; leech directories are deleted afterwards. */
export async function runWarren(data: BenchData, options: WarrenRunOptions): Promise<WarrenRunResult> {
  if (options.profileDir) await mkdir(options.profileDir, { recursive: true });
  const seeds: JsonChild[] = [];
  const leechers: JsonChild[] = [];
  const leechDirs: string[] = [];
  try {
    for (let i = 0; i < options.seeds; i++) seeds.push(spawnPeer(`seed-${i}`, 'seed', data, data.sourceDir, options));
    for (let i = 0; i < options.leechers; i++) {
      const dir = join(data.dir, `leech-${i}`);
      await rm(dir, { recursive: true, force: true });
      await mkdir(dir);
      leechDirs.push(dir);
      leechers.push(spawnPeer(`leech-${i}`, 'leech', data, dir, options));
    }
    const seedPorts = (await Promise.all(seeds.map((c) => c.next('ready')))).map((e) => e.port as number);
    const leechPorts = (await Promise.all(leechers.map((c) => c.next('ready')))).map((e) => e.port as number);
    const endpoint = (port: number) => ({ host: '127.0.0.1', port });
    leechers.forEach((c, i) => c.send(`go ${JSON.stringify([...seedPorts, ...leechPorts.filter((_, j) => j !== i)].map(endpoint))}`));
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`no completion after ${options.timeoutMs} ms:\n  ${leechers.map(describe).join('\n  ')}`)), options.timeoutMs);
    });
    let done: ChildEvent[];
    try {
      done = await Promise.race([Promise.all(leechers.map((c) => c.next('complete'))), timeout]);
    } catch (error) {
      throw new Error(`warren ${options.seeds}→${options.leechers} failed: ${(error as Error).message}\n  ${leechers.map(describe).join('\n  ')}`);
    } finally {
      clearTimeout(timer);
    }
    const stats = await Promise.all([...seeds, ...leechers].map((c) => (c.send('stats'), c.next('stats'))));
    const cpu = stats.map((s) => s.cpu as number);
    return {
      seeds: options.seeds,
      leechers: options.leechers,
      size: data.size,
      leechMs: done.map((e) => e.ms as number),
      leechPeakRss: done.map((e) => e.peakRss as number),
      leechPeakMemory: done.map((e) => e.peakMemory as Record<string, number>),
      seedCpu: cpu.slice(0, options.seeds).reduce((a, b) => a + b, 0),
      leechCpu: cpu.slice(options.seeds).reduce((a, b) => a + b, 0),
      seedThreads: stats[0]!.threads as Record<string, number>,
      leechThreads: stats[options.seeds]!.threads as Record<string, number>,
    };
  } finally {
    const all = [...seeds, ...leechers];
    for (const c of all) if (c.proc.exitCode === null) c.send('stop');
    await Promise.race([Promise.all(all.map((c) => c.exit)), new Promise((r) => setTimeout(r, 10_000))]);
    await Promise.all(all.map((c) => c.stop()));
    for (const dir of leechDirs) await rm(dir, { recursive: true, force: true });
  }
}
