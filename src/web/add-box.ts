/**
 * The add box above the torrent list: paste a magnet link or infohash, open a .torrent file, or
 * choose/drop any file to share (uploaded to the node, which seeds it; its magnet link is then shown
 * with a Copy button). Errors go to the page's inline error line.
 */
import type { TorrentSummary } from '../node/view-types.js';
import { api, errorMessage } from './api.js';
import { h, icon, setText } from './dom.js';
import { formatBytes } from './format.js';
import { copyField, type ErrorLine } from './widgets.js';

const INFOHASH = /^(?:[0-9a-fA-F]{40}|[A-Za-z2-7]{32})$/;

/**
 * Builds the box. While it is mounted, a file dropped anywhere on the page is taken: call `destroy`
 * when the page goes.
 */
export function addBox(errors: ErrorLine, onAdded: (torrent: TorrentSummary) => void): { el: HTMLElement; destroy(): void } {
  const input = h('input', {
    class: 'add-input', type: 'text', testid: 'add-input', autocomplete: 'off', spellcheck: 'false',
    placeholder: 'Paste a magnet link or infohash', 'aria-label': 'Magnet link or infohash',
  });
  const submit = h('button', { class: 'button primary', type: 'submit', testid: 'add-submit' }, 'Add');
  const torrentInput = h('input', { type: 'file', accept: '.torrent,application/x-bittorrent', class: 'visually-hidden', testid: 'torrent-file-input', tabindex: '-1' });
  const shareInput = h('input', { type: 'file', class: 'visually-hidden', testid: 'share-file-input', tabindex: '-1' });
  const status = h('div', { class: 'add-status', 'aria-live': 'polite', testid: 'add-status' });
  const result = h('div', { class: 'share-result', hidden: true, testid: 'share-result' });

  let busy = false;
  function setBusy(on: boolean, message = ''): void {
    busy = on;
    submit.disabled = on;
    form.classList.toggle('busy', on);
    setText(status, message);
  }

  async function run(message: string, action: () => Promise<TorrentSummary>): Promise<TorrentSummary | null> {
    if (busy) return null;
    errors.clear();
    setBusy(true, message);
    try {
      const torrent = await action();
      onAdded(torrent);
      return torrent;
    } catch (err) {
      errors.show(errorMessage(err));
      return null;
    } finally {
      setBusy(false);
    }
  }

  function showShared(torrent: TorrentSummary): void {
    result.replaceChildren(
      h('div', { class: 'share-result-head' },
        icon('check'),
        h('span', {}, 'Sharing ', h('strong', { class: 'break' }, torrent.name), '. Send this magnet link to whoever should get it:')),
      copyField(torrent.magnet, { testid: 'share-magnet', buttonTestid: 'copy-magnet', label: 'Magnet link of the shared file' }).el,
      h('button', { class: 'link-button', type: 'button', onclick: () => { result.hidden = true; } }, 'Done'));
    result.hidden = false;
  }

  async function addText(): Promise<void> {
    const text = input.value.trim();
    if (!text) {
      errors.show('Paste a magnet link (magnet:?xt=urn:btih:…) or a 40-character infohash first.');
      input.focus();
      return;
    }
    let request: { magnet: string } | { infoHash: string };
    if (text.toLowerCase().startsWith('magnet:')) request = { magnet: text };
    else if (INFOHASH.test(text)) request = { infoHash: text };
    else {
      errors.show('That is neither a magnet link nor an infohash (40 hex or 32 base32 characters).');
      input.focus();
      return;
    }
    const added = await run('Adding…', () => api.add(request));
    if (added) input.value = '';
  }

  async function addTorrentFile(file: File): Promise<void> {
    await run(`Opening ${file.name}…`, () => api.addTorrentFile(file));
  }

  async function share(file: File): Promise<void> {
    result.hidden = true;
    const size = formatBytes(file.size);
    const torrent = await run(`Uploading ${file.name} (${size})…`, () =>
      api.share(file, (fraction) => {
        setText(status, fraction < 1
          ? `Uploading ${file.name}: ${Math.floor(fraction * 100)}% of ${size}`
          : `Hashing ${file.name}…`);
      }));
    if (torrent) showShared(torrent);
  }

  function handleFile(file: File, asTorrent: boolean): void {
    if (asTorrent) void addTorrentFile(file);
    else void share(file);
  }

  torrentInput.addEventListener('change', () => {
    const file = torrentInput.files?.[0];
    torrentInput.value = '';
    if (file) handleFile(file, true);
  });
  shareInput.addEventListener('change', () => {
    const file = shareInput.files?.[0];
    shareInput.value = '';
    if (file) handleFile(file, false);
  });

  const form = h('form', { class: 'add-form', testid: 'add-form' },
    h('div', { class: 'add-row' }, h('span', { class: 'add-icon', 'aria-hidden': 'true' }, icon('link')), input, submit));
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    void addText();
  });

  const chooseTorrent = h('button', { class: 'button quiet', type: 'button', testid: 'choose-torrent' }, icon('file'), h('span', {}, 'Open .torrent file'));
  chooseTorrent.addEventListener('click', () => torrentInput.click());
  const chooseShare = h('button', { class: 'button quiet', type: 'button', testid: 'choose-share' }, icon('upload'), h('span', {}, 'Share a file'));
  chooseShare.addEventListener('click', () => shareInput.click());

  const box = h('section', { class: 'card add-box', testid: 'add-box', 'aria-label': 'Add a torrent' },
    form,
    h('div', { class: 'add-more' },
      chooseTorrent,
      chooseShare,
      h('span', { class: 'drop-hint' }, 'or drop a file on this page to share it (a .torrent file is opened)')),
    torrentInput,
    shareInput,
    status,
    result,
    h('div', { class: 'drop-overlay', 'aria-hidden': 'true' }, icon('upload'), h('span', {}, 'Drop a file to share it, or a .torrent file to open it')));

  // Drag and drop, anywhere on the page: a .torrent file is opened, any other file is shared.
  let depth = 0;
  const hasFiles = (e: DragEvent) => e.dataTransfer?.types.includes('Files') ?? false;
  const onEnter = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    depth++;
    box.classList.add('dragging');
  };
  const onOver = (e: DragEvent) => {
    if (!hasFiles(e)) return;
    e.preventDefault();
    e.dataTransfer!.dropEffect = 'copy';
  };
  const onLeave = () => {
    depth = Math.max(0, depth - 1);
    if (depth === 0) box.classList.remove('dragging');
  };
  const onDrop = (e: DragEvent) => {
    e.preventDefault();
    depth = 0;
    box.classList.remove('dragging');
    const file = e.dataTransfer?.files[0];
    if (file) handleFile(file, /\.torrent$/i.test(file.name));
  };
  document.addEventListener('dragenter', onEnter);
  document.addEventListener('dragover', onOver);
  document.addEventListener('dragleave', onLeave);
  document.addEventListener('drop', onDrop);
  return {
    el: box,
    destroy() {
      document.removeEventListener('dragenter', onEnter);
      document.removeEventListener('dragover', onOver);
      document.removeEventListener('dragleave', onLeave);
      document.removeEventListener('drop', onDrop);
    },
  };
}
