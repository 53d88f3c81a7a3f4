/**
 * The schema of the node's state database (`state-store.ts`) as an ordered list of steps. The
 * database's `PRAGMA user_version` is the number of steps already applied; `StateStore.open`
 * applies the missing ones, each in its own transaction together with the new user_version, so a
 * crash mid-upgrade leaves the database at the previous version, never between two.
 *
 * Rules for whoever adds a step: append only (never edit or reorder a released step), keep each
 * step runnable on a database produced by the steps before it, and add a test that opens a
 * database made at the previous version.
 */
import type { Database } from 'better-sqlite3';

/** One schema change: SQL to run, or a function for changes SQL alone cannot express. */
export interface Migration {
  /** The user_version the database has once this step is applied (1, 2, 3, …). */
  version: number;
  description: string;
  up: string | ((db: Database) => void);
}

/** `PRAGMA application_id` of a warren state database ("warr"), set by the first step. */
export const APPLICATION_ID = 0x77617272;

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    description: 'torrents and their resume data',
    up: `
      PRAGMA application_id = ${APPLICATION_ID};
      CREATE TABLE torrents (
        info_hash   TEXT PRIMARY KEY NOT NULL,
        name        TEXT,
        info_bytes  BLOB,
        magnet      TEXT NOT NULL,
        trackers    TEXT NOT NULL DEFAULT '[]',
        dir         TEXT NOT NULL,
        paused      INTEGER NOT NULL DEFAULT 0,
        sequential  INTEGER NOT NULL DEFAULT 0,
        upload_limit INTEGER,
        added_at    INTEGER NOT NULL,
        downloaded  INTEGER NOT NULL DEFAULT 0,
        uploaded    INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX torrents_by_added ON torrents (added_at);
      CREATE TABLE resume (
        info_hash TEXT PRIMARY KEY NOT NULL REFERENCES torrents (info_hash) ON DELETE CASCADE,
        data      BLOB NOT NULL
      );
    `,
  },
  {
    version: 2,
    description: 'counters, settings and the DHT state',
    up: `
      CREATE TABLE counters (name TEXT PRIMARY KEY NOT NULL, value INTEGER NOT NULL);
      CREATE TABLE settings (key TEXT PRIMARY KEY NOT NULL, value TEXT NOT NULL);
      CREATE TABLE dht_state (id INTEGER PRIMARY KEY CHECK (id = 1), data BLOB NOT NULL);
    `,
  },
  {
    version: 3,
    // Nothing could set a torrent's own upload limit yet: the values are copies of the node's
    // setting when each torrent was added, which would outlive a change of that setting.
    description: "a torrent's upload_limit is its own override (NULL: the node's setting)",
    up: `UPDATE torrents SET upload_limit = NULL;`,
  },
  {
    version: 4,
    description: "the files of a torrent to download (JSON array of indices; NULL: every file)",
    up: `ALTER TABLE torrents ADD COLUMN wanted_files TEXT;`,
  },
  {
    version: 5,
    description: "a v2 torrent's verified piece layers, apart from its resume record (written once, not every save)",
    up: `
      CREATE TABLE piece_layers (
        info_hash TEXT PRIMARY KEY NOT NULL REFERENCES torrents (info_hash) ON DELETE CASCADE,
        data      BLOB NOT NULL
      );
    `,
  },
];

/** The schema version this code writes: the number of steps. */
export const SCHEMA_VERSION = MIGRATIONS.length;

/**
 * Brings `db` from `from` (its current user_version) to `SCHEMA_VERSION`, one transaction per
 * step. The caller has already refused versions newer than `SCHEMA_VERSION`.
 */
export function applyMigrations(db: Database, from: number): void {
  for (const step of MIGRATIONS) {
    if (step.version <= from) continue;
    db.transaction(() => {
      if (typeof step.up === 'string') db.exec(step.up);
      else step.up(db);
      db.pragma(`user_version = ${step.version}`);
    }).immediate();
  }
}
