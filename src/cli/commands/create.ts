/** `warren create <path>`: makes a .torrent for a file or folder. */
import { writeFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { encodeMagnet } from '../../codec/magnet.js';
import { toHex } from '../../dht/types.js';
import { createNodeRuntime } from '../../runtime/node-runtime.js';
import { createTorrent } from '../../swarm/create-torrent.js';
import { CliError } from '../errors.js';
import { parseTorrentFormat } from '../options.js';
import { createOutput } from '../output.js';

export async function createCommand(
  path: string,
  flags: { output?: string; pieceLength?: string; tracker?: string[]; webSeed?: string[]; private?: boolean; comment?: string; format?: string; json?: boolean },
): Promise<void> {
  const out = createOutput(flags.json === true);
  const format = parseTorrentFormat(flags.format);
  let pieceLength: number | undefined;
  if (flags.pieceLength !== undefined) {
    pieceLength = Number(flags.pieceLength);
    if (!Number.isInteger(pieceLength) || pieceLength < 16384 || (pieceLength & (pieceLength - 1)) !== 0) {
      throw new CliError(`bad --piece-length "${flags.pieceLength}": expected a power of two of at least 16384`, 2);
    }
  }
  for (const url of flags.tracker ?? []) {
    if (!/^(https?|udp):\/\/[^/]+/.test(url)) throw new CliError(`bad --tracker "${url}": expected an http(s):// or udp:// URL`, 2);
  }
  for (const url of flags.webSeed ?? []) {
    if (!/^https?:\/\/[^/]+/.test(url)) throw new CliError(`bad --web-seed "${url}": expected an http(s):// URL`, 2);
  }
  const absolute = resolve(path);
  let created;
  try {
    created = await createTorrent(createNodeRuntime().fs, absolute, {
      pieceLength,
      trackers: flags.tracker,
      webSeeds: flags.webSeed,
      private: flags.private,
      comment: flags.comment,
      format,
      createdBy: 'warren/0.1',
      creationDate: Math.floor(Date.now() / 1000),
    });
  } catch (error) {
    throw new CliError((error as Error).message);
  }
  const output = flags.output ?? `${basename(absolute)}.torrent`;
  await writeFile(output, created.bytes);
  const infoHash = toHex(created.infoHash);
  const magnet = encodeMagnet({ infoHash: created.infoHash, infoHashV2: created.infoHashV2, name: created.info.name, trackers: flags.tracker, webSeeds: flags.webSeed });
  const infoHashV2 = created.infoHashV2 && toHex(created.infoHashV2);
  out.event(
    { event: 'created', file: output, format, infoHash, ...(infoHashV2 && { infoHashV2 }), magnet, pieceCount: created.info.pieceCount, pieceLength: created.info.pieceLength },
    `wrote ${output}\ninfohash: ${infoHash}\nmagnet:   ${magnet}`,
  );
}
