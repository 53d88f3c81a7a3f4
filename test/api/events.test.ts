/**
 * Server-Sent Events: node events arrive with their `event:` names, keep-alive comments are sent,
 * a client that goes away is unsubscribed, and `close()` ends open streams promptly.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { startTestServer, TOKEN, type TestServer } from './harness.js';
import { summary } from './fake-control.js';
import { formatEvent } from '../../src/api/events.js';

/** Reads an SSE response until `until` matches what arrived, then returns all text so far. */
async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, until: RegExp, seen = ''): Promise<string> {
  const decoder = new TextDecoder();
  let text = seen;
  while (!until.test(text)) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`stream ended; got: ${text}`);
    text += decoder.decode(value, { stream: true });
  }
  return text;
}

async function openStream(t: TestServer): Promise<{ reader: ReadableStreamDefaultReader<Uint8Array>; abort: AbortController; res: Response }> {
  const abort = new AbortController();
  const res = await fetch(`${t.url}/api/events?token=${TOKEN}`, { signal: abort.signal });
  assert.equal(res.status, 200);
  const reader = res.body!.getReader();
  await readUntil(reader, /: connected\n\n/);
  return { reader, abort, res };
}

describe('API events', () => {
  test('formatEvent writes event and one data line', () => {
    assert.equal(formatEvent({ type: 'removed', id: 'ab' }), 'event: removed\ndata: {"type":"removed","id":"ab"}\n\n');
  });

  test('events from subscribe() arrive with their event names', async () => {
    const t = await startTestServer();
    try {
      const { reader, res, abort } = await openStream(t);
      assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
      assert.equal(t.control.subscribers.size, 1);
      t.control.publish({ type: 'added', torrent: summary('ab'.repeat(20)) });
      t.control.publish({ type: 'piece', id: 'ab'.repeat(20), index: 3 });
      t.control.publish({ type: 'removed', id: 'ab'.repeat(20) });
      const text = await readUntil(reader, /event: removed\n/);
      const messages = text.split('\n\n').filter((m) => m.startsWith('event:'));
      assert.deepEqual(
        messages.slice(0, 2).map((m) => m.split('\n')[0]),
        ['event: added', 'event: piece'],
      );
      const piece = JSON.parse(messages[1]!.split('\n')[1]!.slice('data: '.length)) as unknown;
      assert.deepEqual(piece, { type: 'piece', id: 'ab'.repeat(20), index: 3 });
      abort.abort();
    } finally {
      await t.server.close();
    }
  });

  test('keep-alive comments are sent', async () => {
    const t = await startTestServer({ keepAliveMs: 20 });
    try {
      const { reader, abort } = await openStream(t);
      await readUntil(reader, /: keep-alive\n\n/);
      abort.abort();
    } finally {
      await t.server.close();
    }
  });

  test('a client that disconnects is unsubscribed', async () => {
    const t = await startTestServer();
    try {
      const { abort } = await openStream(t);
      assert.equal(t.control.subscribers.size, 1);
      const gone = once(t.control, 'unsubscribe');
      abort.abort();
      await gone;
      assert.equal(t.control.subscribers.size, 0);
      t.control.publish({ type: 'removed', id: 'x' });
      assert.equal((await t.api('/api/node')).status, 200);
    } finally {
      await t.server.close();
    }
  });

  test('a subscribe() that throws is a JSON error, not a broken stream', async () => {
    const t = await startTestServer();
    try {
      t.control.failure = new Error('no events today');
      const res = await t.api('/api/events');
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { error: 'internal error' });
    } finally {
      await t.server.close();
    }
  });

  test('close() with a stream open resolves quickly and ends the stream', async () => {
    const t = await startTestServer();
    const { reader } = await openStream(t);
    const started = Date.now();
    await t.server.close();
    assert.ok(Date.now() - started < 300, `close took ${Date.now() - started} ms`);
    assert.equal(t.control.subscribers.size, 0);
    const rest = await reader.read().catch(() => ({ done: true }));
    assert.equal(rest.done, true);
  });
});
