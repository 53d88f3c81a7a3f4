/**
 * A web seed (BEP 19, the `url-list` of a .torrent or `ws=` of a magnet link): an HTTP server
 * that holds the torrent's files, used as one more peer that has every piece. Blocks are taken
 * from the picker like a peer's requests, but in piece order, and fetched with HTTP range requests
 * (a run of adjacent blocks at a time, split at file boundaries), and handed to the torrent like blocks from a peer,
 * so hash checks, blame and bans work the same. A failing server is retried with growing pauses;
 * one whose data fails a hash check is banned for good.
 *
 * Where a file lives (BEP 19): for a single-file torrent the URL is the file itself, unless it
 * ends with `/`, when the torrent's name is added. For a multi-file torrent the URL is a folder:
 * `<url>/<name>/<path...>`, each part percent-encoded. Padding files (BEP 47) are never fetched.
 */
import type { InfoDict } from '../codec/metainfo.js';
import type { Runtime } from '../runtime/interfaces.js';
import { spansOf } from './file-layout.js';
import { BLOCK_SIZE, type Block, type PiecePicker } from './piece-picker.js';
import { RateMeter } from './rate-meter.js';
import type { TransferLimiter } from './transfer-limiter.js';
import type { PeerStats } from './torrent.js';

/** Blocks asked for in one HTTP request at most (1 MiB). */
const BLOCKS_PER_REQUEST = 64;
/** HTTP requests in flight to one web seed at once. */
const MAX_IN_FLIGHT = 2;
const REQUEST_TIMEOUT_MS = 60_000;
/** Pause after the first failure; doubled after each further one, up to `MAX_BACKOFF_MS`. */
const FIRST_BACKOFF_MS = 5_000;
const MAX_BACKOFF_MS = 300_000;

/** What a web seed needs from its torrent. */
export interface WebSeedHost {
  readonly runtime: Pick<Runtime, 'httpGet' | 'now'>;
  readonly info: InfoDict;
  readonly picker: PiecePicker;
  /** Whether to ask for blocks now (downloading, and not held back by the disk). */
  wantsBlocks(): boolean;
  /** Whether blocks that arrive are taken (downloading: not paused, stopped or closed). */
  acceptsBlocks(): boolean;
  /** Room left under the torrent's cap on requests in flight, in blocks. */
  requestRoom(): number;
  readonly downloadLimiter?: TransferLimiter;
  /** A block we asked this web seed for has arrived. */
  blockArrived(key: string, index: number, begin: number, block: Uint8Array): void;
  log(level: 'debug' | 'info' | 'warn', message: string): void;
}

/** The URL of file `fileIndex` of the torrent on the web seed at `base`. */
export function webSeedFileUrl(base: string, info: InfoDict, fileIndex: number): string {
  const encode = (parts: readonly string[]) => parts.map(encodeURIComponent).join('/');
  if (!info.multiFile) return base.endsWith('/') ? base + encode([info.name]) : base;
  return `${base.endsWith('/') ? base : `${base}/`}${encode([info.name, ...info.files[fileIndex]!.path])}`;
}

export class WebSeed {
  /** The picker's name for this source ("web " + its URL: never an address a peer could have). */
  readonly key: string;
  readonly download: RateMeter;
  private inFlight = 0;
  /** Aborts the requests in flight (`stop`). */
  private readonly aborts = new Set<AbortController>();
  private failures = 0;
  private retryAt = 0;
  private banned = false;
  private lastError?: string;

  constructor(
    private readonly host: WebSeedHost,
    readonly url: string,
  ) {
    this.key = `web ${url}`;
    this.download = new RateMeter(() => host.runtime.now());
    host.picker.peerHaveAll(this.key);
  }

  /** Starts requests while there is room (called on every tick and whenever blocks free up). */
  fill(): void {
    const host = this.host;
    while (!this.banned && this.inFlight < MAX_IN_FLIGHT && host.wantsBlocks() && host.runtime.now() >= this.retryAt) {
      let count = Math.min(BLOCKS_PER_REQUEST, host.requestRoom());
      if (count <= 0) return;
      const limiter = host.downloadLimiter;
      if (limiter) {
        count = limiter.takeNow(count * BLOCK_SIZE, BLOCK_SIZE) / BLOCK_SIZE;
        if (count === 0) return void limiter.whenRefilled(this.fillLater);
      }
      // In order: adjacent blocks make one range request (random pieces would each be a request of their own).
      const blocks = host.picker.pick(this.key, count, { sequential: true });
      if (limiter && blocks.length < count) limiter.giveBack((count - blocks.length) * BLOCK_SIZE);
      if (blocks.length === 0) return;
      this.inFlight++;
      void this.fetch(blocks).finally(() => {
        this.inFlight--;
        this.fill();
      });
    }
  }

  /**
   * Never asks this server again and drops what it is still sending (its data failed a hash
   * check). Returns false when it was banned already.
   */
  ban(): boolean {
    if (this.banned) return false;
    this.banned = true;
    this.stop();
    this.host.picker.peerGone(this.key); // no longer counts towards any piece's availability
    return true;
  }

  /** Aborts the requests in flight (pause, close, ban); their blocks go back to the picker. */
  stop(): void {
    for (const abort of this.aborts) abort.abort();
  }

  /** For the torrent's peer list. */
  stats(): PeerStats {
    const waiting = this.host.runtime.now() < this.retryAt;
    return {
      address: this.url,
      client: this.banned ? 'web seed (banned)' : waiting ? `web seed (retrying: ${this.lastError ?? 'failed'})` : 'web seed',
      downloadRate: this.download.rate,
      uploadRate: 0,
      flags: `W${this.inFlight > 0 ? 'D' : ''}`,
    };
  }

  private readonly fillLater = (): void => this.fill();

  /** Fetches `blocks` (contiguous runs in one request each) and delivers them; on failure frees them. */
  private async fetch(blocks: Block[]): Promise<void> {
    const { host } = this;
    const { info } = host;
    const pending = [...blocks].sort((a, b) => a.index - b.index || a.begin - b.begin);
    const abort = new AbortController();
    this.aborts.add(abort);
    try {
      for (const run of contiguousRuns(info, pending)) {
        const data = await this.fetchRange(run.offset, run.length, abort.signal);
        // Paused, closed or banned meanwhile: the blocks are freed below.
        if (!host.acceptsBlocks() || this.banned) break;
        for (const block of run.blocks) {
          const at = block.index * info.pieceLength + block.begin - run.offset;
          if (!host.picker.isRequested(this.key, block)) continue; // cancelled meanwhile
          this.download.add(block.length);
          host.blockArrived(this.key, block.index, block.begin, data.subarray(at, at + block.length));
        }
      }
      this.failures = 0;
    } catch (error) {
      if (abort.signal.aborted) return; // stopped on purpose: not the server's fault
      this.lastError = (error as Error).message;
      this.retryAt = host.runtime.now() + Math.min(MAX_BACKOFF_MS, FIRST_BACKOFF_MS * 2 ** this.failures);
      this.failures++;
      host.log('debug', `web seed ${this.url} failed: ${this.lastError}`);
    } finally {
      this.aborts.delete(abort);
      for (const block of pending) if (host.picker.isRequested(this.key, block)) host.picker.requestFailed(this.key, block);
    }
  }

  /** Torrent bytes [offset, offset + length): one ranged GET per file they cross; zeros for padding files. */
  private async fetchRange(offset: number, length: number, signal: AbortSignal): Promise<Uint8Array> {
    const { info, runtime } = this.host;
    const out = new Uint8Array(length);
    for (const span of spansOf(info.files, offset, length)) {
      if (info.files[span.fileIndex]!.padding) continue; // BEP 47: zeros, never on the server
      const url = webSeedFileUrl(this.url, info, span.fileIndex);
      const range = { first: span.fileOffset, last: span.fileOffset + span.length - 1 };
      const body = await runtime.httpGet(url, { timeoutMs: REQUEST_TIMEOUT_MS, range, signal });
      out.set(body, span.bufferOffset);
    }
    return out;
  }
}

/** Groups blocks sorted by position into runs that are adjacent in the torrent's byte space. */
function contiguousRuns(info: InfoDict, sorted: readonly Block[]): { offset: number; length: number; blocks: Block[] }[] {
  const runs: { offset: number; length: number; blocks: Block[] }[] = [];
  for (const block of sorted) {
    const offset = block.index * info.pieceLength + block.begin;
    const last = runs.at(-1);
    if (last && last.offset + last.length === offset) {
      last.length += block.length;
      last.blocks.push(block);
    } else {
      runs.push({ offset, length: block.length, blocks: [block] });
    }
  }
  return runs;
}
