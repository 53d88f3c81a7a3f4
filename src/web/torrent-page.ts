/**
 * One torrent (`#/torrent/<id>`): summary and actions (pause or resume, verify, remove), magnet
 * link with Copy, the live piece map, files with per-file progress and a checkbox to choose them
 * (`file-list.ts`), the peers table and trackers. `GET /api/torrents/<id>` every 2 s while the
 * tab is visible; `torrents` events keep the numbers fresh and `piece` events fill the map in between.
 */
import type { TorrentDetail, TorrentSummary } from '../node/view-types.js';
import { api, ApiError, errorMessage } from './api.js';
import { h, icon, refreshWhileVisible, setAttr, setText } from './dom.js';
import { on, onResync } from './events.js';
import { FileList } from './file-list.js';
import { formatBytes, formatCount, formatDate, formatEta, formatPercent, formatRate, formatRatio } from './format.js';
import { PieceMap } from './piece-map.js';
import { href, navigate } from './router.js';
import { removeTorrent, togglePause, verifyTorrent } from './torrent-actions.js';
import { canResume, copyField, errorLine, facts, progressBar, setPauseButton, setStateBadge, sizeText } from './widgets.js';

const REFRESH_MS = 2000;
const FORMAT_NAMES: Record<NonNullable<TorrentDetail['format']>, string> = {
  v1: 'BitTorrent v1',
  v2: 'BitTorrent v2 (BEP 52)',
  hybrid: 'hybrid (v1 and v2)',
};
const RECENT_PIECE_MS = 10_000;

function section(title: string, testid: string, ...body: (Node | null)[]): { el: HTMLElement; title: HTMLElement } {
  const heading = h('h2', { class: 'card-title' }, title);
  return { el: h('section', { class: 'card', testid }, heading, ...body), title: heading };
}

export function mountTorrentPage(root: HTMLElement, id: string): () => void {
  const errors = errorLine();
  let current: TorrentSummary | null = null;

  const name = h('h1', { class: 'page-title break', testid: 'torrent-title' }, 'Loading…');
  const badge = h('span', { class: 'badge', testid: 'torrent-state' });
  const bar = progressBar('torrent-progress');
  const stat = (testid: string) => h('span', { class: 'stat', testid });
  const stats = {
    percent: stat('torrent-percent'), size: stat('torrent-size'), down: stat('torrent-down'), up: stat('torrent-up'),
    peers: stat('torrent-peers'), eta: stat('torrent-eta'),
  };
  stats.percent.classList.add('stat-percent');
  const line = h('div', { class: 'torrent-stats' }, ...Object.values(stats));
  const note = h('div', { class: 'torrent-note', hidden: true });
  const pause = h('button', { class: 'button', type: 'button' });
  const verify = h('button', { class: 'button', type: 'button', testid: 'verify-button', title: 'Hash every piece on disk again; damaged pieces are downloaded again' },
    icon('verify'), h('span', {}, 'Verify'));
  verify.disabled = true; // until the torrent is shown
  const remove = h('button', { class: 'button danger-outline', type: 'button', testid: 'remove-button' }, icon('trash'), h('span', {}, 'Remove'));
  const summary = h('section', { class: 'card torrent-summary', testid: 'torrent-summary' },
    h('div', { class: 'summary-head' }, name, badge),
    bar.el,
    h('div', { class: 'summary-foot' }, line, h('div', { class: 'summary-actions' }, pause, verify, remove)),
    note);

  const info = facts([
    ['size', 'Size'], ['had', 'Verified'], ['downloaded', 'Downloaded'], ['uploaded', 'Uploaded'], ['ratio', 'Ratio'],
    ['pieces', 'Pieces'], ['format', 'Format'], ['peers', 'Peers'], ['eta', 'Time left'], ['added', 'Added'], ['dir', 'Saved in'], ['id', 'Infohash'],
  ]);
  const magnet = copyField('', { testid: 'torrent-magnet', buttonTestid: 'copy-torrent-magnet', label: 'Magnet link' });
  const pieceMap = new PieceMap();
  const pieceCaption = h('p', { class: 'card-note', testid: 'piece-caption' });
  // A change of the files to download answers the new detail; a refresh under way would show the old one.
  const fileList = new FileList(id, errors, (d) => {
    controller.abort();
    showDetail(d);
  });
  const peerBody = h('tbody', {});
  const peerEmpty = h('p', { class: 'card-note', hidden: true }, 'No peers connected right now.');
  const peerTable = h('div', { class: 'table-scroll' },
    h('table', { class: 'table', testid: 'peers' },
      h('thead', {}, h('tr', {},
        h('th', {}, 'Address'), h('th', { class: 'col-client' }, 'Client'), h('th', { class: 'num' }, '↓ Down'), h('th', { class: 'num' }, '↑ Up'),
        h('th', { title: 'peer flags (see below the table)' }, 'Flags'))),
      peerBody));
  const trackerList = h('ul', { class: 'trackers mono' });

  const details = section('Details', 'torrent-details', info.el);
  const magnetCard = section('Magnet link', 'magnet-card', magnet.el);
  const piecesCard = section('Pieces', 'pieces-card', pieceCaption, pieceMap.el);
  const filesCard = section('Files', 'files-card', fileList.el);
  const flagLegend = h('p', { class: 'card-note', testid: 'flag-legend', hidden: true },
    'Flags: D downloading from it (d: it chokes us), U uploading to it (u: we choke it), I it connected to us, S snubbed (silent for 30 s), s a seed, E encrypted (RC4), e encrypted handshake only, P over uTP, W a web seed (HTTP).');
  const peersCard = section('Peers', 'peers-card', peerEmpty, peerTable, flagLegend);
  const trackersCard = section('Trackers', 'trackers-card', trackerList);
  trackersCard.el.hidden = true;

  const body = h('div', { class: 'torrent-body' },
    h('div', { class: 'column' }, piecesCard.el, filesCard.el, peersCard.el),
    h('div', { class: 'column side' }, details.el, magnetCard.el, trackersCard.el));

  const back = h('a', { class: 'back-link', href: href({ name: 'list' }) }, icon('back'), h('span', {}, 'Torrents'));
  root.append(back, summary, errors.el, body);

  pause.addEventListener('click', async () => {
    if (!current) return;
    pause.disabled = true;
    const next = await togglePause(current, errors);
    pause.disabled = false;
    if (next) showSummary(next);
  });
  // Nothing to check before the metadata arrives, nor while a check runs.
  let verifying = false;
  const setVerifyButton = (t: TorrentSummary) => {
    verify.disabled = verifying || t.pieceCount === 0 || t.state === 'checking';
  };
  verify.addEventListener('click', async () => {
    if (!current) return;
    verifying = true;
    verify.disabled = true;
    const next = await verifyTorrent(current, errors);
    verifying = false;
    if (next) {
      showSummary(next);
      void refresh(); // the piece map starts again from what is verified
    } else if (current) {
      setVerifyButton(current);
    }
  });
  remove.addEventListener('click', async () => {
    if (current && (await removeTorrent(current, errors))) navigate({ name: 'list' });
  });

  function showSummary(t: TorrentSummary): void {
    current = t;
    setText(name, t.name || t.id);
    document.title = `${t.name || t.id} · warren`;
    setStateBadge(badge, t);
    bar.set(t.progress, t.state);
    const stopped = canResume(t);
    setText(stats.percent, formatPercent(t.progress));
    setText(stats.size, sizeText(t));
    setText(stats.down, `↓ ${formatRate(t.downloadRate)}`);
    setText(stats.up, `↑ ${formatRate(t.uploadRate)}`);
    setText(stats.peers, `${t.peers} ${t.peers === 1 ? 'peer' : 'peers'}`);
    setText(stats.eta, t.state === 'downloading' && t.eta !== null ? `${formatEta(t.eta)} left` : '');
    stats.down.hidden = stopped || (t.progress >= 1 && t.downloadRate === 0);
    stats.up.hidden = stopped;
    stats.peers.hidden = stopped;
    stats.eta.hidden = !stats.eta.textContent;
    const err = t.state === 'error' && t.error ? t.error : '';
    setText(note, err);
    note.hidden = !err;
    setPauseButton(pause, t, true);
    setVerifyButton(t);
    info.set('size', t.totalLength === 0 ? 'unknown until the metadata arrives'
      : t.wantedLength < t.totalLength ? `${formatBytes(t.totalLength)} (${formatBytes(t.wantedLength)} selected)` : formatBytes(t.totalLength));
    info.set('had', `${formatBytes(t.bytesHad)} (${formatPercent(t.progress)})`);
    info.set('downloaded', formatBytes(t.downloaded));
    info.set('uploaded', formatBytes(t.uploaded));
    info.set('ratio', formatRatio(t.uploaded, t.downloaded));
    info.set('peers', String(t.peers));
    info.set('eta', t.state === 'downloading' ? formatEta(t.eta) : t.progress >= 1 ? 'complete' : '—');
    info.set('added', formatDate(t.addedAt));
    info.set('dir', t.dir, t.dir);
    info.set('id', t.id);
    magnet.set(t.magnet);
  }

  const recentPieces = new Map<number, number>();
  let pieceCount = 0;
  let pieceLength = 0;
  function showPieceCaption(): void {
    if (pieceCount > 0) info.set('pieces', `${formatCount(pieceMap.had())} of ${formatCount(pieceCount)} × ${formatBytes(pieceLength)}`);
    setText(pieceCaption, pieceCount > 0
      ? `${formatCount(pieceMap.had())} of ${formatCount(pieceCount)} pieces verified, ${formatBytes(pieceLength)} each`
      : 'The piece map appears once the metadata has arrived.');
  }

  function showDetail(d: TorrentDetail): void {
    showSummary(d);
    if (d.pieceCount === 0) info.set('pieces', '—');
    pieceMap.setBitfield(d.pieces, d.pieceCount);
    // A detail fetched just before a `piece` event may not have that piece yet: keep recent ones.
    const now = Date.now();
    for (const [index, at] of recentPieces) {
      if (now - at > RECENT_PIECE_MS) recentPieces.delete(index);
      else pieceMap.setPiece(index);
    }
    pieceCount = d.pieceCount;
    pieceLength = d.pieceLength;
    showPieceCaption();
    info.set('format', d.format === null ? '—' : FORMAT_NAMES[d.format]);

    const chosen = d.files.filter((f) => f.wanted).length;
    setText(filesCard.title, !d.files.length ? 'Files' : chosen < d.files.length ? `Files (${chosen} of ${d.files.length} selected)` : `Files (${d.files.length})`);
    fileList.set(d.files);

    setText(peersCard.title, `Peers (${d.peerList.length})`);
    peerEmpty.hidden = d.peerList.length > 0;
    peerTable.hidden = d.peerList.length === 0;
    flagLegend.hidden = d.peerList.length === 0;
    peerBody.replaceChildren(...d.peerList.map((p) =>
      h('tr', { testid: 'peer-row' },
        h('td', {}, h('div', { class: 'mono' }, p.address), h('div', { class: 'inline-client' }, p.client || '—')),
        h('td', { class: 'col-client' }, p.client || '—'),
        h('td', { class: 'num' }, formatRate(p.downloadRate)),
        h('td', { class: 'num' }, formatRate(p.uploadRate)),
        h('td', { class: 'mono' }, p.flags || '—'))));

    trackersCard.el.hidden = d.trackers.length === 0;
    trackerList.replaceChildren(...d.trackers.map((t) => h('li', { class: 'break' }, t)));
  }

  let controller = new AbortController();
  let gone = false;
  let refreshFailed = false;
  async function refresh(): Promise<void> {
    if (gone) return;
    controller.abort();
    controller = new AbortController();
    try {
      const detail = await api.torrent(id, controller.signal);
      if (refreshFailed) {
        // Clear only what a refresh showed; an action's error stays until the next action.
        errors.clear();
        refreshFailed = false;
      }
      showDetail(detail);
    } catch (err) {
      if ((err as Error).name === 'AbortError') return;
      if (err instanceof ApiError && err.status === 404) {
        gone = true;
        root.replaceChildren(back, h('section', { class: 'card empty', testid: 'not-found' },
          h('p', { class: 'empty-title' }, 'Torrent not found'),
          h('p', {}, 'It is not on this node (any more). ', h('a', { href: href({ name: 'list' }) }, 'Back to the list'))));
        return;
      }
      errors.show(errorMessage(err));
      refreshFailed = true;
    }
  }

  const offs = [
    on('piece', (e) => {
      if (e.id !== id) return;
      recentPieces.set(e.index, Date.now());
      pieceMap.setPiece(e.index);
      showPieceCaption();
    }),
    on('torrents', (e) => {
      const t = e.torrents.find((x) => x.id === id);
      if (!t || gone) return;
      // A new state (metadata arrived, download finished, ...) changes more than the numbers.
      const changed = current !== null && current.state !== t.state;
      showSummary(t);
      if (changed) void refresh();
    }),
    on('removed', (e) => {
      if (e.id === id) void refresh();
    }),
    onResync(() => void refresh()),
  ];
  setAttr(root, 'data-torrent', id);
  const stopRefreshing = refreshWhileVisible(() => void refresh(), REFRESH_MS);

  return () => {
    stopRefreshing();
    controller.abort();
    for (const off of offs) off();
    pieceMap.destroy();
    root.removeAttribute('data-torrent');
  };
}
