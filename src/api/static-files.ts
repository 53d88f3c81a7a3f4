/**
 * The web UI's static files, served from a directory without a token: `/` is `index.html`, only
 * known file types, no dotfiles, nothing outside the directory (`..`, encoded or not, is refused).
 */
import { createReadStream } from 'node:fs';
import { realpath, stat } from 'node:fs/promises';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { extname, join, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { ApiError } from './errors.js';

/** Content types of the files served; other extensions are 404. */
export const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.map': 'application/json; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
};

/**
 * Turns a request target into a relative file path inside the static directory. Throws 400 for
 * a path that tries to leave it (or cannot be decoded) and 404 for one that cannot be served.
 */
export function staticPath(target: string): string {
  const raw = target.split(/[?#]/, 1)[0]!;
  if (!raw.startsWith('/')) throw new ApiError(400, 'bad path');
  let decoded: string;
  try {
    decoded = decodeURIComponent(raw);
  } catch {
    throw new ApiError(400, 'bad path');
  }
  if (decoded.includes('\0') || decoded.includes('\\')) throw new ApiError(400, 'bad path');
  const segments = decoded.split('/').slice(1);
  if (segments.some((s) => s === '..' || s === '.')) throw new ApiError(400, 'bad path');
  if (segments.slice(0, -1).some((s) => s === '')) throw new ApiError(404, 'not found');
  if (segments[segments.length - 1] === '') segments[segments.length - 1] = 'index.html';
  if (segments.some((s) => s.startsWith('.'))) throw new ApiError(404, 'not found');
  if (CONTENT_TYPES[extname(segments[segments.length - 1]!).toLowerCase()] === undefined) {
    throw new ApiError(404, 'not found');
  }
  return segments.join('/');
}

/** Serves one static file for GET or HEAD; throws an `ApiError` for anything else. */
export async function serveStatic(req: IncomingMessage, res: ServerResponse, staticDir: string | undefined): Promise<void> {
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    throw new ApiError(405, 'method not allowed', { Allow: 'GET, HEAD' });
  }
  const relative = staticPath(req.url ?? '/');
  if (staticDir === undefined) throw new ApiError(404, 'not found');
  let file: string;
  try {
    const root = await realpath(staticDir);
    file = await realpath(join(root, relative));
    if (!file.startsWith(root + sep)) throw new ApiError(404, 'not found');
  } catch (error) {
    if (error instanceof ApiError) throw error;
    throw new ApiError(404, 'not found');
  }
  const info = await stat(file).catch(() => undefined);
  if (info === undefined || !info.isFile()) throw new ApiError(404, 'not found');

  res.statusCode = 200;
  res.setHeader('Content-Type', CONTENT_TYPES[extname(relative).toLowerCase()]!);
  res.setHeader('Content-Length', info.size);
  res.setHeader('Cache-Control', 'no-cache');
  if (req.method === 'HEAD') {
    res.end();
    return;
  }
  try {
    await pipeline(createReadStream(file), res);
  } catch {
    // Client went away or the file vanished mid-read: the connection is already gone.
    res.destroy();
  }
}
