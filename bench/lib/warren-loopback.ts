/**
 * A network of warren `Dht` nodes on real UDP sockets on 127.0.0.1, for the loopback benchmark.
 * All nodes share one source address, so the per-source rate limiter (meant for one remote host)
 * is opened wide; nothing else differs from the defaults.
 */
import { performance } from 'node:perf_hooks';
import { Dht } from '../../src/dht/dht.js';
import { toInfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { inBatches, settled, type LookupSample, type LoopbackNetwork } from './loopback-network.js';

const HOST = '127.0.0.1';

/** Lookup settings that override the `Dht` defaults, for tuning experiments. */
export interface WarrenTuning {
  alpha?: number;
  firstRound?: number;
}

/** `size` warren nodes; see `LoopbackNetwork`. */
export class WarrenLoopback implements LoopbackNetwork {
  readonly name = 'warren';
  private readonly nodes: Dht[] = [];

  constructor(
    readonly size: number,
    private readonly batch = 20,
    private readonly tuning: WarrenTuning = {},
  ) {}

  async build(): Promise<{ bootstrapMs: number; notReady: number; meanTable: number }> {
    const runtime = createNodeRuntime();
    const rateLimit = { perSecond: 1e9, burst: 1e9 };
    const { alpha, firstRound } = this.tuning;
    const t0 = performance.now();
    const first = new Dht({ host: HOST, port: 0, bootstrap: false, rateLimit, alpha, firstRound }, runtime);
    await first.start();
    this.nodes.push(first);
    const bootstrap = [`${HOST}:${first.address.port}`];
    for (let i = 1; i < this.size; i++) this.nodes.push(new Dht({ host: HOST, port: 0, bootstrap, rateLimit, alpha, firstRound }, runtime));
    const notReady = await inBatches(1, this.size, this.batch, 15_000, (i) => this.nodes[i]!.start());
    const bootstrapMs = performance.now() - t0;
    const meanTable = this.nodes.reduce((s, n) => s + n.table.size, 0) / this.nodes.length;
    return { bootstrapMs, notReady, meanTable };
  }

  async announce(index: number, infoHash: Uint8Array, port: number): Promise<void> {
    await this.nodes[index]!.announce(toInfoHash(infoHash), port);
  }

  async lookup(index: number, infoHash: Uint8Array, port: number): Promise<LookupSample> {
    const before = this.datagramsOut();
    const t0 = performance.now();
    let firstPeerMs: number | undefined;
    let datagramsToFirst: number | undefined;
    for await (const peer of this.nodes[index]!.lookup(toInfoHash(infoHash))) {
      if (firstPeerMs === undefined && peer.host === HOST && peer.port === port) {
        firstPeerMs = performance.now() - t0;
        datagramsToFirst = this.datagramsOut() - before;
      }
    }
    const totalMs = performance.now() - t0;
    const datagrams = (await settled(() => this.datagramsOut())) - before;
    return { firstPeerMs, totalMs, datagrams, datagramsToFirst };
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => n.close()));
  }

  private datagramsOut(): number {
    let sum = 0;
    for (const n of this.nodes) sum += n.stats().counters.datagramsOut;
    return sum;
  }
}
