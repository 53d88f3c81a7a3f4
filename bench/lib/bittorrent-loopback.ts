/**
 * A network of `bittorrent-dht` (npm, v11) nodes on 127.0.0.1, the reference the loopback DHT
 * benchmark compares warren with. Datagrams are counted by wrapping each node's dgram socket
 * `send` (k-rpc-socket sends every query, response and error through it).
 */
import { performance } from 'node:perf_hooks';
import DHT from 'bittorrent-dht';
import { inBatches, settled, type LookupSample, type LoopbackNetwork } from './loopback-network.js';

const HOST = '127.0.0.1';

/** The internals of a bittorrent-dht 11 node this benchmark reads (k-rpc, k-rpc-socket, dgram). */
interface Internals {
  ready?: boolean;
  _rpc: { socket: { socket: { send: (...args: unknown[]) => void } }; nodes: { count(): number } };
}

function internals(dht: DHT): Internals {
  return dht as unknown as Internals;
}

/** `size` bittorrent-dht nodes; see `LoopbackNetwork`. */
export class BittorrentDhtLoopback implements LoopbackNetwork {
  readonly name = 'bittorrent-dht';
  private readonly nodes: DHT[] = [];
  private sent = 0;
  /** Warnings bittorrent-dht emitted (unexpected or late responses, bad packets). */
  warnings = 0;

  constructor(
    readonly size: number,
    private readonly batch = 20,
  ) {}

  async build(): Promise<{ bootstrapMs: number; notReady: number; meanTable: number }> {
    const t0 = performance.now();
    const first = await this.startNode(false);
    const bootstrap = [`${HOST}:${first.address().port}`];
    const notReady = await inBatches(1, this.size, this.batch, 15_000, async () => {
      await this.startNode(bootstrap);
    });
    const bootstrapMs = performance.now() - t0;
    const meanTable = this.nodes.reduce((s, n) => s + internals(n)._rpc.nodes.count(), 0) / this.nodes.length;
    return { bootstrapMs, notReady, meanTable };
  }

  announce(index: number, infoHash: Uint8Array, port: number): Promise<void> {
    return new Promise((resolve, reject) => {
      this.nodes[index]!.announce(Buffer.from(infoHash), port, (error: Error | null) => (error ? reject(error) : resolve()));
    });
  }

  async lookup(index: number, infoHash: Uint8Array, port: number): Promise<LookupSample> {
    const dht = this.nodes[index]!;
    const wanted = Buffer.from(infoHash);
    const before = this.sent;
    const t0 = performance.now();
    let firstPeerMs: number | undefined;
    let datagramsToFirst: number | undefined;
    const onPeer = (peer: { host: string; port: number }, hash: Buffer): void => {
      if (firstPeerMs === undefined && hash.equals(wanted) && peer.host === HOST && peer.port === port) {
        firstPeerMs = performance.now() - t0;
        datagramsToFirst = this.sent - before;
      }
    };
    dht.on('peer', onPeer);
    try {
      await new Promise<void>((resolve, reject) => dht.lookup(wanted, (error: Error | null) => (error ? reject(error) : resolve())));
    } finally {
      dht.removeListener('peer', onPeer);
    }
    const totalMs = performance.now() - t0;
    const datagrams = (await settled(() => this.sent)) - before;
    return { firstPeerMs, totalMs, datagrams, datagramsToFirst };
  }

  async close(): Promise<void> {
    await Promise.all(this.nodes.map((n) => new Promise<void>((resolve) => n.destroy(() => resolve()))));
  }

  /** Creates, binds and counts one node; resolves when it reports 'ready' (its bootstrap lookup ended). */
  private startNode(bootstrap: string[] | false): Promise<DHT> {
    const dht = new DHT({ bootstrap, host: HOST });
    const socket = internals(dht)._rpc.socket.socket;
    const send = socket.send.bind(socket);
    socket.send = (...args: unknown[]) => {
      this.sent++;
      send(...args);
    };
    dht.on('error', (error) => console.error(`bittorrent-dht error: ${error.message}`));
    dht.on('warning', () => this.warnings++);
    this.nodes.push(dht);
    const ready = new Promise<DHT>((resolve) => {
      if (internals(dht).ready === true) resolve(dht);
      else dht.once('ready', () => resolve(dht));
    });
    // Bind in the same tick as the constructor: bittorrent-dht starts bootstrapping on nextTick.
    const listening = new Promise<void>((resolve) => dht.listen(0, HOST, resolve));
    return listening.then(() => ready);
  }
}
