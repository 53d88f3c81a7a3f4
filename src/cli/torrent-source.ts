/**
 * What `warren get`, `seed` and `info` accept as a torrent: a .torrent file, a magnet link, or a
 * bare infohash. A bad one is a one-line error with exit code 2.
 */
import { readFile } from 'node:fs/promises';
import { createHash } from 'node:crypto';
import { parseMagnet } from '../codec/magnet.js';
import { parseMetainfo, type Metainfo } from '../codec/metainfo.js';
import { toInfoHash, type InfoHash } from '../dht/types.js';
import type { Endpoint } from '../runtime/interfaces.js';
import { CliError } from './errors.js';

export interface TorrentSource {
  infoHash: InfoHash;
  metainfo?: Metainfo;
  name?: string;
  trackers: string[];
  peers: Endpoint[];
}

export async function readTorrentSource(arg: string): Promise<TorrentSource> {
  if (arg.startsWith('magnet:')) {
    try {
      const magnet = parseMagnet(arg);
      return { infoHash: toInfoHash(magnet.infoHash), name: magnet.name, trackers: magnet.trackers, peers: magnet.peers };
    } catch (error) {
      throw new CliError((error as Error).message, 2);
    }
  }
  if (/^[0-9a-fA-F]{40}$/.test(arg)) return { infoHash: toInfoHash(arg), trackers: [], peers: [] };
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
  const trackers = [...new Set([...(metainfo.announce ? [metainfo.announce] : []), ...metainfo.announceList.flat()])];
  return {
    infoHash: toInfoHash(createHash('sha1').update(metainfo.infoBytes).digest()),
    metainfo,
    name: metainfo.info.name,
    trackers,
    peers: [],
  };
}
