/**
 * Access control: the token (header or query), the Origin check and the Host check.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { errorOf, rawRequest, startTestServer, TOKEN, type TestServer } from './harness.js';
import { isLoopbackV4, parseHostHeader, tokensEqual } from '../../src/api/auth.js';

describe('API access', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer();
  });
  after(() => t.server.close());

  test('no token: 401 with a JSON error, and the node is not asked', async () => {
    const before = t.control.calls.length;
    const res = await fetch(`${t.url}/api/torrents`);
    assert.equal(res.status, 401);
    assert.equal(res.headers.get('www-authenticate'), 'Bearer');
    assert.ok(errorOf(await res.text()));
    assert.equal(t.control.calls.length, before);
  });

  test('wrong token in the header: 401', async () => {
    const res = await fetch(`${t.url}/api/node`, { headers: { authorization: `Bearer ${TOKEN}x` } });
    assert.equal(res.status, 401);
    assert.ok(errorOf(await res.text()));
  });

  test('wrong token in the query: 401; a non-Bearer scheme does not count', async () => {
    const res = await fetch(`${t.url}/api/node?token=nope`);
    assert.equal(res.status, 401);
    const basic = await fetch(`${t.url}/api/node`, { headers: { authorization: `Basic ${TOKEN}` } });
    assert.equal(basic.status, 401);
  });

  test('unknown /api paths still need the token (401 before 404)', async () => {
    const res = await fetch(`${t.url}/api/nothing-here`);
    assert.equal(res.status, 401);
  });

  test('right token: header and query both work, and the scheme is case-insensitive', async () => {
    assert.equal((await fetch(`${t.url}/api/node`, { headers: { authorization: `bearer ${TOKEN}` } })).status, 200);
    assert.equal((await fetch(`${t.url}/api/node?token=${TOKEN}`)).status, 200);
  });

  test('a foreign Origin is refused with 403, even with the token', async () => {
    const res = await rawRequest(t.port, {
      path: '/api/node',
      headers: { authorization: `Bearer ${TOKEN}`, origin: 'http://evil.example' },
    });
    assert.equal(res.status, 403);
    assert.ok(errorOf(res.body));
    const other = await rawRequest(t.port, {
      path: '/api/node',
      headers: { authorization: `Bearer ${TOKEN}`, origin: `http://localhost:${t.port}` },
    });
    assert.equal(other.status, 403, 'localhost is another origin than 127.0.0.1');
    const nullOrigin = await rawRequest(t.port, { path: '/', headers: { origin: 'null' } });
    assert.equal(nullOrigin.status, 403);
  });

  test('the same Origin is accepted', async () => {
    const res = await rawRequest(t.port, {
      path: '/api/node',
      headers: { authorization: `Bearer ${TOKEN}`, origin: `http://127.0.0.1:${t.port}` },
    });
    assert.equal(res.status, 200);
  });

  test('a foreign Host is refused with 403 (DNS rebinding), also for static files', async () => {
    for (const host of ['evil.example', `evil.example:${t.port}`, `127.0.0.1:${t.port + 1}`, `10.0.0.1:${t.port}`, `0.0.0.0:${t.port}`]) {
      const res = await rawRequest(t.port, { path: '/api/node', headers: { host, authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 403, host);
      assert.ok(errorOf(res.body));
    }
    const page = await rawRequest(t.port, { path: '/', headers: { host: `rebind.example:${t.port}` } });
    assert.equal(page.status, 403);
  });

  test('loopback and localhost Hosts with the right port are accepted', async () => {
    for (const host of [`127.0.0.1:${t.port}`, `127.1.2.3:${t.port}`, `localhost:${t.port}`, `LOCALHOST:${t.port}`, `[::1]:${t.port}`]) {
      const res = await rawRequest(t.port, { path: '/api/node', headers: { host, authorization: `Bearer ${TOKEN}` } });
      assert.equal(res.status, 200, host);
    }
  });

  test('every answer carries the security headers', async () => {
    const res = await fetch(`${t.url}/api/node`);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.match(res.headers.get('content-security-policy') ?? '', /frame-ancestors 'none'/);
  });
});

describe('access helpers', () => {
  test('parseHostHeader', () => {
    assert.deepEqual(parseHostHeader('127.0.0.1:7070'), { name: '127.0.0.1', port: 7070 });
    assert.deepEqual(parseHostHeader('[::1]:7070'), { name: '::1', port: 7070 });
    assert.deepEqual(parseHostHeader('Localhost'), { name: 'localhost', port: 80 });
    assert.equal(parseHostHeader('a:b:c'), undefined);
    assert.equal(parseHostHeader('host:99999'), undefined);
    assert.equal(parseHostHeader(''), undefined);
  });

  test('isLoopbackV4', () => {
    assert.ok(isLoopbackV4('127.0.0.1'));
    assert.ok(isLoopbackV4('127.255.0.9'));
    assert.ok(!isLoopbackV4('127.0.0.1.evil.example'));
    assert.ok(!isLoopbackV4('127.0.0.256'));
    assert.ok(!isLoopbackV4('128.0.0.1'));
    assert.ok(!isLoopbackV4('127.1'));
  });

  test('tokensEqual', () => {
    assert.ok(tokensEqual('abc', 'abc'));
    assert.ok(!tokensEqual('abc', 'abcd'));
    assert.ok(!tokensEqual('', 'abc'));
  });
});
