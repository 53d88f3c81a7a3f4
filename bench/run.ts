/**
 * `npm run bench [-- name...]`: runs the named benchmarks (all when none is named). Each prints
 * its figures and ratios; the last line printed states the headline figures of the run.
 * Benchmarks never assert on timings and are not part of `npm test`.
 */
import { runCheckBench } from './check.js';
import { runDhtBench } from './dht.js';
import { runSwarmBench } from './swarm.js';
import { runUtpBench } from './utp.js';
import { runWebSeedBench } from './webseed.js';

/** A benchmark: runs, prints, and returns its one-line headline. */
type Bench = (args: string[]) => Promise<string>;

const BENCHES: Record<string, Bench> = {
  check: runCheckBench,
  dht: runDhtBench,
  swarm: runSwarmBench,
  utp: runUtpBench,
  webseed: runWebSeedBench,
};

async function main(argv: string[]): Promise<void> {
  const names = argv.filter((a) => !a.startsWith('-'));
  const flags = argv.filter((a) => a.startsWith('-'));
  for (const name of names) {
    if (!Object.hasOwn(BENCHES, name)) {
      console.error(`unknown benchmark '${name}'; known: ${Object.keys(BENCHES).join(', ')}`);
      process.exit(2);
    }
  }
  const chosen = names.length > 0 ? names : Object.keys(BENCHES);
  const headlines: string[] = [];
  for (const name of chosen) headlines.push(`${name}: ${await BENCHES[name]!(flags)}`);
  console.log(headlines.join(' | '));
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (error: Error) => {
    console.error(`benchmark failed: ${error.stack ?? error.message}`);
    process.exit(1);
  },
);
