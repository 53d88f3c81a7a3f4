/**
 * The long-running node on 127.0.0.1 with real sockets and files: sharing, downloading through a
 * magnet, pause/resume/remove, restarts from the SQLite store, events, and the DHT views.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, stat, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { encodeMagnet, parseMagnet } from '../../src/codec/magnet.js';
import { NodeError } from '../../src/node/errors.js';
import type { NodeEvent } from '../../src/node/view-types.js';
import { WarrenNode } from '../../src/node/warren-node.js';
import { toInfoHash } from '../../src/dht/types.js';
import type { SwarmSession } from '../../src/swarm/session.js';
import send from 'send';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { testNodeOptions } from './node-options.js';
import { tempDirMaker } from './test-dirs.js';

const tempDir = tempDirMaker('warren-node-test-');

function until<T>(node: WarrenNode, pick: (event: NodeEvent) => T | undefined, ms = 20_000): Promise<T> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      stop();
      reject(new Error('timed out waiting for an event'));
    }, ms);
    const stop = node.subscribe((event) => {
      const value = pick(event);
      if (value !== undefined) {
        clearTimeout(timer);
        stop();
        resolve(value);
      }
    });
  });
}

/** Polls `probe` until it returns something (the node checks restarted torrents in the background). */
async function eventually<T>(probe: () => T | undefined, ms = 10_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error('timed out');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function rejectsWith(promise: () => Promise<unknown>, code: string): Promise<void> {
  return assert.rejects(promise, (error: unknown) => error instanceof NodeError && error.code === code);
}

describe('WarrenNode', () => {
  test('shares a file, a second node downloads it from a magnet, and both survive a restart', async () => {
    const seedDir = await tempDir();
    const leechDir = await tempDir();
    const content = randomBytes(3 * 1024 * 1024 + 777);
    await writeFile(join(seedDir, 'movie.bin'), content);
    const seeder = await WarrenNode.start(testNodeOptions(join(seedDir, 'data')));
    let leecher = await WarrenNode.start(testNodeOptions(join(leechDir, 'data')));
    try {
      const shared = await seeder.add({ path: join(seedDir, 'movie.bin') });
      assert.equal(shared.created, true);
      assert.equal(shared.torrent.state, 'seeding');
      assert.equal(shared.torrent.progress, 1);
      assert.equal((await seeder.add({ path: join(seedDir, 'movie.bin') })).created, false, 'the same path twice is one torrent');

      const port = Number(seeder.node().swarmAddress.split(':')[1]);
      const magnet = encodeMagnet({ infoHash: parseMagnet(shared.torrent.magnet).infoHash, peers: [{ host: '127.0.0.1', port }] });
      const pieces: number[] = [];
      leecher.subscribe((e) => void (e.type === 'piece' && pieces.push(e.index)));
      const completed = until(leecher, (e) => (e.type === 'torrents' ? e.torrents.find((t) => t.state === 'seeding') : undefined));
      const added = await leecher.add({ magnet });
      assert.equal(added.created, true);
      assert.equal(added.torrent.id, shared.torrent.id);
      const done = await completed;
      assert.equal(done.progress, 1);
      assert.deepEqual(await readFile(join(leechDir, 'data', 'downloads', 'movie.bin')), content);
      assert.equal(new Set(pieces).size, done.pieceCount, 'a piece event for every piece');

      const detail = leecher.get(shared.torrent.id)!;
      assert.equal(detail.files.length, 1);
      assert.deepEqual(detail.files[0], { path: 'movie.bin', length: content.length, bytesHad: content.length, wanted: true });
      assert.deepEqual([detail.wantedLength, detail.bytesLeft], [content.length, 0]);
      assert.equal(Buffer.from(detail.pieces, 'base64').length, Math.ceil(detail.pieceCount / 8));

      await leecher.pause(shared.torrent.id);
      await leecher.close();
      leecher = await WarrenNode.start(testNodeOptions(join(leechDir, 'data')));
      assert.equal(leecher.list().length, 1, 'listed at once, while it checks its data');
      // Once the check is over: the last piece is counted before the state leaves 'checking'.
      const again = await eventually(() => leecher.list().find((t) => t.pieceCount > 0 && t.piecesHad === t.pieceCount && t.state !== 'checking'));
      assert.equal(again?.id, shared.torrent.id);
      assert.equal(again?.state, 'paused', 'paused is remembered');
      assert.equal(again?.piecesHad, again?.pieceCount, 'verified pieces are remembered');
      assert.equal(again?.name, 'movie.bin', 'the metadata fetched over BEP 9 is remembered');
      assert.ok(again!.downloaded >= content.length, 'transfer totals are remembered');
      assert.ok(leecher.node().downloaded >= content.length);
      assert.equal((await leecher.resume(shared.torrent.id)).state, 'seeding');
    } finally {
      await seeder.close();
      await leecher.close();
    }
  });

  test('share(), remove with data, and bad requests', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    let node = await WarrenNode.start(testNodeOptions(dataDir));
    try {
      const bytes = randomBytes(100_000);
      async function* body() {
        yield bytes.subarray(0, 40_000);
        yield bytes.subarray(40_000);
      }
      const shared = await node.share('notes.txt', body());
      assert.equal(shared.created, true);
      assert.equal(shared.torrent.state, 'seeding');
      const path = join(dataDir, 'shared', shared.torrent.id, 'notes.txt');
      assert.deepEqual(await readFile(path), bytes);
      assert.equal((await node.share('notes.txt', body())).created, false, 'the same file twice is one torrent');
      await rejectsWith(() => node.share('../escape', body()), 'BAD_REQUEST');

      const byHash = await node.add({ infoHash: 'aa'.repeat(20), paused: true });
      assert.equal(byHash.torrent.state, 'paused');
      assert.equal(byHash.torrent.name, 'aa'.repeat(20));
      await rejectsWith(() => node.add({ magnet: 'magnet:?xt=urn:btih:nothex' }), 'BAD_REQUEST');
      await rejectsWith(() => node.add({ torrent: Buffer.from('d4:infoi1ee').toString('base64') }), 'BAD_REQUEST');
      await rejectsWith(() => node.add({ magnet: 'magnet:?xt=urn:btih:' + 'bb'.repeat(20), infoHash: 'bb'.repeat(20) }), 'BAD_REQUEST');
      await rejectsWith(() => node.add({ path: join(dir, 'missing') }), 'BAD_REQUEST');
      await rejectsWith(() => node.pause('cc'.repeat(20)), 'NOT_FOUND');
      await rejectsWith(() => node.lookup('dd'.repeat(20)), 'UNAVAILABLE');
      assert.equal(node.dht().enabled, false);
      assert.deepEqual([node.node().encryption, node.node().downloadLimit], ['prefer', 0], 'the settings shown are the defaults');

      const removed = until(node, (e) => (e.type === 'removed' ? e.id : undefined));
      await node.remove(shared.torrent.id, { deleteData: true });
      assert.equal(await removed, shared.torrent.id);
      assert.equal(await stat(path).catch(() => undefined), undefined, 'the data is deleted');
      assert.equal(node.get(shared.torrent.id), undefined);

      await node.close();
      await writeFile(join(dataDir, 'shared', '.incoming-0011'), 'an upload cut short by a kill');
      node = await WarrenNode.start(testNodeOptions(dataDir));
      assert.equal(await stat(join(dataDir, 'shared', '.incoming-0011')).catch(() => undefined), undefined, 'unfinished uploads are cleaned up');
      assert.deepEqual(
        node.list().map((t) => [t.id, t.state]),
        [['aa'.repeat(20), 'paused']],
        'after a restart only the remaining torrent is there',
      );
    } finally {
      await node.close();
    }
  });

  test('web seeds of a .torrent are kept across a restart and the download comes from them', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    const files = join(dir, 'www', 'pack');
    await mkdir(join(files, 'sub'), { recursive: true });
    await writeFile(join(files, 'one.bin'), randomBytes(70_000));
    await writeFile(join(files, 'sub', 'two.bin'), randomBytes(45_000));
    const server = createServer((req, res) => send(req, decodeURIComponent(new URL(req.url!, 'http://x').pathname), { root: join(dir, 'www') }).pipe(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const created = await createTorrent(createNodeRuntime().fs, files, { pieceLength: 16384, webSeeds: [url] });
    let node = await WarrenNode.start(testNodeOptions(dataDir));
    try {
      const out = join(dir, 'out');
      const added = await node.add({ torrent: Buffer.from(created.bytes).toString('base64'), dir: out, paused: true });
      assert.deepEqual(parseMagnet(added.torrent.magnet).webSeeds, [url], 'the magnet shown carries the web seed');
      await node.close();
      node = await WarrenNode.start(testNodeOptions(dataDir));
      const id = added.torrent.id;
      await eventually(() => (node.get(id)?.state === 'paused' ? true : undefined));
      await node.resume(id);
      await eventually(() => (node.get(id)?.state === 'seeding' ? true : undefined), 20_000);
      assert.deepEqual(await readFile(join(out, 'pack', 'sub', 'two.bin')), await readFile(join(files, 'sub', 'two.bin')));
      assert.deepEqual(await readFile(join(out, 'pack', 'one.bin')), await readFile(join(files, 'one.bin')));
    } finally {
      await node.close();
      server.close();
    }
  });

  test('a v2 torrent (BEP 52): seeded from its .torrent, fetched by its btmh magnet, and checked after a restart with the piece layers kept', async () => {
    const seedDir = await tempDir();
    const leechDir = await tempDir();
    const content = randomBytes(2 * 1024 * 1024 + 999);
    await writeFile(join(seedDir, 'v2.bin'), content);
    const created = await createTorrent(createNodeRuntime().fs, join(seedDir, 'v2.bin'), { pieceLength: 32768, format: 'v2' });
    const seeder = await WarrenNode.start(testNodeOptions(join(seedDir, 'data')));
    let leecher = await WarrenNode.start(testNodeOptions(join(leechDir, 'data')));
    try {
      const shared = await seeder.add({ torrent: Buffer.from(created.bytes).toString('base64'), dir: seedDir });
      await eventually(() => (seeder.get(shared.torrent.id)?.state === 'seeding' ? true : undefined));
      assert.equal(shared.torrent.id, Buffer.from(created.infoHashV2!).subarray(0, 20).toString('hex'), 'a v2 torrent is known by its truncated v2 hash');
      const v2 = Buffer.from(created.infoHashV2!).toString('hex');
      assert.match(shared.torrent.magnet, new RegExp(`^magnet:\\?xt=urn:btmh:1220${v2}&`));
      assert.equal(seeder.get(shared.torrent.id)?.format, 'v2');

      const port = Number(seeder.node().swarmAddress.split(':')[1]);
      const completed = until(leecher, (e) => (e.type === 'torrents' ? e.torrents.find((t) => t.state === 'seeding') : undefined));
      await leecher.add({ magnet: `magnet:?xt=urn:btmh:1220${v2}&x.pe=127.0.0.1:${port}` });
      await completed;
      assert.deepEqual(await readFile(join(leechDir, 'data', 'downloads', 'v2.bin')), content);

      // Change one byte on disk and restart with no peer: the changed file is checked again, which
      // needs its piece layer (the magnet gave none): it comes back from the resume data, so only
      // the changed piece is missing.
      await seeder.close();
      await leecher.close();
      const changed = Buffer.from(content);
      changed[100_000] ^= 0xff;
      await writeFile(join(leechDir, 'data', 'downloads', 'v2.bin'), changed);
      leecher = await WarrenNode.start(testNodeOptions(join(leechDir, 'data')));
      const again = await eventually(() => leecher.list().find((t) => t.pieceCount > 0 && t.state === 'downloading'));
      assert.equal(again.piecesHad, again.pieceCount - 1);
    } finally {
      await seeder.close();
      await leecher.close();
    }
  });

  test("the node's rate limits apply to every torrent, also to those added before a change", async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    const limitsOf = (node: WarrenNode, id: string) => {
      const torrent = (node as unknown as { session: SwarmSession }).session.get(toInfoHash(id))!;
      return [torrent.options.uploadLimit, torrent.options.downloadLimit];
    };
    let node = await WarrenNode.start(testNodeOptions(dataDir, { uploadLimit: 100 * 1024 }));
    try {
      const { torrent } = await node.add({ infoHash: 'ee'.repeat(20), paused: true });
      assert.deepEqual(limitsOf(node, torrent.id), [100 * 1024, undefined]);
      await node.close();
      node = await WarrenNode.start(testNodeOptions(dataDir, { uploadLimit: 300 * 1024, downloadLimit: 50 * 1024 }));
      assert.deepEqual(limitsOf(node, torrent.id), [300 * 1024, 50 * 1024], 'the restarted node applies its new settings');
    } finally {
      await node.close();
    }
  });

  test('the DHT view shows the routing table and the lookup tool finds nodes', async () => {
    const dir = await tempDir();
    const first = await WarrenNode.start(testNodeOptions(join(dir, 'a'), { dht: true }));
    const firstDht = first.node().dhtAddress!;
    const second = await WarrenNode.start(testNodeOptions(join(dir, 'b'), { dht: true, bootstrap: [firstDht] }));
    try {
      const view = second.dht();
      assert.equal(view.enabled, true);
      assert.equal(view.nodes, 1);
      const contact = view.buckets.flatMap((b) => b.contacts)[0]!;
      assert.equal(contact.address, firstDht);
      assert.equal(contact.id, first.node().nodeId);
      assert.ok(Math.abs(contact.lastSeen - Date.now()) < 60_000, 'lastSeen is wall-clock time');
      assert.ok((view.counters['datagramsOut'] ?? 0) > 0);
      const found = await second.lookup(first.node().nodeId!);
      assert.equal(found.closest[0]?.id, first.node().nodeId);
      assert.equal(found.closest[0]?.distance, '00'.repeat(20));
      await rejectsWith(() => second.lookup('xyz'), 'BAD_REQUEST');
    } finally {
      await second.close();
      await first.close();
    }
  });
});
