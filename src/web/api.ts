/**
 * The node's HTTP API (docs/API.md) as typed calls. Holds the access token: read once from the login
 * link's fragment (`#token=...`), kept in the tab's sessionStorage, and sent as a Bearer header.
 * Failures throw `ApiError` with the API's one-line `{"error"}` message; a 401 also tells the app
 * (`onUnauthorized`) so it can ask for the login link again.
 */
import type { AddRequest, DhtView, LookupView, NodeView, TorrentDetail, TorrentSummary } from '../node/view-types.js';

const STORAGE_KEY = 'warren-token';

export class ApiError extends Error {
  constructor(message: string, readonly status: number) {
    super(message);
    this.name = 'ApiError';
  }
}

let token: string | null = null;
let unauthorized: (() => void) | null = null;

/**
 * Takes the token from `#token=...` (then removes it from the address bar, leaving the list route)
 * or from sessionStorage. Returns it, or null when the page was opened without one.
 */
export function initToken(): string | null {
  const match = /[#&]token=([^&]+)/.exec(location.hash);
  if (match) {
    token = decodeURIComponent(match[1]!);
    try {
      sessionStorage.setItem(STORAGE_KEY, token);
    } catch {
      // Storage may be disabled; the token then lives only as long as this page.
    }
    history.replaceState(null, '', `${location.pathname}${location.search}#/`);
    return token;
  }
  try {
    token = sessionStorage.getItem(STORAGE_KEY);
  } catch {
    token = null;
  }
  return token;
}

export function getToken(): string | null {
  return token;
}

/** Forgets the token (after the node refused it). */
export function dropToken(): void {
  token = null;
  try {
    sessionStorage.removeItem(STORAGE_KEY);
  } catch {
    // Nothing to remove.
  }
}

export function onUnauthorized(handler: () => void): void {
  unauthorized = handler;
}

const UNREACHABLE = 'Cannot reach the node. Is warren node still running?';

async function errorFrom(response: Response): Promise<ApiError> {
  let message = `${response.status} ${response.statusText}`.trim();
  try {
    const body = (await response.json()) as { error?: unknown };
    if (typeof body.error === 'string' && body.error) message = body.error;
  } catch {
    // Not JSON; keep the status line.
  }
  if (response.status === 401) unauthorized?.();
  return new ApiError(message, response.status);
}

interface RequestOptions {
  json?: unknown;
  body?: BodyInit;
  contentType?: string;
  signal?: AbortSignal;
}

async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers.Authorization = `Bearer ${token}`;
  let body = options.body;
  if (options.json !== undefined) {
    headers['Content-Type'] = 'application/json';
    body = JSON.stringify(options.json);
  } else if (options.contentType) {
    headers['Content-Type'] = options.contentType;
  }
  let response: Response;
  try {
    response = await fetch(path, { method, headers, body, signal: options.signal, cache: 'no-store' });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(UNREACHABLE, 0);
  }
  if (!response.ok) throw await errorFrom(response);
  if (response.status === 204) return undefined as T;
  return (await response.json()) as T;
}

/**
 * Uploads a file's bytes with XMLHttpRequest, which (unlike fetch) reports upload progress as a
 * fraction from 0 to 1.
 */
function upload<T>(path: string, file: Blob, contentType: string, onProgress?: (fraction: number) => void): Promise<T> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', path);
    if (token) xhr.setRequestHeader('Authorization', `Bearer ${token}`);
    xhr.setRequestHeader('Content-Type', contentType);
    xhr.responseType = 'text';
    if (onProgress) {
      xhr.upload.addEventListener('progress', (e) => {
        if (e.lengthComputable && e.total > 0) onProgress(e.loaded / e.total);
      });
    }
    xhr.addEventListener('load', () => {
      let parsed: unknown = undefined;
      try {
        parsed = xhr.responseText ? JSON.parse(xhr.responseText) : undefined;
      } catch {
        parsed = undefined;
      }
      if (xhr.status >= 200 && xhr.status < 300) {
        resolve(parsed as T);
        return;
      }
      const message = (parsed as { error?: unknown } | undefined)?.error;
      if (xhr.status === 401) unauthorized?.();
      reject(new ApiError(typeof message === 'string' && message ? message : `${xhr.status} ${xhr.statusText}`.trim(), xhr.status));
    });
    xhr.addEventListener('error', () => reject(new ApiError(UNREACHABLE, 0)));
    xhr.addEventListener('abort', () => reject(new ApiError('Upload cancelled', 0)));
    xhr.send(file);
  });
}

export const api = {
  node: (signal?: AbortSignal) => request<NodeView>('GET', '/api/node', { signal }),
  torrents: (signal?: AbortSignal) => request<TorrentSummary[]>('GET', '/api/torrents', { signal }),
  torrent: (id: string, signal?: AbortSignal) => request<TorrentDetail>('GET', `/api/torrents/${encodeURIComponent(id)}`, { signal }),
  add: (req: AddRequest) => request<TorrentSummary>('POST', '/api/torrents', { json: req }),
  addTorrentFile: (file: Blob) =>
    request<TorrentSummary>('POST', '/api/torrents', { body: file, contentType: 'application/x-bittorrent' }),
  share: (file: File, onProgress?: (fraction: number) => void) =>
    upload<TorrentSummary>(`/api/share?name=${encodeURIComponent(file.name)}`, file, 'application/octet-stream', onProgress),
  pause: (id: string) => request<TorrentSummary>('POST', `/api/torrents/${encodeURIComponent(id)}/pause`),
  resume: (id: string) => request<TorrentSummary>('POST', `/api/torrents/${encodeURIComponent(id)}/resume`),
  /** Starts hashing the torrent's data again; answers at once, checking. */
  verify: (id: string) => request<TorrentSummary>('POST', `/api/torrents/${encodeURIComponent(id)}/verify`),
  /** The files to download (indices into the detail's `files`), or null for all of them. */
  setFiles: (id: string, files: number[] | null) =>
    request<TorrentDetail>('PUT', `/api/torrents/${encodeURIComponent(id)}/files`, { json: { files } }),
  remove: (id: string, deleteData: boolean) =>
    request<void>('DELETE', `/api/torrents/${encodeURIComponent(id)}${deleteData ? '?deleteData=1' : ''}`),
  dht: (signal?: AbortSignal) => request<DhtView>('GET', '/api/dht', { signal }),
  lookup: (target: string) => request<LookupView>('POST', '/api/dht/lookup', { json: { target } }),
};

/** A message for any error a call may throw. */
export function errorMessage(err: unknown): string {
  if (err instanceof ApiError) return err.message;
  if (err instanceof Error) return err.message;
  return String(err);
}
