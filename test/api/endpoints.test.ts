/**
 * Every endpoint of docs/API.md on its success path: status, body shape, and what reached the node.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from './harness.js';
import { summary } from './fake-control.js';
import type { TorrentDetail, TorrentSummary } from '../../src/node/view-types.js';

const ID = 'c0ffee00'.repeat(5);
const OTHER = 'abcdef01'.repeat(5);

describe('API endpoints', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.server.close());

  test('GET /api/node answers the NodeView', async () => {
    const res = await t.api('/api/node');
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const body = (await res.json()) as { version: string; swarmAddress: string };
    assert.equal(body.version, '0.1.0');
    assert.equal(body.swarmAddress, '127.0.0.1:6881');
  });

  test('POST /api/torrents with a magnet: 201, then 200 for the same torrent', async () => {
    const init = {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ magnet: `magnet:?xt=urn:btih:${ID}&dn=x`, paused: true, dir: '/tmp/d' }),
    };
    const first = await t.api('/api/torrents', init);
    assert.equal(first.status, 201);
    assert.equal(((await first.json()) as TorrentSummary).id, ID);
    assert.deepEqual(t.control.last('add')?.args[0], { magnet: `magnet:?xt=urn:btih:${ID}&dn=x`, paused: true, dir: '/tmp/d' });
    const again = await t.api('/api/torrents', init);
    assert.equal(again.status, 200);
    assert.equal(((await again.json()) as TorrentSummary).id, ID);
  });

  test('POST /api/torrents passes a choice of files on', async () => {
    const res = await t.api('/api/torrents', { method: 'POST', body: JSON.stringify({ infoHash: 'cd'.repeat(20), files: [3, 0], paused: true }) });
    assert.equal(res.status, 201);
    assert.deepEqual(t.control.last('add')?.args[0], { infoHash: 'cd'.repeat(20), files: [3, 0], paused: true });
    t.control.torrents.delete('cd'.repeat(20));
  });

  test('POST /api/torrents with an uppercase hex infoHash passes it on in lowercase', async () => {
    const res = await t.api('/api/torrents', { method: 'POST', body: JSON.stringify({ infoHash: OTHER.toUpperCase() }) });
    assert.equal(res.status, 201);
    assert.deepEqual(t.control.last('add')?.args[0], { infoHash: OTHER });
  });

  test('POST /api/torrents with a .torrent file becomes {torrent: base64}', async () => {
    const file = Buffer.from('d4:infod4:name1:xee');
    const res = await t.api('/api/torrents', {
      method: 'POST',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: file,
    });
    assert.equal(res.status, 201);
    assert.deepEqual(t.control.last('add')?.args[0], { torrent: file.toString('base64') });
  });

  test('POST /api/share streams the body into share()', async () => {
    const bytes = Buffer.alloc(300_000, 7);
    const res = await t.api('/api/share?name=notes%20one.txt', {
      method: 'POST',
      headers: { 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(res.status, 201);
    const body = (await res.json()) as TorrentSummary;
    assert.equal(body.name, 'notes one.txt');
    assert.match(body.magnet, /^magnet:/);
    assert.deepEqual(t.control.last('share')?.args, ['notes one.txt']);
    assert.deepEqual(t.control.last('share-bytes')?.args, [bytes.length]);
  });

  test('GET /api/torrents lists in order added', async () => {
    const res = await t.api('/api/torrents');
    assert.equal(res.status, 200);
    const ids = ((await res.json()) as TorrentSummary[]).map((s) => s.id);
    assert.deepEqual(ids.slice(0, 2), [ID, OTHER]);
  });

  test('GET /api/torrents/<id> answers the detail', async () => {
    const res = await t.api(`/api/torrents/${ID}`);
    assert.equal(res.status, 200);
    const detail = (await res.json()) as TorrentDetail;
    assert.equal(detail.id, ID);
    assert.equal(detail.pieceLength, 16384);
    assert.deepEqual(detail.files, []);
  });

  test('pause and resume answer the summary', async () => {
    const paused = await t.api(`/api/torrents/${ID}/pause`, { method: 'POST' });
    assert.equal(paused.status, 200);
    assert.equal(((await paused.json()) as TorrentSummary).state, 'paused');
    const resumed = await t.api(`/api/torrents/${ID}/resume`, { method: 'POST' });
    assert.equal(resumed.status, 200);
    assert.equal(((await resumed.json()) as TorrentSummary).state, 'downloading');
    assert.deepEqual(t.control.last('pause')?.args, [ID]);
    assert.deepEqual(t.control.last('resume')?.args, [ID]);
  });

  test('POST /api/torrents/<id>/verify answers the summary, checking', async () => {
    t.control.torrents.set(OTHER, summary(OTHER));
    const res = await t.api(`/api/torrents/${OTHER.toUpperCase()}/verify`, { method: 'POST' });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    assert.deepEqual(await res.json(), { ...summary(OTHER), state: 'checking' });
    assert.deepEqual(t.control.last('verify')?.args, [OTHER]);
    t.control.torrents.delete(OTHER);
  });

  test('PUT /api/torrents/<id>/files answers the detail with the new choice; null is every file', async () => {
    t.control.files.set(ID, [
      { path: 'pack/a.bin', length: 10, bytesHad: 10, wanted: true },
      { path: 'pack/b.bin', length: 20, bytesHad: 0, wanted: true },
      { path: 'pack/c.bin', length: 30, bytesHad: 0, wanted: true },
    ]);
    const some = await t.api(`/api/torrents/${ID.toUpperCase()}/files`, { method: 'PUT', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ files: [2, 0] }) });
    assert.equal(some.status, 200);
    const detail = (await some.json()) as TorrentDetail;
    assert.equal(detail.id, ID);
    assert.deepEqual(detail.files.map((f) => f.wanted), [true, false, true]);
    assert.deepEqual(t.control.last('setFiles')?.args, [ID, [2, 0]]);
    const all = await t.api(`/api/torrents/${ID}/files`, { method: 'PUT', body: '{"files":null}' });
    assert.equal(all.status, 200);
    assert.deepEqual(((await all.json()) as TorrentDetail).files.map((f) => f.wanted), [true, true, true]);
    assert.deepEqual(t.control.last('setFiles')?.args, [ID, null]);
    const none = await t.api(`/api/torrents/${ID}/files`, { method: 'PUT', body: '{"files":[]}' });
    assert.deepEqual(((await none.json()) as TorrentDetail).files.map((f) => f.wanted), [false, false, false], 'an empty choice is no file');
  });

  test('DELETE answers 204; deleteData=1 and =true reach the node', async () => {
    t.control.torrents.set('11'.repeat(20), summary('11'.repeat(20)));
    t.control.torrents.set('22'.repeat(20), summary('22'.repeat(20)));
    const plain = await t.api(`/api/torrents/${ID}`, { method: 'DELETE' });
    assert.equal(plain.status, 204);
    assert.equal(await plain.text(), '');
    assert.deepEqual(t.control.last('remove')?.args, [ID, { deleteData: false }]);
    const one = await t.api(`/api/torrents/${'11'.repeat(20)}?deleteData=1`, { method: 'DELETE' });
    assert.equal(one.status, 204);
    assert.deepEqual(t.control.last('remove')?.args, ['11'.repeat(20), { deleteData: true }]);
    const yes = await t.api(`/api/torrents/${'22'.repeat(20)}?deleteData=true`, { method: 'DELETE' });
    assert.equal(yes.status, 204);
    assert.deepEqual(t.control.last('remove')?.args, ['22'.repeat(20), { deleteData: true }]);
  });

  test('GET /api/dht answers the DhtView', async () => {
    const res = await t.api('/api/dht');
    assert.equal(res.status, 200);
    assert.equal(((await res.json()) as { enabled: boolean }).enabled, true);
  });

  test('POST /api/dht/lookup answers the LookupView for a lowercased target', async () => {
    const res = await t.api('/api/dht/lookup', { method: 'POST', body: JSON.stringify({ target: OTHER.toUpperCase() }) });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { target: string; closest: unknown[] };
    assert.equal(body.target, OTHER);
    assert.equal(body.closest.length, 1);
    assert.deepEqual(t.control.last('lookup')?.args, [OTHER]);
  });

  test('the token also works as ?token= and is not required twice', async () => {
    const res = await fetch(`${t.url}/api/torrents?token=test-token-0123456789abcdef`);
    assert.equal(res.status, 200);
  });
});
