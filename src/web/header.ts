/**
 * The page header: the name, nav (Torrents / Network), the node's totals (rates and peers, from
 * `GET /api/node` and then `node` events) and the live-connection indicator.
 */
import type { NodeView } from '../node/view-types.js';
import { api } from './api.js';
import { h, s, setAttr, setText } from './dom.js';
import { on, onConnection, type ConnectionState } from './events.js';
import { formatRate } from './format.js';
import type { Route } from './router.js';

const CONNECTION_LABELS: Record<ConnectionState, string> = {
  connecting: 'Connecting…',
  connected: 'Live',
  reconnecting: 'Reconnecting…',
};

export function logo(): SVGSVGElement {
  // A burrow's entrance on a rounded tile.
  return s('svg', { class: 'logo', viewBox: '0 0 32 32', 'aria-hidden': 'true' },
    s('rect', { class: 'logo-tile', width: 32, height: 32, rx: 9 }),
    s('path', { class: 'logo-mark', d: 'M10.5 23.5v-6a5.5 5.5 0 0 1 11 0v6' }),
    s('path', { class: 'logo-mark', d: 'M6.5 23.5h19' }));
}

export function header(): { el: HTMLElement; setRoute(route: Route): void } {
  const links = {
    list: h('a', { class: 'nav-link', href: '#/', testid: 'nav-torrents' }, 'Torrents'),
    network: h('a', { class: 'nav-link', href: '#/network', testid: 'nav-network' }, 'Network'),
  };
  const down = h('span', { class: 'total', testid: 'total-down', title: 'Download rate' }, '↓ —');
  const up = h('span', { class: 'total', testid: 'total-up', title: 'Upload rate' }, '↑ —');
  const peers = h('span', { class: 'total', testid: 'total-peers' }, '— peers');
  const totals = h('span', { class: 'totals', testid: 'node-totals' }, down, up, peers);
  const dot = h('span', { class: 'dot', 'aria-hidden': 'true' });
  const connectionLabel = h('span', { class: 'connection-label' });
  const connection = h('span', { class: 'connection', testid: 'connection', role: 'status' }, dot, connectionLabel);

  const el = h('header', { class: 'site-header' },
    h('div', { class: 'header-inner' },
      h('a', { class: 'brand', href: '#/', 'aria-label': 'warren: torrents' }, logo(), h('span', { class: 'brand-name' }, 'warren')),
      h('nav', { class: 'nav', 'aria-label': 'Pages' }, links.list, links.network),
      h('div', { class: 'header-status' },
        totals,
        connection)));

  function showNode(node: NodeView): void {
    setText(down, `↓ ${formatRate(node.downloadRate)}`);
    setText(up, `↑ ${formatRate(node.uploadRate)}`);
    setText(peers, `${node.peers} ${node.peers === 1 ? 'peer' : 'peers'}`);
  }

  onConnection((state) => {
    setText(connectionLabel, CONNECTION_LABELS[state]);
    setAttr(connection, 'data-state', state);
    totals.classList.toggle('stale', state !== 'connected');
    setAttr(connection, 'title', state === 'connected' ? 'Live updates are on' : 'Waiting for the node’s live updates');
  });
  on('node', (e) => showNode(e.node));
  api.node().then(showNode, () => undefined);

  return {
    el,
    setRoute(route) {
      const active = route.name === 'network' ? 'network' : 'list';
      for (const [name, link] of Object.entries(links)) {
        setAttr(link, 'aria-current', name === active ? 'page' : null);
      }
    },
  };
}
