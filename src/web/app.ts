/**
 * The web UI's entry point (served by the node at `/`). Reads the token from the login link, then
 * shows the header and the page for the current hash route, with live updates over SSE. Without a
 * token (or with one the node refuses) it asks for the link `warren node` prints.
 */
import { dropToken, initToken, onUnauthorized } from './api.js';
import { h } from './dom.js';
import { connect, disconnect } from './events.js';
import { header, logo } from './header.js';
import { mountNetworkPage } from './network-page.js';
import { onRoute, type Route } from './router.js';
import { mountTorrentList } from './torrent-list.js';
import { mountTorrentPage } from './torrent-page.js';

function showLogin(refused: boolean): void {
  document.title = 'warren';
  const command = () => h('code', {}, 'warren node');
  const text = refused
    ? [h('h1', { class: 'login-title' }, 'The node did not accept this tab’s token'),
      h('p', {}, 'Open the link printed by ', command(), ' again; the token may have changed.')]
    : [h('h1', { class: 'login-title' }, 'Open the link printed by ', command()),
      h('p', {}, 'When it starts, the node prints a link like ', h('code', { class: 'break' }, 'http://127.0.0.1:7070/#token=…'),
        '. Opening it logs this tab in; the token stays in this tab only.')];
  document.body.replaceChildren(h('main', { class: 'login', testid: 'login' },
    h('section', { class: 'card login-card' },
      h('div', { class: 'login-brand' }, logo(), h('span', { class: 'brand-name' }, 'warren')),
      ...text,
      h('p', { class: 'muted' }, 'The token is also in the file ', h('code', {}, 'api-token'), ' in the node’s data directory.'))));
}

/** Shows the header and the routed page; returns the function that stops everything. */
function start(): () => void {
  const top = header();
  const main = h('main', { class: 'page', id: 'main' });
  document.body.replaceChildren(top.el, main);

  let unmount: (() => void) | null = null;
  let shown = '';
  const stopRouting = onRoute((route: Route) => {
    const key = JSON.stringify(route);
    if (key === shown) return;
    shown = key;
    unmount?.();
    main.replaceChildren();
    top.setRoute(route);
    window.scrollTo(0, 0);
    switch (route.name) {
      case 'list':
        document.title = 'Torrents · warren';
        unmount = mountTorrentList(main);
        break;
      case 'torrent':
        document.title = 'Torrent · warren';
        unmount = mountTorrentPage(main, route.id);
        break;
      case 'network':
        document.title = 'Network · warren';
        unmount = mountNetworkPage(main);
        break;
    }
  });
  connect();
  return () => {
    stopRouting();
    unmount?.();
    unmount = null;
    disconnect();
  };
}

// A file dropped outside a drop zone must not navigate away from the UI.
window.addEventListener('dragover', (e) => e.preventDefault());
window.addEventListener('drop', (e) => e.preventDefault());

// A login link opened in this tab while the UI is already open: take the new token and start over.
window.addEventListener('hashchange', () => {
  if (/[#&]token=/.test(location.hash)) {
    initToken();
    location.reload();
  }
});

let stop: (() => void) | null = null;
onUnauthorized(() => {
  if (!stop) return;
  stop();
  stop = null;
  dropToken();
  showLogin(true);
});

if (initToken()) stop = start();
else showLogin(false);
