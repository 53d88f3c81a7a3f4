/**
 * How the management commands (`warren add`, `ls`, `status`, `files`, `pause`, `resume`, `verify`,
 * `rm`) reach the running node: its address from `<data dir>/api.json`, its token from
 * `<data dir>/api-token`, then JSON over HTTP. No node running, or an error from it, is a one-line
 * `CliError`.
 */
import { readApiInfo, readApiToken } from '../node/node-files.js';
import type { TorrentSummary } from '../node/view-types.js';
import { CliError } from './errors.js';

export interface NodeClient {
  request<T>(method: string, path: string, body?: { json?: unknown; raw?: Uint8Array; contentType?: string }): Promise<T>;
  /** A torrent id from a full id or a unique prefix of at least 4 hex characters. */
  resolveId(text: string): Promise<string>;
}

export async function connectToNode(dataDir: string): Promise<NodeClient> {
  const notRunning = new CliError(`no warren node is running with data dir ${dataDir} (start one with \`warren node\`)`);
  const info = await readApiInfo(dataDir);
  const token = await readApiToken(dataDir);
  if (!info || !token) throw notRunning;
  const client: NodeClient = {
    async request<T>(method: string, path: string, body?: { json?: unknown; raw?: Uint8Array; contentType?: string }): Promise<T> {
      const headers: Record<string, string> = { authorization: `Bearer ${token}` };
      let payload: string | Uint8Array | undefined;
      if (body?.json !== undefined) {
        headers['content-type'] = 'application/json';
        payload = JSON.stringify(body.json);
      } else if (body?.raw) {
        headers['content-type'] = body.contentType ?? 'application/octet-stream';
        payload = body.raw;
      }
      let response: Response;
      try {
        response = await fetch(`${info.api}${path}`, { method, headers, body: payload });
      } catch {
        throw notRunning; // refused or reset: the node is gone (its api.json is stale)
      }
      if (response.status === 204) return undefined as T;
      const text = await response.text();
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch {
        throw new CliError(`the node answered ${response.status} with something that is not JSON`);
      }
      if (!response.ok) {
        const message = (value as { error?: unknown }).error;
        throw new CliError(typeof message === 'string' ? message : `the node answered ${response.status}`, response.status === 400 || response.status === 404 ? 2 : 1);
      }
      return value as T;
    },
    async resolveId(text: string): Promise<string> {
      const prefix = text.toLowerCase();
      if (!/^[0-9a-f]{4,40}$/.test(prefix)) throw new CliError(`bad torrent id "${text}": expected hex (at least 4 characters of the infohash)`, 2);
      if (prefix.length === 40) return prefix;
      const matches = (await client.request<TorrentSummary[]>('GET', '/api/torrents')).filter((t) => t.id.startsWith(prefix));
      if (matches.length === 0) throw new CliError(`no torrent ${text}`, 2);
      if (matches.length > 1) throw new CliError(`"${text}" matches ${matches.length} torrents; give more of the id`, 2);
      return matches[0]!.id;
    },
  };
  return client;
}
