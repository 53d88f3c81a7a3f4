/**
 * The DHT benchmark (`npm run bench -- dht`).
 *
 * Part A: warren vs bittorrent-dht, 300 nodes each on real UDP on 127.0.0.1, 50 announce-then-
 * lookup pairs each: time to the first matching peer and datagrams per lookup, with ratios.
 * Part B: 10,000 warren nodes on the virtual network (log-normal latency, 1% loss, 20% dead):
 * 1,000 find_node lookups and 1,000 announce-then-get_peers pairs: success rate, time to the
 * result and to convergence, hops and datagrams.
 *
 * Flags: `--quick` shrinks both parts (for a smoke run); `--only-a` / `--only-b` run one part;
 * `--alpha=N` / `--first-round=N` override warren's lookup width and first-round width (for tuning
 * experiments).
 */
import os from 'node:os';
import { runLoopbackBench, type LoopbackResult } from './lib/loopback-bench.js';
import { fmt, median, mean, quantile, ratio } from './lib/stats.js';
import { runVirtualBench } from './lib/virtual-bench.js';

function summarize(r: LoopbackResult): { med: number; p95: number; dgMed: number; dgMean: number; dgFirstMed: number; found: number } {
  // A lookup that never found the peer counts as infinitely slow.
  const times = r.samples.map((s) => s.firstPeerMs ?? Infinity);
  const firsts = r.samples.map((s) => s.datagramsToFirst).filter((d): d is number => d !== undefined);
  return {
    med: median(times),
    p95: quantile(times, 0.95),
    dgMed: median(r.samples.map((s) => s.datagrams)),
    dgMean: mean(r.samples.map((s) => s.datagrams)),
    dgFirstMed: median(firsts),
    found: times.filter((t) => t < Infinity).length,
  };
}

/** Runs the DHT benchmark, prints its figures, returns the headline. */
export async function runDhtBench(flags: string[]): Promise<string> {
  const quick = flags.includes('--quick');
  const numberFlag = (name: string): number | undefined => {
    const flag = flags.find((f) => f.startsWith(`--${name}=`));
    return flag === undefined ? undefined : Number(flag.slice(name.length + 3));
  };
  const tuning = { alpha: numberFlag('alpha'), firstRound: numberFlag('first-round') };
  const headline: string[] = [];
  console.log(
    `# DHT benchmark — node ${process.version}, ${os.cpus().length} cores, load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`,
  );
  if (!flags.includes('--only-b')) {
    const nodes = quick ? 60 : 300;
    const pairs = quick ? 10 : 50;
    console.log(`## A. loopback UDP: ${nodes} warren nodes vs ${nodes} bittorrent-dht nodes, ${pairs} announce+lookup pairs`);
    const t0 = Date.now();
    const [w, b] = await runLoopbackBench({ nodes, pairs, seed: 1, tuning }, (l) => console.log(l));
    const sw = summarize(w!);
    const sb = summarize(b!);
    console.log('  network          found   median ms  p95 ms   median total ms  datagrams/lookup median (mean)  to first peer');
    for (const [r, s] of [
      [w!, sw],
      [b!, sb],
    ] as const) {
      const totals = r.samples.map((x) => x.totalMs);
      console.log(
        `  ${r.name.padEnd(16)} ${`${s.found}/${r.samples.length}`.padEnd(7)} ${fmt(s.med, 2).padStart(9)}  ${fmt(s.p95, 2).padStart(7)}  ` +
          `${fmt(median(totals), 1).padStart(15)}  ${fmt(s.dgMed, 0).padStart(16)} (${fmt(s.dgMean, 1)})${' '.repeat(8)}${fmt(s.dgFirstMed, 0)}`,
      );
    }
    console.log(
      `  warren/bittorrent-dht: median time ${ratio(sw.med, sb.med)}, p95 time ${ratio(sw.p95, sb.p95)}, ` +
        `datagrams/lookup ${ratio(sw.dgMed, sb.dgMed)} (median), ${ratio(sw.dgMean, sb.dgMean)} (mean); part A took ${((Date.now() - t0) / 1000).toFixed(0)} s`,
    );
    headline.push(
      `loopback ${nodes}+${nodes}: warren ${fmt(sw.med, 2)} ms / ${fmt(sw.dgMed, 0)} dgrams vs bittorrent-dht ${fmt(sb.med, 2)} ms / ${fmt(sb.dgMed, 0)} dgrams ` +
        `(time x${ratio(sw.med, sb.med)}, dgrams x${ratio(sw.dgMed, sb.dgMed)}; found ${sw.found}/${w!.samples.length} vs ${sb.found}/${b!.samples.length})`,
    );
  }
  if (!flags.includes('--only-a')) {
    const nodes = quick ? 2000 : 10_000;
    const lookups = quick ? 200 : 1000;
    const v = await runVirtualBench({ nodes, lookups, peerLookups: quick ? 100 : 1000, seed: 7, tuning }, (l) => console.log(l));
    headline.push(v.headline);
  }
  return headline.join('; ');
}
