/**
 * What `warren get`, `seed` and `info` accept as a torrent: a .torrent file, a magnet link, or a
 * bare infohash. A bad one is a one-line error with exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import { fromInfoHash, fromMagnet, fromMetainfo, isInfoHashText, type TorrentInput } from '../node/torrent-input.js';
import { CliError } from './errors.js';

/** A torrent as the node takes it, plus the whole .torrent file when there was one. */
export interface TorrentSource extends TorrentInput {
  metainfo?: Metainfo;
}

export async function readTorrentSource(arg: string): Promise<TorrentSource> {
  if (arg.startsWith('magnet:')) {
    try {
      return fromMagnet(arg);
    } catch (error) {
      throw new CliError((error as Error).message, 2);
    }
  }
  if (isInfoHashText(arg)) return fromInfoHash(arg);
  let bytes: Uint8Array;
  try {
    bytes = await readFile(arg);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new CliError(code === 'ENOENT' ? `${arg}: no such file (expected a .torrent file, magnet link or infohash)` : `${arg}: ${(error as Error).message}`, 2);
  }
  return fromTorrentFile(arg, bytes);
}

export function fromTorrentFile(path: string, bytes: Uint8Array): TorrentSource {
  let metainfo: Metainfo;
  try {
    metainfo = parseMetainfo(bytes);
  } catch (error) {
    throw new CliError(`${path}: not a valid .torrent file: ${(error as Error).message}`, 2);
  }
  return { ...fromMetainfo(metainfo), metainfo };
}
