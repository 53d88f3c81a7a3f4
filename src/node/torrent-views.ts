/**
 * The API's views of a torrent (`TorrentSummary`, `TorrentDetail`), computed from the engine's
 * `Torrent` and the node's stored row.
 */
import { encodeMagnet, parseMagnet } from '../codec/magnet.js';
import { pieceSize, type InfoDict } from '../codec/metainfo.js';
import { toInfoHash } from '../dht/types.js';
import { selectableFiles } from '../swarm/file-selection.js';
import { bitfieldOf } from '../swarm/piece-geometry.js';
import type { Torrent, TorrentStats } from '../swarm/torrent.js';
import type { TorrentRow } from './state-store.js';
import type { TorrentDetail, TorrentFileView, TorrentSummary } from './view-types.js';

/** A magnet link for a stored torrent: its infohash (and v2 infohash, hex, when known), name and trackers. */
export function magnetOf(infoHash: string, name: string | null, trackers: string[], webSeeds: string[] = [], infoHashV2?: string): string {
  const v2 = infoHashV2 === undefined ? undefined : Buffer.from(infoHashV2, 'hex');
  return encodeMagnet({ infoHash: toInfoHash(infoHash), infoHashV2: v2, name: name ?? undefined, trackers, webSeeds });
}

/** The web seeds kept in a torrent's stored magnet link (none if it holds no valid one). */
export function storedWebSeeds(row: TorrentRow): string[] {
  if (!row.magnet.startsWith('magnet:')) return [];
  try {
    return parseMagnet(row.magnet).webSeeds;
  } catch {
    return [];
  }
}

/** `failure`: why the torrent could not start, shown as its error. */
export function summarize(torrent: Torrent, row: TorrentRow, failure?: string): TorrentSummary {
  return summaryOf(torrent.stats(), row, failure);
}

function summaryOf(s: TorrentStats, row: TorrentRow, failure: string | undefined): TorrentSummary {
  if (failure !== undefined) {
    s.state = 'error';
    s.error = failure;
  }
  const left = s.bytesLeft;
  return {
    id: row.infoHash,
    name: s.name ?? row.name ?? row.infoHash,
    state: s.state,
    paused: s.paused,
    ...(s.error !== undefined ? { error: s.error } : {}),
    progress: progressOf(s),
    totalLength: s.totalLength,
    bytesHad: s.bytesHad,
    wantedLength: s.wantedLength,
    bytesLeft: s.bytesLeft,
    pieceCount: s.pieceCount,
    piecesHad: s.piecesHad,
    downloadRate: Math.round(s.downloadRate),
    uploadRate: Math.round(s.uploadRate),
    downloaded: row.downloaded + s.downloaded,
    uploaded: row.uploaded + s.uploaded,
    peers: s.peers.length,
    eta: left > 0 && s.downloadRate > 0 && s.state === 'downloading' ? Math.ceil(left / s.downloadRate) : null,
    dir: row.dir,
    magnet: magnetOf(row.infoHash, s.name ?? row.name, row.trackers, storedWebSeeds(row), s.infoHashV2),
    addedAt: row.addedAt,
  };
}

/**
 * Verified over wanted bytes; with the metadata known and nothing wanted (no file chosen, or an
 * empty torrent) there is nothing left to do: 1.
 */
function progressOf(s: TorrentStats): number {
  if (s.pieceCount === 0) return 0;
  return s.wantedLength > 0 ? (s.wantedLength - s.bytesLeft) / s.wantedLength : 1;
}

/**
 * The files users see and choose among (`selectableFiles`), each with its verified bytes (the
 * overlap of each had piece with the file) and whether it is wanted (`chosen`: indices into that
 * list; undefined for every file).
 */
function fileViews(info: InfoDict, has: (index: number) => boolean, chosen: readonly number[] | undefined): TorrentFileView[] {
  const wanted = chosen && new Set(chosen);
  return selectableFiles(info)
    .map((file, index) => {
      let bytesHad = 0;
      const end = file.offset + file.length;
      if (file.length > 0) {
        const first = Math.floor(file.offset / info.pieceLength);
        const last = Math.floor((end - 1) / info.pieceLength);
        for (let p = first; p <= last; p++) {
          if (!has(p)) continue;
          const start = p * info.pieceLength;
          bytesHad += Math.min(end, start + pieceSize(info, p)) - Math.max(file.offset, start);
        }
      }
      return { path: info.multiFile ? [info.name, ...file.path].join('/') : info.name, length: file.length, bytesHad, wanted: !wanted || wanted.has(index) };
    });
}

export function detail(torrent: Torrent, row: TorrentRow, failure?: string): TorrentDetail {
  const stats = torrent.stats();
  const summary = summaryOf(stats, row, failure);
  const { info, picker } = torrent;
  const has = (i: number) => picker?.has(i) ?? false;
  return {
    ...summary,
    files: info ? fileViews(info, has, torrent.wantedFiles) : [],
    peerList: stats.peers.map((p) => ({ ...p, downloadRate: Math.round(p.downloadRate), uploadRate: Math.round(p.uploadRate) })),
    pieces: info ? Buffer.from(bitfieldOf(info.pieceCount, has)).toString('base64') : '',
    pieceLength: info?.pieceLength ?? 0,
    format: !info ? null : info.metaVersion === 1 ? 'v1' : info.pieces ? 'hybrid' : 'v2',
    trackers: row.trackers,
  };
}
