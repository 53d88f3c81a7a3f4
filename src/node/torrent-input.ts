/**
 * What an `AddRequest` names, decoded: the infohash and whatever else the source gave (the info
 * dictionary from a .torrent, a name, trackers, peers). Anything malformed is a `NodeError`
 * BAD_REQUEST whose message says what is wrong. Local paths are not handled here (the node hashes
 * them itself).
 */
import { base32Decode } from '../codec/base32.js';
import { parseMagnet } from '../codec/magnet.js';
import { parseMetainfo, METAINFO_MAX_BYTES, type Metainfo } from '../codec/metainfo.js';
import { toInfoHash, type InfoHash } from '../dht/types.js';
import type { Endpoint } from '../runtime/interfaces.js';
import { torrentHashes } from '../swarm/info-hashes.js';
import { NodeError } from './errors.js';

export interface TorrentInput {
  /** The 20 bytes the swarm knows the torrent by (v1 hash, or a v2-only torrent's truncated v2 hash). */
  infoHash: InfoHash;
  /** BEP 52: the whole SHA-256 infohash of a v2 or hybrid torrent, when known. */
  infoHashV2?: Uint8Array;
  infoBytes?: Uint8Array;
  /** BEP 52 piece layers from a v2 .torrent. */
  pieceLayers?: ReadonlyMap<string, Uint8Array>;
  name?: string;
  trackers: string[];
  peers: Endpoint[];
  /** BEP 19 web seeds (`ws=` of a magnet link, `url-list` of a .torrent). */
  webSeeds: string[];
  /** The magnet link as given, when it came from one. */
  magnet?: string;
}

function bad(message: string): NodeError {
  return new NodeError('BAD_REQUEST', message);
}

export function fromMagnet(uri: string): TorrentInput {
  try {
    const magnet = parseMagnet(uri);
    return { infoHash: toInfoHash(magnet.infoHash), infoHashV2: magnet.infoHashV2, name: magnet.name, trackers: magnet.trackers, peers: magnet.peers, webSeeds: magnet.webSeeds, magnet: uri };
  } catch (error) {
    throw bad((error as Error).message);
  }
}

/** Whether `text` looks like a bare infohash (see `fromInfoHash`). */
export function isInfoHashText(text: string): boolean {
  return /^([0-9a-fA-F]{40}|[0-9a-fA-F]{64}|[A-Za-z2-7]{32})$/.test(text);
}

/** A bare infohash: 40 hex or 32 base32 characters (v1), or 64 hex (a v2 torrent's SHA-256, BEP 52). */
export function fromInfoHash(text: string): TorrentInput {
  const none = { trackers: [], peers: [], webSeeds: [] };
  if (/^[0-9a-fA-F]{40}$/.test(text)) return { infoHash: toInfoHash(text.toLowerCase()), ...none };
  if (/^[0-9a-fA-F]{64}$/.test(text)) {
    const infoHashV2 = new Uint8Array(Buffer.from(text, 'hex'));
    return { infoHash: toInfoHash(infoHashV2.slice(0, 20)), infoHashV2, ...none };
  }
  if (/^[A-Za-z2-7]{32}$/.test(text)) return { infoHash: toInfoHash(base32Decode(text.toUpperCase())), ...none };
  throw bad('infoHash: expected 40 or 64 hex or 32 base32 characters');
}

/** The bytes of a .torrent file. */
export function fromTorrentFile(bytes: Uint8Array): TorrentInput {
  if (bytes.length > METAINFO_MAX_BYTES) throw bad(`torrent: larger than ${METAINFO_MAX_BYTES} bytes`);
  let metainfo: Metainfo;
  try {
    metainfo = parseMetainfo(bytes);
  } catch (error) {
    throw bad(`torrent: not a valid .torrent file: ${(error as Error).message}`);
  }
  return fromMetainfo(metainfo);
}

/** A parsed .torrent file: its infohash, info dictionary, name, trackers (every tier, once each) and web seeds. */
export function fromMetainfo(metainfo: Metainfo): TorrentInput {
  const trackers = [...new Set([...(metainfo.announce ? [metainfo.announce] : []), ...metainfo.announceList.flat()])];
  const webSeeds = [...new Set(metainfo.urlList)];
  const { infoHash, infoHashV2 } = torrentHashes(metainfo.infoBytes, metainfo.info);
  const pieceLayers = metainfo.pieceLayers.size > 0 ? metainfo.pieceLayers : undefined;
  return { infoHash, infoHashV2, infoBytes: metainfo.infoBytes, pieceLayers, name: metainfo.info.name, trackers, peers: [], webSeeds };
}
