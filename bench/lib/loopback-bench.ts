/**
 * Part A of the DHT benchmark: warren and bittorrent-dht, each as its own network of N nodes on
 * real UDP sockets on 127.0.0.1, bootstrapped the same way; then P announce-then-lookup pairs on
 * each (same node indices and infohash draws on both), run one at a time and interleaved between
 * the two networks so machine drift hits both alike.
 */
import { Mulberry32 } from '../../src/runtime/prng.js';
import { BittorrentDhtLoopback } from './bittorrent-loopback.js';
import type { LookupSample, LoopbackNetwork } from './loopback-network.js';
import { withTimeout } from './stats.js';
import { WarrenLoopback, type WarrenTuning } from './warren-loopback.js';

/** Results of one network. */
export interface LoopbackResult {
  name: string;
  bootstrapMs: number;
  notReady: number;
  meanTable: number;
  samples: LookupSample[];
  failedAnnounces: number;
}

/** Runs Part A; `log` receives progress lines. */
export async function runLoopbackBench(
  options: { nodes: number; pairs: number; seed: number; tuning?: WarrenTuning },
  log: (line: string) => void,
): Promise<LoopbackResult[]> {
  const networks: LoopbackNetwork[] = [new WarrenLoopback(options.nodes, 20, options.tuning), new BittorrentDhtLoopback(options.nodes)];
  const results: LoopbackResult[] = [];
  try {
    for (const net of networks) {
      const built = await net.build();
      log(
        `  ${net.name}: ${net.size} nodes bootstrapped in ${(built.bootstrapMs / 1000).toFixed(1)} s, ` +
          `${built.notReady} not ready in time, mean table ${built.meanTable.toFixed(1)} contacts`,
      );
      results.push({ name: net.name, ...built, samples: [], failedAnnounces: 0 });
    }
    const prng = new Mulberry32(options.seed);
    const pick = (): number => Math.floor(prng.next() * options.nodes);
    for (let p = 0; p < options.pairs; p++) {
      const announcer = pick();
      let looker = pick();
      while (looker === announcer) looker = pick();
      const infoHash = prng.bytes(20);
      const port = 20_000 + p;
      // Alternate which network goes first.
      const order = p % 2 === 0 ? [0, 1] : [1, 0];
      for (const which of order) {
        const net = networks[which]!;
        const result = results[which]!;
        try {
          await withTimeout(net.announce(announcer, infoHash, port), 30_000, `${net.name} announce`);
        } catch (error) {
          result.failedAnnounces++;
          log(`  ${net.name}: announce ${p} failed: ${(error as Error).message}`);
        }
        result.samples.push(await withTimeout(net.lookup(looker, infoHash, port), 30_000, `${net.name} lookup`));
      }
    }
  } finally {
    for (const net of networks) await net.close();
  }
  return results;
}
