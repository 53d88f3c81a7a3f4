/**
 * The hashes that name a torrent. v1 (BEP 3): the SHA-1 of the info dictionary. v2 (BEP 52): its
 * SHA-256, which peers, trackers and the DHT know by its first 20 bytes. A hybrid torrent has
 * both and is joined by its v1 hash; a v2-only torrent by its truncated v2 hash.
 */
import type { InfoDict } from '../codec/metainfo.js';
import { idEquals } from '../kademlia/id.js';
import { toInfoHash, type InfoHash } from '../dht/types.js';
import { sha256 } from './merkle.js';
import { sha1 } from './storage.js';

export interface TorrentHashes {
  /** The 20 bytes the swarm knows the torrent by (handshakes, DHT, trackers). */
  infoHash: InfoHash;
  /** The full SHA-256 of the info dictionary, for v2-only and hybrid torrents (magnet `urn:btmh:`). */
  infoHashV2?: Uint8Array;
}

/** The hashes of a torrent from its info dictionary's bytes and their parsed form. */
export function torrentHashes(infoBytes: Uint8Array, info: InfoDict): TorrentHashes {
  if (info.metaVersion === 1) return { infoHash: toInfoHash(sha1(infoBytes)) };
  const infoHashV2 = sha256(infoBytes);
  const infoHash = info.pieces ? toInfoHash(sha1(infoBytes)) : toInfoHash(infoHashV2.subarray(0, 20));
  return { infoHash, infoHashV2 };
}

/**
 * Whether `infoBytes` is the info dictionary that `infoHash` names, by its SHA-1 or truncated
 * SHA-256 (metadata from peers, BEP 9); when the whole v2 infohash is known (a `urn:btmh:` magnet),
 * its SHA-256 must also be that.
 */
export function namesInfo(infoHash: Uint8Array, infoBytes: Uint8Array, infoHashV2?: Uint8Array): boolean {
  const v2 = sha256(infoBytes);
  if (infoHashV2 && !idEquals(v2, infoHashV2)) return false;
  return idEquals(sha1(infoBytes), infoHash) || idEquals(v2.subarray(0, 20), infoHash);
}
