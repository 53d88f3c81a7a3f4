/**
 * Swarm interop with aria2c over IPv6 (BEP 7), in a network namespace of the test's own whose
 * loopback has fd57::1 … fd57::5: the test tracker runs in it on [fd57::5] (aria2c takes peers from
 * nowhere else) and answers IPv6 announces with `peers6`. aria2c on [fd57::3] downloads from
 * `warren seed`, and warren downloads from aria2c seeding, warren listening on both families (the
 * default) both times; both bytes must match the source exactly. (warren's outgoing connections
 * are not bound to its `--host`, so a tracker would see another address than one given there.) The test process stays outside the namespace.
 * Where namespaces cannot be made it skips, except under CI=true, where it fails with the reason; it
 * fails, never skips, when aria2c is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { JsonProcess } from './json-process.js';
import { namespaceIpv6, netnsUnavailable, TestNamespace } from './netns.js';
import { assertSameTree, makeTempDir, removeDir, writeRandomFolder } from './swarm-fixtures.js';
import { aria2CommonOptions } from './aria2-options.js';

const NAME = 'payload';
const ARIA2_HOST = namespaceIpv6(3);
const TRACKER_HOST = namespaceIpv6(5);

const ARIA2_COMMON = aria2CommonOptions(ARIA2_HOST);

const unavailable = netnsUnavailable();
const skip = unavailable !== undefined && process.env.CI !== 'true' ? `network namespaces unavailable: ${unavailable}` : false;

describe('interop: aria2c swarm over IPv6 in a network namespace (BEP 7)', { skip, timeout: 120_000 }, () => {
  let ns: TestNamespace | undefined;
  let root: string | undefined;
  let srcDir = '';
  let tracker: JsonProcess | undefined;
  let trackerUrl = '';
  const processes: JsonProcess[] = [];
  const aria2s: JsonProcess[] = [];

  const dir = async (name: string) => {
    assert.ok(root);
    const path = join(root, name);
    await mkdir(path, { recursive: true });
    return path;
  };
  const theTracker = () => tracker ?? assert.fail('the tracker did not start');
  /** A .torrent of the source folder announcing to the tracker; its file and infohash (hex). */
  const makeTorrent = async (pieceLength: number) => {
    const created = await createTorrent(createNodeRuntime().fs, join(srcDir, NAME), { pieceLength, trackers: [trackerUrl] });
    const file = join(root!, `ipv6-${pieceLength}.torrent`);
    await writeFile(file, created.bytes);
    return { file, hex: toHex(toInfoHash(created.infoHash)) };
  };
  const warren = (args: string[]) => {
    const p = JsonProcess.warren(ns!, args);
    processes.push(p);
    return p;
  };
  const aria2c = (args: string[]) => {
    const extra = process.env.WARREN_ARIA2_LOG ? [`--log=${process.env.WARREN_ARIA2_LOG}`, '--log-level=debug'] : [];
    const { command, args: wrapped } = ns!.wrap('aria2c', [...ARIA2_COMMON, ...extra, ...args]);
    const p = new JsonProcess(spawn(command, wrapped, { stdio: ['ignore', 'pipe', 'pipe'] }));
    aria2s.push(p);
    return p;
  };
  /** The first announce of `hex` the tracker saw that `matches` accepts. */
  const announce = (hex: string, what: string, matches: (e: Record<string, unknown>) => boolean) =>
    theTracker().next(what, (e) => e.event === 'announce' && e.infoHash === hex && matches(e));

  before(async () => {
    if (unavailable) throw new Error(`CI=true and network namespaces are unavailable: ${unavailable}`);
    const probe = spawnSync('aria2c', ['--version'], { encoding: 'utf8' });
    assert.equal(probe.status, 0, `aria2 interop needs aria2c on the PATH (Debian: apt-get install aria2): ${probe.error?.message ?? probe.stderr}`);
    ns = TestNamespace.create(5);
    root = await makeTempDir('swarm-ipv6-aria2');
    srcDir = await dir('src');
    await writeRandomFolder(join(srcDir, NAME));
    tracker = JsonProcess.tracker(ns, TRACKER_HOST);
    trackerUrl = String((await tracker.event('ready')).url);
    assert.equal(trackerUrl.startsWith(`http://[${TRACKER_HOST}]:`), true, trackerUrl);
  });

  after(async () => {
    await Promise.all([...aria2s, ...processes].map((p) => p.stop()));
    tracker?.child.stdin?.end();
    await tracker?.stop();
    ns?.close();
    await removeDir(root);
  });

  test('aria2c downloads from warren seed, which it learns from the tracker\'s peers6', { timeout: 60_000 }, async () => {
    const { file, hex } = await makeTorrent(32768);
    const seed = warren(['seed', file, '--dir', srcDir, '--no-dht', '--port', '0', '--data-dir', await dir('seed-state')]);
    const port = Number((await seed.event('ready')).port);
    const announced = await announce(hex, 'warren\'s announce', (e) => e.port === port);
    assert.match(String(announced.host), /^fd57::/, 'warren announced over IPv6');
    assert.equal(announced.left, 0);
    const out = await dir('aria2-from-warren');
    const aria2 = aria2c([`--dir=${out}`, '--seed-time=0', file]);
    const code = await aria2.exited;
    assert.equal(code, 0, `aria2c failed (exit ${code}): ${aria2.stderr}`);
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
    await announce(hex, 'aria2c\'s announce over IPv6', (e) => e.host === ARIA2_HOST);
  });

  test('warren (both families, the default) downloads from aria2c seeding on IPv6, learnt from peers6', { timeout: 60_000 }, async () => {
    const { file, hex } = await makeTorrent(65536);
    const aria2 = aria2c([`--dir=${srcDir}`, '--check-integrity=true', '--seed-ratio=0.0', file]);
    // aria2c announces once its check found every piece; warren then finds it through the tracker.
    await Promise.race([
      announce(hex, 'aria2c seeding', (e) => e.host === ARIA2_HOST && e.left === 0),
      aria2.exited.then((code) => assert.fail(`aria2c exited while seeding (exit ${code}): ${aria2.stderr}`)),
    ]);
    const out = await dir('warren-from-aria2');
    const get = warren(['get', file, '-o', out, '--no-dht', '--port', '0', '--data-dir', await dir('get-state')]);
    const code = await get.exited;
    assert.equal(code, 0, `warren get exited ${code}: ${get.stderr}`);
    assert.ok(get.events.some((e) => e.event === 'complete'), JSON.stringify(get.events.slice(-3)));
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
  });
});
