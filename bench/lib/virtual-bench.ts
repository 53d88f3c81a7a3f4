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

/** Options of Part B. */
export interface VirtualBenchOptions {
  nodes: number;
  lookups: number;
  peerLookups: number;
  seed: number;
  deadFraction?: number;
  lossRate?: number;
  /** Overrides the Dht's default lookup width. */
  alpha?: number;
}

interface FindSample {
  ok: boolean;
  ms: number;
  closestMs: number | undefined;
  hops: number;
  queried: number;
  datagrams: number;
}

function hostOf(i: number): string {
  const n = i + 1;
  return `10.${(n >> 16) & 255}.${(n >> 8) & 255}.${n & 255}`;
}

/** Runs Part B, printing through `log`; returns its headline. */
export async function runVirtualBench(options: VirtualBenchOptions, log: (line: string) => void): Promise<{ headline: string }> {
  const deadFraction = options.deadFraction ?? 0.2;
  const lossRate = options.lossRate ?? 0.01;
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

  const dhts = hosts.map((host) => new Dht({ host, port: 6881, bootstrap: false, alpha: options.alpha }, net.runtime(host)));
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
  const finds: FindSample[] = [];
  const wallFind = performance.now();
  const vStart = net.clock.now();
  let lastSent = net.stats.datagramsSent;
  for (let l = 0; l < options.lookups; l++) {
    const source = pickLive();
    const target = prng.bytes(20);
    let best: Uint8Array | undefined;
    for (const i of live) {
      if (i === source) continue;
      const id = dhts[i]!.nodeId;
      if (best === undefined || compareDistance(target, id, best) < 0) best = id;
    }
    const t0 = net.clock.now();
    const sent0 = net.stats.datagramsSent;
    if (finds.length > 0) finds[finds.length - 1]!.datagrams = sent0 - lastSent;
    lastSent = sent0;
    let closestMs: number | undefined;
    const result = await net.clock.run(
      dhts[source]!.iterate(target, 'find_node', { target }, () => ({}), {
        onReply: (contact) => {
          if (closestMs === undefined && idEquals(contact.id, best!)) closestMs = net.clock.now() - t0;
        },
      }),
    );
    const first = result.closest[0]?.contact.id;
    finds.push({
      ok: first !== undefined && idEquals(first, best!),
      ms: net.clock.now() - t0,
      closestMs,
      hops: result.hops,
      queried: result.queried,
      datagrams: 0,
    });
  }
  await net.clock.advance(2500); // let late replies and hard timeouts of the last lookup land
  if (finds.length > 0) finds[finds.length - 1]!.datagrams = net.stats.datagramsSent - lastSent;
  const vFind = net.clock.now() - vStart;
  const wallFindS = (performance.now() - wallFind) / 1000;

  const okCount = finds.filter((f) => f.ok).length;
  const ms = finds.map((f) => f.ms);
  const closestTimes = finds.map((f) => f.closestMs ?? Infinity);
  const dg = finds.map((f) => f.datagrams);
  log(
    `  find_node x${finds.length}: success ${okCount}/${finds.length} (${fmt((100 * okCount) / finds.length, 2)}%), ` +
      `lookup time median ${fmt(median(ms), 0)} ms / p99 ${fmt(quantile(ms, 0.99), 0)} ms, ` +
      `closest node reached median ${fmt(median(closestTimes), 0)} ms / p99 ${fmt(quantile(closestTimes, 0.99), 0)} ms, ` +
      `hops median ${median(finds.map((f) => f.hops))} / max ${Math.max(...finds.map((f) => f.hops))}, ` +
      `queries median ${median(finds.map((f) => f.queried))}, datagrams/lookup median ${median(dg)} / mean ${fmt(mean(dg), 1)}`,
  );
  log(`  (${fmt(vFind / 1000, 0)} s virtual in ${fmt(wallFindS, 1)} s wall)`);

  // get_peers: a live node announces, another live node looks the infohash up.
  const peerTimes: number[] = [];
  let peerFound = 0;
  for (let p = 0; p < options.peerLookups; p++) {
    const announcer = pickLive();
    let looker = pickLive();
    while (looker === announcer) looker = pickLive();
    const infoHash = toInfoHash(prng.bytes(20));
    const port = 20_000 + p;
    await net.clock.run(dhts[announcer]!.announce(infoHash, port));
    const t0 = net.clock.now();
    let firstMs: number | undefined;
    const host = hosts[announcer]!;
    await net.clock.run(
      (async () => {
        for await (const peer of dhts[looker]!.lookup(infoHash)) {
          if (firstMs === undefined && peer.host === host && peer.port === port) firstMs = net.clock.now() - t0;
        }
      })(),
    );
    if (firstMs !== undefined) {
      peerFound++;
      peerTimes.push(firstMs);
    }
  }
  if (options.peerLookups > 0) {
    log(
      `  announce+get_peers x${options.peerLookups}: found ${peerFound}/${options.peerLookups}, ` +
        `first peer median ${fmt(median(peerTimes), 0)} ms / p99 ${fmt(quantile(peerTimes, 0.99), 0)} ms`,
    );
  }
  log(`  part B took ${((performance.now() - wall0) / 1000).toFixed(0)} s wall`);
  const headline =
    `virtual ${options.nodes} nodes: find_node success ${fmt((100 * okCount) / finds.length, 1)}%, ` +
    `median ${fmt(median(ms), 0)} ms, p99 ${fmt(quantile(ms, 0.99), 0)} ms, ${median(dg)} dgrams/lookup; ` +
    `get_peers found ${peerFound}/${options.peerLookups}`;
  await Promise.all(dhts.map((d) => d.close()));
  return { headline };
}
