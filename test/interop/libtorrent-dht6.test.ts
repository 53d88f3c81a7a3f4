/**
 * Interop with libtorrent's DHT over IPv6 (BEP 32): warren nodes (IPv6-only, and one dual-stack)
 * and a libtorrent node run in a network namespace of the test's own, on fd57::1 … fd57::5, and
 * find each other, exchange peers and items both ways, and answer with `nodes6`; `warren lookup` (the
 * CLI) bound to an IPv6 address finds libtorrent's peer too. The test process stays
 * outside the namespace and drives both over stdin and stdout. Where namespaces cannot be made
 * (no root, no iproute2) it skips, except under CI=true, where it fails with the reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { toHex } from '../../src/dht/types.js';
import { assertLibtorrentInstalled, DHT_DRIVER, LibtorrentDriver } from './lt-driver.js';
import { namespaceIpv6, netnsUnavailable, TestNamespace } from './netns.js';
import { WarrenDhtProcess } from './warren-dht-process.js';

const PORT = 6881;
/** warren nodes on fd57::1 … fd57::4 (the last one dual-stack, with 127.0.0.1 as well); libtorrent on fd57::5. */
const WARREN = [1, 2, 3, 4].map(namespaceIpv6);
const LT_HOST = namespaceIpv6(5);
/** Where `warren lookup` binds. */
const CLI_HOST = namespaceIpv6(6);
const WARREN_MAIN = fileURLToPath(new URL('../../src/cli/main.js', import.meta.url));
const at = (host: string, port = PORT) => `[${host}]:${port}`;

const unavailable = netnsUnavailable();
const skip = unavailable !== undefined && process.env.CI !== 'true' ? `network namespaces unavailable: ${unavailable}` : false;

describe('interop: libtorrent DHT over IPv6 in a network namespace', { skip, timeout: 120_000 }, () => {
  let ns: TestNamespace | undefined;
  let warren: WarrenDhtProcess | undefined;
  let lt: LibtorrentDriver | undefined;
  let ltPort = 0;
  let ltId = '';
  const w = () => warren ?? assert.fail('the warren driver did not start');
  const l = () => lt ?? assert.fail('the libtorrent driver did not start');

  before(async () => {
    if (unavailable) throw new Error(`CI=true and network namespaces are unavailable: ${unavailable}`);
    assertLibtorrentInstalled(DHT_DRIVER);
    ns = TestNamespace.create(6);
    warren = WarrenDhtProcess.spawn(ns);
    const nodes = WARREN.map((host, i) => ({
      host: i === 3 ? '127.0.0.1' : host,
      ...(i === 3 ? { host6: host } : {}),
      port: PORT,
      bootstrap: i === 0 ? false : [at(WARREN[0]!)],
    }));
    const ready = await warren.request({ cmd: 'start', nodes }, 'ready');
    const families = (ready.nodes as { families: { family: number }[] }[]).map((n) => n.families.map((f) => f.family));
    assert.deepEqual(families, [[6], [6], [6], [4, 6]]);
    // A second round so that the early nodes learn of the later ones.
    for (let i = 0; i < WARREN.length; i++) await warren.request({ cmd: 'bootstrap', node: i }, 'bootstrapped');
    lt = LibtorrentDriver.spawn(DHT_DRIVER, ns);
    const started = await lt.request({ cmd: 'start', listen: at(LT_HOST, 0), bootstrap: at(WARREN[0]!), debug: Boolean(process.env.WARREN_LT_LOG) }, 'ready');
    ltPort = Number(started.port);
    ltId = String(started.nodeId);
    assert.match(ltId, /^[0-9a-f]{40}$/);
  });

  after(async () => {
    await lt?.stop();
    await warren?.stop();
    ns?.close();
  });

  test('libtorrent bootstraps over IPv6 from warren, learning every warren node from nodes6', { timeout: 30_000 }, async () => {
    await l().request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    const stats = await l().request({ cmd: 'stats' }, 'stats');
    const endpoints = (stats.nodes as { endpoint: string }[]).map((n) => n.endpoint).sort();
    // It never enters its bootstrap router into its table; the others it can only have from nodes6.
    for (const host of WARREN.slice(1)) assert.ok(endpoints.includes(at(host)), `libtorrent's table ${JSON.stringify(endpoints)} lacks ${at(host)}`);
    assert.ok(endpoints.every((e) => e.startsWith('[fd57::')), `libtorrent's IPv6 table holds ${JSON.stringify(endpoints)}`);
    let knowing = 0;
    for (let i = 0; i < WARREN.length; i++) {
      const s = await w().request({ cmd: 'stats', node: i }, 'stats');
      if ((s.contacts as { id: string; endpoint: string }[]).some((c) => c.id === ltId && c.endpoint === at(LT_HOST, ltPort))) knowing++;
    }
    assert.equal(knowing, WARREN.length, `only ${knowing} warren nodes hold libtorrent's node at ${at(LT_HOST, ltPort)}`);
  });

  test("libtorrent's answers over IPv6 carry nodes6 (and no nodes)", { timeout: 30_000 }, async () => {
    await l().request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    for (const want of [undefined, ['n6'], ['n4', 'n6']]) {
      const found = await w().request({ cmd: 'find_node', node: 1, host: LT_HOST, port: ltPort, want }, 'found');
      assert.ok((found.fields as string[]).includes('nodes6'), `fields ${JSON.stringify(found.fields)} (want ${JSON.stringify(want)})`);
      assert.deepEqual(found.nodes, [], 'libtorrent runs no IPv4 DHT here');
      const nodes6 = found.nodes6 as string[];
      assert.ok(nodes6.length >= 2 && nodes6.every((e) => WARREN.some((h) => e === at(h))), `nodes6 ${JSON.stringify(nodes6)}`);
    }
  });

  test('a peer announced by warren over IPv6 is found by libtorrent get_peers', { timeout: 30_000 }, async () => {
    await l().request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    const key = toHex(Buffer.from('warren announces on v6').subarray(0, 20));
    const announced = await w().request({ cmd: 'announce', node: 2, infohash: key, port: 51413 }, 'announced');
    assert.ok(Number(announced.announcedTo) > 0);
    const expected = at(WARREN[2]!, 51413);
    l().send({ cmd: 'get_peers', infohash: key, timeout: 10 });
    const found = await l().next('libtorrent get_peers', (e) => e.infohash === key && (e.event === 'get_peers_done' || (e.event === 'peers' && (e.peers as string[]).includes(expected))));
    assert.equal(found.event, 'peers', `libtorrent's get_peers found only ${JSON.stringify(found.peers)}`);
  });

  test('a peer announced by libtorrent over IPv6 is found by warren lookup, also from the dual-stack node', { timeout: 30_000 }, async () => {
    await l().request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    const key = toHex(Buffer.from('libtorrent announces v6').subarray(0, 20));
    // The driver adds a torrent where 2.0.8's binding rejects dht_announce; libtorrent then
    // announces its own listen port once its queue starts the torrent.
    const announcing = await l().request({ cmd: 'announce', infohash: key, port: 40001 }, 'announcing');
    const expected = at(LT_HOST, Number(announcing.port));
    await w().request({ cmd: 'await_query', method: 'announce_peer', host: LT_HOST }, 'query');
    for (const node of [1, 3]) {
      const peers = (await w().request({ cmd: 'lookup', node, infohash: key, until: expected }, 'peers')).peers as string[];
      assert.ok(peers.includes(expected), `warren node ${node} found only ${JSON.stringify(peers)}, not ${expected}`);
    }
  });

  test('BEP 44 immutable items travel both ways over IPv6', { timeout: 30_000 }, async () => {
    await l().request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    const putting = await l().request({ cmd: 'put_immutable', value: 'stored by libtorrent over v6' }, 'putting');
    const put = await l().next('libtorrent put', (e) => e.event === 'put' && e.target === putting.target);
    assert.ok(Number(put.numSuccess) > 0, 'libtorrent stored its item nowhere');
    const item = await w().request({ cmd: 'get', node: 2, target: String(putting.target) }, 'item');
    assert.equal(item.value, 'stored by libtorrent over v6');
    const mine = await w().request({ cmd: 'put', node: 1, value: 'stored by warren over v6' }, 'put');
    assert.ok(Number(mine.storedAt) > 0);
    const got = await l().request({ cmd: 'get_immutable', target: String(mine.target) }, 'item');
    assert.equal(got.value, 'stored by warren over v6');
  });

  test('the warren CLI, bootstrapped from [v6]:port only, finds the peer libtorrent announced: bound to an IPv6 address, and on both families', { timeout: 40_000 }, async () => {
    // Last of the libtorrent tests: the short-lived CLI node stays in libtorrent's table once gone.
    const key = toHex(Buffer.from('libtorrent announces v6').subarray(0, 20));
    // With the default host the IPv4 table stays empty: joining through IPv6 alone must be enough.
    for (const hostArgs of [['--host', CLI_HOST], []]) {
      const { command, args } = ns!.wrap(process.execPath, [WARREN_MAIN, 'lookup', key, ...hostArgs, '--bootstrap', at(WARREN[0]!), '--json']);
      const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      const code = await new Promise<number | null>((resolve) => child.on('close', resolve));
      assert.equal(code, 0, `warren lookup ${hostArgs.join(' ')} failed: ${stderr}`);
      const peers = stdout.trim().split('\n').map((line) => JSON.parse(line) as { event: string; host?: string });
      assert.ok(peers.some((e) => e.event === 'peer' && e.host === LT_HOST), `warren lookup ${hostArgs.join(' ')} printed ${stdout}`);
    }
  });

  test('warren counted no libtorrent message as malformed and answered none with an error', async () => {
    for (let i = 0; i < WARREN.length; i++) {
      const { counters } = (await w().request({ cmd: 'stats', node: i }, 'stats')) as unknown as { counters: Record<string, number> };
      assert.equal(counters.malformed, 0, `node ${i} counted malformed messages`);
      assert.equal(counters.errorsOut, 0, `node ${i} answered with KRPC errors`);
    }
  });
});

describe('interop: a dual-stack libtorrent and BEP 32 want', { skip, timeout: 60_000 }, () => {
  let ns: TestNamespace | undefined;
  let warren: WarrenDhtProcess | undefined;
  let lt: LibtorrentDriver | undefined;
  const w = () => warren ?? assert.fail('the warren driver did not start');
  /** libtorrent listens on both families, one DHT node on each, on one port number. */
  const LT_PORT = 6890;

  before(async () => {
    if (unavailable) throw new Error(`CI=true and network namespaces are unavailable: ${unavailable}`);
    assertLibtorrentInstalled(DHT_DRIVER);
    ns = TestNamespace.create(3);
    warren = WarrenDhtProcess.spawn(ns);
    // fd57::1: IPv6 only; 127.0.0.1 + fd57::2: both families.
    const nodes = [
      { host: namespaceIpv6(1), port: PORT, bootstrap: false },
      { host: '127.0.0.1', host6: namespaceIpv6(2), port: PORT, bootstrap: [at(namespaceIpv6(1))] },
    ];
    await warren.request({ cmd: 'start', nodes }, 'ready');
    await warren.request({ cmd: 'bootstrap', node: 0 }, 'bootstrapped');
    lt = LibtorrentDriver.spawn(DHT_DRIVER, ns);
    const listen = `127.0.0.1:${LT_PORT},${at(namespaceIpv6(3), LT_PORT)}`;
    await lt.request({ cmd: 'start', listen, bootstrap: `${at(namespaceIpv6(1))},127.0.0.1:${PORT}`, debug: Boolean(process.env.WARREN_LT_LOG) }, 'ready');
    await lt.request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
  });

  after(async () => {
    await lt?.stop();
    await warren?.stop();
    ns?.close();
  });

  test('asked over IPv4 with want n4 and n6, libtorrent answers with nodes and nodes6; without want, nodes only', async () => {
    // libtorrent says it is bootstrapped once one of its tables is: its IPv6 table may still be
    // empty for a moment on a busy machine, so ask until it has a node (or 20 s have passed).
    const ask = () => w().request({ cmd: 'find_node', node: 1, host: '127.0.0.1', port: LT_PORT, want: ['n4', 'n6'] }, 'found');
    let both = await ask();
    for (const until = Date.now() + 20_000; ((both.nodes6 as string[] | undefined) ?? []).length === 0 && Date.now() < until; both = await ask()) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok((both.fields as string[]).includes('nodes') && (both.fields as string[]).includes('nodes6'), `fields ${JSON.stringify(both.fields)}`);
    const nodes6 = both.nodes6 as string[];
    assert.ok(nodes6.length > 0 && nodes6.every((e) => e.startsWith('[fd57::')), `nodes6 ${JSON.stringify(nodes6)}`);
    const plain = await w().request({ cmd: 'find_node', node: 1, host: '127.0.0.1', port: LT_PORT }, 'found');
    assert.deepEqual([(plain.fields as string[]).includes('nodes'), (plain.fields as string[]).includes('nodes6')], [true, false]);
  });

  test("the dual-stack warren node holds libtorrent's two DHT nodes, one in each of its tables", async () => {
    // libtorrent's IPv6 node has queried warren (so fd57::1 knows it); the dual-stack node joins again.
    await w().request({ cmd: 'await_query', method: 'get_peers', host: namespaceIpv6(3) }, 'query');
    await w().request({ cmd: 'bootstrap', node: 1 }, 'bootstrapped');
    const stats = await w().request({ cmd: 'stats', node: 1 }, 'stats');
    const contacts = stats.contacts as { id: string; endpoint: string }[];
    const endpoints = contacts.map((c) => c.endpoint);
    assert.ok(endpoints.includes(`127.0.0.1:${LT_PORT}`), `contacts ${JSON.stringify(contacts)}`);
    assert.ok(endpoints.includes(at(namespaceIpv6(3), LT_PORT)), `contacts ${JSON.stringify(contacts)}`);
  });
});
