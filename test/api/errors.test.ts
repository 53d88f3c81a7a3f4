/**
 * Bad input and failures: every one is a JSON `{"error"}` with the right status, and the server
 * keeps serving afterwards.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { errorOf, rawRequest, startTestServer, TOKEN, type TestServer } from './harness.js';
import { summary } from './fake-control.js';
import { NodeError, type NodeErrorCode } from '../../src/node/errors.js';

const ID = 'c0ffee00'.repeat(5);

describe('API errors', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.server.close());

  async function expectError(path: string, init: RequestInit, status: number, pattern?: RegExp): Promise<void> {
    const res = await t.api(path, init);
    assert.equal(res.status, status, `${init.method ?? 'GET'} ${path}`);
    assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
    const message = errorOf(await res.text());
    if (pattern) assert.match(message, pattern);
  }

  const post = (body: string): RequestInit => ({ method: 'POST', headers: { 'content-type': 'application/json' }, body });

  test('malformed JSON is 400', async () => {
    await expectError('/api/torrents', post('{"magnet":'), 400, /malformed JSON/);
    await expectError('/api/torrents', post(''), 400, /empty/);
    await expectError('/api/dht/lookup', post('[1,2]'), 400);
  });

  test('unknown fields are 400 and named', async () => {
    await expectError('/api/torrents', post(JSON.stringify({ magnet: `magnet:?xt=urn:btih:${ID}`, evil: 1 })), 400, /unknown field: evil/);
    await expectError('/api/dht/lookup', post(JSON.stringify({ target: ID, extra: true })), 400, /extra/);
  });

  test('AddRequest needs exactly one source', async () => {
    await expectError('/api/torrents', post(JSON.stringify({ magnet: `magnet:?xt=urn:btih:${ID}`, infoHash: ID })), 400, /exactly one/);
    await expectError('/api/torrents', post(JSON.stringify({ paused: true })), 400, /exactly one/);
    await expectError('/api/torrents', post(JSON.stringify({ infoHash: 'xyz' })), 400, /infoHash/);
    await expectError('/api/torrents', post(JSON.stringify({ torrent: 'not base64!' })), 400, /torrent/);
    await expectError('/api/torrents', post(JSON.stringify({ magnet: 'http://x' })), 400, /magnet/);
    await expectError('/api/torrents', post(JSON.stringify({ path: '/x', paused: 'yes' })), 400, /paused/);
    assert.equal(t.control.last('add'), undefined, 'nothing invalid reached the node');
  });

  test('a bad torrent id is 400, a well-formed unknown one 404', async () => {
    await expectError('/api/torrents/xyz', {}, 400, /40 hex/);
    await expectError(`/api/torrents/${ID}0/pause`, { method: 'POST' }, 400);
    await expectError(`/api/torrents/${ID}`, {}, 404);
    await expectError('/api/dht/lookup', post(JSON.stringify({ target: 'abc' })), 400, /target/);
    await expectError(`/api/torrents/${ID}?deleteData=maybe`, { method: 'DELETE' }, 400, /deleteData/);
  });

  test('a choice of files: an array of non-negative integers (or null), checked before it reaches the node', async () => {
    t.control.torrents.set(ID, summary(ID));
    t.control.files.set(ID, [{ path: 'a', length: 1, bytesHad: 0, wanted: true }, { path: 'b', length: 1, bytesHad: 0, wanted: true }]);
    const put = (body: string): RequestInit => ({ method: 'PUT', headers: { 'content-type': 'application/json' }, body });
    const path = `/api/torrents/${ID}/files`;
    await expectError(path, put('{}'), 400, /^files: expected array$/);
    await expectError(path, put('{"files":"1,2"}'), 400, /^files: expected array$/);
    await expectError(path, put('{"files":1}'), 400, /^files: expected array$/);
    await expectError(path, put('{"files":[0,1.5]}'), 400, /^files\.1: expected an integer$/);
    await expectError(path, put('{"files":["0"]}'), 400, /^files\.0: expected number$/);
    await expectError(path, put('{"files":[-1]}'), 400, /^files\.0: must not be negative$/);
    await expectError(path, put('{"files":[1e300]}'), 400, /^files\.0: /);
    await expectError(path, put('{"files":[1000000]}'), 400, /^files\.0: must be less than 1000000$/);
    await expectError(path, put(JSON.stringify({ files: Array.from({ length: 1_000_001 }, () => 0) })), 400, /^files: must hold at most 1000000 indices$/);
    await expectError(path, put('{"files":[0],"all":true}'), 400, /^unknown field: all$/);
    await expectError(path, put('[0,1]'), 400);
    await expectError(path, put('{"files":'), 400, /malformed JSON/);
    await expectError(path, put(''), 400, /empty/);
    await expectError('/api/torrents', post(JSON.stringify({ infoHash: ID, files: [-3] })), 400, /^files\.0: must not be negative$/);
    await expectError('/api/torrents', post(JSON.stringify({ infoHash: ID, files: null })), 400, /^files: expected array$/);
    assert.equal(t.control.last('setFiles'), undefined, 'nothing invalid reached the node');

    await expectError(`/api/torrents/${'ab'.repeat(20)}/files`, put('{"files":[0]}'), 404, /no torrent/);
    await expectError(path, put('{"files":[0,2]}'), 400, /^no file number 3: the torrent has 2 files$/);
    await expectError(`/api/torrents/${ID}0/files`, put('{"files":[0]}'), 400, /40 hex/);
    await expectError(path, { method: 'POST', body: '{"files":[0]}' }, 405);
    t.control.torrents.delete(ID);
  });

  test('verify: the node\'s refusal is 409 with its message; an unknown torrent 404; only POST', async () => {
    t.control.torrents.set(ID, summary(ID));
    const path = `/api/torrents/${ID}/verify`;
    const first = await t.api(path, { method: 'POST' });
    assert.equal(first.status, 200);
    await expectError(path, { method: 'POST' }, 409, /^the data is being checked already$/);
    const noMetadata = 'ab'.repeat(20);
    t.control.torrents.set(noMetadata, { ...summary(noMetadata), state: 'metadata', pieceCount: 0, piecesHad: 0 });
    await expectError(`/api/torrents/${noMetadata}/verify`, { method: 'POST' }, 409, /^the metadata is not known yet: there is no data to check$/);
    await expectError(`/api/torrents/${'cd'.repeat(20)}/verify`, { method: 'POST' }, 404, /^no torrent c/);
    await expectError(`/api/torrents/${ID}0/verify`, { method: 'POST' }, 400, /40 hex/);
    const calls = t.control.calls.filter((c) => c.method === 'verify').length;
    for (const method of ['GET', 'PUT', 'DELETE']) {
      const res = await t.api(path, { method });
      assert.equal(res.status, 405, method);
      assert.equal(res.headers.get('allow'), 'POST');
      errorOf(await res.text());
    }
    assert.equal(t.control.calls.filter((c) => c.method === 'verify').length, calls, 'no other method reached the node');
    t.control.torrents.delete(ID);
    t.control.torrents.delete(noMetadata);
  });

  test('share needs a plain file name', async () => {
    await expectError('/api/share', { method: 'POST', body: 'x' }, 400, /name/);
    await expectError('/api/share?name=..', { method: 'POST', body: 'x' }, 400, /name/);
    await expectError('/api/share?name=a%2Fb', { method: 'POST', body: 'x' }, 400, /name/);
  });

  test('unknown /api route is 404 JSON; wrong method is 405 with Allow', async () => {
    await expectError('/api/nothing', {}, 404);
    await expectError('/api/torrents/', {}, 404);
    const res = await t.api('/api/node', { method: 'DELETE' });
    assert.equal(res.status, 405);
    assert.equal(res.headers.get('allow'), 'GET');
    errorOf(await res.text());
    const torrents = await t.api('/api/torrents', { method: 'PUT', body: '{}' });
    assert.equal(torrents.status, 405);
    assert.equal(torrents.headers.get('allow'), 'GET, POST');
  });

  test('a body over 16 MiB is 413 (declared or streamed)', async () => {
    const declared = await rawRequest(t.port, {
      method: 'POST',
      path: '/api/torrents',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-length': String(16 * 1024 * 1024 + 1) },
    }).catch((error: unknown) => error);
    assert.ok(!(declared instanceof Error), String(declared));
    assert.equal((declared as { status: number }).status, 413);
    const big = Buffer.alloc(16 * 1024 * 1024 + 1, 0x20);
    const streamed = await t.api('/api/torrents', {
      method: 'POST',
      headers: { 'content-type': 'application/x-bittorrent' },
      body: new ReadableStream({
        start(controller) {
          controller.enqueue(big);
          controller.close();
        },
      }),
      duplex: 'half',
    } as RequestInit);
    assert.equal(streamed.status, 413);
    errorOf(await streamed.text());
    assert.equal((await t.api('/api/node')).status, 200, 'still serving');
  });

  test('NodeError codes map to statuses; other codes are 500 without details', async () => {
    const cases: [NodeErrorCode, number][] = [
      ['BAD_REQUEST', 400],
      ['NOT_FOUND', 404],
      ['CONFLICT', 409],
      ['UNAVAILABLE', 503],
      ['STORE', 500],
    ];
    for (const [code, status] of cases) {
      t.control.failure = new NodeError(code, `failed with ${code}`);
      const res = await t.api('/api/dht');
      t.control.failure = undefined;
      assert.equal(res.status, status, code);
      const message = errorOf(await res.text());
      assert.equal(message, status === 500 ? 'internal error' : `failed with ${code}`);
    }
  });

  test('a throwing control is 500, logged at warn, and the next request is served', async () => {
    t.control.failure = new TypeError('secret detail');
    const sync = await t.api('/api/node');
    const async = await t.api(`/api/torrents/${ID}/pause`, { method: 'POST' });
    t.control.failure = undefined;
    for (const res of [sync, async]) {
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { error: 'internal error' });
    }
    assert.ok(t.logs.some((l) => l.level === 'warn' && l.message.includes('secret detail')));
    assert.equal((await t.api('/api/node')).status, 200);
  });

  test('a control failing mid-upload is a clean error answer', async () => {
    t.control.failure = new NodeError('CONFLICT', 'file exists');
    const res = await t.api('/api/share?name=a.bin', { method: 'POST', body: Buffer.alloc(1_000_000) });
    t.control.failure = undefined;
    assert.equal(res.status, 409);
    assert.deepEqual(await res.json(), { error: 'file exists' });
  });

  test('garbage on the socket does not take the server down', async () => {
    await new Promise<void>((resolve) => {
      const socket = connect(t.port, '127.0.0.1', () => socket.end('\x00\x01 NOT HTTP\r\n\r\n'));
      socket.on('close', () => resolve());
      socket.on('error', () => resolve());
      socket.resume();
    });
    assert.equal((await t.api('/api/node')).status, 200);
  });

  test('request targets other than a path are 400; `//api/...` is no API route', async () => {
    const absolute = await rawRequest(t.port, { path: `http://127.0.0.1:${t.port}/api/node`, headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(absolute.status, 400);
    errorOf(absolute.body);
    const doubled = await rawRequest(t.port, { path: '//api/node', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(doubled.status, 404);
  });

  test('error answers name no token', async () => {
    const res = await rawRequest(t.port, { path: `/api/nothing?token=${TOKEN}` });
    assert.equal(res.status, 404);
    assert.ok(!res.body.includes(TOKEN));
    assert.ok(t.logs.every((l) => !l.message.includes(TOKEN)));
  });
});
