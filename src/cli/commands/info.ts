/** `warren info <file.torrent|magnet>`: name, size, files, piece count, infohash, trackers and web seeds. */
import { encodeMagnet } from '../../codec/magnet.js';
import { toHex } from '../../dht/types.js';
import { createOutput } from '../output.js';
import { readTorrentSource } from '../torrent-source.js';
import { formatBytes } from '../format.js';

export async function infoCommand(arg: string, flags: { json?: boolean }): Promise<void> {
  const source = await readTorrentSource(arg);
  const out = createOutput(flags.json === true);
  const info = source.metainfo?.info;
  const magnet = encodeMagnet({ infoHash: source.infoHash, infoHashV2: source.infoHashV2, name: source.name, trackers: source.trackers, peers: source.peers, webSeeds: source.webSeeds });
  const format = info && (info.metaVersion === 1 ? 'v1' : info.pieces ? 'hybrid' : 'v2');
  const infoHashV2 = source.infoHashV2 && toHex(source.infoHashV2);
  const event = {
    event: 'info',
    infoHash: toHex(source.infoHash),
    ...(infoHashV2 && { infoHashV2 }),
    name: source.name,
    magnet,
    trackers: source.trackers,
    webSeeds: source.webSeeds,
    ...(info && {
      format,
      totalLength: info.totalLength,
      pieceLength: info.pieceLength,
      pieceCount: info.pieceCount,
      private: info.private,
      files: info.files.filter((f) => !f.padding).map((f) => ({ path: f.path.join('/'), length: f.length })),
    }),
  };
  const lines = [`name:      ${source.name ?? '(unknown until the metadata is fetched)'}`, `infohash:  ${toHex(source.infoHash)}`];
  if (infoHashV2) lines.push(`v2 hash:   ${infoHashV2}`);
  if (info) {
    lines.push(`format:    ${format === 'v1' ? 'BitTorrent v1' : format === 'v2' ? 'BitTorrent v2 (BEP 52)' : 'hybrid v1 + v2 (BEP 52)'}`);
    lines.push(`size:      ${formatBytes(info.totalLength)} (${info.totalLength} bytes)`);
    lines.push(`pieces:    ${info.pieceCount} x ${formatBytes(info.pieceLength)}${info.private ? '  (private)' : ''}`);
    lines.push(`files:     ${event.files!.length}`);
    // Numbered from 1, as `warren get --select-file` takes them.
    const width = String(event.files!.length).length;
    event.files!.forEach((file, i) => lines.push(`  ${String(i + 1).padStart(width)}  ${file.path}  (${formatBytes(file.length)})`));
  }
  for (const tracker of source.trackers) lines.push(`tracker:   ${tracker}`);
  for (const url of source.webSeeds) lines.push(`web seed:  ${url}`);
  lines.push(`magnet:    ${magnet}`);
  out.event(event, lines.join('\n'));
}
