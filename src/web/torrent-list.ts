/**
 * The home page (`#/`): the add box and one row per torrent (name, state, progress, size, rates,
 * peers, ETA, pause/resume and remove). Loads `GET /api/torrents`, then follows the `added`,
 * `removed` and `torrents` events; rows are updated in place, newest first.
 */
import type { TorrentSummary } from '../node/view-types.js';
import { api, errorMessage } from './api.js';
import { addBox } from './add-box.js';
import { h, icon, setAttr, setText } from './dom.js';
import { on, onResync } from './events.js';
import { formatEta, formatPercent, formatRate } from './format.js';
import { href } from './router.js';
import { togglePause, removeTorrent } from './torrent-actions.js';
import { canResume, errorLine, progressBar, setPauseButton, setStateBadge, sizeText, type ErrorLine } from './widgets.js';

class TorrentRow {
  readonly el: HTMLElement;
  private readonly name: HTMLAnchorElement;
  private readonly state: HTMLElement;
  private readonly bar = progressBar('torrent-progress');
  private readonly percent: HTMLElement;
  private readonly size: HTMLElement;
  private readonly down: HTMLElement;
  private readonly up: HTMLElement;
  private readonly peers: HTMLElement;
  private readonly eta: HTMLElement;
  private readonly note: HTMLElement;
  private readonly pause: HTMLButtonElement;
  torrent: TorrentSummary;

  constructor(torrent: TorrentSummary, errors: ErrorLine, onGone: (id: string) => void) {
    this.torrent = torrent;
    this.name = h('a', { class: 'torrent-name', href: href({ name: 'torrent', id: torrent.id }), testid: 'torrent-name' });
    this.state = h('span', { class: 'badge', testid: 'torrent-state' });
    this.percent = h('span', { class: 'stat stat-percent', testid: 'torrent-percent' });
    this.size = h('span', { class: 'stat stat-size', testid: 'torrent-size' });
    this.down = h('span', { class: 'stat stat-rate', testid: 'torrent-down', title: 'Download rate' });
    this.up = h('span', { class: 'stat stat-rate', testid: 'torrent-up', title: 'Upload rate' });
    this.peers = h('span', { class: 'stat', testid: 'torrent-peers' });
    this.eta = h('span', { class: 'stat stat-eta', testid: 'torrent-eta', title: 'Time left' });
    this.note = h('div', { class: 'torrent-note', hidden: true });
    this.pause = h('button', { class: 'icon-button', type: 'button' });
    this.pause.addEventListener('click', async () => {
      this.pause.disabled = true;
      const next = await togglePause(this.torrent, errors);
      this.pause.disabled = false;
      if (next) this.update(next);
    });
    const remove = h('button', { class: 'icon-button danger-hover', type: 'button', testid: 'remove-button', 'aria-label': 'Remove', title: 'Remove' }, icon('trash'));
    remove.addEventListener('click', async () => {
      if (await removeTorrent(this.torrent, errors)) onGone(this.torrent.id);
    });
    this.el = h('article', { class: 'torrent', testid: 'torrent-row', 'data-id': torrent.id },
      h('div', { class: 'torrent-main' },
        h('div', { class: 'torrent-head' }, this.name, this.state),
        this.bar.el,
        h('div', { class: 'torrent-stats' },
          this.percent, this.size,
          h('span', { class: 'stat-group' }, h('span', { class: 'arrow down', 'aria-hidden': 'true' }, '↓'), this.down),
          h('span', { class: 'stat-group' }, h('span', { class: 'arrow up', 'aria-hidden': 'true' }, '↑'), this.up),
          this.peers, this.eta),
        this.note),
      h('div', { class: 'torrent-actions' }, this.pause, remove));
    this.update(torrent);
  }

  update(t: TorrentSummary): void {
    this.torrent = t;
    setText(this.name, t.name || t.id);
    setAttr(this.name, 'title', t.name || t.id);
    setStateBadge(this.state, t);
    setAttr(this.el, 'data-state', t.state);
    this.bar.set(t.progress, t.state);
    setText(this.percent, formatPercent(t.progress));
    setText(this.size, sizeText(t));
    setText(this.down, formatRate(t.downloadRate));
    setText(this.up, formatRate(t.uploadRate));
    const stopped = canResume(t);
    for (const [el, rate] of [[this.down, t.downloadRate], [this.up, t.uploadRate]] as const) {
      const group = el.parentElement!;
      group.classList.toggle('idle', rate === 0);
      group.hidden = stopped || (t.progress >= 1 && el === this.down && rate === 0);
    }
    setText(this.peers, `${t.peers} ${t.peers === 1 ? 'peer' : 'peers'}`);
    this.peers.hidden = stopped;
    const showEta = t.state === 'downloading' && t.eta !== null;
    setText(this.eta, showEta ? `${formatEta(t.eta)} left` : '');
    this.eta.hidden = !showEta;
    const note = t.state === 'error' && t.error ? t.error : '';
    setText(this.note, note);
    this.note.hidden = !note;
    setPauseButton(this.pause, t, false);
  }
}

/** Mounts the list page into `root`; returns the unmount function. */
export function mountTorrentList(root: HTMLElement): () => void {
  const errors = errorLine();
  const rows = new Map<string, TorrentRow>();
  const list = h('div', { class: 'torrent-list', testid: 'torrent-list' });
  const empty = h('div', { class: 'empty', testid: 'empty', hidden: true },
    h('p', { class: 'empty-title' }, 'No torrents yet'),
    h('p', {}, 'Paste a magnet link above, open a .torrent file, or share a file of your own.'));
  const loading = h('div', { class: 'loading' }, 'Loading…');
  const count = h('span', { class: 'section-count' });

  function order(): void {
    const sorted = [...rows.values()].sort((a, b) => b.torrent.addedAt - a.torrent.addedAt);
    sorted.forEach((row, i) => {
      if (list.children[i] !== row.el) list.insertBefore(row.el, list.children[i] ?? null);
    });
    empty.hidden = rows.size > 0;
    setText(count, rows.size ? String(rows.size) : '');
  }

  function upsert(t: TorrentSummary): void {
    const row = rows.get(t.id);
    if (row) {
      row.update(t);
      return;
    }
    rows.set(t.id, new TorrentRow(t, errors, gone));
    order();
  }

  // Ids removed here, so a late `torrents` update does not bring a row back.
  const removed = new Set<string>();

  function gone(id: string): void {
    removed.add(id);
    const row = rows.get(id);
    if (!row) return;
    row.el.remove();
    rows.delete(id);
    order();
  }

  let controller = new AbortController();
  async function load(): Promise<void> {
    controller.abort();
    controller = new AbortController();
    try {
      const torrents = await api.torrents(controller.signal);
      const seen = new Set(torrents.map((t) => t.id));
      removed.clear();
      for (const id of [...rows.keys()]) if (!seen.has(id)) gone(id);
      for (const t of torrents) upsert(t);
      order();
    } catch (err) {
      if ((err as Error).name !== 'AbortError') errors.show(errorMessage(err));
    } finally {
      loading.remove();
    }
  }

  const add = addBox(errors, (t) => {
    removed.delete(t.id);
    upsert(t);
  });
  root.append(
    add.el,
    errors.el,
    h('div', { class: 'section-head' }, h('h1', { class: 'section-title' }, 'Torrents'), count),
    loading,
    list,
    empty);

  const offs = [
    on('added', (e) => {
      removed.delete(e.torrent.id);
      upsert(e.torrent);
    }),
    on('removed', (e) => gone(e.id)),
    on('torrents', (e) => {
      for (const t of e.torrents) if (!removed.has(t.id)) upsert(t);
    }),
    onResync(() => void load()),
  ];
  void load();

  return () => {
    add.destroy();
    controller.abort();
    for (const off of offs) off();
  };
}
