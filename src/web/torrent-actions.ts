/**
 * Pause, resume and remove (with the in-page confirm dialog), shared by the list and the torrent
 * page; verify, used by the torrent page.
 */
import type { TorrentSummary } from '../node/view-types.js';
import { api, errorMessage } from './api.js';
import { confirmRemove } from './confirm.js';
import { canResume, type ErrorLine } from './widgets.js';

export async function togglePause(torrent: TorrentSummary, errors: ErrorLine): Promise<TorrentSummary | null> {
  errors.clear();
  try {
    return canResume(torrent) ? await api.resume(torrent.id) : await api.pause(torrent.id);
  } catch (err) {
    errors.show(errorMessage(err));
    return null;
  }
}

/** Starts checking the torrent's data again. Resolves with the summary (checking), or null after showing the error. */
export async function verifyTorrent(torrent: TorrentSummary, errors: ErrorLine): Promise<TorrentSummary | null> {
  errors.clear();
  try {
    return await api.verify(torrent.id);
  } catch (err) {
    errors.show(errorMessage(err));
    return null;
  }
}

/** Asks, then removes. Resolves true when the torrent is gone. */
export async function removeTorrent(torrent: TorrentSummary, errors: ErrorLine): Promise<boolean> {
  const choice = await confirmRemove(torrent.name);
  if (!choice) return false;
  errors.clear();
  try {
    await api.remove(torrent.id, choice.deleteData);
    return true;
  } catch (err) {
    errors.show(errorMessage(err));
    return false;
  }
}
