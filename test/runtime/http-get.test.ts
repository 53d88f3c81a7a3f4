/**
 * The real runtime's HTTP GET against local servers on 127.0.0.1: bodies, the size limit without a
 * range, redirects (kept ranges, and a limit on hops), exact ranges, timeouts and aborts, each
 * failure a one-line error.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { httpGet } from '../../src/runtime/http-get.js';

describe('httpGet (node:http)', () => {
  let server: Server;
  let base = '';
  const BODY = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');

  before(async () => {
    server = createServer((req, res) => {
      const url = new URL(req.url!, 'http://x');
      const hops = Number(url.searchParams.get('hops') ?? 0);
      if (url.pathname === '/redirect') {
        res.writeHead(302, { location: hops > 1 ? `/redirect?hops=${hops - 1}` : '/body' }).end();
      } else if (url.pathname === '/body') {
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (!range) return void res.end(BODY);
        const [first, last] = [Number(range[1]), Number(range[2])];
        res.writeHead(206, { 'content-range': `bytes ${first}-${last}/${BODY.length}`, 'content-length': last - first + 1 }).end(BODY.subarray(first, last + 1));
      } else if (url.pathname === '/wrong-range') {
        res.writeHead(206, { 'content-range': `bytes 0-3/${BODY.length}` }).end(BODY.subarray(0, 4));
      } else if (url.pathname === '/huge-declared') {
        res.writeHead(200, { 'content-length': 17 * 1024 * 1024 });
        res.write(Buffer.alloc(1024));
        setTimeout(() => res.destroy(), 2000);
      } else if (url.pathname === '/huge-chunked') {
        const chunk = Buffer.alloc(1024 * 1024);
        let sent = 0;
        const pump = () => {
          while (sent < 20 && res.write(chunk)) sent++;
          if (sent < 20) res.once('drain', pump);
          else res.end();
        };
        pump();
      } else if (url.pathname === '/silent') {
        // never answers
      } else {
        res.writeHead(404).end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('a body, and an exact range', async () => {
    assert.deepEqual(Buffer.from(await httpGet(`${base}/body`, { timeoutMs: 5000 })), BODY);
    assert.equal(Buffer.from(await httpGet(`${base}/body`, { timeoutMs: 5000, range: { first: 10, last: 15 } })).toString(), 'abcdef');
  });

  test('redirects are followed with the range kept, up to 5 of them', async () => {
    assert.equal(Buffer.from(await httpGet(`${base}/redirect?hops=5`, { timeoutMs: 5000, range: { first: 0, last: 2 } })).toString(), '012');
    await assert.rejects(httpGet(`${base}/redirect?hops=6`, { timeoutMs: 5000 }), /more than 5 redirects/);
  });

  test('errors: a status, a wrong range, a body over 16 MiB (declared or not)', async () => {
    await assert.rejects(httpGet(`${base}/missing`, { timeoutMs: 5000 }), /^Error: HTTP 404 from 127\.0\.0\.1:\d+$/);
    await assert.rejects(httpGet(`${base}/wrong-range`, { timeoutMs: 5000, range: { first: 8, last: 11 } }), /did not answer with bytes 8-11 \(HTTP 206, bytes 0-3\/36\)/);
    await assert.rejects(httpGet(`${base}/huge-declared`, { timeoutMs: 5000 }), /answered with 17825792 bytes \(at most 16777216\)/);
    await assert.rejects(httpGet(`${base}/huge-chunked`, { timeoutMs: 5000 }), /answered with more than 16777216 bytes/);
  });

  test('a silent server times out; a caller can abort', async () => {
    await assert.rejects(httpGet(`${base}/silent`, { timeoutMs: 300 }), /no answer from 127\.0\.0\.1:\d+ in 300 ms/);
    const abort = new AbortController();
    setTimeout(() => abort.abort(), 100);
    await assert.rejects(httpGet(`${base}/silent`, { timeoutMs: 5000, signal: abort.signal }), /request to 127\.0\.0\.1:\d+ aborted/);
  });
});
