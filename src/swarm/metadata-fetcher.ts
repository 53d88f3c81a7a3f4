/**
 * Assembling a torrent's info dictionary from peers (BEP 9), for magnet links. The size comes
 * from the first peer's extended handshake; pieces of 16 KiB are requested from peers that offer
 * ut_metadata, and the whole is accepted only if it hashes to the infohash (its SHA-1, or for a
 * v2 torrent its SHA-256 truncated to 20 bytes). A wrong whole (a lying peer) is discarded and
 * fetched again.
 */
import { MAX_METADATA_SIZE, METADATA_PIECE_SIZE } from '../codec/peer-extensions.js';
import { namesInfo } from './info-hashes.js';

const REQUEST_TIMEOUT_MS = 10_000;

export class MetadataFetcher {
  private buffer?: Uint8Array;
  private received: boolean[] = [];
  private requestedAt: number[] = [];

  constructor(
    private readonly infoHash: Uint8Array,
    private readonly now: () => number,
    /** The whole SHA-256 infohash when known (a `urn:btmh:` magnet): the metadata must hash to it. */
    private readonly infoHashV2?: Uint8Array,
  ) {}

  /** Takes the size a peer announced; false when it is unusable (0, too large, or disagreeing). */
  offerSize(size: number): boolean {
    if (!Number.isInteger(size) || size <= 0 || size > MAX_METADATA_SIZE) return false;
    if (this.buffer) return this.buffer.length === size;
    this.buffer = new Uint8Array(size);
    const pieces = Math.ceil(size / METADATA_PIECE_SIZE);
    this.received = new Array<boolean>(pieces).fill(false);
    this.requestedAt = new Array<number>(pieces).fill(-Infinity);
    return true;
  }

  get size(): number | undefined {
    return this.buffer?.length;
  }

  /** The next piece worth asking for (not received, not asked within the timeout), if any. */
  nextRequest(): number | undefined {
    const now = this.now();
    for (let i = 0; i < this.received.length; i++) {
      if (!this.received[i] && now - this.requestedAt[i]! >= REQUEST_TIMEOUT_MS) {
        this.requestedAt[i] = now;
        return i;
      }
    }
    return undefined;
  }

  rejected(piece: number): void {
    if (piece >= 0 && piece < this.requestedAt.length) this.requestedAt[piece] = -Infinity;
  }

  /**
   * Stores one piece. Returns the complete info dictionary when this was the last piece and the
   * whole hashes to the infohash; 'bad' when the whole did not (everything is fetched again).
   */
  receive(piece: number, totalSize: number, data: Uint8Array): Uint8Array | 'bad' | undefined {
    const buffer = this.buffer;
    if (!buffer || totalSize !== buffer.length || piece < 0 || piece >= this.received.length) return undefined;
    const expected = Math.min(METADATA_PIECE_SIZE, buffer.length - piece * METADATA_PIECE_SIZE);
    if (data.length !== expected) return undefined;
    buffer.set(data, piece * METADATA_PIECE_SIZE);
    this.received[piece] = true;
    if (!this.received.every(Boolean)) return undefined;
    if (namesInfo(this.infoHash, buffer, this.infoHashV2)) return buffer;
    this.received.fill(false);
    this.requestedAt.fill(-Infinity);
    return 'bad';
  }
}
