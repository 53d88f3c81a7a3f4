/**
 * The HTTP API in front of a real `WarrenNode` on 127.0.0.1 (not the fake): every endpoint, with
 * real torrents moving between two nodes, live events over SSE, and refusals.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startApiServer, type ApiServer } from '../../src/api/server.js';
import { encodeMagnet } from '../../src/codec/magnet.js';
import { toInfoHash } from '../../src/dht/types.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { popcount8 } from '../../src/swarm/piece-geometry.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import type { DhtView, LookupView, NodeEvent, NodeView, TorrentDetail, TorrentSummary } from '../../src/node/view-types.js';
import { WarrenNode } from '../../src/node/warren-node.js';
import { testNodeOptions } from '../node/node-options.js';

const TOKEN = 'node-api-test-token-0123456789';

/** Reads `NodeEvent`s from the SSE stream until `pick` returns something. */
async function nextEvent<T>(url: string, pick: (e: NodeEvent) => T | undefined, trigger: () => Promise<unknown>): Promise<T> {
  const abort = new AbortController();
  const response = await fetch(`${url}/api/events?token=${TOKEN}`, { signal: abort.signal });
  assert.equal(response.headers.get('content-type')?.split(';')[0], 'text/event-stream');
  const reader = response.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  const triggered = trigger();
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) throw new Error('the event stream ended');
      buffer += decoder.decode(value, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const message = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const type = /^event: (.*)$/m.exec(message)?.[1];
        const data = /^data: (.*)$/m.exec(message)?.[1];
        if (data === undefined) continue;
        const event = JSON.parse(data) as NodeEvent;
        assert.equal(type, event.type, 'the event line names the type');
        const found = pick(event);
        if (found !== undefined) {
          await triggered;
          return found;
        }
      }
    }
  } finally {
    abort.abort();
  }
}

describe('the API over a real node', () => {
  let dir: string;
  let seeder: WarrenNode;
  let leecher: WarrenNode;
  let seederApi: ApiServer;
  let api: ApiServer;
  const call = (path: string, init: RequestInit = {}) =>
    fetch(api.url + path, { ...init, headers: { authorization: `Bearer ${TOKEN}`, ...(init.headers as Record<string, string>) } });
  const json = async <T>(path: string, init: RequestInit = {}, status = 200): Promise<T> => {
    const response = await call(path, init);
    const text = await response.text();
    assert.equal(response.status, status, `${init.method ?? 'GET'} ${path}: ${text}`);
    return JSON.parse(text) as T;
  };
  const post = (body: unknown) => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'warren-node-api-'));
    seeder = await WarrenNode.start(testNodeOptions(join(dir, 'seeder'), { dht: true }));
    leecher = await WarrenNode.start(testNodeOptions(join(dir, 'leecher'), { dht: true, bootstrap: [seeder.node().dhtAddress!] }));
    seederApi = await startApiServer(seeder, { host: '127.0.0.1', port: 0, token: TOKEN });
    api = await startApiServer(leecher, { host: '127.0.0.1', port: 0, token: TOKEN });
  });
  after(async () => {
    await api.close();
    await seederApi.close();
    await leecher.close();
    await seeder.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('node and DHT views, and the lookup tool', async () => {
    const node = await json<NodeView>('/api/node');
    assert.equal(node.version, 'test');
    assert.equal(node.torrents, 0);
    const dht = await json<DhtView>('/api/dht');
    assert.equal(dht.enabled, true);
    assert.equal(dht.nodes, 1, 'the leecher knows the seeder');
    // On 127.0.0.1 the DHT runs on IPv4 only: one family, holding that contact.
    assert.deepEqual(dht.families?.map((f) => [f.family, f.nodes, f.buckets.length > 0]), [[4, 1, true]]);
    const target = seeder.node().nodeId!;
    const found = await json<LookupView>('/api/dht/lookup', post({ target }));
    assert.equal(found.closest[0]?.id, target);
    assert.equal((await call('/api/dht/lookup', post({ target: 'nope' }))).status, 400);
  });

  test('a share on one node, downloaded by the other from a magnet, with live events', async () => {
    const content = randomBytes(700_000);
    await writeFile(join(dir, 'clip.bin'), content);
    const shared = await fetch(`${seederApi.url}/api/torrents`, { ...post({ path: join(dir, 'clip.bin') }), headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' } });
    assert.equal(shared.status, 201);
    const seeded = (await shared.json()) as TorrentSummary;
    assert.equal(seeded.state, 'seeding');

    const magnet = encodeMagnet({ infoHash: toInfoHash(seeded.id), name: 'clip.bin', peers: [{ host: '127.0.0.1', port: Number(seeder.node().swarmAddress.split(':')[1]) }] });
    let added: TorrentSummary | undefined;
    const completed = await nextEvent(
      api.url,
      (e) => (e.type === 'torrents' ? e.torrents.find((t) => t.id === seeded.id && t.state === 'seeding') : undefined),
      async () => (added = await json<TorrentSummary>('/api/torrents', post({ magnet }), 201)),
    );
    assert.equal(added!.id, seeded.id);
    assert.equal(completed.progress, 1);
    assert.deepEqual(await readFile(join(dir, 'leecher', 'downloads', 'clip.bin')), content);
    assert.equal((await json<TorrentSummary>('/api/torrents', post({ magnet }))).id, seeded.id, 'adding again answers 200 with the same torrent');

    const detail = await json<TorrentDetail>(`/api/torrents/${seeded.id}`);
    assert.equal(detail.files[0]?.bytesHad, content.length);
    assert.equal(Buffer.from(detail.pieces, 'base64').reduce((n, byte) => n + popcount8(byte), 0), detail.pieceCount);

    assert.equal((await json<TorrentSummary>(`/api/torrents/${seeded.id}/pause`, { method: 'POST' })).state, 'paused');
    assert.equal((await json<TorrentSummary>(`/api/torrents/${seeded.id}/resume`, { method: 'POST' })).state, 'seeding');
    const removed = await nextEvent(
      api.url,
      (e) => (e.type === 'removed' ? e.id : undefined),
      async () => assert.equal((await call(`/api/torrents/${seeded.id}?deleteData=1`, { method: 'DELETE' })).status, 204),
    );
    assert.equal(removed, seeded.id);
    assert.equal(await stat(join(dir, 'leecher', 'downloads', 'clip.bin')).catch(() => 'gone'), 'gone');
    assert.equal((await call(`/api/torrents/${seeded.id}`)).status, 404);
  });

  test('a .torrent upload, a shared upload, and an infohash', async () => {
    await writeFile(join(dir, 'doc.txt'), randomBytes(30_000));
    const created = await createTorrent(createNodeRuntime().fs, join(dir, 'doc.txt'), {});
    const fromFile = await json<TorrentSummary>('/api/torrents', { method: 'POST', headers: { 'content-type': 'application/x-bittorrent' }, body: created.bytes }, 201);
    assert.equal(fromFile.name, 'doc.txt');
    assert.equal(fromFile.totalLength, 30_000);

    const upload = randomBytes(50_000);
    const share = await json<TorrentSummary>('/api/share?name=' + encodeURIComponent('my photo.jpg'), { method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: upload }, 201);
    assert.equal(share.state, 'seeding');
    assert.match(share.magnet, /^magnet:\?xt=urn:btih:[0-9a-f]{40}/);
    assert.deepEqual(await readFile(join(dir, 'leecher', 'shared', share.id, 'my photo.jpg')), upload);

    const byHash = await json<TorrentSummary>('/api/torrents', post({ infoHash: 'ee'.repeat(20), paused: true }), 201);
    assert.equal(byHash.state, 'paused');
    const ids = (await json<TorrentSummary[]>('/api/torrents')).map((t) => t.id);
    assert.deepEqual(ids, [fromFile.id, share.id, byHash.id], 'listed in the order added');
  });

  test('refusals: no token, a foreign origin, bad input, unknown ids', async () => {
    assert.equal((await fetch(`${api.url}/api/torrents`)).status, 401);
    assert.equal((await fetch(`${api.url}/api/torrents?token=wrong`)).status, 401);
    assert.equal((await call('/api/torrents', { headers: { origin: 'http://evil.example' } })).status, 403);
    for (const body of [{ magnet: 'magnet:?xt=urn:btih:zz' }, { infoHash: 'ab' }, { torrent: 'AAAA' }, { path: join(dir, 'missing') }, { magnet: 'x', infoHash: 'y' }, { what: 1 }]) {
      const response = await call('/api/torrents', post(body));
      assert.equal(response.status, 400, JSON.stringify(body));
      assert.equal(typeof ((await response.json()) as { error: unknown }).error, 'string');
    }
    assert.equal((await call(`/api/torrents/${'0'.repeat(40)}/pause`, { method: 'POST' })).status, 404);
    assert.equal((await call('/api/share?name=..', { method: 'POST', body: 'x' })).status, 400);
  });

  test('choosing files: added with a choice, changed, refused for a file that does not exist, and every file again', async () => {
    await mkdir(join(dir, 'album'));
    await writeFile(join(dir, 'album', 'one.bin'), randomBytes(20_000));
    await writeFile(join(dir, 'album', 'two.bin'), randomBytes(30_000));
    const torrent = Buffer.from((await createTorrent(createNodeRuntime().fs, join(dir, 'album'), {})).bytes).toString('base64');
    const refused = await call('/api/torrents', post({ torrent, files: [0, 2], paused: true }));
    assert.equal(refused.status, 400);
    assert.deepEqual(await refused.json(), { error: 'no file number 3: the torrent has 2 files' });

    const added = await json<TorrentSummary>('/api/torrents', post({ torrent, files: [1], paused: true }), 201);
    const wanted = async () => (await json<TorrentDetail>(`/api/torrents/${added.id}`)).files.map((f) => [f.path, f.wanted]);
    assert.deepEqual(await wanted(), [['album/one.bin', false], ['album/two.bin', true]]);
    const put = (files: unknown) => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files }) });
    const changed = await json<TorrentDetail>(`/api/torrents/${added.id}/files`, put([0]));
    assert.deepEqual(changed.files.map((f) => f.wanted), [true, false]);
    assert.ok(changed.wantedLength < changed.totalLength);
    const outOfRange = await call(`/api/torrents/${added.id}/files`, put([1, 2]));
    assert.equal(outOfRange.status, 400);
    assert.deepEqual(await outOfRange.json(), { error: 'no file number 3: the torrent has 2 files' });
    assert.deepEqual(await wanted(), [['album/one.bin', true], ['album/two.bin', false]], 'a refused choice changes nothing');
    const all = await json<TorrentDetail>(`/api/torrents/${added.id}/files`, put(null));
    assert.deepEqual(all.files.map((f) => f.wanted), [true, true]);
    assert.equal(all.wantedLength, all.totalLength);
    assert.equal((await call(`/api/torrents/${'0'.repeat(40)}/files`, put([0]))).status, 404);
  });
});
