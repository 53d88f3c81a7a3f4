/**
 * The setup shared by the swarm tests against a libtorrent seed (swarm-libtorrent.test.ts,
 * swarm-libtorrent-encrypted.test.ts, swarm-utp-libtorrent.test.ts): a temporary directory, a
 * random folder `NAME` in it, the libtorrent swarm driver, and a .torrent of the folder that
 * libtorrent made and seeds. Fails, never skips, when libtorrent is missing.
 */
import { after, before } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { createTorrent, type CreatedTorrent } from '../../src/swarm/create-torrent.js';
import type { SwarmSession } from '../../src/swarm/session.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { makeTempDir, removeDir, startWarren, writeRandomFolder, type WarrenOptions } from './swarm-fixtures.js';
import { assertLibtorrentInstalled, LibtorrentDriver, type SwarmStartOptions } from './lt-driver.js';

/** The shared folder's name (the torrent's name). */
export const NAME = 'payload';

/** What `useLibtorrentSeed` set up; the getters are valid once the `before` hook has run. */
export interface LibtorrentSeed {
  /** The temporary directory everything lives in. */
  readonly root: string;
  /** Holds the source folder `NAME`. */
  readonly srcDir: string;
  /** libtorrent's listen port (with transport `utp`, its UDP port for uTP). */
  readonly ltPort: number;
  /** The .torrent libtorrent made of the folder (v1, 64 KiB pieces), and its infohash (hex). */
  readonly ltTorrent: string;
  readonly ltInfoHash: string;
  /** The libtorrent driver (asserts that it started). */
  lt: () => LibtorrentDriver;
  /** A started warren session (see `startWarren`), closed after the describe's tests. */
  warren: (options?: WarrenOptions) => Promise<SwarmSession>;
  /** Makes (with its parents) and returns the folder `name` below `root`. */
  dir: (name: string) => Promise<string>;
  /**
   * A new warren session seeding `path` (default: the source folder) as a torrent it made with
   * `pieceLength`: the session, the seeding torrent, the .torrent's bytes and its infohash (hex).
   */
  warrenSeed: (pieceLength: number, path?: string, options?: WarrenOptions) => Promise<{ session: SwarmSession; torrent: Torrent; created: CreatedTorrent; hex: string }>;
  /**
   * Has libtorrent download `hex` (`add`: the rest of its add command, a torrent or a magnet, and
   * savePath) from warren at `port`, waiting for the metadata first when `magnet`; resolves once it
   * has every piece and has flushed them.
   */
  ltDownload: (hex: string, add: Record<string, unknown>, port: number, magnet?: boolean) => Promise<void>;
}

/**
 * Registers the `before` and `after` hooks of the surrounding describe: before, a temporary
 * directory (`prefix` in its name) with a random folder `NAME` in `src`, the libtorrent swarm driver
 * started with `start`, and libtorrent seeding a .torrent it made of the folder; after, warren's
 * sessions closed, the driver stopped, the directory removed.
 */
export function useLibtorrentSeed(prefix: string, start: SwarmStartOptions = {}): LibtorrentSeed {
  let root: string | undefined;
  let srcDir = '';
  let driver: LibtorrentDriver | undefined;
  let ltPort = 0;
  let ltTorrent = '';
  let ltInfoHash = '';
  const sessions: SwarmSession[] = [];

  const lt = () => {
    assert.ok(driver, 'the libtorrent driver did not start');
    return driver;
  };
  const warren = async (options: WarrenOptions = {}) => {
    const session = await startWarren(options);
    sessions.push(session);
    return session;
  };
  const dir = async (name: string) => {
    assert.ok(root);
    const path = join(root, name);
    await mkdir(path, { recursive: true });
    return path;
  };

  const warrenSeed = async (pieceLength: number, path = join(srcDir, NAME), options: WarrenOptions = {}) => {
    const session = await warren(options);
    const created = await createTorrent(session.runtime.fs, path, { pieceLength });
    const infoHash = toInfoHash(created.infoHash);
    const torrent = await session.add({ infoHash, infoBytes: created.infoBytes, dir: dirname(path), assumeComplete: true });
    assert.equal(torrent.state, 'seeding');
    return { session, torrent, created, hex: toHex(infoHash) };
  };
  const ltDownload = async (hex: string, add: Record<string, unknown>, port: number, magnet = false) => {
    const d = lt();
    const metadata = magnet ? d.forTorrent(hex, 'metadata', (e) => e.event === 'metadata') : undefined;
    const finished = d.forTorrent(hex, 'finished', (e) => e.event === 'finished');
    const added = await d.request({ cmd: 'add', ...add }, 'added');
    assert.equal(added.infohash, hex);
    await d.request({ cmd: 'connect', infohash: hex, host: '127.0.0.1', port }, 'connecting');
    if (metadata) await metadata;
    await finished;
    await d.request({ cmd: 'flush', infohash: hex }, 'flushed');
  };

  before(async () => {
    assertLibtorrentInstalled();
    root = await makeTempDir(prefix);
    srcDir = await dir('src');
    await writeRandomFolder(join(srcDir, NAME));
    ({ driver, port: ltPort } = await LibtorrentDriver.startSwarm(start));
    ltTorrent = join(root, 'libtorrent-made.torrent');
    ltInfoHash = await lt().seedNew(join(srcDir, NAME), ltTorrent, srcDir, { pieceLength: 65536 });
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await driver?.stop();
    await removeDir(root);
  });

  return {
    get root() {
      assert.ok(root, 'the temporary directory was not made');
      return root;
    },
    get srcDir() {
      return srcDir;
    },
    get ltPort() {
      return ltPort;
    },
    get ltTorrent() {
      return ltTorrent;
    },
    get ltInfoHash() {
      return ltInfoHash;
    },
    lt,
    warren,
    dir,
    warrenSeed,
    ltDownload,
  };
}
