/**
 * `warren get <magnet|infohash|file.torrent>`: downloads into a directory with a progress bar (or
 * JSON progress lines), and exits 0 once every piece is verified and written, or keeps seeding
 * with `--seed`. Ctrl-C saves progress (resume data) and exits 130; a later run continues.
 * `--select-file 1,3-5` downloads only those files (numbered as `warren info` lists them).
 * `--seed-ratio R` and `--seed-time MIN` seed afterwards until R times the downloaded size is
 * uploaded or MIN minutes have passed, whichever comes first (as aria2c's options of those names).
 */
import { mkdir } from 'node:fs/promises';
import { resolve } from 'node:path';
import { SingleBar } from 'cli-progress';
import { toHex } from '../../dht/types.js';
import { parsePositiveNumber } from '../../node/config.js';
import type { Endpoint } from '../../runtime/interfaces.js';
import { SwarmError } from '../../swarm/errors.js';
import type { Torrent } from '../../swarm/torrent.js';
import { CliError } from '../errors.js';
import { formatBytes, formatDuration } from '../format.js';
import { createOutput, type Output } from '../output.js';
import { parseFileSelection, parsePeerArg, parseRateLimit } from '../options.js';
import { selectableFiles, wantedPieceMask } from '../../swarm/file-selection.js';
import { startNodeFromFlags, untilSignal, type SwarmFlags } from '../swarm-flags.js';
import { readTorrentSource } from '../torrent-source.js';

export interface GetFlags extends SwarmFlags {
  output?: string;
  peer?: string[];
  seed?: boolean;
  sequential?: boolean;
  stopTimeout?: string;
  uploadLimit?: string;
  downloadLimit?: string;
  selectFile?: string;
  seedRatio?: string;
  seedTime?: string;
}

export async function getCommand(arg: string, flags: GetFlags): Promise<void> {
  const out = createOutput(flags.json === true);
  let stopAfterMs: number | undefined;
  if (flags.stopTimeout !== undefined) {
    const seconds = Number(flags.stopTimeout);
    if (!/^\d+$/.test(flags.stopTimeout) || seconds < 1) throw new CliError(`bad --stop-timeout "${flags.stopTimeout}": expected whole seconds >= 1`, 2);
    stopAfterMs = seconds * 1000;
  }
  const uploadLimit = parseRateLimit('--upload-limit', flags.uploadLimit);
  const downloadLimit = parseRateLimit('--download-limit', flags.downloadLimit);
  const source = await readTorrentSource(arg);
  const wantedFiles = flags.selectFile === undefined ? undefined : parseFileSelection(flags.selectFile);
  const seedRatio = parsePositive('--seed-ratio', flags.seedRatio, 'a ratio such as 1.5');
  const seedMinutes = parsePositive('--seed-time', flags.seedTime, 'minutes, such as 30 or 0.5');
  if (wantedFiles && source.metainfo) {
    try {
      wantedPieceMask(source.metainfo.info, wantedFiles);
    } catch (error) {
      throw new CliError(`bad --select-file: ${(error as Error).message}`, 2);
    }
  }
  const peers: Endpoint[] = (flags.peer ?? []).map(parsePeerArg);
  if (flags.dht === false && peers.length + source.peers.length + source.trackers.length + source.webSeeds.length === 0) {
    throw new CliError('no way to find peers: the DHT is off and there is no --peer, tracker or web seed', 2);
  }
  const dir = resolve(flags.output ?? '.');
  await mkdir(dir, { recursive: true }).catch((error: Error) => {
    throw new CliError(`cannot create ${dir}: ${error.message}`);
  });
  const node = await startNodeFromFlags(flags, out);
  let torrent: Torrent | undefined;
  try {
    torrent = await node.session.add({
      infoHash: source.infoHash,
      infoBytes: source.metainfo?.infoBytes,
      pieceLayers: source.pieceLayers,
      infoHashV2: source.infoHashV2,
      dir,
      trackers: source.trackers,
      peers: [...source.peers, ...peers],
      sequential: flags.sequential,
      uploadLimit,
      downloadLimit,
      webSeeds: source.webSeeds,
      wantedFiles,
    });
    const outcome = await watch(torrent, out, stopAfterMs);
    if (outcome === 'interrupted') {
      out.event({ event: 'interrupted', ...progress(torrent) }, 'interrupted; progress saved');
      process.exitCode = 130;
      return;
    }
    const stats = torrent.stats();
    const fileCount = torrent.info ? selectableFiles(torrent.info).length : 0;
    const chosen = wantedFiles ? `${wantedFiles.length} of ${fileCount} files of ` : '';
    out.event(
      {
        event: 'complete',
        infoHash: toHex(source.infoHash),
        name: stats.name,
        path: resolve(dir, stats.name ?? ''),
        bytes: stats.totalLength,
        ...(wantedFiles && { files: wantedFiles.map((i) => i + 1), wantedBytes: stats.wantedLength }),
        downloaded: stats.downloaded,
      },
      `done: ${chosen}${stats.name} (${formatBytes(stats.wantedLength)}) in ${dir}`,
    );
    if (seedRatio !== undefined || seedMinutes !== undefined) {
      out.note(`seeding until ${[seedRatio !== undefined && `a ratio of ${seedRatio}`, seedMinutes !== undefined && `${seedMinutes} min`].filter(Boolean).join(' or ')}; Ctrl-C to stop`);
      const reached = await seedUntil(torrent, seedRatio, seedMinutes);
      const s = torrent.stats();
      const ratio = s.wantedLength > 0 ? s.uploaded / s.wantedLength : 0;
      out.event({ event: 'seeded', reached, uploaded: s.uploaded, ratio: Math.round(ratio * 1000) / 1000 }, `seeded: ${formatBytes(s.uploaded)} uploaded, ratio ${ratio.toFixed(2)}`);
    } else if (flags.seed) {
      out.note('seeding; Ctrl-C to stop');
      await untilSignal();
    }
  } finally {
    await node.close();
  }
}

/** A number above 0 (see `parsePositiveNumber`) given to `flag`, or undefined when not given. */
function parsePositive(flag: string, text: string | undefined, expected: string): number | undefined {
  if (text === undefined) return undefined;
  const value = parsePositiveNumber(text);
  if (value === undefined) throw new CliError(`bad ${flag} "${text}": expected ${expected}, above 0`, 2);
  return value;
}

/**
 * Seeds until `ratio` times the downloaded size is uploaded (this run's upload), `minutes` have
 * passed, or Ctrl-C: which of them ended it.
 */
function seedUntil(torrent: Torrent, ratio: number | undefined, minutes: number | undefined): Promise<'ratio' | 'time' | 'interrupted'> {
  return new Promise((resolvePromise) => {
    const end = (why: 'ratio' | 'time' | 'interrupted') => {
      clearInterval(check);
      clearTimeout(timer);
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      resolvePromise(why);
    };
    const onSignal = () => end('interrupted');
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const check = setInterval(() => {
      const s = torrent.stats();
      if (ratio !== undefined && s.uploaded >= ratio * s.wantedLength) end('ratio');
    }, 250);
    const timer = minutes === undefined ? undefined : setTimeout(() => end('time'), minutes * 60_000);
  });
}

/** Reports progress until the torrent completes, fails, gets no data for `stopAfterMs`, or Ctrl-C. */
function watch(torrent: Torrent, out: Output, stopAfterMs: number | undefined): Promise<'complete' | 'interrupted'> {
  return new Promise((resolvePromise, reject) => {
    const bar =
      !out.json && process.stderr.isTTY
        ? new SingleBar({ format: '{bar} {percentage}% | {rate}/s | {peers} peers | ETA {eta_text} | {name}', hideCursor: true, stream: process.stderr })
        : undefined;
    bar?.start(100, 0, { rate: '0 B', peers: 0, eta_text: '--', name: '' });
    let lastBytes = -1;
    let lastProgressAt = Date.now();
    const report = () => {
      const p = progress(torrent);
      const received = torrent.stats().downloaded + (torrent.info ? 1 : 0);
      if (received !== lastBytes) {
        lastBytes = received;
        lastProgressAt = Date.now();
      } else if (stopAfterMs !== undefined && Date.now() - lastProgressAt >= stopAfterMs) {
        const s = torrent.stats();
        finish(() => reject(new CliError(`no data for ${stopAfterMs / 1000} s (${s.peers.length} peers connected, ${Math.floor(p.percent)}% done); progress saved`)));
        return;
      }
      if (bar) bar.update(Math.floor(p.percent), { rate: formatBytes(p.downloadRate), peers: p.peers, eta_text: formatDuration(p.eta ?? Infinity), name: torrent.info?.name ?? 'fetching metadata' });
      else out.event({ event: 'progress', ...p }, '');
    };
    const interval = setInterval(report, 1000);
    let finished = false;
    const finish = (fn: () => void) => {
      if (finished) return;
      finished = true;
      clearInterval(interval);
      off();
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
      if (bar) {
        report();
        bar.stop();
      }
      fn();
    };
    const onSignal = () => finish(() => resolvePromise('interrupted'));
    process.once('SIGINT', onSignal);
    process.once('SIGTERM', onSignal);
    const off = torrent.on((event) => {
      if (event.type === 'complete') finish(() => resolvePromise('complete'));
      if (event.type === 'error') finish(() => reject(failure(event.error)));
    });
    if (torrent.state === 'seeding') finish(() => resolvePromise('complete'));
    if (torrent.state === 'error') finish(() => reject(failure(torrent.error ?? new Error('torrent failed'))));
  });
}

/** The torrent stopped: with a --select-file naming no file (known once a magnet's metadata came), that flag was bad. */
function failure(error: Error): CliError {
  if (error instanceof SwarmError && error.code === 'FILE_INDEX') return new CliError(`bad --select-file: ${error.message}`, 2);
  return new CliError(error.message);
}

function progress(torrent: Torrent) {
  const s = torrent.stats();
  // Of the wanted pieces: all of the torrent unless --select-file chose some files.
  const had = s.wantedLength - s.bytesLeft;
  const percent = s.wantedLength > 0 ? (100 * had) / s.wantedLength : 0;
  const eta = s.downloadRate > 0 ? s.bytesLeft / s.downloadRate : Infinity;
  return { state: s.state, percent: Math.round(percent * 10) / 10, bytes: had, total: s.wantedLength, downloadRate: Math.round(s.downloadRate), peers: s.peers.length, eta: Number.isFinite(eta) ? Math.round(eta) : null };
}
