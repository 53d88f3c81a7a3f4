/**
 * A stand-in for the node's HTTP API, for testing the web UI without a node: a loopback HTTP server
 * serves the built UI (`dist/src/web`, with the node's CSP header) and a controllable SSE stream at
 * `/api/events`; `FakeApi.install(page)` answers every other `/api/` request through Playwright's
 * `page.route` from view-type-shaped sample data, and records what the page sent.
 */
import { createHash } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import { readFile } from 'node:fs/promises';
import { extname, join, normalize, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { AddressInfo } from 'node:net';
import type { BrowserContext, Page, Route } from 'playwright-core';
import type {
  DhtBucketView, DhtView, LookupView, NodeEvent, NodeView, PeerView, TorrentDetail, TorrentSummary,
} from '../../src/node/view-types.js';

/** The built UI (this file runs from dist/test/web/). */
export const WEB_ROOT = fileURLToPath(new URL('../../src/web/', import.meta.url));

export const CSP = "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'";

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.svg': 'image/svg+xml',
};

export interface UiServer {
  url: string;
  /** The `token` query parameter of every `/api/events` request. */
  eventTokens: string[];
  send(event: NodeEvent): void;
  /** Resolves once `count` event streams have connected in total. */
  waitForEventClients(count?: number): Promise<void>;
  /** Ends every open event stream (the page should show that it is reconnecting). */
  dropEventClients(): void;
  close(): Promise<void>;
}

/** Serves `root` on 127.0.0.1 with the CSP header, and the SSE stream. */
export async function startUiServer(token: string, root = WEB_ROOT): Promise<UiServer> {
  const clients = new Set<ServerResponse>();
  const eventTokens: string[] = [];
  let connected = 0;
  const waiters: { count: number; resolve: () => void }[] = [];
  const base = resolve(root);

  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/api/events') {
      const given = url.searchParams.get('token') ?? '';
      eventTokens.push(given);
      if (given !== token) {
        res.writeHead(401, { 'Content-Type': 'application/json' }).end('{"error":"missing or wrong token"}');
        return;
      }
      res.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-store', Connection: 'keep-alive' });
      // A short reconnection delay keeps the reconnect test fast.
      res.write('retry: 250\n: hello\n\n');
      clients.add(res);
      connected++;
      for (const w of [...waiters]) {
        if (connected >= w.count) {
          waiters.splice(waiters.indexOf(w), 1);
          w.resolve();
        }
      }
      req.on('close', () => clients.delete(res));
      return;
    }
    const file = normalize(join(base, url.pathname === '/' ? 'index.html' : decodeURIComponent(url.pathname)));
    if (!file.startsWith(base)) {
      res.writeHead(403).end();
      return;
    }
    readFile(file).then(
      (body) => {
        res.writeHead(200, {
          'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream',
          'Content-Security-Policy': CSP,
          'X-Content-Type-Options': 'nosniff',
          'Cache-Control': 'no-store',
        }).end(body);
      },
      () => res.writeHead(404, { 'Content-Type': 'text/plain' }).end('not found'),
    );
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    eventTokens,
    send(event) {
      const text = `event: ${event.type}\ndata: ${JSON.stringify(event)}\n\n`;
      for (const res of clients) res.write(text);
    },
    waitForEventClients(count = 1) {
      if (connected >= count) return Promise.resolve();
      return new Promise((done) => waiters.push({ count, resolve: done }));
    },
    dropEventClients() {
      for (const res of clients) res.end();
      clients.clear();
    },
    close() {
      for (const res of clients) res.destroy();
      server.closeAllConnections();
      return new Promise((done) => server.close(() => done()));
    },
  };
}

// ---- Sample data -------------------------------------------------------------------------------

/** A small deterministic PRNG (mulberry32), so screenshots are stable. */
function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function hexOf(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('hex');
}

/** An id sharing exactly `bits` leading bits with `id`. */
function idInBucket(id: string, bits: number, random: () => number): string {
  const bytes = Buffer.from(id, 'hex');
  for (let bit = bits + 1; bit < 160; bit++) {
    const mask = 0x80 >> (bit & 7);
    if (random() < 0.5) bytes[bit >> 3]! ^= mask;
  }
  bytes[bits >> 3]! ^= 0x80 >> (bits & 7);
  return hexOf(bytes);
}

export function xorDistance(a: string, b: string): string {
  const x = Buffer.from(a, 'hex');
  const y = Buffer.from(b, 'hex');
  return hexOf(x.map((v, i) => v ^ y[i]!));
}

function bitfield(count: number, had: (i: number) => boolean): string {
  const bytes = new Uint8Array(Math.ceil(count / 8));
  for (let i = 0; i < count; i++) if (had(i)) bytes[i >> 3]! |= 0x80 >> (i & 7);
  return Buffer.from(bytes).toString('base64');
}

const MiB = 1024 * 1024;
const NOW = Date.now();

export const NODE_ID = '9f3a1c5e7b2d4086a1c3e5f7092b4d6f8a1c3e5f';

export const IDS = {
  debian: 'a94a8fe5ccb19ba61c4c0873d391e987982fbbd3',
  bunny: 'dd8255ecdc7ca55fb0bbf81323d87062db1f6d1c',
  arch: '3b18e512dba79e4c8300dd08aeb37f8e728b8dad',
  ubuntu: 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00',
  photos: '7c4a8d09ca3762af61e59520943dc26494f8941b',
};

function summary(partial: Partial<TorrentSummary> & Pick<TorrentSummary, 'id' | 'name' | 'state' | 'totalLength'>): TorrentSummary {
  const progress = partial.progress ?? 0;
  const pieceCount = partial.pieceCount ?? Math.ceil(partial.totalLength / (256 * 1024));
  return {
    error: undefined,
    paused: partial.state === 'paused',
    progress,
    bytesHad: Math.round(partial.totalLength * progress),
    wantedLength: partial.totalLength,
    bytesLeft: partial.totalLength - Math.round(partial.totalLength * progress),
    pieceCount,
    piecesHad: Math.round(pieceCount * progress),
    downloadRate: 0,
    uploadRate: 0,
    downloaded: Math.round(partial.totalLength * progress),
    uploaded: 0,
    peers: 0,
    eta: null,
    dir: '/home/ada/Downloads',
    magnet: `magnet:?xt=urn:btih:${partial.id}&dn=${encodeURIComponent(partial.name)}`,
    addedAt: NOW - 3_600_000,
    ...partial,
  };
}

function peers(random: () => number, count: number): PeerView[] {
  const clients = ['qBittorrent 4.6.4', 'Transmission 4.0.5', 'libtorrent 2.0.10', 'warren 0.1.0', 'Deluge 2.1.1', 'µTorrent 3.6.0'];
  const flags = ['IeX', 'Ie', 'iX', 'IeH', 'e', 'IeXH', 'Xi'];
  return Array.from({ length: count }, (_, i) => ({
    address: `127.${Math.floor(random() * 250) + 1}.${Math.floor(random() * 250)}.${Math.floor(random() * 250) + 1}:${[51413, 6881, 49160, 38211, 6889][i % 5]}`,
    client: clients[i % clients.length]!,
    downloadRate: i < 5 ? Math.round(random() * 900 * 1024) : 0,
    uploadRate: Math.round(random() * 60 * 1024),
    flags: flags[i % flags.length]!,
  }));
}

export interface FakeState {
  token: string;
  node: NodeView;
  torrents: TorrentSummary[];
  details: Map<string, TorrentDetail>;
  dht: DhtView;
}

export function sampleState(token: string): FakeState {
  const random = prng(7);
  const debianLen = 658 * MiB;
  const debian = summary({
    id: IDS.debian, name: 'debian-12.5.0-amd64-netinst.iso', state: 'downloading', totalLength: debianLen, progress: 0.42,
    downloadRate: 3.2 * MiB, uploadRate: 118 * 1024, peers: 23, eta: 119, uploaded: 31 * MiB, addedAt: NOW - 600_000,
  });
  const bunny = summary({
    id: IDS.bunny, name: 'Big Buck Bunny', state: 'seeding', totalLength: 276 * MiB + 123_456, progress: 1, uploadRate: 452 * 1024,
    peers: 6, uploaded: 1.9 * 1024 * MiB, addedAt: NOW - 86_400_000, dir: '/home/ada/Videos',
  });
  const arch = summary({ id: IDS.arch, name: 'archlinux-2024.06.01-x86_64.iso', state: 'paused', totalLength: 1101 * MiB, progress: 0.17, addedAt: NOW - 7_200_000 });
  const ubuntu = summary({ id: IDS.ubuntu, name: 'ubuntu-24.04-desktop-amd64.iso', state: 'metadata', totalLength: 0, pieceCount: 0, peers: 2, addedAt: NOW - 60_000 });
  const photos = summary({
    id: IDS.photos, name: 'project-photos.zip', state: 'error', totalLength: 3.4 * 1024 * MiB, progress: 0.63, addedAt: NOW - 1_800_000,
    error: 'disk full: no space left on device (ENOSPC)',
  });
  const torrents = [bunny, arch, photos, debian, ubuntu];

  const details = new Map<string, TorrentDetail>();
  const debianHad = (i: number) => i < debian.pieceCount * 0.3 || random() < 0.18;
  details.set(debian.id, {
    ...debian,
    files: [{ path: debian.name, length: debianLen, bytesHad: Math.round(debianLen * 0.42), wanted: true }],
    peerList: peers(random, 9),
    pieces: bitfield(debian.pieceCount, debianHad),
    pieceLength: 256 * 1024,
    format: 'v1',
    trackers: ['http://bttracker.debian.org:6969/announce'],
  });
  details.set(bunny.id, {
    ...bunny,
    files: [
      { path: 'Big Buck Bunny/bbb_sunflower_1080p_30fps_normal.mp4', length: 263 * MiB, bytesHad: 263 * MiB, wanted: true },
      { path: 'Big Buck Bunny/poster.jpg', length: 12 * MiB, bytesHad: 12 * MiB, wanted: true },
      { path: 'Big Buck Bunny/subtitles/en.srt', length: MiB + 123_456, bytesHad: MiB + 123_456, wanted: true },
    ],
    peerList: peers(random, 6).map((p) => ({ ...p, downloadRate: 0 })),
    pieces: bitfield(bunny.pieceCount, () => true),
    pieceLength: 256 * 1024,
    format: 'hybrid',
    trackers: [],
  });
  for (const t of [arch, ubuntu, photos]) {
    details.set(t.id, {
      ...t,
      files: t.totalLength ? [{ path: t.name, length: t.totalLength, bytesHad: t.bytesHad, wanted: true }] : [],
      peerList: [],
      pieces: bitfield(t.pieceCount, (i) => i < t.pieceCount * t.progress),
      pieceLength: 256 * 1024,
      format: t.totalLength ? 'v2' : null,
      trackers: [],
    });
  }

  const buckets: DhtBucketView[] = [];
  const fill = [8, 8, 8, 8, 8, 8, 8, 8, 8, 7, 6, 4, 2, 1];
  fill.forEach((count, index) => {
    buckets.push({
      index,
      contacts: Array.from({ length: count }, (_, i) => ({
        id: idInBucket(NODE_ID, index, random),
        address: `127.${Math.floor(random() * 250) + 1}.${Math.floor(random() * 250)}.${Math.floor(random() * 250) + 1}:${6881 + Math.floor(random() * 3000)}`,
        lastSeen: NOW - Math.floor(random() * 900_000),
        failures: i === 3 && index % 4 === 1 ? 2 : 0,
      })),
      replacements: index < 6 ? Math.floor(random() * 8) : 0,
    });
  });
  const nodes4 = buckets.reduce((n, b) => n + b.contacts.length, 0);
  /** The IPv6 DHT node's table (BEP 32), kept small: the page draws the IPv4 buckets only. */
  const nodes6 = 5;
  const nodes = nodes4 + nodes6;

  return {
    token,
    node: {
      version: '0.1.0', startedAt: NOW - 5_400_000, dataDir: '/home/ada/.local/share/warren', swarmAddress: '0.0.0.0:51413',
      swarmAddresses: ['0.0.0.0:51413', '[::]:51413'],
      dhtAddress: '127.0.0.1:6881', nodeId: NODE_ID, torrents: torrents.length, peers: 31, downloadRate: 3.2 * MiB,
      uploadRate: 570 * 1024, downloaded: 14.2 * 1024 * MiB, uploaded: 9.7 * 1024 * MiB,
      encryption: 'require', utp: true, uploadLimit: 512 * 1024, downloadLimit: 0,
    },
    torrents,
    details,
    dht: {
      enabled: true, nodeId: NODE_ID, address: '0.0.0.0:6881', nodes, buckets,
      families: [
        { family: 4, nodeId: NODE_ID, address: '0.0.0.0:6881', nodes: nodes4, buckets },
        { family: 6, nodeId: NODE_ID, address: '[::]:6881', nodes: nodes6, buckets: [] },
      ],
      stored: { infoHashes: 41, peers: 187, items: 3 },
      counters: { queriesReceived: 18234, queriesAnswered: 18102, queriesDropped: 132, queriesSent: 9921, responses: 9112, timeouts: 809, tokenErrors: 4 },
    },
  };
}

// ---- The routes -------------------------------------------------------------------------------

export interface RecordedRequest {
  method: string;
  path: string;
  search: string;
  authorization: string | undefined;
  contentType: string | undefined;
  body: Buffer | null;
}

function json(route: Route, status: number, body: unknown): Promise<void> {
  return route.fulfill({ status, contentType: 'application/json', body: JSON.stringify(body) });
}

export class FakeApi {
  readonly requests: RecordedRequest[] = [];
  /** When set, the next `PUT .../files` is refused with this 400 message. */
  refuseFiles: string | undefined;
  /** When set, the next `POST .../verify` is refused with this 409 message. */
  refuseVerify: string | undefined;

  constructor(readonly state: FakeState) {}

  /** Requests that match a method and a path. */
  sent(method: string, path: string | RegExp): RecordedRequest[] {
    return this.requests.filter((r) => r.method === method && (typeof path === 'string' ? r.path === path : path.test(r.path)));
  }

  async install(target: Page | BrowserContext): Promise<void> {
    await target.route('**/api/**', (route) => this.handle(route));
  }

  lookup(target: string): LookupView {
    const all = this.state.dht.buckets.flatMap((b) => b.contacts);
    const closest = all
      .map((c) => ({ id: c.id, address: c.address, distance: xorDistance(c.id, target) }))
      .sort((a, b) => (a.distance < b.distance ? -1 : 1))
      .slice(0, 8);
    return { target, closest, peers: ['127.0.0.1:51413', '127.44.12.9:6881', '127.201.7.33:49160'], ms: 412 };
  }

  private add(t: TorrentSummary): TorrentSummary {
    this.state.torrents.push(t);
    this.state.details.set(t.id, { ...t, files: [], peerList: [], pieces: '', pieceLength: 0, format: null, trackers: [] });
    return t;
  }

  private async handle(route: Route): Promise<void> {
    const request = route.request();
    const url = new URL(request.url());
    const method = request.method();
    const headers = request.headers();
    if (url.pathname === '/api/events') {
      await route.continue();
      return;
    }
    this.requests.push({
      method, path: url.pathname, search: url.search, authorization: headers.authorization,
      contentType: headers['content-type'], body: request.postDataBuffer(),
    });
    if (headers.authorization !== `Bearer ${this.state.token}`) {
      await json(route, 401, { error: 'missing or wrong token' });
      return;
    }
    const { state } = this;
    const path = url.pathname;
    const one = /^\/api\/torrents\/([0-9a-f]{40})(?:\/(pause|resume|verify|files))?$/.exec(path);
    if (method === 'GET' && path === '/api/node') return json(route, 200, state.node);
    if (method === 'GET' && path === '/api/torrents') return json(route, 200, state.torrents);
    if (method === 'GET' && path === '/api/dht') return json(route, 200, state.dht);
    if (method === 'POST' && path === '/api/dht/lookup') {
      const body = JSON.parse(request.postData() ?? '{}') as { target?: string };
      if (!body.target || !/^[0-9a-f]{40}$/.test(body.target)) return json(route, 400, { error: 'target must be 40 hex characters' });
      return json(route, 200, this.lookup(body.target));
    }
    if (method === 'POST' && path === '/api/torrents') {
      const type = headers['content-type'] ?? '';
      if (type.startsWith('application/x-bittorrent')) {
        const data = request.postDataBuffer() ?? Buffer.alloc(0);
        const id = createHash('sha1').update(data).digest('hex');
        return json(route, 201, this.add(summary({ id, name: 'from-a-file', state: 'downloading', totalLength: 10 * MiB })));
      }
      const body = JSON.parse(request.postData() ?? '{}') as { magnet?: string; infoHash?: string };
      const hash = body.infoHash ?? /xt=urn:btih:([0-9a-fA-F]{40})/.exec(body.magnet ?? '')?.[1];
      if (!hash) return json(route, 400, { error: 'bad magnet link: no xt=urn:btih infohash' });
      const id = hash.toLowerCase();
      const existing = state.torrents.find((t) => t.id === id);
      if (existing) return json(route, 200, existing);
      const dn = body.magnet ? new URL(body.magnet.replace('magnet:?', 'http://x/?')).searchParams.get('dn') : null;
      return json(route, 201, this.add(summary({ id, name: dn ?? id, state: 'metadata', totalLength: 0, pieceCount: 0, addedAt: Date.now() })));
    }
    if (method === 'POST' && path === '/api/share') {
      const name = url.searchParams.get('name') ?? '';
      const data = request.postDataBuffer() ?? Buffer.alloc(0);
      const id = createHash('sha1').update(name).update(data).digest('hex');
      return json(route, 201, this.add(summary({ id, name, state: 'seeding', totalLength: data.length, progress: 1, pieceCount: 1, dir: '/home/ada/.local/share/warren/shared', addedAt: Date.now() })));
    }
    if (one) {
      const [, id, action] = one;
      const index = state.torrents.findIndex((t) => t.id === id);
      if (index < 0) return json(route, 404, { error: `no torrent ${id}` });
      const t = state.torrents[index]!;
      if (method === 'GET' && !action) return json(route, 200, { ...state.details.get(t.id), ...t });
      if (method === 'PUT' && action === 'files') return this.setFiles(route, index, request.postData());
      if (method === 'POST' && action === 'verify') return this.verify(route, index);
      if (method === 'POST' && (action === 'pause' || action === 'resume')) {
        const next: TorrentSummary = { ...t, state: action === 'pause' ? 'paused' : t.progress >= 1 ? 'seeding' : 'downloading', paused: action === 'pause', downloadRate: 0, uploadRate: 0 };
        state.torrents[index] = next;
        return json(route, 200, next);
      }
      if (method === 'DELETE' && !action) {
        state.torrents.splice(index, 1);
        state.details.delete(t.id);
        await route.fulfill({ status: 204 });
        return;
      }
      return json(route, 405, { error: 'method not allowed' });
    }
    return json(route, 404, { error: `no route ${method} ${path}` });
  }

  /** `POST /api/torrents/<id>/verify`: checking, refused (409) as the node refuses it. */
  private verify(route: Route, index: number): Promise<void> {
    const t = this.state.torrents[index]!;
    const refusal = this.refuseVerify
      ?? (t.pieceCount === 0 ? 'the metadata is not known yet: there is no data to check' : t.state === 'checking' ? 'the data is being checked already' : undefined);
    this.refuseVerify = undefined;
    if (refusal !== undefined) return json(route, 409, { error: refusal });
    const next: TorrentSummary = { ...t, state: 'checking', error: undefined, downloadRate: 0, uploadRate: 0, peers: 0 };
    this.state.torrents[index] = next;
    return json(route, 200, next);
  }

  /** `PUT /api/torrents/<id>/files`: marks the chosen files wanted; the wanted length is theirs. */
  private setFiles(route: Route, index: number, body: string | null): Promise<void> {
    if (this.refuseFiles !== undefined) {
      const error = this.refuseFiles;
      this.refuseFiles = undefined;
      return json(route, 400, { error });
    }
    const { files } = JSON.parse(body ?? '{}') as { files: number[] | null };
    const t = this.state.torrents[index]!;
    const detail = this.state.details.get(t.id)!;
    const chosen = detail.files.map((file, i) => ({ ...file, wanted: files === null || files.includes(i) }));
    const wanted = chosen.filter((f) => f.wanted);
    const wantedLength = wanted.reduce((n, f) => n + f.length, 0);
    const bytesLeft = wanted.reduce((n, f) => n + f.length - f.bytesHad, 0);
    const next: TorrentSummary = { ...t, wantedLength, bytesLeft, progress: wantedLength > 0 ? (wantedLength - bytesLeft) / wantedLength : 1 };
    this.state.torrents[index] = next;
    this.state.details.set(t.id, { ...detail, ...next, files: chosen });
    return json(route, 200, this.state.details.get(t.id));
  }
}
