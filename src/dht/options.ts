/**
 * The options and status report of a `Dht`.
 */
import type { Endpoint } from '../runtime/interfaces.js';
import type { ItemStoreOptions } from './item-store.js';
import type { NodeStateStore } from './node-state.js';
import type { PeerStoreOptions } from './peer-store.js';
import type { RateLimiterOptions } from './rate-limiter.js';
import type { DhtCounters } from './stats.js';

/** The public mainline routers, used when no bootstrap list is given. */
export const DEFAULT_BOOTSTRAP = [
  'router.bittorrent.com:6881',
  'dht.transmissionbt.com:6881',
  'router.utorrent.com:6881',
  'dht.libtorrent.org:25401',
];


export type LogLevel = 'debug' | 'info' | 'warn';

export interface DhtOptions {
  /** Address to bind; default 0.0.0.0. */
  host?: string;
  /** UDP port; default 6881, 0 for any. */
  port?: number;
  /** Fixed node id (40 hex or 20 bytes); default: the saved one, else a new (BEP 42 when possible) id. */
  nodeId?: string | Uint8Array;
  /** `host:port` list; `false` for none. Default: the public mainline routers. */
  bootstrap?: string[] | false;
  /** Bucket size and lookup width (default 8). */
  k?: number;
  /** Lookup queries in flight (default 5). */
  alpha?: number;
  /** Lookup queries sent at once before the first reply (default alpha). */
  firstRound?: number;
  /** Hard timeout of one query (default 2000 ms). */
  queryTimeoutMs?: number;
  /** BEP 43: never answer queries and ask others not to add us. */
  readOnly?: boolean;
  /** Where to save id and routing table (default: nowhere; takes precedence over `statePath`). */
  stateStore?: NodeStateStore;
  /** A JSON file to save id and routing table in (default: nowhere). */
  statePath?: string;
  /** How often to save the routing table (default 5 minutes). */
  saveIntervalMs?: number;
  peerStore?: PeerStoreOptions;
  itemStore?: ItemStoreOptions;
  rateLimit?: RateLimiterOptions;
  log?: (level: LogLevel, message: string) => void;
}

export interface DhtStats {
  nodeId: string;
  address: Endpoint;
  externalAddress?: string;
  tableSize: number;
  buckets: number;
  peersStored: number;
  infoHashesStored: number;
  itemsStored: number;
  itemBytesStored: number;
  globalRttMs: number;
  counters: DhtCounters;
}
