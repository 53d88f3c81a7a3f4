/**
 * Swarm interop with aria2c on 127.0.0.1, no DHT: peers meet through a tiny HTTP tracker run by the
 * test (aria2c takes peers from nowhere else). aria2c downloads a random multi-file folder from
 * warren, and warren downloads it from aria2c seeding; both bytes must match the source exactly.
 * Both again with aria2c and warren accepting only MSE-encrypted connections with RC4.
 * Fails, never skips, when aria2c is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { selectableFiles, wantedPieceMask } from '../../src/swarm/file-selection.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import type { SwarmSession } from '../../src/swarm/session.js';
import { assertSameTree, makeTempDir, removeDir, startWarren, torrentComplete, writeRandomFolder } from './swarm-fixtures.js';
import { TestTracker } from './swarm-tracker.js';
import { aria2CommonOptions } from './aria2-options.js';

const ARIA2C = 'aria2c';
const NAME = 'payload';

const ARIA2_COMMON = aria2CommonOptions('127.0.0.1');

/** A running aria2c: its exit, and the tail of its output for failure messages. */
class Aria2 {
  private output = '';
  readonly exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;

  constructor(private readonly child: ChildProcess) {
    const keep = (chunk: Buffer) => (this.output = (this.output + chunk.toString()).slice(-4000));
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
  }

  static run(args: string[]): Aria2 {
    const extra = process.env.WARREN_ARIA2_LOG ? [`--log=${process.env.WARREN_ARIA2_LOG}`, '--log-level=debug'] : [];
    return new Aria2(spawn(ARIA2C, [...ARIA2_COMMON, ...extra, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }));
  }

  get log(): string {
    return this.output;
  }

  /** Stops it (SIGTERM, then SIGKILL if it lingers) and waits until it is gone. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    this.child.kill('SIGTERM');
    const killer = setTimeout(() => this.child.kill('SIGKILL'), 3000);
    await this.exited;
    clearTimeout(killer);
  }
}

/** Throws a clear error when aria2c is missing: CI installs it, so never skip. */
function assertAria2Installed(): void {
  const probe = spawnSync(ARIA2C, ['--version'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(`aria2 interop needs ${ARIA2C} on the PATH (Debian: apt-get install aria2); it failed: ${probe.error?.message ?? probe.stderr}`);
  }
}

test('aria2c is installed', () => assertAria2Installed());

describe('interop: aria2c swarm on 127.0.0.1', { timeout: 90_000 }, () => {
  let root: string | undefined;
  let srcDir = '';
  let tracker: TestTracker | undefined;
  const sessions: SwarmSession[] = [];
  const aria2s: Aria2[] = [];

  const dir = async (name: string) => {
    assert.ok(root);
    const path = join(root, name);
    await mkdir(path, { recursive: true });
    return path;
  };
  const theTracker = () => {
    assert.ok(tracker, 'the tracker did not start');
    return tracker;
  };
  const warren = async (options: Parameters<typeof startWarren>[0] = {}) => {
    const session = await startWarren(options);
    sessions.push(session);
    return session;
  };
  /** A .torrent of the source folder announcing to the test tracker, written to `file`. */
  const makeTorrent = async (session: SwarmSession, pieceLength: number, file: string) => {
    const created = await createTorrent(session.runtime.fs, join(srcDir, NAME), { pieceLength, trackers: [theTracker().url] });
    await writeFile(file, created.bytes);
    return { created, infoHash: toInfoHash(created.infoHash), hex: toHex(toInfoHash(created.infoHash)) };
  };

  before(async () => {
    assertAria2Installed();
    root = await makeTempDir('swarm-aria2');
    srcDir = await dir('src');
    await writeRandomFolder(join(srcDir, NAME));
    tracker = await TestTracker.start();
  });

  after(async () => {
    await Promise.all(aria2s.map((a) => a.stop()));
    await Promise.all(sessions.map((s) => s.close()));
    await tracker?.close();
    await removeDir(root);
  });

  /** aria2c downloads from warren; `crypto` are aria2c's flags, `warrenOptions` warren's session options. */
  const aria2FromWarren = async (pieceLength: number, crypto: string[], warrenOptions: Parameters<typeof startWarren>[0]) => {
    const session = await warren(warrenOptions);
    const file = join(root!, `to-aria2-${pieceLength}.torrent`);
    const { created, infoHash, hex } = await makeTorrent(session, pieceLength, file);
    const warrenPort = session.address.port;
    const announced = theTracker().nextAnnounce((a) => a.infoHash === hex && a.port === warrenPort);
    await session.add({ infoHash, infoBytes: created.infoBytes, dir: srcDir, trackers: [theTracker().url], assumeComplete: true });
    // warren announces itself (left=0) before aria2c asks the tracker, so aria2c learns of it at once.
    assert.equal((await announced).left, 0, 'warren, a seed, announced bytes left');
    const out = await dir(`aria2-from-warren-${pieceLength}`);
    const aria2 = Aria2.run([`--dir=${out}`, '--seed-time=0', ...crypto, file]);
    aria2s.push(aria2);
    const { code, signal } = await aria2.exited;
    assert.equal(code, 0, `aria2c failed (exit ${code}, signal ${signal}):\n${aria2.log}`);
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
    assert.ok(theTracker().announces.some((a) => a.infoHash === hex && a.port !== warrenPort), 'aria2c never announced');
  };

  /**
   * warren downloads from aria2c seeding, with the same parameters as above; `chosen`: only these
   * files (paths below the torrent's folder), checked piece by piece.
   */
  const warrenFromAria2 = async (pieceLength: number, crypto: string[], warrenOptions: Parameters<typeof startWarren>[0], chosen?: string[]) => {
    const session = await warren(warrenOptions);
    const file = join(root!, `from-aria2-${pieceLength}.torrent`);
    const { created, infoHash, hex } = await makeTorrent(session, pieceLength, file);
    const seeding = theTracker().nextAnnounce((a) => a.infoHash === hex && a.left === 0);
    const aria2 = Aria2.run([`--dir=${srcDir}`, '--check-integrity=true', '--seed-ratio=0.0', ...crypto, file]);
    aria2s.push(aria2);
    const gone = aria2.exited.then(({ code, signal }) => {
      throw new Error(`aria2c exited while seeding (exit ${code}, signal ${signal}):\n${aria2.log}`);
    });
    // aria2c announces once its check found every piece; warren then finds it through the tracker.
    await Promise.race([seeding, gone]);
    const out = await dir(`warren-from-aria2-${pieceLength}`);
    const paths = selectableFiles(created.info).map((f) => f.path.join('/'));
    const wantedFiles = chosen?.map((path) => paths.indexOf(path));
    const torrent = await session.add({ infoHash, infoBytes: created.infoBytes, dir: out, trackers: [theTracker().url], wantedFiles });
    await Promise.race([torrentComplete(torrent), gone]);
    if (!chosen || !wantedFiles) {
      await assertSameTree(join(srcDir, NAME), join(out, NAME));
      assert.ok(torrent.stats().downloaded >= created.info.totalLength, 'warren says it downloaded less than the whole torrent');
      return;
    }
    const mask = wantedPieceMask(created.info, wantedFiles);
    for (let i = 0; i < created.info.pieceCount; i++) assert.equal(torrent.picker!.has(i), mask[i] === 1, `piece ${i}`);
    for (const path of chosen) assert.ok((await readFile(join(out, NAME, path))).equals(await readFile(join(srcDir, NAME, path))), `${path} differs`);
    assert.ok(torrent.stats().downloaded <= torrent.stats().wantedLength, 'warren downloaded pieces it did not want');
  };

  // Each test has its own piece length: another infohash, so the swarms never mix.
  test('aria2c downloads from warren', { timeout: 30_000 }, () => aria2FromWarren(32768, [], {}));
  test('warren downloads from aria2c seeding', { timeout: 30_000 }, () => warrenFromAria2(65536, [], {}));
  test('warren downloads only the files it chose from aria2c seeding', { timeout: 30_000 }, () =>
    warrenFromAria2(262144, [], {}, ['nested/deeper/gamma.bin', 'omega.txt']));
  test('aria2c --select-file downloads one file from warren: warren and aria2c number files alike', { timeout: 30_000 }, async () => {
    const session = await warren();
    const file = join(root!, 'to-aria2-select.torrent');
    const { created, infoHash } = await makeTorrent(session, 524288, file);
    await session.add({ infoHash, infoBytes: created.infoBytes, dir: srcDir, trackers: [theTracker().url], assumeComplete: true });
    const number = selectableFiles(created.info).findIndex((f) => f.path.join('/') === 'nested/beta.bin') + 1;
    const out = await dir('aria2-select-from-warren');
    const aria2 = Aria2.run([`--dir=${out}`, '--seed-time=0', `--select-file=${number}`, file]);
    aria2s.push(aria2);
    const { code, signal } = await aria2.exited;
    assert.equal(code, 0, `aria2c failed (exit ${code}, signal ${signal}):\n${aria2.log}`);
    assert.ok((await readFile(join(out, NAME, 'nested/beta.bin'))).equals(await readFile(join(srcDir, NAME, 'nested/beta.bin'))), 'beta.bin differs');
  });

  /** aria2c accepting only encrypted connections with RC4 payload (its strictest setting). */
  const ARIA2_RC4_ONLY = ['--bt-require-crypto=true', '--bt-min-crypto-level=arc4'];
  test('encrypted (MSE, RC4): aria2c requiring it downloads from warren requiring it', { timeout: 30_000 }, () =>
    aria2FromWarren(16384, ARIA2_RC4_ONLY, { encryption: 'require' }));
  test('encrypted (MSE, RC4): warren requiring it downloads from aria2c requiring it', { timeout: 30_000 }, () =>
    warrenFromAria2(131072, ARIA2_RC4_ONLY, { encryption: 'require' }));
});
