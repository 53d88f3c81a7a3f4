/**
 * Interop with libtorrent's DHT (Debian's python3-libtorrent, driven by libtorrent-dht.py): a real
 * libtorrent node joins a small warren network on 127.0.0.1 and the two exchange peers (BEP 5) and
 * immutable items (BEP 44) in both directions. Fails, never skips, when libtorrent is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeKrpc } from '../../src/codec/krpc.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Dht } from '../../src/dht/dht.js';
import { toHex, toInfoHash, toItemTarget } from '../../src/dht/types.js';
import type { Endpoint, Runtime, UdpSocket } from '../../src/runtime/interfaces.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { assertLibtorrentInstalled, DHT_DRIVER, LibtorrentDriver } from './lt-driver.js';

const WARREN_NODES = 8;

/** Calls `onQuery` with each KRPC query a warren node receives (after the node handled it). */
function tappedRuntime(onQuery: (method: string, from: Endpoint) => void): Runtime {
  const base = createNodeRuntime();
  return {
    ...base,
    udp: async (bind: Endpoint): Promise<UdpSocket> => {
      const socket = await base.udp(bind);
      return {
        get local() {
          return socket.local;
        },
        send: (data, to) => socket.send(data, to),
        close: () => socket.close(),
        onMessage: (handler) =>
          socket.onMessage((data, from) => {
            handler(data, from);
            try {
              const message = decodeKrpc(data);
              if (message.kind === 'query') onQuery(message.method, from);
            } catch (error) {
              // The node itself counts it as malformed; the last test asserts there were none.
              if (!(error instanceof DecodeError)) throw error;
            }
          }),
      };
    },
  };
}

const text = (bytes: unknown): string => {
  assert.ok(bytes instanceof Uint8Array, `expected a byte string, got ${String(bytes)}`);
  return Buffer.from(bytes).toString('utf8');
};

test('python3-libtorrent is importable by /usr/bin/python3', () => assertLibtorrentInstalled(DHT_DRIVER));

describe('interop: libtorrent DHT on 127.0.0.1', { timeout: 120_000 }, () => {
  const nodes: Dht[] = [];
  let driver: LibtorrentDriver | undefined;
  let lt: { port: number; nodeId: string } = { port: 0, nodeId: '' };
  /** Waiters for a query of a given method from libtorrent's port, fed by the socket taps. */
  const queryWaiters: { method: string; resolve: () => void }[] = [];
  const onQuery = (method: string, from: Endpoint) => {
    if (from.port !== lt.port) return;
    for (const w of queryWaiters.filter((x) => x.method === method)) {
      queryWaiters.splice(queryWaiters.indexOf(w), 1);
      w.resolve();
    }
  };
  const nextQueryFromLibtorrent = (method: string) => new Promise<void>((resolve) => queryWaiters.push({ method, resolve }));
  const ltDriver = () => {
    assert.ok(driver, 'the libtorrent driver did not start');
    return driver;
  };

  before(async () => {
    assertLibtorrentInstalled(DHT_DRIVER);
    for (let i = 0; i < WARREN_NODES; i++) {
      const bootstrap = i === 0 ? false : [`127.0.0.1:${nodes[0]!.address.port}`];
      const dht = new Dht({ host: '127.0.0.1', port: 0, bootstrap, queryTimeoutMs: 1000 }, tappedRuntime(onQuery));
      nodes.push(dht);
      await dht.start();
    }
    // A second round so that the early nodes learn of the later ones.
    await Promise.all(nodes.map((n) => n.bootstrap()));
    driver = LibtorrentDriver.spawn(DHT_DRIVER);
    const bootstrap = `127.0.0.1:${nodes[0]!.address.port}`;
    const ready = await driver.request({ cmd: 'start', bootstrap, debug: Boolean(process.env.WARREN_LT_LOG) }, 'ready');
    lt = { port: Number(ready.port), nodeId: String(ready.nodeId) };
    assert.match(lt.nodeId, /^[0-9a-f]{40}$/);
  });

  after(async () => {
    await driver?.stop();
    await Promise.all(nodes.map((n) => n.close()));
  });

  test('libtorrent bootstraps from warren nodes and both sides keep each other in their tables', { timeout: 30_000 }, async () => {
    const d = ltDriver();
    await d.request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    const stats = await d.request({ cmd: 'stats' }, 'stats');
    const warrenIds = new Map(nodes.map((n) => [toHex(n.nodeId), `127.0.0.1:${n.address.port}`]));
    const ltNodes = stats.nodes as { id: string; endpoint: string }[];
    // libtorrent never enters its bootstrap router into the table; it learns every other warren node.
    assert.ok(Number(stats.tableSize) >= WARREN_NODES - 1, `libtorrent's table holds only ${String(stats.tableSize)} nodes`);
    assert.equal(ltNodes.length, Number(stats.tableSize), 'live nodes and dht_stats disagree');
    for (const { id, endpoint } of ltNodes) {
      assert.equal(warrenIds.get(id), endpoint, `libtorrent holds ${id}@${endpoint}, which is not a warren node`);
    }
    const ltId = Buffer.from(lt.nodeId, 'hex');
    const knowing = nodes.filter((n) => n.table.get(ltId)?.address.port === lt.port).length;
    // Its bootstrap lookup queried all of them (there are no more than k), so each one added it.
    assert.equal(knowing, WARREN_NODES, `only ${knowing} of ${WARREN_NODES} warren nodes hold libtorrent's node`);
  });

  test('a peer announced in warren is found by libtorrent get_peers', { timeout: 30_000 }, async () => {
    const d = ltDriver();
    await d.request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    const infoHash = toInfoHash(Buffer.from('warren announces this swarm').subarray(0, 20));
    const result = await nodes[3]!.announce(infoHash, 51413);
    assert.ok(result.announcedTo > 0, 'warren announced to no node');
    const key = toHex(infoHash);
    d.send({ cmd: 'get_peers', infohash: key, timeout: 10 });
    const found = await d.next('libtorrent get_peers', (e) => {
      if (e.infohash !== key) return false;
      return e.event === 'get_peers_done' || (e.event === 'peers' && (e.peers as string[]).includes('127.0.0.1:51413'));
    });
    assert.deepEqual(found.event, 'peers', `libtorrent's get_peers found only ${JSON.stringify(found.peers)}`);
  });

  test('a peer announced by libtorrent is found by warren lookup', { timeout: 30_000 }, async () => {
    const d = ltDriver();
    await d.request({ cmd: 'wait_bootstrap' }, 'bootstrapped');
    const infoHash = toInfoHash(Buffer.from('libtorrent announces it').subarray(0, 20));
    const stored = nextQueryFromLibtorrent('announce_peer');
    // The driver falls back to a torrent where 2.0.8's binding rejects dht_announce; libtorrent then
    // announces its own listen port, which `port` reports.
    const announcing = await d.request({ cmd: 'announce', infohash: toHex(infoHash), port: 40001 }, 'announcing');
    const expected = `127.0.0.1:${Number(announcing.port)}`;
    assert.equal(announcing.port, announcing.via === 'torrent' ? lt.port : 40001);
    await stored;
    const seen: string[] = [];
    for await (const peer of nodes[6]!.lookup(infoHash)) {
      seen.push(`${peer.host}:${peer.port}`);
      if (seen.at(-1) === expected) break;
    }
    assert.ok(seen.includes(expected), `warren's lookup found only ${JSON.stringify(seen)}, not ${expected}`);
  });

  test('BEP 44 immutable items travel both ways', { timeout: 30_000 }, async () => {
    const d = ltDriver();
    await d.request({ cmd: 'wait_bootstrap' }, 'bootstrapped');

    const putting = await d.request({ cmd: 'put_immutable', value: 'stored by libtorrent' }, 'putting');
    const put = await d.next('libtorrent put', (e) => e.event === 'put' && e.target === putting.target);
    assert.ok(Number(put.numSuccess) > 0, 'libtorrent stored its item nowhere');
    const fromLt = await nodes[5]!.get(toItemTarget(String(putting.target)));
    assert.ok(fromLt, 'warren did not find the item libtorrent put');
    assert.equal(fromLt.kind, 'immutable');
    assert.equal(text(fromLt.v), 'stored by libtorrent');

    const { target, storedAt } = await nodes[2]!.put({ v: 'stored by warren' });
    assert.ok(storedAt > 0, 'warren stored its item nowhere');
    const item = await d.request({ cmd: 'get_immutable', target: toHex(target) }, 'item');
    assert.equal(item.found, true, `libtorrent did not find the item warren put: ${JSON.stringify(item)}`);
    assert.equal(item.value, 'stored by warren');
  });

  test('warren counted no libtorrent message as malformed and dropped none', () => {
    for (const n of nodes) {
      const { counters } = n.stats();
      assert.equal(counters.malformed, 0, `node ${n.address.port} counted malformed messages`);
      assert.equal(counters.rateLimited, 0, `node ${n.address.port} rate-limited messages`);
      assert.equal(counters.errorsOut, 0, `node ${n.address.port} answered queries with KRPC errors`);
    }
    const queries = nodes.reduce((sum, n) => sum + Object.values(n.stats().counters.queriesIn).reduce((a, b) => a + b, 0), 0);
    assert.ok(queries > 0, 'warren nodes received no queries at all');
  });
});
