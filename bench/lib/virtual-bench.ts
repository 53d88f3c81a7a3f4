/**
 * Part B of the DHT benchmark: N warren `Dht` nodes on the virtual network (log-normal per-host
 * latency, 1% datagram loss), routing tables filled from global knowledge (`table-fill.ts`),
 * then 20% of the nodes silently killed. Then L find_node lookups of random targets from random
 * live nodes, one at a time (success = the true closest live node was found), and P
 * announce-then-get_peers pairs (success = the announced peer was found). Times are virtual ms.
 */
import { performance } from 'node:perf_hooks';
import { Dht } from '../../src/dht/dht.js';
import { toInfoHash } from '../../src/dht/types.js';
import { compareDistance, idEquals } from '../../src/kademlia/id.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { LatencyModel } from './latency-model.js';
import { fmt, mean, median, quantile } from './stats.js';
import { fillTables } from './table-fill.js';
import type { WarrenTuning } from './warren-loopback.js';

/** Options of Part B. */
export interface VirtualBenchOptions {
  nodes: number;
  lookups: number;
  peerLookups: number;
  seed: number;
  deadFraction?: number;
  lossRate?: number;
  /** Overrides the Dht's default lookup widths. */
  tuning?: WarrenTuning;
  /** Lookups run concurrently in waves of this many (default 10). */
  wave?: number;
}

interface FindSample {
  ok: boolean;
  /** Whether the true closest node received our find_node (so a failure means its reply was lost or late). */
  reachedBest: boolean;
  ms: number;
  closestMs: number | undefined;
  hops: number;
  queried: number;
}

/** Virtual ms, or 'never' for a lookup that did not get there. */
function fmtMs(value: number): string {
  return Number.isFinite(value) ? `${fmt(value, 0)} ms` : 'never';
}

function hostOf(i: number): string {
  const n = i + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** Runs Part B, printing through `log`; returns its headline. */
export async function runVirtualBench(options: VirtualBenchOptions, log: (line: string) => void): Promise<{ headline: string }> {
  const deadFraction = options.deadFraction ?? 0.2;
  const lossRate = options.lossRate ?? 0.01;
  const wave = options.wave ?? 10;
  const wall0 = performance.now();
  const prng = new Mulberry32(options.seed);
  const latency = new LatencyModel({ seed: options.seed + 1 });
  const net = new VirtualNetwork({ seed: options.seed, latency: latency.latencyMs, lossRate });
  const hosts = Array.from({ length: options.nodes }, (_, i) => hostOf(i));
  const rtt = latency.rttProfile(hosts, 100_000, new Mulberry32(options.seed + 2));
  log(
    `## B. virtual network: ${options.nodes} warren nodes, RTT median ${fmt(rtt.median, 0)} ms / p99 ${fmt(rtt.p99, 0)} ms / max ${fmt(rtt.max, 0)} ms, ` +
      `${lossRate * 100}% loss, ${deadFraction * 100}% dead`,
  );

  const dhts = hosts.map((host) => new Dht({ host, port: 6881, bootstrap: false, ...options.tuning }, net.runtime(host)));
  await net.clock.run(Promise.all(dhts.map((d) => d.start())));
  const perNode = fillTables(
    dhts.map((d) => ({ id: d.nodeId, address: d.address, table: d.table })),
    8,
    prng,
  );
  const meanTable = mean(dhts.map((d) => d.table.size));
  const dead = new Set<number>();
  while (dead.size < Math.round(deadFraction * options.nodes)) dead.add(Math.floor(prng.next() * options.nodes));
  for (const i of dead) net.setDead(hosts[i]!, true);
  const live = dhts.map((_, i) => i).filter((i) => !dead.has(i));
  log(
    `  tables filled from global knowledge: ${fmt(perNode, 1)} contacts offered, ${fmt(meanTable, 1)} held per node (mean); ` +
      `${dead.size} nodes then killed; setup took ${((performance.now() - wall0) / 1000).toFixed(1)} s wall`,
  );

  const pickLive = (): number => live[Math.floor(prng.next() * live.length)]!;
  /** Queries received by method, summed over all nodes. */
  const queriesIn = (): Record<string, number> => {
    const sum: Record<string, number> = {};
    for (const d of dhts) for (const [m, n] of Object.entries(d.stats().counters.queriesIn)) sum[m] = (sum[m] ?? 0) + n;
    return sum;
  };
  const findNodesIn = (i: number): number => dhts[i]!.stats().counters.queriesIn.find_node ?? 0;
  const q0 = queriesIn();
  const finds: FindSample[] = [];
  const wallFind = performance.now();
  const vStart = net.clock.now();
  const sentStart = net.stats.datagramsSent;
  const findOne = async (): Promise<FindSample> => {
    const source = pickLive();
    const target = prng.bytes(20);
    let bestIndex = -1;
    for (const i of live) {
      if (i === source) continue;
      if (bestIndex < 0 || compareDistance(target, dhts[i]!.nodeId, dhts[bestIndex]!.nodeId) < 0) bestIndex = i;
    }
    const best = dhts[bestIndex]!.nodeId;
    const bestQueries = findNodesIn(bestIndex);
    const t0 = net.clock.now();
    let closestMs: number | undefined;
    const result = await dhts[source]!.iterate(target, 'find_node', { target }, () => ({}), {
      onReply: (contact) => {
        if (closestMs === undefined && idEquals(contact.id, best)) closestMs = net.clock.now() - t0;
      },
    });
    const first = result.closest[0]?.contact.id;
    return {
      ok: first !== undefined && idEquals(first, best),
      reachedBest: findNodesIn(bestIndex) > bestQueries,
      ms: net.clock.now() - t0,
      closestMs,
      hops: result.hops,
      queried: result.queried,
    };
  };
  // Waves of concurrent lookups keep the simulated time short: every table was filled at time 0,
  // so past 15 virtual minutes all 10,000 nodes would refresh all their buckets at once.
  for (let l = 0; l < options.lookups; l += wave) {
    const jobs: Promise<FindSample>[] = [];
    for (let j = l; j < Math.min(options.lookups, l + wave); j++) jobs.push(findOne());
    finds.push(...(await net.clock.run(Promise.all(jobs))));
  }
  await net.clock.advance(2500); // let late replies and hard timeouts of the last lookups land
  const findDatagrams = (net.stats.datagramsSent - sentStart) / options.lookups;
  const vFind = net.clock.now() - vStart;
  const q1 = queriesIn();
  const perLookup = Object.keys(q1)
    .filter((m) => (q1[m] ?? 0) > (q0[m] ?? 0))
    .map((m) => `${m} ${fmt(((q1[m] ?? 0) - (q0[m] ?? 0)) / options.lookups, 1)}`)
    .join(', ');
  const wallFindS = (performance.now() - wallFind) / 1000;

  const okCount = finds.filter((f) => f.ok).length;
  const ms = finds.map((f) => f.ms);
  const closestTimes = finds.map((f) => f.closestMs ?? Infinity);
  const failed = finds.filter((f) => !f.ok);
  log(`  find_node x${finds.length} (random targets, random live sources; success = the true closest live node is first in the result):`);
  log(`    success ${okCount}/${finds.length} (${fmt((100 * okCount) / finds.length, 2)}%); failures where the closest node got our query but its reply was lost or late: ${failed.filter((f) => f.reachedBest).length}`);
  log(`    time to reach the closest node: median ${fmtMs(median(closestTimes))} / p99 ${fmtMs(quantile(closestTimes, 0.99))}`);
  log(`    time to converge (lookup resolved): median ${fmtMs(median(ms))} / p99 ${fmtMs(quantile(ms, 0.99))}`);
  log(
    `    hops median ${median(finds.map((f) => f.hops))} / max ${Math.max(...finds.map((f) => f.hops))}, ` +
      `queries sent median ${median(finds.map((f) => f.queried))}, datagrams per lookup (network-wide, mean) ${fmt(findDatagrams, 1)}; ` +
      `queries received per lookup: ${perLookup}`,
  );
  log(`    (${fmt(vFind / 1000, 0)} s virtual in ${fmt(wallFindS, 1)} s wall)`);

  // get_peers: a live node announces, another live node looks the infohash up (in waves too).
  const peerTimes: number[] = [];
  let peerFound = 0;
  const sentPeers = net.stats.datagramsSent;
  const peerPair = async (p: number): Promise<void> => {
    const announcer = pickLive();
    let looker = pickLive();
    while (looker === announcer) looker = pickLive();
    const infoHash = toInfoHash(prng.bytes(20));
    const port = 20_000 + p;
    await dhts[announcer]!.announce(infoHash, port);
    const t0 = net.clock.now();
    const host = hosts[announcer]!;
    let firstMs = Infinity;
    for await (const peer of dhts[looker]!.lookup(infoHash)) {
      if (peer.host === host && peer.port === port) {
        firstMs = net.clock.now() - t0;
        break; // a client that wants this peer stops here; breaking aborts the lookup
      }
    }
    if (firstMs < Infinity) peerFound++;
    peerTimes.push(firstMs);
  };
  for (let p = 0; p < options.peerLookups; p += wave) {
    const jobs: Promise<void>[] = [];
    for (let j = p; j < Math.min(options.peerLookups, p + wave); j++) jobs.push(peerPair(j));
    await net.clock.run(Promise.all(jobs));
  }
  await net.clock.advance(2500);
  const peerDatagrams = (net.stats.datagramsSent - sentPeers) / Math.max(1, options.peerLookups);
  if (options.peerLookups > 0) {
    log(`  announce + get_peers x${options.peerLookups} (a random live node announces, another looks up; success = the peer is found):`);
    log(`    found ${peerFound}/${options.peerLookups} (${fmt((100 * peerFound) / options.peerLookups, 2)}%); time to first peer: median ${fmtMs(median(peerTimes))} / p99 ${fmtMs(quantile(peerTimes, 0.99))}`);
    log(`    datagrams per announce+lookup pair (network-wide, mean) ${fmt(peerDatagrams, 1)}`);
  }
  log(`  (${fmt(net.clock.now() / 1000, 0)} s virtual in all)`);
  log(`  part B took ${((performance.now() - wall0) / 1000).toFixed(0)} s wall`);
  const headline =
    `virtual ${options.nodes}: find_node ${fmt((100 * okCount) / finds.length, 1)}% ok, closest reached ${fmtMs(median(closestTimes))}/${fmtMs(quantile(closestTimes, 0.99))} ` +
    `(median/p99), converged ${fmtMs(median(ms))}/${fmtMs(quantile(ms, 0.99))}, ${fmt(findDatagrams, 0)} dgrams; ` +
    `get_peers ${fmt((100 * peerFound) / Math.max(1, options.peerLookups), 1)}% found, first peer ${fmtMs(median(peerTimes))}/${fmtMs(quantile(peerTimes, 0.99))}`;
  await Promise.all(dhts.map((d) => d.close()));
  return { headline };
}
