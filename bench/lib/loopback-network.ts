/**
 * What the loopback DHT benchmark needs from one network of DHT nodes on 127.0.0.1, so warren
 * and bittorrent-dht are driven by the same code (same bootstrap procedure, same pairs).
 */

/** One measured lookup: time to the first matching peer, and datagrams sent by the whole network. */
export interface LookupSample {
  /** Wall ms from lookup start until the announced peer was first reported; undefined if never. */
  firstPeerMs: number | undefined;
  /** Wall ms until the lookup finished. */
  totalMs: number;
  /** Datagrams sent by all nodes of the network from lookup start until it finished and settled. */
  datagrams: number;
  /** Datagrams sent by all nodes until the announced peer was first reported. */
  datagramsToFirst: number | undefined;
}

/** A network of `size` nodes on loopback, bootstrapped from its first node. */
export interface LoopbackNetwork {
  readonly name: string;
  readonly size: number;
  /** Starts the first node, then the others in batches, each bootstrapping from the first. */
  build(): Promise<{ bootstrapMs: number; notReady: number; meanTable: number }>;
  /** Node `index` announces `infoHash` with TCP `port`; resolves when the announce finished. */
  announce(index: number, infoHash: Uint8Array, port: number): Promise<void>;
  /** Node `index` looks `infoHash` up until the lookup ends, watching for peer 127.0.0.1:`port`. */
  lookup(index: number, infoHash: Uint8Array, port: number): Promise<LookupSample>;
  close(): Promise<void>;
}

/** Resolves once `read()` returned the same value on three reads `stepMs` apart (or after `maxMs`). */
export async function settled(read: () => number, stepMs = 15, maxMs = 1000): Promise<number> {
  let last = read();
  let stable = 0;
  for (let waited = 0; waited < maxMs && stable < 2; waited += stepMs) {
    await new Promise((resolve) => setTimeout(resolve, stepMs));
    const now = read();
    stable = now === last ? stable + 1 : 0;
    last = now;
  }
  return last;
}

/** Runs `start(i)` for i in [from, to) in batches of `batch`, each batch bounded by `timeoutMs`; returns how many did not finish in time. */
export async function inBatches(
  from: number,
  to: number,
  batch: number,
  timeoutMs: number,
  start: (i: number) => Promise<void>,
): Promise<number> {
  let late = 0;
  for (let i = from; i < to; i += batch) {
    const jobs: Promise<boolean>[] = [];
    for (let j = i; j < Math.min(to, i + batch); j++) jobs.push(start(j).then(() => true));
    let handle: NodeJS.Timeout | undefined;
    const deadline = new Promise<void>((resolve) => (handle = setTimeout(resolve, timeoutMs)));
    const done = jobs.map(() => false);
    await Promise.race([Promise.all(jobs.map((p, k) => p.then(() => (done[k] = true)))), deadline]);
    clearTimeout(handle);
    late += done.filter((d) => !d).length;
  }
  return late;
}
