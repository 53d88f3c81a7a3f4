/**
 * The web UI's static files: served without a token, with content types, no-cache and the
 * security headers; traversal and dotfiles refused.
 */
import { describe, test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rawRequest, startTestServer, type TestServer } from './harness.js';
import { staticPath } from '../../src/api/static-files.js';

describe('static files', () => {
  let t: TestServer;
  let root: string;
  before(async () => {
    root = await mkdtemp(join(tmpdir(), 'warren-api-static-'));
    const dir = join(root, 'web');
    await mkdir(join(dir, 'img'), { recursive: true });
    await writeFile(join(dir, 'index.html'), '<!doctype html><title>warren</title>');
    await writeFile(join(dir, 'app.js'), 'console.log(1);');
    await writeFile(join(dir, 'style.css'), 'body{}');
    await writeFile(join(dir, 'img', 'logo.svg'), '<svg/>');
    await writeFile(join(dir, '.secret.json'), '{}');
    await writeFile(join(dir, 'notes.txt'), 'hidden');
    await writeFile(join(root, 'outside.html'), 'OUTSIDE');
    await symlink(join(root, 'outside.html'), join(dir, 'link.html'));
    t = await startTestServer({ staticDir: dir });
  });
  after(async () => {
    await t.server.close();
    await rm(root, { recursive: true, force: true });
  });

  test('/ is index.html, served without a token, no-cache, with security headers', async () => {
    const res = await fetch(`${t.url}/`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8');
    assert.equal(res.headers.get('cache-control'), 'no-cache');
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(res.headers.get('referrer-policy'), 'no-referrer');
    assert.equal(
      res.headers.get('content-security-policy'),
      "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; connect-src 'self'; frame-ancestors 'none'",
    );
    assert.match(await res.text(), /<title>warren/);
  });

  test('content types by extension, subfolders, HEAD', async () => {
    for (const [path, type] of [
      ['/app.js', 'text/javascript; charset=utf-8'],
      ['/style.css', 'text/css; charset=utf-8'],
      ['/img/logo.svg', 'image/svg+xml'],
    ]) {
      const res = await fetch(t.url + path!);
      assert.equal(res.status, 200, path);
      assert.equal(res.headers.get('content-type'), type);
      await res.arrayBuffer();
    }
    const head = await fetch(`${t.url}/app.js`, { method: 'HEAD' });
    assert.equal(head.status, 200);
    assert.equal(head.headers.get('content-length'), '15');
  });

  test('missing files, unknown types and dotfiles are 404; other methods 405', async () => {
    for (const path of ['/nope.html', '/notes.txt', '/.secret.json', '/img', '/img/']) {
      const res = await fetch(t.url + path);
      assert.equal(res.status, 404, path);
      await res.arrayBuffer();
    }
    const post = await fetch(`${t.url}/index.html`, { method: 'POST', body: 'x' });
    assert.equal(post.status, 405);
    assert.equal(post.headers.get('allow'), 'GET, HEAD');
    await post.arrayBuffer();
  });

  test('traversal is refused, literal or encoded, and symlinks out of the folder too', async () => {
    for (const path of ['/../outside.html', '/img/../../outside.html', '/%2e%2e/outside.html', '/..%2foutside.html', '/%2e%2e%2foutside.html', '/..%5coutside.html', '/%00.html', '/%zz']) {
      const res = await rawRequest(t.port, { path });
      assert.ok(res.status === 400 || res.status === 404, `${path}: ${res.status}`);
      assert.ok(!res.body.includes('OUTSIDE'), path);
    }
    const link = await rawRequest(t.port, { path: '/link.html' });
    assert.equal(link.status, 404);
  });

  test('staticPath', () => {
    assert.equal(staticPath('/'), 'index.html');
    assert.equal(staticPath('/a/b.js?x=1'), 'a/b.js');
    assert.throws(() => staticPath('/a/../b.js'), /bad path/);
    assert.throws(() => staticPath('/a/%2E%2E/b.js'), /bad path/);
  });

  test('without a staticDir, / is a JSON 404', async () => {
    const bare = await startTestServer();
    try {
      const res = await fetch(`${bare.url}/`);
      assert.equal(res.status, 404);
      assert.deepEqual(await res.json(), { error: 'not found' });
    } finally {
      await bare.server.close();
    }
  });
});
