/**
 * Hash routes: `#/` the torrent list, `#/torrent/<id>` one torrent, `#/network` the DHT. The hash
 * keeps the server out of routing and survives reloads.
 */

export type Route =
  | { name: 'list' }
  | { name: 'torrent'; id: string }
  | { name: 'network' };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '').replace(/^\/?/, '/');
  const torrent = /^\/torrent\/([0-9a-fA-F]{40})\/?$/.exec(path);
  if (torrent) return { name: 'torrent', id: torrent[1]!.toLowerCase() };
  if (/^\/network\/?$/.test(path)) return { name: 'network' };
  return { name: 'list' };
}

export function href(route: Route): string {
  switch (route.name) {
    case 'list':
      return '#/';
    case 'torrent':
      return `#/torrent/${route.id}`;
    case 'network':
      return '#/network';
  }
}

/** Calls `listener` with the current route now and on every change; returns the unsubscribe. */
export function onRoute(listener: (route: Route) => void): () => void {
  const handler = () => listener(parseRoute(location.hash));
  window.addEventListener('hashchange', handler);
  handler();
  return () => window.removeEventListener('hashchange', handler);
}

export function navigate(route: Route): void {
  location.hash = href(route);
}
