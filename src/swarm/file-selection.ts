/**
 * Which files of a torrent to download. Users see and choose among the torrent's files without
 * its BEP 47 padding files, in the info dictionary's order (`selectableFiles`; `warren info` lists
 * them numbered from 1). A piece is wanted when it holds any byte of a chosen file; the bytes it
 * holds of neighbouring unchosen files are written to them too, as Transmission does, since the
 * whole piece must be had to be checked.
 */
import type { InfoDict, TorrentFile } from '../codec/metainfo.js';
import { SwarmError } from './errors.js';

/** The files a user can choose among: `info.files` without padding files. */
export function selectableFiles(info: InfoDict): TorrentFile[] {
  return info.files.filter((f) => !f.padding);
}

/**
 * One byte per piece, 1 where the piece holds bytes of a chosen file. `chosen` are indices into
 * `selectableFiles(info)`; an index that names no file throws `SwarmError` 'FILE_INDEX'.
 */
export function wantedPieceMask(info: InfoDict, chosen: readonly number[]): Uint8Array {
  const files = selectableFiles(info);
  const mask = new Uint8Array(info.pieceCount);
  for (const index of chosen) {
    const file = files[index];
    if (!Number.isInteger(index) || !file) {
      throw new SwarmError('FILE_INDEX', `no file number ${index + 1}: the torrent has ${files.length} file${files.length === 1 ? '' : 's'}`);
    }
    if (file.length === 0) continue;
    const last = Math.floor((file.offset + file.length - 1) / info.pieceLength);
    mask.fill(1, Math.floor(file.offset / info.pieceLength), last + 1);
  }
  return mask;
}

/** Per entry of `info.files`: whether it is chosen (padding files never are; every other file when `chosen` is undefined). */
export function chosenFileFlags(info: InfoDict, chosen: readonly number[] | undefined): boolean[] {
  const set = chosen && new Set(chosen);
  let selectable = 0;
  return info.files.map((file) => !file.padding && (!set || set.has(selectable++)));
}
