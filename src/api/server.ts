/**
 * The HTTP API server (docs/API.md) over a `NodeControl`: access checks, routing, JSON errors,
 * Server-Sent Events, and the web UI's static files. Built on node:http.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { isWildcardHost } from '../codec/ip.js';
import type { NodeControl } from '../node/node-control.js';
import { checkHost, checkOrigin, checkToken } from './auth.js';
import { ApiError, errorAnswer } from './errors.js';
import { EventStreams } from './events.js';
import { sendError, sendJson, setSecurityHeaders } from './respond.js';
import { matchRoute } from './router.js';
import { ROUTES } from './routes.js';
import { serveStatic } from './static-files.js';

/** Log levels the server uses (unexpected handler errors are logged at `warn`). */
export type ApiLogLevel = 'debug' | 'info' | 'warn' | 'error';

/** How to start the API server. */
export interface ApiServerOptions {
  /** Address to bind, e.g. `127.0.0.1`. */
  host: string;
  /** Port to bind; 0 picks a free one. */
  port: number;
  /** The API token every `/api/` request must carry. Must not be empty. */
  token: string;
  /** Directory of the web UI's files, served at `/`; without it only the API answers. */
  staticDir?: string;
  log?(level: ApiLogLevel, message: string): void;
  /** Interval of SSE keep-alive comments (default 15 s; tests make it short). */
  keepAliveMs?: number;
}

/** A running API server. */
export interface ApiServer {
  /** `http://host:port` (a wildcard bind address is reported as 127.0.0.1). */
  url: string;
  /** Ends event streams and open connections, stops listening; resolves once closed. */
  close(): Promise<void>;
}

/** In-flight requests get this long to finish after `close()` before their connections are cut. */
const CLOSE_GRACE_MS = 500;

function urlHost(host: string): string {
  // A wildcard (or unset) bind address is reached through the loopback address of its family.
  if (host === '' || isWildcardHost(host)) return host === '::' ? '[::1]' : '127.0.0.1';
  return host.includes(':') ? `[${host}]` : host;
}

/** Bodies up to this size that a failed request left unread are drained to keep the connection. */
const DRAIN_LIMIT = 64 * 1024;

/**
 * True when a refused request may still have much unread body (a big or chunked upload): the
 * connection then closes after the answer instead of reading it all.
 */
function unreadBodyIsLarge(req: IncomingMessage): boolean {
  if (req.complete) return false;
  if (req.headers['transfer-encoding'] !== undefined) return true;
  return Number(req.headers['content-length'] ?? 0) > DRAIN_LIMIT;
}

/** Starts the API server; resolves once it listens (rejects if it cannot bind). */
export async function startApiServer(control: NodeControl, options: ApiServerOptions): Promise<ApiServer> {
  if (options.token === '') throw new Error('the API token must not be empty');
  const log = options.log ?? ((): void => {});
  const events = new EventStreams(control, log, options.keepAliveMs);
  let port = options.port;

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    setSecurityHeaders(res);
    const method = req.method ?? 'GET';
    let pathname = '/';
    try {
      const hostHeader = checkHost(req, { port, boundHost: options.host });
      checkOrigin(req, hostHeader);
      const target = req.url ?? '/';
      // Origin-form only: `//x/y` must not turn into a host, nor `http://…` into a path.
      if (!target.startsWith('/')) throw new ApiError(400, 'bad request target');
      const url = new URL(`http://localhost${target}`);
      pathname = url.pathname;
      if (pathname !== '/api' && !pathname.startsWith('/api/')) {
        await serveStatic(req, res, options.staticDir);
        return;
      }
      checkToken(req, url, options.token);
      const match = matchRoute(ROUTES, method, pathname);
      if (match.kind === 'not-found') throw new ApiError(404, `no route ${pathname}`);
      if (match.kind === 'wrong-method') {
        throw new ApiError(405, `${method} not allowed on ${pathname}`, { Allow: match.allow.join(', ') });
      }
      const reply = await match.handler({ req, res, url, params: match.params, control, events });
      if (reply !== undefined) sendJson(res, reply.status, reply.body);
    } catch (error) {
      const answer = errorAnswer(error);
      if (answer.internal) {
        log('warn', `${method} ${pathname} failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
      } else {
        log('debug', `${method} ${pathname}: ${answer.status} ${answer.message}`);
      }
      const headers = { ...answer.headers };
      if (unreadBodyIsLarge(req)) headers['Connection'] = 'close';
      else req.resume();
      sendError(res, answer.status, answer.message, headers);
    }
  };

  // No limit on the time to receive a whole request: a shared upload may take longer than
  // Node's default 5 minutes. Headers still must arrive within `headersTimeout` (60 s).
  const server = createServer({ requestTimeout: 0 }, (req, res) => {
    handle(req, res).catch((error: unknown) => {
      log('error', `API request handling failed: ${String(error)}`);
      res.destroy();
    });
  });

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  server.on('error', (error) => log('error', `API server error: ${error.message}`));
  port = (server.address() as AddressInfo).port;
  const url = `http://${urlHost(options.host)}:${port}`;
  log('info', `API listening on ${url}`);

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= new Promise<void>((resolve) => {
      const timer = setTimeout(() => server.closeAllConnections(), CLOSE_GRACE_MS);
      server.close(() => {
        clearTimeout(timer);
        resolve();
      });
      events.closeAll();
      server.closeIdleConnections();
    });
    return closing;
  };
  return { url, close };
}
