/**
 * The API's routing table: every endpoint of docs/API.md, each a small handler over `NodeControl`.
 * A handler returns the status and body to send, or nothing when it answered itself (events).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeControl } from '../node/node-control.js';
import type { TorrentSummary } from '../node/view-types.js';
import { bodyStream, discardBody, readAddBody, readJson } from './body.js';
import { ApiError } from './errors.js';
import type { EventStreams } from './events.js';
import type { Route } from './router.js';
import { parseAddRequest, parseFileChoice, parseFlag, parseLookup, parseShareName, parseTorrentId } from './validate.js';

/** What a handler gets. `params` holds the `:name` segments of the route's path. */
export interface RouteContext {
  req: IncomingMessage;
  res: ServerResponse;
  url: URL;
  params: Record<string, string>;
  control: NodeControl;
  events: EventStreams;
}

/** What to answer: a status and a JSON body (none for 204), or `undefined` if already answered. */
export type Reply = { status: number; body?: unknown } | undefined;

/** A route handler. */
export type Handler = (context: RouteContext) => Reply | Promise<Reply>;

function added(result: { torrent: TorrentSummary; created: boolean }): Reply {
  return { status: result.created ? 201 : 200, body: result.torrent };
}

function torrentId(context: RouteContext): string {
  return parseTorrentId(context.params['id'] ?? '');
}

/** The endpoints, in the order of docs/API.md. */
/** `POST /api/torrents/:id/<action>`: the body is ignored, the answer is the torrent's summary. */
function torrentAction(action: 'pause' | 'resume' | 'verify'): Route<Handler> {
  return {
    method: 'POST',
    path: `/api/torrents/:id/${action}`,
    handler: async (context) => {
      discardBody(context.req);
      return { status: 200, body: await context.control[action](torrentId(context)) };
    },
  };
}

export const ROUTES: readonly Route<Handler>[] = [
  { method: 'GET', path: '/api/node', handler: ({ control }) => ({ status: 200, body: control.node() }) },
  { method: 'GET', path: '/api/torrents', handler: ({ control }) => ({ status: 200, body: control.list() }) },
  {
    method: 'POST',
    path: '/api/torrents',
    handler: async ({ req, control }) => added(await control.add(parseAddRequest(await readAddBody(req)))),
  },
  {
    method: 'POST',
    path: '/api/share',
    handler: async ({ req, url, control }) => added(await control.share(parseShareName(url), bodyStream(req))),
  },
  {
    method: 'GET',
    path: '/api/torrents/:id',
    handler: (context) => {
      const id = torrentId(context);
      const detail = context.control.get(id);
      if (detail === undefined) throw new ApiError(404, `no torrent ${id}`);
      return { status: 200, body: detail };
    },
  },
  torrentAction('pause'),
  torrentAction('resume'),
  torrentAction('verify'),
  {
    method: 'PUT',
    path: '/api/torrents/:id/files',
    handler: async (context) => {
      const id = torrentId(context);
      const files = parseFileChoice(await readJson(context.req));
      return { status: 200, body: await context.control.setFiles(id, files) };
    },
  },
  {
    method: 'DELETE',
    path: '/api/torrents/:id',
    handler: async (context) => {
      const id = torrentId(context);
      const deleteData = parseFlag(context.url, 'deleteData');
      discardBody(context.req);
      await context.control.remove(id, { deleteData });
      return { status: 204 };
    },
  },
  { method: 'GET', path: '/api/dht', handler: ({ control }) => ({ status: 200, body: control.dht() }) },
  {
    method: 'POST',
    path: '/api/dht/lookup',
    handler: async ({ req, control }) => ({ status: 200, body: await control.lookup(parseLookup(await readJson(req))) }),
  },
  {
    method: 'GET',
    path: '/api/events',
    handler: ({ req, res, events }) => {
      events.start(req, res);
      return undefined;
    },
  },
];
