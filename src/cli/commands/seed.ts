/**
 * `warren seed <path|file.torrent>`: hashes a file or folder (or checks the data of a .torrent),
 * prints its magnet link and infohash, and seeds until SIGINT/SIGTERM.
 */
import { readFile, stat } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { formatHostPort } from '../../codec/ip.js';
import { encodeMagnet } from '../../codec/magnet.js';
import { toHex, toInfoHash } from '../../dht/types.js';
import { createNodeRuntime } from '../../runtime/node-runtime.js';
import { createTorrent } from '../../swarm/create-torrent.js';
import { CliError } from '../errors.js';
import { createOutput } from '../output.js';
import { parseRateLimit, parseTorrentFormat } from '../options.js';
import { startNodeFromFlags, untilSignal, type SwarmFlags } from '../swarm-flags.js';
import { fromTorrentFile } from '../torrent-source.js';

export async function seedCommand(target: string, flags: SwarmFlags & { dir?: string; uploadLimit?: string; format?: string }): Promise<void> {
  const out = createOutput(flags.json === true);
  const uploadLimit = parseRateLimit('--upload-limit', flags.uploadLimit);
  const format = parseTorrentFormat(flags.format);
  const absolute = resolve(target);
  const info = await stat(absolute).catch(() => undefined);
  if (!info) throw new CliError(`${target}: no such file or folder`, 2);
  let add;
  if (info.isFile() && absolute.endsWith('.torrent')) {
    const source = fromTorrentFile(target, await readFile(absolute));
    add = {
      infoHash: source.infoHash,
      infoHashV2: source.infoHashV2,
      infoBytes: source.metainfo!.infoBytes,
      pieceLayers: source.pieceLayers,
      dir: resolve(flags.dir ?? dirname(absolute)),
      trackers: source.trackers,
      assumeComplete: false,
    };
  } else {
    out.note(`hashing ${target} ...`);
    const created = await createTorrent(createNodeRuntime().fs, absolute, { format }).catch((error: Error) => {
      throw new CliError(error.message);
    });
    add = {
      infoHash: toInfoHash(created.infoHash),
      infoHashV2: created.infoHashV2,
      infoBytes: created.infoBytes,
      pieceLayers: created.pieceLayers,
      dir: dirname(absolute),
      trackers: [],
      assumeComplete: true,
    };
  }
  const node = await startNodeFromFlags(flags, out);
  try {
    const torrent = await node.session.add({ ...add, uploadLimit });
    const stats = torrent.stats();
    if (torrent.state !== 'seeding') {
      throw new CliError(`the data in ${add.dir} does not match the torrent: ${stats.piecesHad} of ${stats.pieceCount} pieces verified`);
    }
    const magnet = encodeMagnet({ infoHash: add.infoHash, infoHashV2: add.infoHashV2, name: stats.name, trackers: add.trackers });
    out.event(
      {
        event: 'ready',
        infoHash: toHex(add.infoHash),
        magnet,
        port: node.session.address.port,
        // Every TCP address peers can reach (0.0.0.0:P and [::]:P by default), IPv6 in brackets.
        addresses: node.session.addresses.map((a) => formatHostPort(a.host, a.port)),
        ...(node.dht && { dhtPort: node.dht.address.port }),
      },
      `seeding ${stats.name} (${toHex(add.infoHash)}) on port ${node.session.address.port}\n${magnet}`,
    );
    torrent.on((event) => {
      if (event.type === 'error') out.event({ event: 'error', message: event.error.message }, `error: ${event.error.message}`);
    });
    await untilSignal();
    out.event({ event: 'stopped', uploaded: torrent.stats().uploaded }, 'stopped');
  } finally {
    await node.close();
  }
}
