/**
 * Shared pieces of the swarm interop tests (swarm-libtorrent.test.ts, swarm-aria2.test.ts): a
 * random multi-file folder to share, a byte-exact comparison of two folders, warren sessions on
 * 127.0.0.1 without a DHT, and waiting for a torrent's events.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { SwarmSession } from '../../src/swarm/session.js';
import type { PeerStats, Torrent } from '../../src/swarm/torrent.js';
import type { EncryptionPolicy } from '../../src/swarm/mse-handshake.js';

/** One file of the shared folder: its path below the folder and its size. */
export interface FixtureFile {
  path: string;
  size: number;
}

/**
 * The shared folder (~4.8 MiB): sizes that are not multiples of any piece length, so pieces span
 * file boundaries; nested folders; a one-byte file, an empty file and an exact power of two.
 */
export const FOLDER_FILES: readonly FixtureFile[] = [
  { path: 'alpha.bin', size: 1_500_001 },
  { path: 'nested/beta.bin', size: 2 * 1024 * 1024 },
  { path: 'nested/deeper/gamma.bin', size: 1_234_567 },
  { path: 'nested/one-byte', size: 1 },
  { path: 'omega.txt', size: 33_333 },
  { path: 'nested/empty', size: 0 },
];

/** A fresh temporary directory (the caller removes it with `removeDir`). */
export function makeTempDir(prefix: string): Promise<string> {
  return mkdtemp(join(tmpdir(), `warren-${prefix}-`));
}

/** Removes a directory tree made by `makeTempDir` (nothing when undefined). */
export async function removeDir(dir: string | undefined): Promise<void> {
  if (dir) await rm(dir, { recursive: true, force: true });
}

/** Writes `files` filled with random bytes below `root` (created with its parents). */
export async function writeRandomFolder(root: string, files: readonly FixtureFile[] = FOLDER_FILES): Promise<void> {
  for (const file of files) {
    const path = join(root, file.path);
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, randomBytes(file.size));
  }
}

/** Relative paths of every regular file below `root`, sorted. */
async function listFiles(root: string): Promise<string[]> {
  const entries = await readdir(root, { recursive: true, withFileTypes: true });
  return entries
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name).slice(root.length + 1))
    .sort();
}

/**
 * Asserts that `actual` holds exactly the files of `expected`, byte for byte. (Clients' control
 * files, e.g. aria2's `<name>.aria2`, live beside the torrent's folder, not in it.)
 */
export async function assertSameTree(expected: string, actual: string): Promise<void> {
  const want = await listFiles(expected);
  const got = await listFiles(actual);
  assert.deepEqual(got, want, `${actual} does not hold the same files as ${expected}`);
  for (const path of want) {
    const [a, b] = await Promise.all([readFile(join(expected, path)), readFile(join(actual, path))]);
    if (a.equals(b)) continue;
    let at = 0;
    while (at < Math.min(a.length, b.length) && a[at] === b[at]) at++;
    assert.fail(`${path} differs from the source: ${b.length} bytes for ${a.length}, first difference at byte ${at}`);
  }
}

/** The SHA-1 of a .torrent's info dictionary bytes, as warren's branded infohash. */
export function infoHashOf(infoBytes: Uint8Array): InfoHash {
  return toInfoHash(createHash('sha1').update(infoBytes).digest());
}

/** Options of `startWarren`, over its defaults. */
export interface WarrenOptions {
  encryption?: EncryptionPolicy;
}

/** A started warren swarm session on 127.0.0.1 (any port), no DHT: peers come by hand or trackers. */
export async function startWarren(options: WarrenOptions = {}): Promise<SwarmSession> {
  const session = new SwarmSession({ host: '127.0.0.1', port: 0, hashInWorker: true, ...options }, createNodeRuntime());
  await session.start();
  return session;
}

/** The torrent's peer list (peers and web seeds) when its first piece is verified. */
export function peersAtFirstPiece(torrent: Torrent): Promise<PeerStats[]> {
  return new Promise((resolve) => {
    const off = torrent.on((event) => {
      if (event.type !== 'piece') return;
      off();
      resolve(torrent.stats().peers);
    });
  });
}

/**
 * Resolves once `torrent` has every piece verified and written (its 'complete' event, or already
 * seeding); rejects on its 'error' event.
 */
export function torrentComplete(torrent: Torrent): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    if (torrent.state === 'seeding') return resolve();
    if (torrent.state === 'error') return reject(torrent.error ?? new Error('torrent failed'));
    const off = torrent.on((event) => {
      if (event.type === 'complete') {
        off();
        resolve();
      } else if (event.type === 'error') {
        off();
        reject(event.error);
      }
    });
  });
}
