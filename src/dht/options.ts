/**
 * The options and status report of a `Dht`.
 */
import type { IpFamily } from '../codec/ip.js';
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
  /**
   * Address to bind; default 0.0.0.0, which binds IPv6 (`::`) as well (BEP 32; see `host6`). An
   * IPv4 address binds IPv4 only, an IPv6 address IPv6 only.
   */
  host?: string;
  /** UDP port; default 6881, 0 for any. */
  port?: number;
  /**
   * The IPv6 address to bind beside an IPv4 `host` (a second DHT node on its own socket, sharing
   * ids policy, peers and items); `false` for IPv4 only. Default: `::` when `host` is 0.0.0.0
   * (skipped with a warning when the machine has no IPv6), else none.
   */
  host6?: string | false;
  /** UDP port of the IPv6 socket; default the IPv4 socket's port. */
  port6?: number;
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

/** One address family's DHT node: its own socket, id and routing table. */
export interface DhtFamilyStats {
  family: IpFamily;
  nodeId: string;
  address: Endpoint;
  /** Our address as other nodes of this family report it (BEP 42 `ip`). */
  externalAddress?: string;
  tableSize: number;
  buckets: number;
}

/**
 * The DHT's status. `nodeId`, `address`, `externalAddress` and `buckets` are the primary family's
 * (IPv4 when it is bound, else IPv6); `tableSize` counts both tables; `families` has each one.
 */
export interface DhtStats {
  nodeId: string;
  address: Endpoint;
  externalAddress?: string;
  tableSize: number;
  buckets: number;
  families: DhtFamilyStats[];
  peersStored: number;
  infoHashesStored: number;
  itemsStored: number;
  itemBytesStored: number;
  globalRttMs: number;
  counters: DhtCounters;
}
