/**
 * Local HTTP servers standing in for BEP 19 web seeds (web-seed.test.ts,
 * swarm-webseed-libtorrent.test.ts): on 127.0.0.1, any port, logging every request with the
 * status it got; `sendFrom` serves a folder with `send` (Express's static-file engine, with Range).
 */
import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import send from 'send';

/** One request a test server answered. */
export interface ServedRequest {
  /** The URL path as sent (still percent-encoded). */
  path: string;
  /** The Range header, if any. */
  range: string | undefined;
  status: number;
}

export interface TestServer {
  /** `http://127.0.0.1:<port>` (no trailing slash). */
  base: string;
  requests: ServedRequest[];
  /** Resolves once `count` requests have been answered (or dropped by the client). */
  answered(count?: number): Promise<void>;
  close(): Promise<void>;
}

/** Answers one request; `pathname` is the URL path, still percent-encoded. */
export type Handler = (req: IncomingMessage, res: ServerResponse, pathname: string) => void;

/** Starts an HTTP server on 127.0.0.1 (any port) that logs every request it answered. */
export async function startServer(handler: Handler): Promise<TestServer> {
  const requests: ServedRequest[] = [];
  const waiting: { count: number; resolve: () => void }[] = [];
  const server = createServer((req, res) => {
    const pathname = new URL(req.url ?? '/', 'http://127.0.0.1').pathname;
    // 'close', not 'finish': a client may drop an answer it does not want before its end.
    res.on('close', () => {
      requests.push({ path: pathname, range: req.headers.range, status: res.statusCode });
      for (const w of waiting.filter((w) => requests.length >= w.count)) {
        waiting.splice(waiting.indexOf(w), 1);
        w.resolve();
      }
    });
    handler(req, res, pathname);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  assert.ok(address && typeof address === 'object', 'the test HTTP server has no address');
  return {
    base: `http://127.0.0.1:${address.port}`,
    requests,
    answered: (count = 1) => (requests.length >= count ? Promise.resolve() : new Promise<void>((resolve) => waiting.push({ count, resolve }))),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Serves the folder `root` with `send` (single and multiple ranges, 404 for what is missing). */
export function sendFrom(root: string, options: send.SendOptions = {}): Handler {
  return (req, res, pathname) => void send(req, pathname, { root, index: false, etag: false, ...options }).pipe(res);
}

/** `handler`, holding every request until `gate` resolves. */
export function gated(handler: Handler, gate: Promise<unknown>): Handler {
  return (req, res, pathname) => void gate.then(() => handler(req, res, pathname));
}
