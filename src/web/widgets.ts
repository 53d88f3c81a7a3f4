/**
 * Small pieces several pages share: the inline error line, progress bars, state badges, copy
 * buttons, key/value lists and the torrent action buttons.
 */
import type { TorrentStateName, TorrentSummary } from '../node/view-types.js';
import { h, icon, setAttr, setText } from './dom.js';
import { formatBytes, formatPercent } from './format.js';

/** An inline error line (`data-testid=error`), hidden while empty; never alert(). */
export interface ErrorLine {
  el: HTMLElement;
  show(message: string): void;
  clear(): void;
}

export function errorLine(): ErrorLine {
  const text = h('span', { class: 'error-text' });
  const el = h('div', { class: 'error', role: 'alert', testid: 'error', hidden: true },
    h('span', { class: 'error-mark', 'aria-hidden': 'true' }, '!'),
    text,
    h('button', { class: 'icon-button error-close', type: 'button', 'aria-label': 'Dismiss', title: 'Dismiss', onclick: () => line.clear() }, icon('close')));
  const line: ErrorLine = {
    el,
    show(message) {
      setText(text, message);
      el.hidden = false;
    },
    clear() {
      setText(text, '');
      el.hidden = true;
    },
  };
  return line;
}

/** A horizontal progress bar (0..1); its fill is sized from script, as the CSP allows. */
export interface ProgressBar {
  el: HTMLElement;
  set(fraction: number, state?: TorrentStateName): void;
}

export function progressBar(testid?: string): ProgressBar {
  const fill = h('div', { class: 'progress-fill' });
  const el = h('div', { class: 'progress', role: 'progressbar', 'aria-valuemin': '0', 'aria-valuemax': '100', testid }, fill);
  return {
    el,
    set(fraction, state) {
      const f = Math.max(0, Math.min(1, Number.isFinite(fraction) ? fraction : 0));
      fill.style.width = `${(f * 100).toFixed(2)}%`;
      setAttr(el, 'aria-valuenow', (f * 100).toFixed(1));
      setAttr(el, 'aria-valuetext', formatPercent(f));
      setAttr(el, 'data-value', f.toFixed(4));
      if (state) setAttr(el, 'data-state', state);
      // Animate changes, but not the first fill.
      if (!el.classList.contains('animate')) requestAnimationFrame(() => el.classList.add('animate'));
    },
  };
}

export const STATE_LABELS: Record<TorrentStateName, string> = {
  metadata: 'Fetching metadata',
  checking: 'Checking',
  downloading: 'Downloading',
  seeding: 'Seeding',
  paused: 'Paused',
  error: 'Error',
};

/** Updates a state badge element (`class="badge state-<name>"`). */
export function setStateBadge(el: HTMLElement, torrent: Pick<TorrentSummary, 'state' | 'error' | 'paused'>): void {
  const label = STATE_LABELS[torrent.state] ?? torrent.state;
  setText(el, torrent.paused && torrent.state !== 'paused' ? `${label} (paused)` : label);
  setAttr(el, 'data-state', torrent.state);
  el.className = `badge state-${torrent.state}`;
  setAttr(el, 'title', torrent.state === 'error' && torrent.error ? torrent.error : null);
}

async function writeClipboard(text: string, fallbackInput?: HTMLInputElement): Promise<boolean> {
  try {
    await navigator.clipboard.writeText(text);
    return true;
  } catch {
    if (!fallbackInput) return false;
    fallbackInput.focus();
    fallbackInput.select();
    try {
      return document.execCommand('copy');
    } catch {
      return false;
    }
  }
}

/** A read-only text field with a Copy button beside it (for magnet links and ids). */
export function copyField(value: string, options: { testid?: string; buttonTestid?: string; label: string }): {
  el: HTMLElement;
  set(value: string): void;
} {
  const input = h('input', { class: 'copy-input mono', type: 'text', readonly: true, 'aria-label': options.label, testid: options.testid, spellcheck: 'false' });
  input.value = value;
  input.addEventListener('focus', () => input.select());
  const label = h('span', {}, 'Copy');
  const button = h('button', { class: 'button copy-button', type: 'button', testid: options.buttonTestid }, icon('copy'), label);
  let timer: ReturnType<typeof setTimeout> | undefined;
  button.addEventListener('click', () => {
    void writeClipboard(input.value, input).then((ok) => {
      setText(label, ok ? 'Copied' : 'Select and copy');
      button.classList.toggle('copied', ok);
      clearTimeout(timer);
      timer = setTimeout(() => {
        setText(label, 'Copy');
        button.classList.remove('copied');
      }, 1600);
    });
  });
  return {
    el: h('div', { class: 'copy-field' }, input, button),
    set(next) {
      if (input.value !== next && document.activeElement !== input) input.value = next;
    },
  };
}

/** A definition list of label/value pairs whose values can be updated by key. */
export function facts(items: [key: string, label: string][]): { el: HTMLElement; set(key: string, value: string, title?: string): void } {
  const values = new Map<string, HTMLElement>();
  const el = h('dl', { class: 'facts' });
  for (const [key, label] of items) {
    const dd = h('dd', { 'data-key': key }, '—');
    values.set(key, dd);
    el.append(h('div', { class: 'fact' }, h('dt', {}, label), dd));
  }
  return {
    el,
    set(key, value, title) {
      const dd = values.get(key);
      if (!dd) return;
      setText(dd, value);
      setAttr(dd, 'title', title ?? null);
    },
  };
}

/**
 * The size line of a torrent: what is to be downloaded (all of it, or the chosen files, marked
 * "selected"), and how much of that is verified until it all is.
 */
export function sizeText(t: Pick<TorrentSummary, 'totalLength' | 'wantedLength' | 'bytesLeft' | 'progress'>): string {
  if (t.totalLength === 0) return 'size unknown';
  const selected = t.wantedLength < t.totalLength ? ' selected' : '';
  const wanted = formatBytes(t.wantedLength);
  return t.progress >= 1 ? `${wanted}${selected}` : `${formatBytes(t.wantedLength - t.bytesLeft)} of ${wanted}${selected}`;
}

/** Whether the pause/resume button should offer to resume (paused, also while still checking; or stopped by an error). */
export function canResume(torrent: Pick<TorrentSummary, 'state' | 'paused'>): boolean {
  return torrent.paused || torrent.state === 'paused' || torrent.state === 'error';
}

/** Pause/resume toggle: updates its icon, label and test id from the torrent's state. */
export function setPauseButton(button: HTMLButtonElement, torrent: Pick<TorrentSummary, 'state' | 'paused'>, withLabel: boolean): void {
  const resume = canResume(torrent);
  const kind = resume ? 'resume' : 'pause';
  if (button.dataset.kind === kind) return;
  button.dataset.kind = kind;
  setAttr(button, 'data-testid', `${kind}-button`);
  const label = resume ? 'Resume' : 'Pause';
  setAttr(button, 'aria-label', label);
  setAttr(button, 'title', label);
  button.replaceChildren(icon(resume ? 'play' : 'pause'), ...(withLabel ? [h('span', {}, label)] : []));
}
