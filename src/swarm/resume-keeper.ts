/**
 * A torrent's resume data over its lifetime: on start, which pieces are on disk (trusting the
 * record where files are unchanged, hashing the rest); while running, a save at most every 2 s
 * after a change (and a v2 torrent's piece layers once more of them are known). A save snapshots the had pieces before fsyncing the files, so the record never
 * names a piece that is not on disk (see `resume.ts`).
 */
import type { InfoDict } from '../codec/metainfo.js';
import type { FileStore } from '../runtime/interfaces.js';
import { trustedPieces, type ResumeStore } from './resume.js';
import { bitfieldOf } from './piece-geometry.js';
import { checkPieces } from './piece-checker.js';
import type { PieceCheck, PieceHasher } from './piece-hasher.js';
import type { PieceLayers } from './piece-layers.js';
import type { TorrentStorage } from './storage.js';

const SAVE_EVERY_MS = 2000;

export interface ResumeKeeperDeps {
  fs: FileStore;
  now(): number;
  warn(message: string): void;
  /** Where the pieces to check on start are hashed. */
  hasher: PieceHasher;
}

export class ResumeKeeper {
  private dirty = false;
  private lastSave = 0;
  private saving?: Promise<void>;
  /** How many piece layers the store holds (they are only ever added). */
  private savedLayers = 0;

  constructor(
    private readonly deps: ResumeKeeperDeps,
    /** Where the record lives; without one, nothing is saved or loaded. */
    private readonly store: ResumeStore | undefined,
    private readonly infoHash: string,
    private readonly info: InfoDict,
    private readonly storage: TorrentStorage,
    private readonly has: (index: number) => boolean,
    /** How a piece is checked (undefined: it cannot be yet, and counts as missing). */
    private readonly check: (index: number) => PieceCheck | undefined,
    /** A v2 torrent's piece layers: restored from the store, and saved when one more is known. */
    private readonly layers?: PieceLayers,
  ) {}

  /**
   * Marks the pieces on disk as had through `setHave`, and saves the result. `assumeComplete`:
   * the data was just hashed to make the torrent. Stops early when `stopped()` turns true.
   */
  async restore(assumeComplete: boolean, setHave: (index: number) => void, stopped: () => boolean): Promise<void> {
    const { info, storage } = this;
    let toHash: Iterable<number> = [];
    if (assumeComplete) {
      for (let i = 0; i < info.pieceCount; i++) setHave(i);
    } else {
      const record = await this.store?.load(this.infoHash);
      for (const [root, layer] of record?.pieceLayers ?? []) this.layers?.add(root, layer);
      const stats = await storage.fileStats();
      if (record && record.infoHash === this.infoHash && record.pieceCount === info.pieceCount) {
        const { trusted, recheck } = trustedPieces(record, info, stats);
        for (const index of trusted) setHave(index);
        toHash = recheck;
      } else if (stats.some((s) => s !== undefined && s.size > 0)) {
        toHash = Array.from({ length: info.pieceCount }, (_, i) => i);
      }
    }
    await checkPieces({ info, storage, hasher: this.deps.hasher, check: this.check, good: setHave, stopped }, toHash);
    if (stopped()) return;
    this.markDirty();
    await this.save();
  }

  markDirty(): void {
    this.dirty = true;
  }

  /** Saves if something changed and the last save is old enough (called once a second). */
  tick(): void {
    if (this.dirty && this.deps.now() - this.lastSave >= SAVE_EVERY_MS) void this.save();
  }

  /** Saves now if anything changed: snapshot of had pieces, fsync, file stats, then the record. */
  async save(): Promise<void> {
    if (this.saving) await this.saving;
    if (!this.dirty || !this.store) return;
    this.dirty = false;
    this.lastSave = this.deps.now();
    const { info, storage } = this;
    const have = bitfieldOf(info.pieceCount, this.has);
    this.saving = (async () => {
      await storage.sync();
      const files = (await storage.fileStats()).map((s) => s ?? null);
      await this.store!.save({ infoHash: this.infoHash, pieceCount: info.pieceCount, have, files });
      const layers = this.layers?.known();
      if (layers && layers.size > this.savedLayers) {
        await this.store!.saveLayers(this.infoHash, layers);
        this.savedLayers = layers.size;
      }
    })();
    try {
      await this.saving;
    } catch (error) {
      this.dirty = true;
      this.deps.warn(`saving resume data failed: ${(error as Error).message}`);
    } finally {
      this.saving = undefined;
    }
  }
}
