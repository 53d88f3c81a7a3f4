/**
 * What a running node shows of itself: the JSON shapes the HTTP API returns and the web UI and the
 * management commands read. Plain data (strings, numbers, arrays), so it crosses the API unchanged.
 * Ids of torrents are their infohashes in lowercase hex.
 */

export type TorrentStateName = 'metadata' | 'checking' | 'downloading' | 'seeding' | 'paused' | 'error';

/** One torrent in a list. */
export interface TorrentSummary {
  /** The infohash, 40 lowercase hex characters. */
  id: string;
  /** The torrent's name; until the metadata arrives, the magnet's `dn` or the id. */
  name: string;
  /** What it is doing; a paused torrent still checking its data is `checking` (and `paused`). */
  state: TorrentStateName;
  /** Paused by the user: `resume` starts it again. */
  paused: boolean;
  /** Why the torrent stopped, when `state` is `error`. */
  error?: string;
  /**
   * 0 to 1: how much of what is to be downloaded is verified (all the files, or the chosen ones:
   * 1 once they are done); 0 before the metadata arrives.
   */
  progress: number;
  /** Total size in bytes (0 before the metadata arrives). */
  totalLength: number;
  /** Verified bytes (of every file, chosen or not). */
  bytesHad: number;
  /**
   * Bytes of the pieces to download: `totalLength` when every file is wanted, else the pieces
   * holding the chosen files (which may hold some bytes of their neighbours).
   */
  wantedLength: number;
  /** Bytes of `wantedLength` not verified yet. */
  bytesLeft: number;
  pieceCount: number;
  piecesHad: number;
  /** Bytes per second, averaged over the last few seconds. */
  downloadRate: number;
  uploadRate: number;
  /** Payload bytes moved since the torrent was added (kept across restarts). */
  downloaded: number;
  uploaded: number;
  /** Connected peers. */
  peers: number;
  /** Seconds until `bytesLeft` is downloaded at the current rate; null when unknown or complete. */
  eta: number | null;
  /** Directory that holds the torrent's file or folder. */
  dir: string;
  magnet: string;
  /** When the torrent was added, ms since the epoch. */
  addedAt: number;
}

export interface TorrentFileView {
  /** Path inside the torrent, `/`-separated, starting with the torrent's name. */
  path: string;
  length: number;
  /** Verified bytes of this file. */
  bytesHad: number;
  /** Whether the file is to be downloaded (see `PUT /api/torrents/:id/files`). */
  wanted: boolean;
}

export interface PeerView {
  /** `host:port`, an IPv6 host in brackets (`[fd57::1]:6881`). */
  address: string;
  /** Client name from the peer id or the extended handshake. */
  client: string;
  downloadRate: number;
  uploadRate: number;
  /**
   * Flags in the style of libtorrent's peer list: `D` we download from it (`d`: we want to but it
   * chokes us), `U` we upload to it (`u`: it wants to but we choke it), `I` it connected to us,
   * `S` snubbed, `s` it is a seed, `E` encrypted with RC4, `e` only the handshake encrypted (MSE),
   * `W` a web seed (BEP 19; its `address` is the URL).
   */
  flags: string;
}

/** One torrent in full. */
export interface TorrentDetail extends TorrentSummary {
  files: TorrentFileView[];
  peerList: PeerView[];
  /** Verified pieces as a base64 BEP 3 bitfield (piece 0 is the high bit of the first byte). */
  pieces: string;
  pieceLength: number;
  /** BitTorrent v1, v2 (BEP 52) or hybrid (both); null until the metadata is known. */
  format: 'v1' | 'v2' | 'hybrid' | null;
  trackers: string[];
}

export interface DhtContactView {
  /** Node id, 40 hex characters. */
  id: string;
  /** `host:port`. */
  address: string;
  /** ms since the epoch when we last heard from it. */
  lastSeen: number;
  /** Failed queries in a row. */
  failures: number;
}

export interface DhtBucketView {
  /** Bucket index: ids in bucket i share exactly i leading bits with ours (the last bucket: at least i). */
  index: number;
  contacts: DhtContactView[];
  replacements: number;
}

/** One address family's DHT node: its id, UDP address and routing table. */
export interface DhtFamilyView {
  family: 4 | 6;
  nodeId: string;
  /** UDP `host:port` (`[host]:port` for IPv6). */
  address: string;
  nodes: number;
  buckets: DhtBucketView[];
}

export interface DhtView {
  /** Whether the node runs a DHT at all. */
  enabled: boolean;
  nodeId?: string;
  /** UDP `host:port`. */
  address?: string;
  /** Contacts in all routing tables (IPv4 and IPv6). */
  nodes: number;
  /** The primary family's routing table (IPv4 when it is up, else IPv6). */
  buckets: DhtBucketView[];
  /** Each address family's DHT node (BEP 32: one routing table per family), IPv4 first. */
  families?: DhtFamilyView[];
  /** What we store for others: infohashes with peers, peers, BEP 44 items. */
  stored: { infoHashes: number; peers: number; items: number };
  /** Named counters (queries received, answered, dropped, ...). */
  counters: Record<string, number>;
}

export interface NodeView {
  version: string;
  /** ms since the epoch when the node started. */
  startedAt: number;
  dataDir: string;
  /** TCP `host:port` peers connect to (the IPv4 one when both families are up; IPv6 as `[host]:port`). */
  swarmAddress: string;
  /** Every TCP address the swarm listens on, IPv4 first (`0.0.0.0:6881`, `[::]:6881`). */
  swarmAddresses?: string[];
  /** UDP `host:port` of the DHT, when it runs. */
  dhtAddress?: string;
  nodeId?: string;
  torrents: number;
  peers: number;
  downloadRate: number;
  uploadRate: number;
  /** Payload bytes over the node's whole life (kept across restarts). */
  downloaded: number;
  uploaded: number;
  /** Protocol encryption with peers (see the README's "How the swarm behaves"). */
  encryption: 'prefer' | 'require' | 'allow';
  /** Peers are also served over uTP, on UDP at the swarm's port. */
  utp: boolean;
  /** Rate limits per torrent in bytes per second; 0 for none. */
  uploadLimit: number;
  downloadLimit: number;
  /** The router's port mappings (NAT-PMP and UPnP), when port mapping is on. */
  portMapping?: PortMappingView;
}

/** The ports a node asked its router to open, through each protocol. */
export interface PortMappingView {
  /** The router's external address, as it reported it. */
  externalAddress?: string;
  mappings: {
    protocol: 'tcp' | 'udp';
    internalPort: number;
    via: 'nat-pmp' | 'upnp';
    state: 'mapping' | 'mapped' | 'failed';
    externalPort?: number;
    error?: string;
  }[];
}

/** What the DHT lookup tool returns. */
export interface LookupView {
  target: string;
  /** The closest nodes found, nearest first. */
  closest: { id: string; address: string; distance: string }[];
  /** Peers found for the target as an infohash (get_peers). */
  peers: string[];
  ms: number;
}

/** Events a node publishes (over Server-Sent Events at `/api/events`). */
export type NodeEvent =
  | { type: 'added'; torrent: TorrentSummary }
  | { type: 'removed'; id: string }
  /** Every second, the torrents whose numbers changed. */
  | { type: 'torrents'; torrents: TorrentSummary[] }
  | { type: 'piece'; id: string; index: number }
  /** Every second. */
  | { type: 'node'; node: NodeView };

/** How a torrent is added. Exactly one of `magnet`, `infoHash`, `torrent`, `path`. */
export interface AddRequest {
  magnet?: string;
  /** 40 hex or 32 base32 characters. */
  infoHash?: string;
  /** A .torrent file, base64. */
  torrent?: string;
  /** A local file or folder to share (hashed, then seeded from where it is). */
  path?: string;
  /** Where to download (default: the node's download directory). */
  dir?: string;
  /** Add without starting. */
  paused?: boolean;
  sequential?: boolean;
  /**
   * Download only these files: 0-based indices into the torrent's file list (`TorrentDetail.files`,
   * padding files left out); absent for every file. Checked against the torrent once its metadata is known.
   */
  files?: number[];
}
