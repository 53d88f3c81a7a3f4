/**
 * `warren node` and the commands that talk to it, as separate processes on 127.0.0.1: the ready
 * line, add/ls/status/pause/resume/rm, the message when no node runs, and durability: a node
 * killed with SIGKILL during a download and right after adding torrents has every torrent and every
 * verified piece on restart, and finishes byte-identical.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { TorrentSummary } from '../../src/node/view-types.js';
import { startNodeProcess, type NodeProcess } from './node-process.js';
import { warren } from './run-warren.js';

const dirs: string[] = [];
const nodes: NodeProcess[] = [];
after(async () => {
  for (const n of nodes) n.child.kill('SIGKILL');
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function tempDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-node-cli-'));
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string, extra: string[] = []): Promise<NodeProcess> {
  const node = await startNodeProcess(dataDir, extra);
  nodes.push(node);
  return node;
}

async function json<T>(args: string[]): Promise<T[]> {
  const result = await warren([...args, '--json']);
  assert.equal(result.code, 0, result.stderr);
  return result.stdout
    .trim()
    .split('\n')
    .filter((l) => l.length > 0)
    .map((l) => JSON.parse(l) as T);
}

const list = async (dataDir: string) => (await json<{ torrent: TorrentSummary }>(['ls', '--data-dir', dataDir])).map((e) => e.torrent);

async function waitFor<T>(what: string, probe: () => Promise<T | undefined>, ms = 30_000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('warren node', () => {
  test('management commands, and a clear message when no node runs', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    const none = await warren(['ls', '--data-dir', dataDir]);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /^warren: no warren node is running with data dir .*warren node/);

    const node = await start(dataDir);
    assert.match(node.ui, /^http:\/\/127\.0\.0\.1:\d+\/#token=[\w-]{20,}$/);
    const second = await warren(['node', '--data-dir', dataDir, '--api', '127.0.0.1:0', '--port', '0', '--dht-port', '0', '--no-bootstrap']);
    assert.equal(second.code, 1, 'a second node on the same data dir is refused');
    assert.match(second.stderr, /already running/);

    await writeFile(join(dir, 'a.txt'), randomBytes(50_000));
    const [added] = await json<{ torrent: TorrentSummary }>(['add', join(dir, 'a.txt'), '--data-dir', dataDir]);
    assert.equal(added!.torrent.state, 'seeding');
    const id = added!.torrent.id;
    await json(['add', 'ab'.repeat(20), '--paused', '--data-dir', dataDir]);
    assert.deepEqual((await list(dataDir)).map((t) => [t.name, t.state]), [['a.txt', 'seeding'], ['ab'.repeat(20), 'paused']]);

    const [paused] = await json<{ torrent: TorrentSummary }>(['pause', id.slice(0, 6), '--data-dir', dataDir]);
    assert.equal(paused!.torrent.state, 'paused');
    const [status] = await json<{ torrent: { files: unknown[] } }>(['status', id, '--data-dir', dataDir]);
    assert.equal(status!.torrent.files.length, 1);
    const [nodeStatus] = await json<{ node: { torrents: number } }>(['status', '--data-dir', dataDir]);
    assert.equal(nodeStatus!.node.torrents, 2);

    const bad = await warren(['rm', 'ffff', '--data-dir', dataDir]);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /no torrent ffff/);
    const badAdd = await warren(['add', 'magnet:?xt=urn:btih:123', '--data-dir', dataDir]);
    assert.equal(badAdd.code, 2);
    assert.match(badAdd.stderr, /^warren: .*btih/);

    await json(['rm', id, '--delete-data', '--data-dir', dataDir]);
    assert.equal(await readFile(join(dir, 'a.txt')).catch(() => 'gone'), 'gone');
    assert.deepEqual((await list(dataDir)).map((t) => t.name), ['ab'.repeat(20)]);

    node.child.kill('SIGINT');
    assert.equal(await node.exited, 0);
  });

  test('kill -9 during a download and after adding loses no torrent and no verified piece', async () => {
    const dir = await tempDir();
    const seedData = join(dir, 'seed');
    const leechData = join(dir, 'leech');
    const content = randomBytes(12 * 1024 * 1024);
    await writeFile(join(dir, 'big.bin'), content);
    // The seeder uploads at 2 MiB/s so the download is still running when the leecher is killed.
    const seeder = await start(seedData, ['--upload-limit', '2048']);
    const [shared] = await json<{ torrent: TorrentSummary }>(['add', join(dir, 'big.bin'), '--data-dir', seedData]);
    const magnet = `${shared!.torrent.magnet}&x.pe=127.0.0.1:${seeder.port}`;

    let leecher = await start(leechData);
    await json(['add', magnet, '--data-dir', leechData]);
    await json(['add', 'cd'.repeat(20), '--paused', '--data-dir', leechData]);
    const before = await waitFor('a quarter of the pieces', async () => {
      const t = (await list(leechData)).find((x) => x.id === shared!.torrent.id);
      return t && t.piecesHad >= t.pieceCount / 4 ? t.piecesHad : undefined;
    });
    leecher.child.kill('SIGKILL');
    await leecher.exited;
    // No more data from the seeder until the leecher has shown what it kept.
    await json(['pause', shared!.torrent.id, '--data-dir', seedData]);

    leecher = await start(leechData);
    const restarted = await waitFor('the check after the restart', async () => {
      const all = await list(leechData);
      return all.every((t) => t.state !== 'checking' && t.state !== 'metadata') ? all : undefined;
    });
    assert.deepEqual(restarted.map((t) => t.id).sort(), [shared!.torrent.id, 'cd'.repeat(20)].sort(), 'both torrents are there');
    const resumed = restarted.find((t) => t.id === shared!.torrent.id)!;
    assert.ok(resumed.piecesHad >= before, `${resumed.piecesHad} pieces after the restart, ${before} seen before the kill`);
    assert.equal(restarted.find((t) => t.id === 'cd'.repeat(20))!.state, 'paused');

    // The restarted leecher was refused by the paused seeder and would wait before retrying it;
    // a clean restart starts it afresh.
    leecher.child.kill('SIGTERM');
    assert.equal(await leecher.exited, 0);
    await json(['resume', shared!.torrent.id, '--data-dir', seedData]);
    leecher = await start(leechData);
    await waitFor('the download to finish', async () => ((await list(leechData)).find((t) => t.id === shared!.torrent.id)?.state === 'seeding' ? true : undefined), 60_000);
    assert.deepEqual(await readFile(join(leechData, 'downloads', 'big.bin')), content);
    leecher.child.kill('SIGTERM');
    seeder.child.kill('SIGTERM');
    assert.equal(await leecher.exited, 0);
    assert.equal(await seeder.exited, 0);
  });
});
