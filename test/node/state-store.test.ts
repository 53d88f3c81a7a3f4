import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isDeepStrictEqual } from 'node:util';
import BetterSqlite3 from 'better-sqlite3';
import { toNodeId } from '../../src/dht/types.js';
import { NodeError } from '../../src/node/errors.js';
import { MIGRATIONS, SCHEMA_VERSION } from '../../src/node/migrations.js';
import { StateStore, type TorrentRow } from '../../src/node/state-store.js';
import { encodeResume, type ResumeData } from '../../src/swarm/resume.js';
import { hashOf, modelAfter, resumeOf, rowOf, WRITES_PER_ROUND } from './fixtures/store-writes.js';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-store-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** A raw connection, for making databases by hand and damaging them. */
function raw(file: string, fn: (db: BetterSqlite3.Database) => void): void {
  const db = new BetterSqlite3(file);
  try {
    fn(db);
  } finally {
    db.close();
  }
}

function storeError(fn: () => unknown): NodeError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof NodeError, `expected a NodeError, got ${String(error)}`);
    assert.equal(error.code, 'STORE');
    return error;
  }
  assert.fail('expected open to throw');
}

const resume: ResumeData = { infoHash: hashOf(1), pieceCount: 10, have: new Uint8Array([0b10010000, 0b01000000]), files: [{ size: 5, mtimeMs: 1700000000123.5 }, null] };

describe('StateStore', () => {
  test('a new database is at the newest schema version', () => {
    const store = StateStore.open(':memory:');
    assert.equal(store.schemaVersion, SCHEMA_VERSION);
    assert.equal(SCHEMA_VERSION, MIGRATIONS.length);
    assert.ok(SCHEMA_VERSION >= 2);
    store.close();
    store.close(); // idempotent
  });

  test('torrents: insert, get, list in the order added, update, delete', () => {
    const store = StateStore.open(':memory:');
    const a: TorrentRow = { ...rowOf(1), addedAt: 2000 };
    const b: TorrentRow = { ...rowOf(2), addedAt: 1000 };
    const c: TorrentRow = { ...rowOf(3), addedAt: 2000 };
    assert.equal(store.insertTorrent(a), true);
    assert.equal(store.insertTorrent(b), true);
    assert.equal(store.insertTorrent(c), true);
    assert.deepEqual(store.getTorrent(a.infoHash), a);
    assert.deepEqual(store.getTorrent(b.infoHash), b); // name, infoBytes and uploadLimit set
    assert.equal(store.getTorrent(hashOf(99)), undefined);
    assert.deepEqual(store.listTorrents().map((t) => t.infoHash), [b.infoHash, a.infoHash, c.infoHash]);

    assert.equal(store.insertTorrent({ ...a, name: 'other', dir: '/elsewhere' }), false);
    assert.deepEqual(store.getTorrent(a.infoHash), a);

    const patch = { name: 'named', infoBytes: new Uint8Array([1, 2, 3]), paused: true, sequential: true, uploadLimit: 4096, wantedFiles: [0, 3, 17], downloaded: 123456789012, uploaded: 42, dir: '/new' };
    store.updateTorrent(a.infoHash, patch);
    assert.deepEqual(store.getTorrent(a.infoHash), { ...a, ...patch });
    store.updateTorrent(a.infoHash, { name: null, infoBytes: null, uploadLimit: null, wantedFiles: null, paused: false, downloaded: undefined });
    assert.deepEqual(store.getTorrent(a.infoHash), { ...a, ...patch, name: null, infoBytes: null, uploadLimit: null, wantedFiles: null, paused: false });
    store.updateTorrent(a.infoHash, { wantedFiles: [] });
    assert.deepEqual(store.getTorrent(a.infoHash)?.wantedFiles, [], 'no file at all is a choice too, not "every file"');
    assert.throws(() => store.updateTorrent(a.infoHash, { wantedFiles: [1, -2] }), TypeError);
    assert.throws(() => store.updateTorrent(a.infoHash, { wantedFiles: [0.5] }), TypeError);
    store.updateTorrent(hashOf(99), { paused: true }); // unknown: no-op
    assert.throws(() => store.updateTorrent(a.infoHash, { downloaded: -1 }), TypeError);
    assert.throws(() => store.updateTorrent(a.infoHash, { magnet: 'x' } as never), TypeError);

    store.deleteTorrent(a.infoHash);
    assert.equal(store.getTorrent(a.infoHash), undefined);
    assert.deepEqual(store.listTorrents().map((t) => t.infoHash), [b.infoHash, c.infoHash]);
    store.close();
  });

  test('a malformed torrent row is refused before anything is written', () => {
    const store = StateStore.open(':memory:');
    assert.throws(() => store.insertTorrent({ ...rowOf(1), infoHash: 'AB'.repeat(20) }), TypeError);
    assert.throws(() => store.insertTorrent({ ...rowOf(1), trackers: [5] as never }), TypeError);
    assert.throws(() => store.insertTorrent({ ...rowOf(1), addedAt: Number.NaN }), TypeError);
    assert.throws(() => store.insertTorrent({ ...rowOf(1), wantedFiles: ['1'] as never }), TypeError);
    assert.deepEqual(store.listTorrents(), []);
    store.close();
  });

  test('resume data through the ResumeStore interface; deleting the torrent deletes it', async () => {
    const store = StateStore.open(':memory:');
    const resumeStore = store.resumeStore();
    store.insertTorrent(rowOf(1));
    assert.equal(await resumeStore.load(hashOf(1)), undefined);
    await resumeStore.save(resume);
    assert.deepEqual(await resumeStore.load(hashOf(1)), resume);
    const later = { ...resume, have: new Uint8Array([0xff, 0xc0]) };
    await resumeStore.save(later);
    assert.deepEqual(await resumeStore.load(hashOf(1)), later);

    await resumeStore.save(resumeOf(7)); // no such torrent: dropped
    assert.equal(await resumeStore.load(hashOf(7)), undefined);

    store.deleteTorrent(hashOf(1));
    store.insertTorrent(rowOf(1));
    assert.equal(await resumeStore.load(hashOf(1)), undefined, 'the old resume row went with the torrent');
    store.close();
  });

  test("a v2 torrent's piece layers: a row of their own, joined on load, gone with the torrent", async () => {
    const store = StateStore.open(':memory:');
    const resumeStore = store.resumeStore();
    store.insertTorrent(rowOf(1));
    const layers = new Map([['0a'.repeat(32), new Uint8Array(64).fill(7)]]);
    await resumeStore.saveLayers(hashOf(1), layers);
    assert.equal(await resumeStore.load(hashOf(1)), undefined, 'layers alone are no record');
    await resumeStore.save(resume);
    assert.deepEqual(await resumeStore.load(hashOf(1)), { ...resume, pieceLayers: layers });
    await resumeStore.save({ ...resume, have: new Uint8Array([0xff, 0xc0]) });
    assert.deepEqual((await resumeStore.load(hashOf(1)))?.pieceLayers, layers, 'a record save keeps the layers');

    await resumeStore.saveLayers(hashOf(7), layers); // no such torrent: dropped
    store.insertTorrent(rowOf(7));
    await resumeStore.save(resumeOf(7));
    assert.equal((await resumeStore.load(hashOf(7)))?.pieceLayers, undefined);

    store.deleteTorrent(hashOf(1));
    store.insertTorrent(rowOf(1));
    await resumeStore.save(resume);
    assert.equal((await resumeStore.load(hashOf(1)))?.pieceLayers, undefined, 'the old layers went with the torrent');
    store.close();
  });

  test('DHT state through the NodeStateStore interface', async () => {
    const store = StateStore.open(':memory:');
    const dht = store.dhtStateStore();
    const warnings: string[] = [];
    assert.equal(await dht.load((m) => warnings.push(m)), undefined);
    const state = { nodeId: toNodeId('ab'.repeat(20)), externalIp: '203.0.113.7', contacts: [{ id: toNodeId('cd'.repeat(20)), address: { host: '10.0.0.1', port: 6881 } }] };
    await dht.save(state);
    assert.deepEqual(await dht.load((m) => warnings.push(m)), state);
    await dht.save({ ...state, contacts: [] });
    assert.deepEqual((await dht.load((m) => warnings.push(m)))?.contacts, []);
    assert.deepEqual(warnings, []);
    store.close();
  });

  test('counters add up in one transaction; settings round-trip', () => {
    const store = StateStore.open(':memory:');
    assert.deepEqual(store.counters(), {});
    store.addCounters({ downloaded: 100, uploaded: 5 });
    store.addCounters({ downloaded: 50, peers: 1 });
    store.addCounters({});
    assert.deepEqual(store.counters(), { downloaded: 150, peers: 1, uploaded: 5 });
    assert.throws(() => store.addCounters({ downloaded: 1, uploaded: 0.5 }), TypeError);
    assert.deepEqual(store.counters(), { downloaded: 150, peers: 1, uploaded: 5 }, 'a bad batch changes nothing');

    assert.equal(store.setting('theme'), undefined);
    store.setSetting('theme', 'dark');
    store.setSetting('theme', 'light');
    store.setSetting('empty', '');
    assert.equal(store.setting('theme'), 'light');
    assert.equal(store.setting('empty'), '');
    store.close();
  });

  test('everything survives close and reopen', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'sub', 'state.db');
      const store = StateStore.open(file);
      store.insertTorrent(rowOf(1));
      await store.resumeStore().save(resume);
      await store.dhtStateStore().save({ nodeId: toNodeId('ab'.repeat(20)), contacts: [] });
      store.addCounters({ a: 3 });
      store.setSetting('k', 'v');
      store.close();
      const again = StateStore.open(file);
      assert.deepEqual(again.listTorrents(), [rowOf(1)]);
      assert.deepEqual(await again.resumeStore().load(hashOf(1)), resume);
      assert.deepEqual((await again.dhtStateStore().load(() => {}))?.nodeId, toNodeId('ab'.repeat(20)));
      assert.deepEqual(again.counters(), { a: 3 });
      assert.equal(again.setting('k'), 'v');
      again.close();
    });
  });

  test('a database made at version 1 is migrated and keeps its rows', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'state.db');
      raw(file, (db) => {
        db.exec(MIGRATIONS[0]!.up as string);
        db.pragma('user_version = 1');
        db.prepare("INSERT INTO torrents (info_hash, magnet, dir, added_at) VALUES (?, 'magnet:?xt=urn:btih:x', '/d', 5)").run(hashOf(1));
      });
      const store = StateStore.open(file);
      assert.equal(store.schemaVersion, SCHEMA_VERSION);
      assert.deepEqual(store.listTorrents().map((t) => [t.infoHash, t.trackers, t.paused, t.addedAt]), [[hashOf(1), [], false, 5]]);
      store.addCounters({ x: 1 });
      store.setSetting('a', 'b');
      assert.deepEqual(store.counters(), { x: 1 });
      store.close();
      raw(file, (db) => assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION));
    });
  });

  test('a database made at version 2 loses the copied upload limits (version 3: NULL is the node setting)', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'state.db');
      raw(file, (db) => {
        for (const step of MIGRATIONS.slice(0, 2)) db.exec(step.up as string);
        db.pragma('user_version = 2');
        db.prepare("INSERT INTO torrents (info_hash, magnet, dir, added_at, upload_limit) VALUES (?, 'magnet:?xt=urn:btih:x', '/d', 5, 1048576)").run(hashOf(2));
      });
      const store = StateStore.open(file);
      assert.deepEqual(store.listTorrents().map((t) => [t.infoHash, t.uploadLimit, t.addedAt]), [[hashOf(2), null, 5]]);
      store.close();
    });
  });

  test('a database made at version 3 gains the file choice (version 4: NULL is every file)', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'state.db');
      raw(file, (db) => {
        for (const step of MIGRATIONS.slice(0, 3)) db.exec(step.up as string);
        db.pragma('user_version = 3');
        db.prepare("INSERT INTO torrents (info_hash, magnet, dir, added_at, paused) VALUES (?, 'magnet:?xt=urn:btih:x', '/d', 5, 1)").run(hashOf(3));
      });
      const store = StateStore.open(file);
      assert.equal(store.schemaVersion, SCHEMA_VERSION);
      assert.deepEqual(store.listTorrents().map((t) => [t.infoHash, t.wantedFiles, t.paused, t.addedAt]), [[hashOf(3), null, true, 5]]);
      store.updateTorrent(hashOf(3), { wantedFiles: [2, 5] });
      store.close();
      raw(file, (db) => assert.equal(db.prepare('SELECT wanted_files FROM torrents').pluck().get(), '[2,5]'));
      const again = StateStore.open(file);
      assert.deepEqual(again.getTorrent(hashOf(3))?.wantedFiles, [2, 5]);
      again.close();
    });
  });

  test('a database made at version 4 gains the piece layers table (version 5), and its resume rows still load', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'state.db');
      raw(file, (db) => {
        for (const step of MIGRATIONS.slice(0, 4)) db.exec(step.up as string);
        db.pragma('user_version = 4');
        db.prepare("INSERT INTO torrents (info_hash, magnet, dir, added_at) VALUES (?, 'magnet:?xt=urn:btih:x', '/d', 5)").run(hashOf(1));
        db.prepare('INSERT INTO resume (info_hash, data) VALUES (?, ?)').run(hashOf(1), Buffer.from(encodeResume(resume)));
      });
      const store = StateStore.open(file);
      assert.equal(store.schemaVersion, SCHEMA_VERSION);
      assert.deepEqual(await store.resumeStore().load(hashOf(1)), resume);
      const layers = new Map([['0b'.repeat(32), new Uint8Array(32).fill(1)]]);
      await store.resumeStore().saveLayers(hashOf(1), layers);
      assert.deepEqual((await store.resumeStore().load(hashOf(1)))?.pieceLayers, layers);
      store.close();
    });
  });

  test('refuses a newer schema, a file that is not SQLite, another application, a file in use', async () => {
    await withDir(async (dir) => {
      const newer = join(dir, 'newer.db');
      StateStore.open(newer).close();
      raw(newer, (db) => db.pragma(`user_version = ${SCHEMA_VERSION + 5}`));
      assert.equal(storeError(() => StateStore.open(newer)).message, `${newer}: database schema version ${SCHEMA_VERSION + 5} is newer than this warren (${SCHEMA_VERSION}); upgrade warren`);

      const garbage = join(dir, 'garbage.db');
      await writeFile(garbage, 'this is not a database, just some text\n'.repeat(200));
      assert.equal(storeError(() => StateStore.open(garbage)).message, `${garbage} is not a warren state database: file is not a database`);

      const other = join(dir, 'other.db');
      raw(other, (db) => db.exec('CREATE TABLE songs (title TEXT)'));
      assert.match(storeError(() => StateStore.open(other)).message, /other\.db is not a warren state database: it holds other tables \(songs\)$/);

      const busy = join(dir, 'busy.db');
      const first = StateStore.open(busy);
      assert.equal(storeError(() => StateStore.open(busy)).message, `${busy} is in use by another warren process`);
      first.close();
      StateStore.open(busy).close();
    });
  });

  test('damaged rows are skipped or repaired with a warning, never thrown', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'state.db');
      const store = StateStore.open(file);
      store.insertTorrent(rowOf(1));
      store.insertTorrent(rowOf(2));
      await store.resumeStore().save(resume);
      store.close();
      raw(file, (db) => {
        db.prepare("INSERT INTO torrents (info_hash, magnet, dir, added_at) VALUES ('not-a-hash', 'm', '/d', 1)").run();
        db.prepare("UPDATE torrents SET trackers = '{oops', paused = 'maybe', downloaded = -5, wanted_files = '[1,' WHERE info_hash = ?").run(hashOf(2));
        db.prepare("UPDATE torrents SET wanted_files = '[0,-1]' WHERE info_hash = ?").run(hashOf(1));
        db.prepare("UPDATE resume SET data = X'7b6e6f' WHERE info_hash = ?").run(hashOf(1));
        db.prepare("INSERT INTO counters (name, value) VALUES ('good', 2), ('bad', 'text')").run();
        db.prepare("INSERT INTO dht_state (id, data) VALUES (1, X'00ff')").run();
      });
      const warnings: string[] = [];
      const again = StateStore.open(file, { log: (level, message) => level === 'warn' && warnings.push(message) });
      assert.deepEqual(again.listTorrents(), [{ ...rowOf(1), wantedFiles: null }, { ...rowOf(2), trackers: [], paused: false, wantedFiles: null, downloaded: 0 }]);
      assert.equal(again.getTorrent('not-a-hash'), undefined);
      assert.equal(await again.resumeStore().load(hashOf(1)), undefined);
      assert.deepEqual(again.counters(), { good: 2 });
      const dhtWarnings: string[] = [];
      assert.equal(await again.dhtStateStore().load((m) => dhtWarnings.push(m)), undefined);
      assert.equal(dhtWarnings.length, 1);
      again.listTorrents(); // warned once per row, not on every read
      assert.equal(warnings.length, 5, warnings.join('\n'));
      assert.match(warnings.join('\n'), /skipping damaged torrent row/);
      assert.match(warnings.join('\n'), /ignoring damaged trackers, paused, wantedFiles, downloaded/);
      assert.match(warnings.join('\n'), /torrent 0+1 in .*: ignoring damaged wantedFiles$/m);
      again.close();
    });
  });

  test('every acknowledged write survives kill -9', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'state.db');
      const script = fileURLToPath(new URL('./fixtures/store-writer.js', import.meta.url));
      const child = spawn(process.execPath, [script, file], { stdio: ['ignore', 'pipe', 'inherit'] });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.on('exit', (_code, signal) => resolve(signal)));
      const killAfter = 40 * WRITES_PER_ROUND + 3; // mid-round, mid-stream
      let acked = 0;
      let buffered = '';
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        buffered += chunk;
        const lines = buffered.split('\n');
        buffered = lines.pop()!;
        for (const line of lines) {
          assert.equal(line, `ack ${acked}`);
          acked++;
        }
        if (acked >= killAfter) child.kill('SIGKILL');
      });
      assert.equal(await exited, 'SIGKILL');
      assert.ok(acked >= killAfter);

      const store = StateStore.open(file);
      const written = store.setting('last') === undefined ? 0 : Number(store.setting('last'));
      const candidates = [await modelAfter(acked), await modelAfter(acked + 1)];
      const actual = {
        torrents: store.listTorrents(),
        resume: await Promise.all(Array.from({ length: written + 2 }, (_, i) => store.resumeStore().load(hashOf(i)))),
        counters: store.counters(),
        last: store.setting('last'),
      };
      const ok = candidates.map((model) =>
        isDeepStrictEqual(actual, {
          torrents: [...model.torrents.values()],
          resume: Array.from({ length: written + 2 }, (_, i) => model.resume.get(hashOf(i))),
          counters: model.counters,
          last: model.last,
        }),
      );
      assert.ok(ok[0] || ok[1], `state after ${acked} acked writes matches neither ${acked} nor ${acked + 1} writes`);
      store.close();
      raw(file, (db) => {
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok');
        assert.deepEqual(db.pragma('foreign_key_check'), []);
      });
    });
  });
});
