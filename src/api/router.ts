/**
 * A small method + path router. Paths are written like `/api/torrents/:id/pause`; a `:name`
 * segment matches one non-empty path segment and is passed to the handler as a parameter.
 */

/** One route: a method, a path pattern and what handles it. */
export interface Route<H> {
  method: string;
  path: string;
  handler: H;
}

/** The outcome of matching a request against a table. */
export type RouteMatch<H> =
  | { kind: 'found'; handler: H; params: Record<string, string> }
  /** The path exists but not with this method; `allow` lists the methods it has. */
  | { kind: 'wrong-method'; allow: string[] }
  | { kind: 'not-found' };

function matchPath(pattern: string, pathname: string): Record<string, string> | undefined {
  const want = pattern.split('/');
  const have = pathname.split('/');
  if (want.length !== have.length) return undefined;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    const w = want[i]!;
    const h = have[i]!;
    if (w.startsWith(':')) {
      if (h === '') return undefined;
      params[w.slice(1)] = h;
    } else if (w !== h) {
      return undefined;
    }
  }
  return params;
}

/** Finds the route for `method` and `pathname` (the raw, still percent-encoded path). */
export function matchRoute<H>(routes: readonly Route<H>[], method: string, pathname: string): RouteMatch<H> {
  const allow: string[] = [];
  for (const route of routes) {
    const params = matchPath(route.path, pathname);
    if (params === undefined) continue;
    if (route.method === method) return { kind: 'found', handler: route.handler, params };
    if (!allow.includes(route.method)) allow.push(route.method);
  }
  return allow.length > 0 ? { kind: 'wrong-method', allow } : { kind: 'not-found' };
}
