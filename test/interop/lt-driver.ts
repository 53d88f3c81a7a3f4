/**
 * A running libtorrent test driver (libtorrent-dht.py: a DHT node; libtorrent-swarm.py: a
 * BitTorrent session without DHT; both on 127.0.0.1, or in a `TestNamespace`): send it JSON
 * commands, await the JSON events they produce. Used by libtorrent.test.ts and the swarm-*libtorrent*.test.ts files.
 */
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createWriteStream, existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { JsonDriver, type DriverEvent } from './json-driver.js';
import type { TestNamespace } from './netns.js';

/** The interpreter Debian's python3-libtorrent is installed for. */
export const PYTHON = '/usr/bin/python3';
/** Tests run from dist/test/interop/; the scripts stay in the source tree. */
export const DHT_DRIVER = fileURLToPath(new URL('../../../test/interop/libtorrent-dht.py', import.meta.url));
export const SWARM_DRIVER = fileURLToPath(new URL('../../../test/interop/libtorrent-swarm.py', import.meta.url));

/** One connection of a libtorrent torrent, as the swarm driver's `peers` command reports it. */
export interface LibtorrentPeer {
  ip: string;
  /** The connection's remote port (for a connection the peer made, its source port, not its listen port). */
  port: number;
  /** The connection runs over uTP (BEP 29), not TCP. */
  utp: boolean;
  /** The client name from the peer's extension handshake or peer id. */
  client: string;
  /** The share of the torrent's pieces the peer has, 0..1. */
  progress: number;
}

/** A torrent libtorrent made and seeds (`seedCreated`), as the swarm driver's `created` event reports it. */
export interface SeededTorrent {
  /**
   * The driver's key for the torrent (40 hex): its v1 infohash, or for a v2-only torrent the first
   * 20 bytes of its v2 infohash (BEP 52's truncated infohash, warren's id for it too).
   */
  key: string;
  /** The SHA-256 v2 infohash (64 hex) of a v2-only or hybrid torrent. */
  v2?: string;
  /** Number of pieces. */
  pieces: number;
}

/** Options of the swarm driver's `start` (see libtorrent-swarm.py). */
export interface SwarmStartOptions {
  /** `forced`: MSE with RC4 only, both ways; plain connections are refused. Default: plain or encrypted. */
  encryption?: 'forced';
  /** `tcp` (default): TCP only. `utp`: uTP only; TCP connections, either way, are refused. */
  transport?: 'tcp' | 'utp';
  /**
   * The one address libtorrent listens on (its `listen_interfaces`), e.g. `[fd57::1]:0` inside a
   * `TestNamespace` (IPv6, BEP 7); default `127.0.0.1:0`.
   */
  listen?: string;
  /** `false`: libtorrent opens no connection itself (it only accepts them). */
  outgoing?: boolean;
}

/** Throws a clear error when the driver or `import libtorrent` is missing: CI installs it, so never skip. */
export function assertLibtorrentInstalled(script = SWARM_DRIVER): void {
  assert.ok(existsSync(script), `driver script not found at ${script}`);
  const probe = spawnSync(PYTHON, ['-c', 'import libtorrent; print(libtorrent.__version__)'], { encoding: 'utf8' });
  if (probe.status !== 0) {
    throw new Error(
      `libtorrent interop needs ${PYTHON} with the libtorrent module (Debian: apt-get install python3-libtorrent); ` +
        `"${PYTHON} -c 'import libtorrent'" failed: ${probe.error?.message ?? probe.stderr.trim()}`,
    );
  }
}

/** A libtorrent driver process (libtorrent-dht.py or libtorrent-swarm.py). */
export class LibtorrentDriver extends JsonDriver {
  private constructor(child: ChildProcessWithoutNullStreams) {
    super(child, 'libtorrent');
  }

  /**
   * Starts a driver script, inside `netns` when given. WARREN_LT_LOG=<file>: libtorrent's log is
   * written there, for debugging.
   */
  static spawn(script: string, netns?: TestNamespace): LibtorrentDriver {
    const { command, args } = netns ? netns.wrap(PYTHON, [script]) : { command: PYTHON, args: [script] };
    const driver = new LibtorrentDriver(spawn(command, args, { stdio: ['pipe', 'pipe', 'pipe'] }));
    const logFile = process.env.WARREN_LT_LOG;
    if (logFile) driver.child.stderr.pipe(createWriteStream(logFile));
    return driver;
  }

  /**
   * Starts the swarm driver and its session, inside `netns` when given; resolves with the driver and
   * libtorrent's listen port: its TCP port, or with transport `utp` its UDP port for uTP (the same
   * number: libtorrent binds both).
   */
  static async startSwarm(options: SwarmStartOptions = {}, netns?: TestNamespace): Promise<{ driver: LibtorrentDriver; port: number }> {
    const driver = LibtorrentDriver.spawn(SWARM_DRIVER, netns);
    const ready = await driver.request({ cmd: 'start', debug: Boolean(process.env.WARREN_LT_LOG), ...options }, 'ready');
    return { driver, port: Number(ready.port) };
  }

  /**
   * Has libtorrent make a .torrent of `path` (written to `out`; `options` as the driver's `create`
   * takes them: pieceLength, format (`v1` default, `v2`, `hybrid`) or hybrid, webSeeds) and seed it
   * from `savePath`; resolves with its key (hex, see `SeededTorrent.key`) once it is seeding.
   */
  async seedNew(path: string, out: string, savePath: string, options: Record<string, unknown>): Promise<string> {
    return (await this.seedCreated(path, out, savePath, options)).key;
  }

  /** `seedNew`, resolving with the key, the v2 infohash (v2 and hybrid) and the piece count. */
  async seedCreated(path: string, out: string, savePath: string, options: Record<string, unknown>): Promise<SeededTorrent> {
    const created = await this.request({ cmd: 'create', path, out, ...options }, 'created');
    const key = String(created.infohash);
    const seeding = this.forTorrent(key, 'seeding state', (e) => e.event === 'state' && e.state === 'seeding');
    const added = await this.request({ cmd: 'add', torrent: out, savePath }, 'added');
    assert.equal(added.infohash, key, 'libtorrent keyed the torrent it made and the torrent it added differently');
    await seeding;
    return { key, v2: typeof created.v2 === 'string' ? created.v2 : undefined, pieces: Number(created.pieces) };
  }

  /** The connections of torrent `infohash` (hex) at this moment (libtorrent's get_peer_info). */
  async peers(infohash: string): Promise<LibtorrentPeer[]> {
    const hex = infohash.toLowerCase();
    this.send({ cmd: 'peers', infohash: hex });
    const reply = await this.forTorrent(hex, 'peers', (e) => e.event === 'peers');
    assert.ok(Array.isArray(reply.peers), `the driver's peers event has no peers list: ${JSON.stringify(reply)}`);
    return reply.peers as LibtorrentPeer[];
  }

  /** Awaits an event of torrent `infohash` (hex) that `matches` accepts. */
  forTorrent(infohash: string, what: string, matches: (e: DriverEvent) => boolean): Promise<DriverEvent> {
    return this.next(`${what} of ${infohash}`, (e) => e.infohash === infohash && matches(e));
  }
}
