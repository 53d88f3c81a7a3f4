/**
 * Swarm interop with libtorrent over IPv6 (BEP 7), in a network namespace of the test's own whose
 * loopback has fd57::1 … fd57::4: libtorrent seeds on [fd57::1] and `warren get --peer [fd57::1]:P`
 * downloads; `warren seed`, listening on both families by default, seeds to libtorrent on [fd57::3]
 * given the peer by hand; then the same two ways over uTP (BEP 29) with a uTP-only libtorrent on
 * [fd57::4]; and warren learns a libtorrent peer on [fd57::6] from another's peer exchange
 * (BEP 11 `added6`) and connects to it. Every download must match the source byte for byte. The test process stays outside
 * the namespace and drives warren (`--json`) and the libtorrent driver over stdin and stdout. Where
 * namespaces cannot be made (no root, no iproute2) it skips, except under CI=true, where it fails
 * with the reason; it fails, never skips, when libtorrent is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { assertLibtorrentInstalled, LibtorrentDriver } from './lt-driver.js';
import { namespaceIpv6, netnsUnavailable, TestNamespace } from './netns.js';
import { assertSameTree, makeTempDir, removeDir, writeRandomFolder } from './swarm-fixtures.js';
import { JsonProcess } from './json-process.js';

const NAME = 'payload';
const LT_SEED = namespaceIpv6(1);
const WARREN_HOST = namespaceIpv6(2);
const LT_LEECH = namespaceIpv6(3);
const LT_UTP = namespaceIpv6(4);
const LT_PEX_SEED = namespaceIpv6(5);
const LT_PEX_LEECH = namespaceIpv6(6);

const unavailable = netnsUnavailable();
const skip = unavailable !== undefined && process.env.CI !== 'true' ? `network namespaces unavailable: ${unavailable}` : false;

describe('interop: libtorrent swarm over IPv6 in a network namespace (BEP 7)', { skip, timeout: 180_000 }, () => {
  let ns: TestNamespace | undefined;
  let root: string | undefined;
  let srcDir = '';
  let ltTorrent = '';
  let ltInfoHash = '';
  let ltPort = 0;
  const drivers: LibtorrentDriver[] = [];
  const processes: JsonProcess[] = [];
  let seeder: LibtorrentDriver | undefined;
  let warrenSeed: { process: JsonProcess; port: number; infoHash: string; addresses: unknown } | undefined;

  const dir = async (name: string) => {
    assert.ok(root);
    const path = join(root, name);
    await mkdir(path, { recursive: true });
    return path;
  };
  const startLibtorrent = async (listen: string, transport: 'tcp' | 'utp' = 'tcp', outgoing = true) => {
    assert.ok(ns);
    const started = await LibtorrentDriver.startSwarm({ listen, transport, outgoing }, ns);
    drivers.push(started.driver);
    return started;
  };
  const warren = (args: string[]) => {
    assert.ok(ns);
    const p = JsonProcess.warren(ns, args);
    processes.push(p);
    return p;
  };
  /** `warren get` of libtorrent's torrent from `peer`; resolves once it exits, having checked its events. */
  const warrenGet = async (peer: string, out: string, extra: string[] = []) => {
    const get = warren(['get', ltTorrent, '--peer', peer, '--no-dht', '--port', '0', '-o', out, '--data-dir', join(out, '..', `${out.split('/').pop()}-state`), ...extra]);
    const code = await get.exited;
    assert.equal(code, 0, `warren get exited ${code}: ${get.stderr}`);
    const complete = get.events.find((e) => e.event === 'complete');
    assert.ok(complete, `no complete event: ${JSON.stringify(get.events)}`);
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
  };
  /** `warren seed` of libtorrent's torrent from its source folder, with `extra` flags; resolves once it is ready. */
  const startWarrenSeed = async (stateDir: string, extra: string[] = []) => {
    const seed = warren(['seed', ltTorrent, '--dir', srcDir, '--no-dht', '--port', '0', '--data-dir', await dir(stateDir), ...extra]);
    const ready = await seed.event('ready');
    assert.equal(ready.infoHash, ltInfoHash);
    return { process: seed, port: Number(ready.port), infoHash: ltInfoHash, addresses: ready.addresses };
  };
  /** Has the libtorrent `lt` download warren's `seed` from `[WARREN_HOST]:port`; resolves once it is whole and flushed. */
  const libtorrentGet = async (lt: LibtorrentDriver, out: string, seed = warrenSeed ?? assert.fail('warren seed did not start')) => {
    const finished = lt.forTorrent(seed.infoHash, 'finished', (e) => e.event === 'finished');
    await lt.request({ cmd: 'add', torrent: ltTorrent, savePath: out }, 'added');
    await lt.request({ cmd: 'connect', infohash: seed.infoHash, host: WARREN_HOST, port: seed.port }, 'connecting');
    await finished;
    await lt.request({ cmd: 'flush', infohash: seed.infoHash }, 'flushed');
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
  };

  before(async () => {
    if (unavailable) throw new Error(`CI=true and network namespaces are unavailable: ${unavailable}`);
    assertLibtorrentInstalled();
    ns = TestNamespace.create(6);
    root = await makeTempDir('swarm-ipv6-lt');
    srcDir = await dir('src');
    await writeRandomFolder(join(srcDir, NAME));
    const started = await startLibtorrent(`[${LT_SEED}]:0`);
    seeder = started.driver;
    ltPort = started.port;
    ltTorrent = join(root, 'libtorrent-made.torrent');
    ltInfoHash = await seeder.seedNew(join(srcDir, NAME), ltTorrent, srcDir, { pieceLength: 32768 });
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await Promise.all(drivers.map((d) => d.stop()));
    ns?.close();
    await removeDir(root);
  });

  test('warren get --peer [fd57::1]:P downloads from libtorrent seeding on IPv6, over TCP', { timeout: 60_000 }, async () => {
    await warrenGet(`[${LT_SEED}]:${ltPort}`, await dir('warren-from-lt'), ['--host', WARREN_HOST]);
    const peers = await seeder!.peers(ltInfoHash);
    assert.ok(peers.every((p) => p.ip !== '127.0.0.1'), `libtorrent saw a peer over IPv4: ${JSON.stringify(peers)}`);
  });

  test('warren seed listens on both families by default; libtorrent on IPv6 downloads from it over TCP', { timeout: 60_000 }, async () => {
    warrenSeed = await startWarrenSeed('seed-state');
    const port = warrenSeed.port;
    assert.deepEqual(warrenSeed.addresses, [`0.0.0.0:${port}`, `[::]:${port}`], 'TCP on 0.0.0.0:P and [::]:P');
    const { driver } = await startLibtorrent(`[${LT_LEECH}]:0`);
    await libtorrentGet(driver, await dir('lt-from-warren'));
  });

  test('over uTP: a uTP-only libtorrent on IPv6 downloads from warren on [::] at fd57::2, and warren from it', { timeout: 60_000 }, async () => {
    // The namespace has six addresses. The kernel alone would answer from the address it prefers
    // (on this loopback, the peer's own), which a uTP peer that wrote to fd57::2 drops: warren's
    // [::] socket must answer from fd57::2.
    const seed = await startWarrenSeed('seed-utp-state');
    assert.deepEqual(seed.addresses, [`0.0.0.0:${seed.port}`, `[::]:${seed.port}`]);
    const { driver, port } = await startLibtorrent(`[${LT_UTP}]:0`, 'utp');
    await libtorrentGet(driver, await dir('lt-utp-from-warren'), seed);
    const peers = await driver.peers(ltInfoHash);
    assert.ok(peers.every((p) => p.utp), `libtorrent (uTP only) has a TCP connection: ${JSON.stringify(peers)}`);
    // libtorrent closes warren's TCP connection at once (uTP only): warren must try uTP over its IPv6 socket.
    await warrenGet(`[${LT_UTP}]:${port}`, await dir('warren-utp-from-lt'));
  });

  test('warren learns an IPv6 peer from libtorrent\'s peer exchange (added6) and connects to it', { timeout: 60_000 }, async () => {
    // A libtorrent seed with PEX on [fd57::5], connected to a libtorrent leecher on [fd57::6] that
    // downloads slowly and opens no connection itself. warren is given the seed only.
    const { driver: pexSeed, port: seedPort } = await startLibtorrent(`[${LT_PEX_SEED}]:0`);
    const seeding = pexSeed.forTorrent(ltInfoHash, 'seeding', (e) => e.event === 'state' && e.state === 'seeding');
    await pexSeed.request({ cmd: 'add', torrent: ltTorrent, savePath: srcDir, pex: true }, 'added');
    await seeding;
    const { driver: leech, port: leechPort } = await startLibtorrent(`[${LT_PEX_LEECH}]:0`, 'tcp', false);
    await leech.request({ cmd: 'add', torrent: ltTorrent, savePath: await dir('lt-pex-leech'), pex: true, downloadLimit: 20_000 }, 'added');
    await pexSeed.request({ cmd: 'connect', infohash: ltInfoHash, host: LT_PEX_LEECH, port: leechPort }, 'connecting');
    await until('the seed connected to the leecher', async () => (await leech.peers(ltInfoHash)).length > 0);
    // warren downloads slowly too, so it is still looking for peers when the seed's PEX arrives.
    const get = warren(['get', ltTorrent, '--peer', `[${LT_PEX_SEED}]:${seedPort}`, '--no-dht', '--port', '0', '--download-limit', '100', '-o', await dir('warren-pex'), '--data-dir', await dir('warren-pex-state')]);
    // The leecher dials no one: a warren connection there is warren's, to an address it had only from PEX.
    await until('warren connected to the leecher', async () => (await leech.peers(ltInfoHash)).some((p) => p.client.toLowerCase().includes('warren')), () => get.stderr);
    await get.stop();
  });
});

/** Waits until `check` holds, asking again every 200 ms; fails after 30 s naming `what`. */
async function until(what: string, check: () => Promise<boolean>, detail: () => string = () => ''): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`timed out waiting until ${what} ${detail()}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}
