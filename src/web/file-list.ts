/**
 * The torrent page's file list: each file with its progress, size and a "download this file"
 * checkbox. A change sends the whole choice (`PUT /api/torrents/<id>/files`: the checked files, or
 * null when all are) and hands the detail the node answers back to the page. Rows are updated in
 * place, so a refresh does not take the keyboard focus away from a checkbox.
 */
import type { TorrentDetail, TorrentFileView } from '../node/view-types.js';
import { api, errorMessage } from './api.js';
import { h, setAttr, setText } from './dom.js';
import { formatBytes, formatPercent } from './format.js';
import { progressBar, type ErrorLine } from './widgets.js';

/** One file: its checkbox, path, progress bar, percentage and size. */
class FileRow {
  readonly el: HTMLElement;
  readonly checkbox: HTMLInputElement;
  private readonly bar = progressBar('file-progress');
  private readonly percent = h('span', { class: 'file-percent' });
  private readonly size = h('span', { class: 'file-size' });

  constructor(index: number, path: string, onToggle: () => void) {
    const slash = path.lastIndexOf('/');
    const dir = slash >= 0 ? path.slice(0, slash + 1) : '';
    const base = slash >= 0 ? path.slice(slash + 1) : path;
    this.checkbox = h('input', { type: 'checkbox', testid: 'file-wanted', title: 'Download this file', 'aria-label': `Download ${path}` });
    this.checkbox.addEventListener('change', onToggle);
    this.el = h('li', { class: 'file', testid: 'file-row', 'data-index': index, title: path },
      h('label', { class: 'file-name' },
        this.checkbox,
        h('span', { class: 'file-path' }, dir ? h('span', { class: 'file-dir' }, dir) : null, h('span', { class: 'file-base' }, base))),
      h('div', { class: 'file-meta' }, this.bar.el, this.percent, this.size));
  }

  /** Shows `file`; the checkbox is left alone while a change of the choice is on its way. */
  update(file: TorrentFileView, sending: boolean): void {
    const fraction = file.length > 0 ? file.bytesHad / file.length : 1;
    this.bar.set(fraction, fraction >= 1 ? 'seeding' : 'downloading');
    setText(this.percent, formatPercent(fraction));
    setText(this.size, formatBytes(file.length));
    setAttr(this.el, 'data-wanted', String(file.wanted));
    this.el.classList.toggle('skipped', !file.wanted);
    if (!sending) this.checkbox.checked = file.wanted;
    this.checkbox.disabled = sending;
  }
}

export class FileList {
  readonly el = h('ul', { class: 'files', testid: 'files' });
  private rows: FileRow[] = [];
  private files: TorrentFileView[] = [];
  private paths = '';
  private sending = false;

  /** `shown`: takes the detail the node answers after a change of the choice. */
  constructor(
    private readonly id: string,
    private readonly errors: ErrorLine,
    private readonly shown: (detail: TorrentDetail) => void,
  ) {}

  set(files: TorrentFileView[]): void {
    this.files = files;
    const paths = JSON.stringify(files.map((f) => f.path));
    if (paths !== this.paths) {
      this.paths = paths;
      this.rows = files.map((file, index) => new FileRow(index, file.path, () => void this.toggle(index)));
      this.el.replaceChildren(...(files.length ? this.rows.map((r) => r.el) : [h('li', { class: 'card-note' }, 'The file list arrives with the metadata.')]));
    }
    this.files.forEach((file, i) => this.rows[i]!.update(file, this.sending));
  }

  private async toggle(index: number): Promise<void> {
    const wanted = this.files.map((file, i) => (i === index ? this.rows[i]!.checkbox.checked : file.wanted));
    const choice = wanted.every(Boolean) ? null : wanted.flatMap((w, i) => (w ? [i] : []));
    this.errors.clear();
    this.sending = true;
    this.set(this.files);
    try {
      const detail = await api.setFiles(this.id, choice);
      this.sending = false;
      this.shown(detail);
    } catch (err) {
      this.sending = false;
      this.errors.show(errorMessage(err));
      this.set(this.files); // back to the choice the node has
    }
  }
}
