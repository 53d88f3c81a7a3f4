/**
 * The long-running node's durable state: one SQLite file (`<dataDir>/state.db` by convention of
 * the wiring) opened by `StateStore.open`. What lives where, and who writes it:
 *   - `torrents`: one row per torrent the node manages (`TorrentRow`), written by the node's
 *     wiring when a torrent is added, changes (name/metadata learned, paused, limits, files
 *     chosen), its byte totals are flushed, or it is removed;
 *   - `resume`: the swarm engine's resume record per torrent (`encodeResume` bytes), through
 *     `resumeStore()`; it belongs to its torrent row and goes with it (`ON DELETE CASCADE`);
 *   - `piece_layers`: a v2 torrent's verified piece layers (`encodePieceLayers` bytes), through
 *     the same `resumeStore()`, written when one more is known; it goes with its torrent row too;
 *   - `dht_state`: the DHT's id and routing table (`encodeNodeState` bytes), through `dhtStateStore()`;
 *   - `counters`: node-wide running totals (`addCounters`), and `settings`: small key/value strings.
 * The schema is versioned with `PRAGMA user_version` (see `migrations.ts`).
 *
 * Durability: WAL journal with `synchronous=FULL`, so every mutating method is one transaction
 * that is on disk when the method returns; a kill -9 (or power loss) right after loses nothing,
 * and a kill during a call leaves the state from before it. The file is opened with an exclusive
 * lock: a second process opening it fails instead of interleaving writes with the first.
 *
 * Rows read back are validated: a row that cannot be a torrent (bad infohash, no magnet or
 * directory) is skipped and reported through `log('warn', …)`; a damaged field that has a safe
 * default (trackers, counters, flags) is repaired in what is returned, also with a warning.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import BetterSqlite3, { type Database, type Statement } from 'better-sqlite3';
import { decodeNodeState, encodeNodeState, type NodeStateStore } from '../dht/node-state.js';
import { decodeResume, encodePieceLayers, encodeResume, withPieceLayers, type ResumeStore } from '../swarm/resume.js';
import { NodeError } from './errors.js';
import { APPLICATION_ID, SCHEMA_VERSION, applyMigrations } from './migrations.js';

export interface TorrentRow {
  /** 40 lowercase hex, primary key. */
  infoHash: string;
  /** Known name (from metadata or the magnet's dn). */
  name: string | null;
  /** The bencoded info dict once known. */
  infoBytes: Uint8Array | null;
  /** A magnet link for it (with dn/tr as given). */
  magnet: string;
  trackers: string[];
  /** Directory holding the torrent's file/folder. */
  dir: string;
  paused: boolean;
  sequential: boolean;
  /** Bytes/s; null for no limit of its own. */
  uploadLimit: number | null;
  /** The files to download: indices into the torrent's files without padding files; null for every file. */
  wantedFiles: number[] | null;
  /** ms since epoch. */
  addedAt: number;
  /** Payload bytes, running totals. */
  downloaded: number;
  uploaded: number;
}

export type TorrentPatch = Partial<Pick<TorrentRow, 'name' | 'infoBytes' | 'paused' | 'sequential' | 'uploadLimit' | 'wantedFiles' | 'downloaded' | 'uploaded' | 'dir'>>;

export interface StateStoreOptions {
  /** Where damaged rows (warn) and dropped writes (debug) are reported. */
  log?: (level: 'debug' | 'warn', message: string) => void;
}

const INFO_HASH = /^[0-9a-f]{40}$/;
const COLUMNS: Record<keyof TorrentPatch, string> = {
  name: 'name', infoBytes: 'info_bytes', paused: 'paused', sequential: 'sequential',
  uploadLimit: 'upload_limit', wantedFiles: 'wanted_files', downloaded: 'downloaded', uploaded: 'uploaded', dir: 'dir',
};

type DbRow = Record<string, unknown>;
type SqlValue = string | number | Buffer | null;

const isCount = (v: unknown): v is number => Number.isSafeInteger(v) && (v as number) >= 0;
const isIndexList = (v: unknown): v is number[] => Array.isArray(v) && v.every(isCount);
const blob = (bytes: Uint8Array): Buffer => Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);

/** Checks one field of a row to be written; throws a TypeError naming it (a caller's bug). */
function checkField(key: string, value: unknown): void {
  const ok =
    key === 'infoHash' ? typeof value === 'string' && INFO_HASH.test(value)
    : key === 'name' ? value === null || typeof value === 'string'
    : key === 'infoBytes' ? value === null || value instanceof Uint8Array
    : key === 'magnet' || key === 'dir' ? typeof value === 'string' && value !== ''
    : key === 'trackers' ? Array.isArray(value) && value.every((t) => typeof t === 'string')
    : key === 'paused' || key === 'sequential' ? typeof value === 'boolean'
    : key === 'uploadLimit' ? value === null || isCount(value)
    : key === 'wantedFiles' ? value === null || isIndexList(value)
    : key === 'addedAt' || key === 'downloaded' || key === 'uploaded' ? isCount(value)
    : false;
  if (!ok) throw new TypeError(`state store: bad torrent ${key}: ${String(value).slice(0, 80)}`);
}

/** A TorrentRow field as stored. */
function toSql(key: keyof TorrentPatch, value: unknown): SqlValue {
  if (key === 'paused' || key === 'sequential') return value ? 1 : 0;
  if (key === 'infoBytes') return value === null ? null : blob(value as Uint8Array);
  if (key === 'wantedFiles') return value === null ? null : JSON.stringify(value);
  return value as SqlValue;
}

/** Who opened the file and how it failed, as the one-line error `open` throws. */
function openError(file: string, error: unknown): NodeError {
  if (error instanceof NodeError) return error;
  const { code, message } = error as { code?: string; message: string };
  if (code === 'SQLITE_BUSY') return new NodeError('STORE', `${file} is in use by another warren process`);
  if (code === 'SQLITE_NOTADB' || code === 'SQLITE_CORRUPT') return new NodeError('STORE', `${file} is not a warren state database: ${message}`);
  return new NodeError('STORE', `${file}: cannot open the state database: ${message}`);
}

/** The statements the store runs, prepared once. */
function prepareStatements(db: Database) {
  const prepare = (sql: string): Statement => db.prepare(sql);
  return {
    list: prepare('SELECT rowid, * FROM torrents ORDER BY added_at, rowid'),
    get: prepare('SELECT rowid, * FROM torrents WHERE info_hash = ?'),
    insert: prepare(`INSERT INTO torrents (info_hash, name, info_bytes, magnet, trackers, dir, paused, sequential,
      upload_limit, wanted_files, added_at, downloaded, uploaded) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO NOTHING`),
    delete: prepare('DELETE FROM torrents WHERE info_hash = ?'),
    deleteResume: prepare('DELETE FROM resume WHERE info_hash = ?'),
    getResume: prepare('SELECT data FROM resume WHERE info_hash = ?'),
    saveResume: prepare(`INSERT OR REPLACE INTO resume (info_hash, data)
      SELECT @hash, @data WHERE EXISTS (SELECT 1 FROM torrents WHERE info_hash = @hash)`),
    deleteLayers: prepare('DELETE FROM piece_layers WHERE info_hash = ?'),
    getLayers: prepare('SELECT data FROM piece_layers WHERE info_hash = ?'),
    saveLayers: prepare(`INSERT OR REPLACE INTO piece_layers (info_hash, data)
      SELECT @hash, @data WHERE EXISTS (SELECT 1 FROM torrents WHERE info_hash = @hash)`),
    getDht: prepare('SELECT data FROM dht_state WHERE id = 1'),
    saveDht: prepare('INSERT OR REPLACE INTO dht_state (id, data) VALUES (1, ?)'),
    counters: prepare('SELECT name, value FROM counters ORDER BY name'),
    addCounter: prepare('INSERT INTO counters (name, value) VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = value + excluded.value'),
    getSetting: prepare('SELECT value FROM settings WHERE key = ?'),
    setSetting: prepare('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)'),
  };
}

export class StateStore {
  /** The schema version of the open database (always the newest this code knows). */
  readonly schemaVersion: number;
  private readonly log: (level: 'debug' | 'warn', message: string) => void;
  private readonly warned = new Set<string>();
  private readonly updates = new Map<string, Statement>();
  private readonly stmt: ReturnType<typeof prepareStatements>;

  private constructor(private readonly db: Database, private readonly file: string, options: StateStoreOptions) {
    this.log = options.log ?? (() => {});
    this.schemaVersion = db.pragma('user_version', { simple: true }) as number;
    this.stmt = prepareStatements(db);
  }

  /**
   * Opens (creating it and its directory if needed) and migrates the database at `file`;
   * `':memory:'` for a throwaway one. Throws `NodeError('STORE', …)` with a one-line reason for
   * a file that is not a warren state database, is newer than this code, or is in use.
   */
  static open(file: string, options: StateStoreOptions = {}): StateStore {
    let db: Database | undefined;
    try {
      if (file !== ':memory:' && file !== '') mkdirSync(dirname(resolve(file)), { recursive: true });
      db = new BetterSqlite3(file, { timeout: 250 });
      db.pragma('locking_mode = EXCLUSIVE');
      db.pragma('journal_mode = WAL'); // the first read: fails here for a file that is not SQLite
      db.pragma('synchronous = FULL');
      db.pragma('foreign_keys = ON');
      db.pragma('busy_timeout = 5000');
      const version = db.pragma('user_version', { simple: true }) as number;
      const appId = db.pragma('application_id', { simple: true }) as number;
      if (appId !== APPLICATION_ID) {
        const tables = db.prepare("SELECT name FROM sqlite_master WHERE type = 'table'").pluck().all() as string[];
        if (appId !== 0 || version !== 0 || tables.length > 0) {
          const why = appId !== 0 ? `its application id is ${appId}`
            : tables.length > 0 ? `it holds other tables (${tables.slice(0, 5).join(', ')})`
            : `it has schema version ${version} but no warren application id`;
          throw new NodeError('STORE', `${file} is not a warren state database: ${why}`);
        }
      }
      if (version > SCHEMA_VERSION) {
        throw new NodeError('STORE', `${file}: database schema version ${version} is newer than this warren (${SCHEMA_VERSION}); upgrade warren`);
      }
      applyMigrations(db, version);
      return new StateStore(db, file, options);
    } catch (error) {
      if (db?.open) db.close();
      throw openError(file, error);
    }
  }

  /** Closes the database (idempotent). Call it after the engines that save through it stopped. */
  close(): void {
    if (this.db.open) this.db.close();
  }

  /** Every valid torrent, in the order added (addedAt, then insertion). */
  listTorrents(): TorrentRow[] {
    return (this.stmt.list.all() as DbRow[]).flatMap((row) => this.fromDb(row) ?? []);
  }

  /** `undefined` when there is no such (valid) torrent. */
  getTorrent(infoHash: string): TorrentRow | undefined {
    const row = this.stmt.get.get(infoHash) as DbRow | undefined;
    return row && this.fromDb(row);
  }

  /** Adds a torrent; `false` (and no change) if its infoHash is already there. Throws a TypeError for a malformed row. */
  insertTorrent(row: TorrentRow): boolean {
    for (const key of ['infoHash', 'name', 'infoBytes', 'magnet', 'trackers', 'dir', 'paused', 'sequential', 'uploadLimit', 'wantedFiles', 'addedAt', 'downloaded', 'uploaded']) {
      checkField(key, row[key as keyof TorrentRow]);
    }
    const result = this.stmt.insert.run(
      row.infoHash, row.name, row.infoBytes && blob(row.infoBytes), row.magnet, JSON.stringify(row.trackers), row.dir,
      row.paused ? 1 : 0, row.sequential ? 1 : 0, row.uploadLimit, toSql('wantedFiles', row.wantedFiles), row.addedAt, row.downloaded, row.uploaded,
    );
    return result.changes === 1;
  }

  /** Changes the given fields of a torrent (keys whose value is `undefined` are left alone); no-op for an unknown torrent. */
  updateTorrent(infoHash: string, patch: TorrentPatch): void {
    const keys = (Object.keys(patch) as (keyof TorrentPatch)[]).filter((k) => patch[k] !== undefined);
    for (const key of keys) {
      if (!(key in COLUMNS)) throw new TypeError(`state store: cannot update torrent ${String(key)}`);
      checkField(key, patch[key]);
    }
    if (keys.length === 0) return;
    const signature = keys.join(',');
    let statement = this.updates.get(signature);
    if (!statement) {
      statement = this.db.prepare(`UPDATE torrents SET ${keys.map((k) => `${COLUMNS[k]} = ?`).join(', ')} WHERE info_hash = ?`);
      this.updates.set(signature, statement);
    }
    statement.run(...keys.map((k) => toSql(k, patch[k])), infoHash);
  }

  /** Forgets a torrent and its resume data, in one transaction. */
  deleteTorrent(infoHash: string): void {
    this.db.transaction(() => {
      this.stmt.deleteResume.run(infoHash);
      this.stmt.deleteLayers.run(infoHash);
      this.stmt.delete.run(infoHash);
    }).immediate();
  }

  /**
   * The swarm engine's resume records and piece layers, kept with their torrents. `save` and
   * `saveLayers` are durable when they resolve; a save for a torrent not in the store (removed meanwhile) is dropped.
   */
  resumeStore(): ResumeStore {
    return {
      load: async (infoHash) => {
        const row = this.stmt.getResume.get(infoHash) as DbRow | undefined;
        if (!row) return undefined;
        const data = row['data'] instanceof Uint8Array ? decodeResume(row['data']) : undefined;
        const layers = (this.stmt.getLayers.get(infoHash) as DbRow | undefined)?.['data'];
        if (data?.infoHash === infoHash) return withPieceLayers(data, layers instanceof Uint8Array ? layers : undefined);
        this.warnOnce(`resume:${infoHash}`, `ignoring damaged resume data of ${infoHash} in ${this.file}`);
        return undefined;
      },
      save: async (data) => {
        const infoHash = data.infoHash.toLowerCase();
        const result = this.stmt.saveResume.run({ hash: infoHash, data: blob(encodeResume(data)) });
        if (result.changes === 0) this.log('debug', `resume data of ${infoHash} dropped: the torrent is not in the store`);
      },
      saveLayers: async (infoHash, layers) => {
        this.stmt.saveLayers.run({ hash: infoHash.toLowerCase(), data: blob(encodePieceLayers(infoHash, layers)) });
      },
    };
  }

  /** The DHT's id and routing table; a damaged record is reported through `load`'s `warn` and ignored. */
  dhtStateStore(): NodeStateStore {
    return {
      load: async (warn) => {
        const row = this.stmt.getDht.get() as DbRow | undefined;
        if (!row) return undefined;
        try {
          if (!(row['data'] instanceof Uint8Array)) throw new Error('not a blob');
          return decodeNodeState(row['data']);
        } catch (error) {
          warn(`ignoring damaged DHT state in ${this.file}: ${(error as Error).message}`);
          return undefined;
        }
      },
      save: async (state) => {
        this.stmt.saveDht.run(blob(encodeNodeState(state)));
      },
    };
  }

  /** Node-wide running totals by name. */
  counters(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const row of this.stmt.counters.all() as DbRow[]) {
      if (typeof row['name'] === 'string' && Number.isSafeInteger(row['value'])) out[row['name']] = row['value'] as number;
      else this.warnOnce(`counter:${String(row['name'])}`, `ignoring damaged counter ${String(row['name'])} in ${this.file}`);
    }
    return out;
  }

  /** Adds each delta (a safe integer, may be negative) to its counter, all in one transaction. */
  addCounters(deltas: Record<string, number>): void {
    const entries = Object.entries(deltas);
    for (const [name, delta] of entries) {
      if (!Number.isSafeInteger(delta)) throw new TypeError(`state store: counter ${name}: bad delta ${delta}`);
    }
    this.db.transaction(() => {
      for (const [name, delta] of entries) this.stmt.addCounter.run(name, delta);
    }).immediate();
  }

  /** A small stored string (e.g. a UI preference); `undefined` when unset. */
  setting(key: string): string | undefined {
    const row = this.stmt.getSetting.get(key) as DbRow | undefined;
    return typeof row?.['value'] === 'string' ? row['value'] : undefined;
  }

  /** Stores (or replaces) a setting; durable on return. */
  setSetting(key: string, value: string): void {
    this.stmt.setSetting.run(key, value);
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    this.warned.add(key);
    this.log('warn', message);
  }

  /** A stored row as a TorrentRow; `undefined` (with a warning) when it cannot be one. */
  private fromDb(row: DbRow): TorrentRow | undefined {
    const id = `torrent:${String(row['rowid'])}`;
    const { info_hash: infoHash, magnet, dir } = row;
    if (typeof infoHash !== 'string' || !INFO_HASH.test(infoHash) || typeof magnet !== 'string' || typeof dir !== 'string' || dir === '') {
      this.warnOnce(id, `skipping damaged torrent row ${String(row['rowid'])} (infohash ${String(infoHash).slice(0, 40)}) in ${this.file}`);
      return undefined;
    }
    const repaired: string[] = [];
    const field = <T>(name: string, ok: boolean, value: T, fallback: T): T => {
      if (ok) return value;
      repaired.push(name);
      return fallback;
    };
    const json = (value: unknown): unknown => {
      try {
        return JSON.parse(String(value));
      } catch {
        return undefined; // repaired below
      }
    };
    const trackers = json(row['trackers']);
    const { name, info_bytes: info, paused, sequential, upload_limit: limit, wanted_files: wanted, added_at: added, downloaded, uploaded } = row;
    const wantedFiles = wanted === null ? null : json(wanted);
    const torrent: TorrentRow = {
      infoHash,
      name: field('name', name === null || typeof name === 'string', name as string | null, null),
      infoBytes: field('info', info === null || info instanceof Uint8Array, info instanceof Uint8Array ? new Uint8Array(info) : null, null),
      magnet,
      trackers: field('trackers', Array.isArray(trackers) && trackers.every((t) => typeof t === 'string'), trackers as string[], []),
      dir,
      paused: field('paused', paused === 0 || paused === 1, paused === 1, false),
      sequential: field('sequential', sequential === 0 || sequential === 1, sequential === 1, false),
      uploadLimit: field('uploadLimit', limit === null || isCount(limit), limit as number | null, null),
      // A damaged choice falls back to every file: more than asked for, never less.
      wantedFiles: field('wantedFiles', wantedFiles === null || isIndexList(wantedFiles), wantedFiles as number[] | null, null),
      addedAt: field('addedAt', isCount(added), added as number, 0),
      downloaded: field('downloaded', isCount(downloaded), downloaded as number, 0),
      uploaded: field('uploaded', isCount(uploaded), uploaded as number, 0),
    };
    if (repaired.length > 0) this.warnOnce(id, `torrent ${infoHash} in ${this.file}: ignoring damaged ${repaired.join(', ')}`);
    return torrent;
  }
}
