/**
 * What the interfaces (HTTP API, web UI through it, management commands through it) may ask of a
 * running node. `WarrenNode` implements it; the API server is written against this alone.
 * Failures reject with a `NodeError` whose code says which HTTP status fits.
 */
import type { AddRequest, DhtView, LookupView, NodeEvent, NodeView, TorrentDetail, TorrentSummary } from './view-types.js';

export interface NodeControl {
  node(): NodeView;
  list(): TorrentSummary[];
  /** `undefined` when no torrent has this id. */
  get(id: string): TorrentDetail | undefined;
  /**
   * Adds a torrent (and persists it before resolving). Adding one that is already there resolves
   * with the existing one and `created: false`.
   */
  add(request: AddRequest): Promise<{ torrent: TorrentSummary; created: boolean }>;
  /**
   * Shares uploaded bytes: stores them as `name` in the node's share directory, makes a torrent of
   * the file and seeds it. `name` must be a plain file name (no `/`, not `.` or `..`).
   */
  share(name: string, data: AsyncIterable<Uint8Array>): Promise<{ torrent: TorrentSummary; created: boolean }>;
  pause(id: string): Promise<TorrentSummary>;
  resume(id: string): Promise<TorrentSummary>;
  /**
   * Starts hashing every piece on disk again and answers at once (state `checking`); afterwards the
   * torrent seeds, or downloads the damaged pieces again, and one stopped by an error runs again.
   * CONFLICT before the metadata is known, or while its data is being checked.
   */
  verify(id: string): Promise<TorrentSummary>;
  /**
   * Chooses the files to download (0-based indices into `TorrentDetail.files`; null for every file)
   * and persists the choice before resolving. Before the metadata arrives the choice is kept for it;
   * an index naming no file of a known torrent is BAD_REQUEST.
   */
  setFiles(id: string, files: number[] | null): Promise<TorrentDetail>;
  /** Stops and forgets the torrent; with `deleteData`, also deletes its downloaded files. */
  remove(id: string, options: { deleteData: boolean }): Promise<void>;
  dht(): DhtView;
  /** Iterative lookup of a 40-hex target: closest nodes (find_node) and peers (get_peers). */
  lookup(target: string): Promise<LookupView>;
  /** Live events; returns the unsubscribe function. */
  subscribe(listener: (event: NodeEvent) => void): () => void;
}
