/**
 * Finding peers for one torrent: the DHT (`get_peers` then `announce_peer`, every 15 minutes),
 * trackers (at their interval, with `started`/`completed`/`stopped` events) and peers given by
 * hand or in the magnet link. A hybrid v1 + v2 torrent is looked up and announced under both of
 * its infohashes, in the DHT and at trackers, as libtorrent does. Private torrents (BEP 27) use
 * their trackers only.
 */
import type { IpFamily } from '../codec/ip.js';
import type { Dht } from '../dht/dht.js';
import type { AnnounceParams } from '../codec/tracker.js';
import type { Endpoint, Runtime, Timer } from '../runtime/interfaces.js';
import type { Torrent } from './torrent.js';
import { announceToTracker } from './tracker-client.js';

const DHT_INTERVAL_MS = 15 * 60_000;
const TRACKER_RETRY_MS = 60_000;
const MIN_TRACKER_INTERVAL_MS = 60_000;
const STOP_ANNOUNCE_WAIT_MS = 3000;

export interface PeerDiscoveryDeps {
  runtime: Runtime;
  dht?: Dht;
  /** The TCP port peers of `family` reach us at, as announced: for IPv4, the router's external port once mapped. */
  listenPort(family: IpFamily): number;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
}

export class PeerDiscovery {
  /** UDP tracker datagrams that could not be decoded (each dropped, the request tried again). */
  badTrackerReplies = 0;
  private readonly timers: Timer[] = [];
  private stopped = false;
  private readonly abort = new AbortController();

  constructor(
    private readonly deps: PeerDiscoveryDeps,
    private readonly torrent: Torrent,
    private readonly trackers: string[],
  ) {}

  private get isPrivate(): boolean {
    return this.torrent.info?.private === true;
  }

  start(): void {
    this.torrent.on((event) => {
      if (event.type === 'complete') for (const url of this.trackers) void this.announceTracker(url, 'completed', false);
      if (event.type === 'metadata' && this.isPrivate) this.abort.abort();
    });
    if (this.deps.dht) this.dhtRound();
    for (const url of this.trackers) void this.announceTracker(url, 'started', true);
  }

  /** Tells trackers we leave (best effort, waiting at most 3 s so shutdown stays quick) and stops all rounds. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    for (const timer of this.timers) timer.cancel();
    if (this.trackers.length === 0) return;
    let timer: Timer | undefined;
    const patience = new Promise<void>((resolve) => (timer = this.deps.runtime.setTimer(STOP_ANNOUNCE_WAIT_MS, resolve)));
    await Promise.race([Promise.all(this.trackers.map((url) => this.announceTracker(url, 'stopped', false))), patience]);
    timer?.cancel();
  }

  private later(ms: number, fn: () => void): void {
    if (this.stopped) return;
    this.timers.push(this.deps.runtime.setTimer(ms, fn));
  }

  private dhtRound(): void {
    const dht = this.deps.dht!;
    if (this.stopped || this.isPrivate) return;
    void (async () => {
      try {
        const found: Endpoint[] = [];
        // A hybrid torrent has two swarms in the DHT (its v1 and its truncated v2 infohash), as libtorrent announces it.
        for (const infoHash of this.torrent.swarmHashes) {
          for await (const peer of dht.lookup(infoHash, { signal: this.abort.signal })) {
            found.push(peer);
            this.torrent.addPeers([peer]);
          }
          const port = this.deps.listenPort(4);
          const port6 = this.deps.listenPort(6);
          if (port > 0 && !this.stopped && !this.isPrivate) {
            await dht.announce(infoHash, port, { seed: this.torrent.picker?.complete === true, port6: port6 !== port ? port6 : undefined });
          }
        }
        this.deps.log('debug', `DHT found ${found.length} peers`);
      } catch (error) {
        this.deps.log('debug', `DHT round failed: ${(error as Error).message}`);
      }
      this.later(DHT_INTERVAL_MS, () => this.dhtRound());
    })();
  }

  private badReply(url: string, error: Error): void {
    this.badTrackerReplies++;
    this.deps.log('debug', `dropped a bad reply from tracker ${url}: ${error.message}`);
  }

  /** Announces to one tracker under each of the torrent's infohashes; the next round comes at the shortest interval any answer asked for. */
  private async announceTracker(url: string, event: AnnounceParams['event'], repeat: boolean): Promise<void> {
    const stats = this.torrent.stats();
    const results = await Promise.allSettled(
      this.torrent.swarmHashes.map((infoHash) =>
        announceToTracker({ runtime: this.deps.runtime, onBadReply: (error) => this.badReply(url, error) }, url, {
          infoHash,
          peerId: this.torrent.deps.peerId,
          // A tracker named by an IPv6 address is reached over IPv6; a name resolves to IPv4.
          port: this.deps.listenPort(new URL(url).hostname.startsWith('[') ? 6 : 4),
          uploaded: stats.uploaded,
          downloaded: stats.downloaded,
          left: stats.bytesLeft,
          event,
          numWant: event === 'stopped' ? 0 : 50,
        }),
      ),
    );
    let interval = Infinity;
    for (const result of results) {
      if (result.status === 'rejected') {
        this.deps.log('info', `tracker announce failed: ${(result.reason as Error).message}`);
        continue;
      }
      if (event !== 'stopped') this.torrent.addPeers(result.value.peers);
      interval = Math.min(interval, result.value.interval * 1000);
    }
    if (!repeat) return;
    if (interval === Infinity) this.later(TRACKER_RETRY_MS, () => void this.announceTracker(url, event, true));
    else this.later(Math.max(MIN_TRACKER_INTERVAL_MS, interval), () => void this.announceTracker(url, undefined, true));
  }
}
