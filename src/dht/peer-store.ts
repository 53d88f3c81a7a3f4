/**
 * Peers announced to this node with `announce_peer` (BEP 5). An announcement expires after
 * 30 minutes unless renewed. Bounded: at most `maxInfoHashes` swarms and `maxPeersPerInfoHash`
 * peers each; a new peer in a full swarm replaces the one closest to expiry, and a new swarm
 * when the store is full replaces the swarm whose newest announcement is oldest.
 */
import type { IpFamily } from '../codec/ip.js';
import type { Endpoint } from '../runtime/interfaces.js';
import { endpointFamily, endpointKey } from './endpoint.js';
import { keyOfMin } from './key-of-min.js';
import { toHex, type InfoHash } from './types.js';

export const PEER_TTL_MS = 30 * 60 * 1000;

export interface PeerStoreOptions {
  maxInfoHashes?: number;
  maxPeersPerInfoHash?: number;
}

interface StoredPeer {
  endpoint: Endpoint;
  family: IpFamily | undefined;
  expires: number;
  seed: boolean;
}

interface Swarm {
  peers: Map<string, StoredPeer>;
  lastAnnounce: number;
}

export class PeerStore {
  private readonly swarms = new Map<string, Swarm>();
  private readonly maxInfoHashes: number;
  private readonly maxPeersPerInfoHash: number;
  private peerCount = 0;

  constructor(
    private readonly now: () => number,
    options: PeerStoreOptions = {},
  ) {
    this.maxInfoHashes = options.maxInfoHashes ?? 5000;
    this.maxPeersPerInfoHash = options.maxPeersPerInfoHash ?? 200;
  }

  /** Records (or renews) an announcement. */
  add(infoHash: InfoHash, endpoint: Endpoint, seed = false): void {
    const key = toHex(infoHash);
    const now = this.now();
    let swarm = this.swarms.get(key);
    if (!swarm) {
      if (this.swarms.size >= this.maxInfoHashes) this.evictSwarm();
      swarm = { peers: new Map(), lastAnnounce: now };
      this.swarms.set(key, swarm);
    }
    swarm.lastAnnounce = now;
    const peerKey = endpointKey(endpoint);
    if (!swarm.peers.has(peerKey)) {
      if (swarm.peers.size >= this.maxPeersPerInfoHash) this.evictPeer(swarm);
      this.peerCount++;
    }
    swarm.peers.set(peerKey, {
      endpoint: { host: endpoint.host, port: endpoint.port },
      family: endpointFamily(endpoint),
      expires: now + PEER_TTL_MS,
      seed,
    });
  }

  /**
   * Up to `max` live peers for the infohash, a uniform random sample when there are more.
   * `noSeed` (BEP 33's `noseed`) leaves seeds out; `family` keeps only peers of that family.
   */
  get(infoHash: InfoHash, max: number, random: () => number, filter: { noSeed?: boolean; family?: IpFamily } = {}): Endpoint[] {
    const { noSeed = false, family } = filter;
    const swarm = this.swarms.get(toHex(infoHash));
    if (!swarm) return [];
    const now = this.now();
    const live: Endpoint[] = [];
    for (const peer of swarm.peers.values()) {
      if (peer.expires > now && !(noSeed && peer.seed) && (family === undefined || peer.family === family)) live.push(peer.endpoint);
    }
    if (live.length <= max) return live;
    for (let i = 0; i < max; i++) {
      const j = i + Math.floor(random() * (live.length - i));
      [live[i], live[j]] = [live[j]!, live[i]!];
    }
    return live.slice(0, max);
  }

  /** Drops expired announcements and empty swarms. */
  expire(): void {
    const now = this.now();
    for (const [key, swarm] of this.swarms) {
      for (const [peerKey, peer] of swarm.peers) {
        if (peer.expires <= now) {
          swarm.peers.delete(peerKey);
          this.peerCount--;
        }
      }
      if (swarm.peers.size === 0) this.swarms.delete(key);
    }
  }

  get infoHashCount(): number {
    return this.swarms.size;
  }

  get size(): number {
    return this.peerCount;
  }

  private evictPeer(swarm: Swarm): void {
    const victim = keyOfMin(swarm.peers, (peer) => peer.expires);
    if (victim !== undefined) {
      swarm.peers.delete(victim);
      this.peerCount--;
    }
  }

  private evictSwarm(): void {
    const victim = keyOfMin(this.swarms, (swarm) => swarm.lastAnnounce);
    if (victim !== undefined) {
      this.peerCount -= this.swarms.get(victim)!.peers.size;
      this.swarms.delete(victim);
    }
  }
}
