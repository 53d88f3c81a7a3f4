/**
 * A test-only `NodeControl`: keeps torrents in a map, records every call, and can be told to fail.
 * It exercises the HTTP layer alone; the real node is tested end to end elsewhere.
 */
import { createHash } from 'node:crypto';
import { EventEmitter } from 'node:events';
import type { NodeControl } from '../../src/node/node-control.js';
import type {
  AddRequest,
  DhtView,
  LookupView,
  NodeEvent,
  NodeView,
  TorrentDetail,
  TorrentFileView,
  TorrentSummary,
} from '../../src/node/view-types.js';
import { NodeError } from '../../src/node/errors.js';

/** One recorded call: the method name and its arguments. */
export interface Call {
  method: string;
  args: unknown[];
}

/** A plausible summary for `id`. */
export function summary(id: string, name = id): TorrentSummary {
  return {
    id,
    name,
    state: 'downloading',
    paused: false,
    progress: 0.5,
    totalLength: 1000,
    bytesHad: 500,
    wantedLength: 1000,
    bytesLeft: 500,
    pieceCount: 4,
    piecesHad: 2,
    downloadRate: 10,
    uploadRate: 5,
    downloaded: 500,
    uploaded: 20,
    peers: 3,
    eta: 50,
    dir: '/tmp/downloads',
    magnet: `magnet:?xt=urn:btih:${id}`,
    addedAt: 1_700_000_000_000,
  };
}

function sha1(data: string | Uint8Array): string {
  return createHash('sha1').update(data).digest('hex');
}

/** Emits `unsubscribe` whenever a listener is removed. */
export class FakeControl extends EventEmitter implements NodeControl {
  readonly calls: Call[] = [];
  readonly torrents = new Map<string, TorrentSummary>();
  /** The file list of a torrent's detail (none unless a test sets one). */
  readonly files = new Map<string, TorrentFileView[]>();
  readonly subscribers = new Set<(event: NodeEvent) => void>();
  /** When set, every call throws it (synchronously for sync methods, as a rejection for async ones). */
  failure: unknown = undefined;

  private record(method: string, ...args: unknown[]): void {
    this.calls.push({ method, args });
    if (this.failure !== undefined) throw this.failure;
  }

  /** The last recorded call of `method`. */
  last(method: string): Call | undefined {
    return this.calls.filter((c) => c.method === method).at(-1);
  }

  private existing(id: string): TorrentSummary {
    const torrent = this.torrents.get(id);
    if (torrent === undefined) throw new NodeError('NOT_FOUND', `no torrent ${id}`);
    return torrent;
  }

  private put(id: string, name: string): { torrent: TorrentSummary; created: boolean } {
    const known = this.torrents.get(id);
    if (known !== undefined) return { torrent: known, created: false };
    const torrent = summary(id, name);
    this.torrents.set(id, torrent);
    return { torrent, created: true };
  }

  node(): NodeView {
    this.record('node');
    return {
      version: '0.1.0',
      startedAt: 1_700_000_000_000,
      dataDir: '/tmp/warren',
      swarmAddress: '127.0.0.1:6881',
      dhtAddress: '127.0.0.1:6881',
      nodeId: 'ab'.repeat(20),
      torrents: this.torrents.size,
      peers: 0,
      downloadRate: 0,
      uploadRate: 0,
      downloaded: 0,
      uploaded: 0,
      encryption: 'prefer',
      utp: true,
      uploadLimit: 0,
      downloadLimit: 0,
    };
  }

  list(): TorrentSummary[] {
    this.record('list');
    return [...this.torrents.values()];
  }

  get(id: string): TorrentDetail | undefined {
    this.record('get', id);
    const torrent = this.torrents.get(id);
    if (torrent === undefined) return undefined;
    return { ...torrent, files: this.files.get(id) ?? [], peerList: [], pieces: 'wA==', pieceLength: 16384, format: 'v1', trackers: [] };
  }

  async add(request: AddRequest): Promise<{ torrent: TorrentSummary; created: boolean }> {
    this.record('add', request);
    if (request.magnet !== undefined) {
      const id = /btih:([0-9a-f]{40})/i.exec(request.magnet)?.[1];
      if (id === undefined) throw new NodeError('BAD_REQUEST', 'magnet has no btih');
      return this.put(id.toLowerCase(), 'from magnet');
    }
    if (request.infoHash !== undefined) return this.put(request.infoHash.length === 40 ? request.infoHash : sha1(request.infoHash), 'by hash');
    if (request.torrent !== undefined) return this.put(sha1(Buffer.from(request.torrent, 'base64')), 'from .torrent');
    return this.put(sha1(request.path ?? ''), 'from path');
  }

  async share(name: string, data: AsyncIterable<Uint8Array>): Promise<{ torrent: TorrentSummary; created: boolean }> {
    this.record('share', name);
    const chunks: Uint8Array[] = [];
    for await (const chunk of data) chunks.push(chunk);
    const bytes = Buffer.concat(chunks);
    this.calls.push({ method: 'share-bytes', args: [bytes.length] });
    return this.put(sha1(bytes), name);
  }

  async pause(id: string): Promise<TorrentSummary> {
    this.record('pause', id);
    const torrent = { ...this.existing(id), state: 'paused' as const };
    this.torrents.set(id, torrent);
    return torrent;
  }

  async resume(id: string): Promise<TorrentSummary> {
    this.record('resume', id);
    const torrent = { ...this.existing(id), state: 'downloading' as const };
    this.torrents.set(id, torrent);
    return torrent;
  }

  /** Starts `checking`; refused as the node refuses it: no metadata yet (no pieces), or a check running. */
  async verify(id: string): Promise<TorrentSummary> {
    this.record('verify', id);
    const known = this.existing(id);
    if (known.pieceCount === 0) throw new NodeError('CONFLICT', 'the metadata is not known yet: there is no data to check');
    if (known.state === 'checking') throw new NodeError('CONFLICT', 'the data is being checked already');
    const torrent = { ...known, state: 'checking' as const };
    this.torrents.set(id, torrent);
    return torrent;
  }

  /** Marks the chosen files wanted; an index past the test's file list is refused as the node does. */
  async setFiles(id: string, files: number[] | null): Promise<TorrentDetail> {
    this.record('setFiles', id, files);
    this.existing(id);
    const list = this.files.get(id) ?? [];
    const bad = files?.find((i) => i >= list.length);
    if (bad !== undefined) throw new NodeError('BAD_REQUEST', `no file number ${bad + 1}: the torrent has ${list.length} files`);
    this.files.set(id, list.map((file, i) => ({ ...file, wanted: files === null || files.includes(i) })));
    return this.get(id)!;
  }

  async remove(id: string, options: { deleteData: boolean }): Promise<void> {
    this.record('remove', id, options);
    this.existing(id);
    this.torrents.delete(id);
  }

  dht(): DhtView {
    this.record('dht');
    return {
      enabled: true,
      nodeId: 'ab'.repeat(20),
      address: '127.0.0.1:6881',
      nodes: 0,
      buckets: [],
      stored: { infoHashes: 0, peers: 0, items: 0 },
      counters: { queriesReceived: 0 },
    };
  }

  async lookup(target: string): Promise<LookupView> {
    this.record('lookup', target);
    return { target, closest: [{ id: 'cd'.repeat(20), address: '127.0.0.2:6881', distance: '66'.repeat(20) }], peers: [], ms: 3 };
  }

  subscribe(listener: (event: NodeEvent) => void): () => void {
    this.record('subscribe');
    this.subscribers.add(listener);
    return () => {
      this.subscribers.delete(listener);
      this.emit('unsubscribe');
    };
  }

  /** Sends `event` to every subscriber. */
  publish(event: NodeEvent): void {
    for (const listener of this.subscribers) listener(event);
  }
}
