/**
 * Helpers for the API tests: a server over a `FakeControl` on 127.0.0.1, an authorized `fetch`,
 * and raw node:http requests for what `fetch` cannot send (Host, Origin, odd paths).
 */
import { request } from 'node:http';
import { startApiServer, type ApiServer, type ApiServerOptions } from '../../src/api/server.js';
import { FakeControl } from './fake-control.js';

export const TOKEN = 'test-token-0123456789abcdef';

/** A started server and what the tests need around it. */
export interface TestServer {
  server: ApiServer;
  control: FakeControl;
  url: string;
  port: number;
  logs: { level: string; message: string }[];
  /** `fetch` of `path` with the Bearer token. */
  api(path: string, init?: RequestInit): Promise<Response>;
}

/** Starts a server over a fresh `FakeControl`. */
export async function startTestServer(options: Partial<ApiServerOptions> = {}): Promise<TestServer> {
  const control = new FakeControl();
  const logs: { level: string; message: string }[] = [];
  const server = await startApiServer(control, {
    host: '127.0.0.1',
    port: 0,
    token: TOKEN,
    log: (level, message) => logs.push({ level, message }),
    ...options,
  });
  const port = Number(new URL(server.url).port);
  return {
    server,
    control,
    url: server.url,
    port,
    logs,
    api: (path, init = {}) => {
      const headers = new Headers(init.headers);
      if (!headers.has('authorization')) headers.set('authorization', `Bearer ${TOKEN}`);
      return fetch(server.url + path, { ...init, headers });
    },
  };
}

/** What a raw request got back. */
export interface RawResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: string;
}

/** Sends one request with exactly these headers (and no others but Content-Length/Connection). */
export function rawRequest(
  port: number,
  options: { method?: string; path: string; headers?: Record<string, string>; body?: string | Buffer; host?: string },
): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: options.host ?? '127.0.0.1',
        port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: { host: `127.0.0.1:${port}`, ...options.headers },
        agent: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (chunk: Buffer) => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks).toString() }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(options.body);
  });
}

/** Parses a JSON error answer and checks its shape. */
export function errorOf(body: string): string {
  const parsed = JSON.parse(body) as { error?: unknown };
  if (typeof parsed.error !== 'string' || parsed.error === '') throw new Error(`not an error body: ${body}`);
  return parsed.error;
}
