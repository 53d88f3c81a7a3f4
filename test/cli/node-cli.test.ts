/**
 * `warren node` and the commands that talk to it, as separate processes on 127.0.0.1: the ready
 * line, add/ls/status/pause/resume/rm, choosing files (add --select-file, files), verify, the
 * message when no node runs, and durability: a node
 * killed with SIGKILL during a download and right after adding torrents has every torrent and every
 * verified piece on restart, and finishes byte-identical.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, test } from 'node:test';
import type { TorrentFileView, TorrentSummary } from '../../src/node/view-types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
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

  test('choosing files: add --select-file downloads only those, and files lists and changes the choice', async () => {
    const dir = await tempDir();
    const seedData = join(dir, 'seed');
    const leechData = join(dir, 'leech');
    await mkdir(join(dir, 'album'));
    const sizes = { 'a.bin': 60_000, 'b.bin': 200_000, 'c.bin': 40_000 };
    for (const [name, size] of Object.entries(sizes)) await writeFile(join(dir, 'album', name), randomBytes(size));
    const seeder = await start(seedData);
    const [shared] = await json<{ torrent: TorrentSummary }>(['add', join(dir, 'album'), '--data-dir', seedData]);
    const id = shared!.torrent.id;
    const magnet = `${shared!.torrent.magnet}&x.pe=127.0.0.1:${seeder.port}`;
    type FilesEvent = { event: string; id: string; progress: number; files: (TorrentFileView & { number: number })[] };
    const filesOf = async (args: string[] = []) => (await json<FilesEvent>(['files', id.slice(0, 8), ...args, '--data-dir', leechData]))[0]!;

    const leecher = await start(leechData);
    await json(['add', magnet, '--select-file', '1,3', '--data-dir', leechData]);
    await waitFor('the chosen files', async () => ((await list(leechData)).find((t) => t.id === id)?.state === 'seeding' ? true : undefined));
    const chosen = await filesOf();
    assert.equal(chosen.progress, 1, 'the chosen files are 100%');
    assert.deepEqual(chosen.files.map((f) => [f.number, f.path, f.wanted]), [[1, 'album/a.bin', true], [2, 'album/b.bin', false], [3, 'album/c.bin', true]]);
    assert.deepEqual(chosen.files.map((f) => f.bytesHad === f.length), [true, false, true]);
    assert.deepEqual(await readFile(join(leechData, 'downloads', 'album', 'a.bin')), await readFile(join(dir, 'album', 'a.bin')));
    assert.deepEqual(await readFile(join(leechData, 'downloads', 'album', 'c.bin')), await readFile(join(dir, 'album', 'c.bin')));

    // For people: numbered from 1, the file not downloaded marked.
    const text = await warren(['files', id, '--data-dir', leechData]);
    assert.equal(text.code, 0, text.stderr);
    const lines = text.stdout.trimEnd().split('\n');
    assert.match(lines[0]!, new RegExp(`^album  \\(${id}\\)$`));
    assert.match(lines[1]!, /^ {2}2 of 3 files selected: 100\.0% of /);
    assert.match(lines[2]!, /^ {2}#\s+DONE\s+GET\s+SIZE\s+PATH$/);
    assert.match(lines[3]!, /^ {2}1\s+100%\s+yes\s+58\.6 KiB\s+album\/a\.bin$/);
    assert.match(lines[4]!, /^ {2}2\s+\d+%\s+skip\s+195\.3 KiB\s+album\/b\.bin$/);
    assert.match(lines[5]!, /^ {2}3\s+100%\s+yes\s+39\.1 KiB\s+album\/c\.bin$/);
    const status = await warren(['status', id, '--data-dir', leechData]);
    assert.match(status.stdout, /^ {2}progress {3}100\.0% of \d+\.\d KiB selected of 293\.0 KiB, /m);
    assert.match(status.stdout, /^ {4}\s*\d+% {2}\s*195\.3 KiB {2}album\/b\.bin {2}\(skipped\)$/m);

    const all = await filesOf(['--all']);
    assert.deepEqual(all.files.map((f) => f.wanted), [true, true, true]);
    await waitFor('b.bin too', async () => ((await filesOf()).progress === 1 ? true : undefined));
    assert.deepEqual(await readFile(join(leechData, 'downloads', 'album', 'b.bin')), await readFile(join(dir, 'album', 'b.bin')));
    assert.deepEqual((await filesOf(['--select', '2-3'])).files.map((f) => f.wanted), [false, true, true]);

    // Mistakes: one line on stderr, exit 2, and the choice unchanged.
    const mistakes: [string[], RegExp][] = [
      [['files', id, '--select', '1', '--all'], /^warren: give --select or --all, not both\n$/],
      [['files', id, '--select', '0'], /^warren: bad --select "0": expected file numbers from 1 and ranges, such as 1,3-5\n$/],
      [['files', id, '--select', '2,x'], /^warren: bad --select "2,x": /],
      [['files', id, '--select', '1,4'], /^warren: no file number 4: the torrent has 3 files\n$/],
      [['files', 'ffff'], /^warren: no torrent ffff\n$/],
      [['add', magnet, '--select-file', '3-1'], /^warren: bad --select-file "3-1": /],
    ];
    for (const [args, stderr] of mistakes) {
      const result = await warren([...args, '--data-dir', leechData]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, stderr);
      assert.equal(result.stdout, '');
    }
    assert.deepEqual((await filesOf()).files.map((f) => f.wanted), [false, true, true]);

    // A .torrent whose files are known at once: a number past them is refused and nothing is added.
    const torrentFile = join(dir, 'album.torrent');
    await writeFile(torrentFile, (await createTorrent(createNodeRuntime().fs, join(dir, 'album'), { pieceLength: 32768 })).bytes);
    const refused = await warren(['add', torrentFile, '--select-file', '2,5', '--data-dir', leechData]);
    assert.equal(refused.code, 2);
    assert.equal(refused.stderr, 'warren: no file number 5: the torrent has 3 files\n');
    assert.equal((await list(leechData)).length, 1, 'nothing was added');

    leecher.child.kill('SIGTERM');
    seeder.child.kill('SIGTERM');
    assert.equal(await leecher.exited, 0);
    assert.equal(await seeder.exited, 0);
  });

  test('verify: says how many pieces are good, waits for the end of the check; refusals and a failed check are one line on stderr', async () => {
    const dir = await tempDir();
    const dataDir = join(dir, 'data');
    const file = join(dir, 'v.bin');
    // 1,100 pieces of 16 KiB (the smallest piece length, and under the 1,500 pieces aimed at).
    const content = randomBytes(1100 * 16384);
    await writeFile(file, content);
    const node = await start(dataDir);
    const [added] = await json<{ torrent: TorrentSummary }>(['add', file, '--data-dir', dataDir]);
    const id = added!.torrent.id;
    assert.equal(added!.torrent.pieceCount, 1100);
    const setByte = async (offset: number, value: number) => {
      const handle = await open(file, 'r+');
      await handle.write(Uint8Array.of(value), 0, 1, offset);
      await handle.close();
    };
    const settled = () => waitFor('the end of the check', async () => ((await list(dataDir)).find((t) => t.id === id)?.state !== 'checking' ? true : undefined));

    await setByte(5_000_000, content[5_000_000]! ^ 0x01);
    const damaged = await warren(['verify', id.slice(0, 8), '--data-dir', dataDir]);
    assert.equal(damaged.code, 0, damaged.stderr);
    assert.equal(damaged.stdout, 'checked: 1,099 of 1,100 pieces good; 1 to download again\n');
    assert.equal(damaged.stderr, '');
    const [event] = await json<Record<string, unknown>>(['verify', id, '--data-dir', dataDir]);
    assert.deepEqual(event, { event: 'verified', id, name: 'v.bin', piecesHad: 1099, pieceCount: 1100, state: 'downloading' });

    await setByte(5_000_000, content[5_000_000]!);
    const repaired = await warren(['verify', id, '--data-dir', dataDir]);
    assert.equal(repaired.code, 0, repaired.stderr);
    assert.equal(repaired.stdout, 'checked: all 1,100 pieces good\n');
    assert.equal((await list(dataDir)).find((t) => t.id === id)!.state, 'seeding');

    const [started] = await json<{ event: string; torrent: TorrentSummary }>(['verify', id, '--no-wait', '--data-dir', dataDir]);
    assert.equal(started!.event, 'verifying');
    assert.equal(started!.torrent.state, 'checking', '--no-wait answers while checking');
    await settled();

    // Refusals: one line on stderr, nothing on stdout.
    await json(['add', 'ab'.repeat(20), '--paused', '--data-dir', dataDir]);
    const refusals: [string, number, string][] = [
      ['abab', 1, 'warren: the metadata is not known yet: there is no data to check\n'],
      ['ffff', 2, 'warren: no torrent ffff\n'],
      ['cd'.repeat(20), 2, `warren: no torrent ${'cd'.repeat(20)}\n`],
    ];
    for (const [which, code, stderr] of refusals) {
      const result = await warren(['verify', which, '--data-dir', dataDir]);
      assert.equal(result.code, code, `${which}: ${result.stderr}`);
      assert.equal(result.stderr, stderr);
      assert.equal(result.stdout, '');
    }

    // A check that stops the torrent with an error (a directory where its file was): exit 1, the error.
    await rm(file);
    await mkdir(file);
    const failed = await warren(['verify', id, '--json', '--data-dir', dataDir]);
    assert.equal(failed.code, 1);
    assert.match(failed.stderr, /^warren: v\.bin stopped with an error: .*v\.bin: EISDIR[^\n]*\n$/);
    assert.equal(failed.stdout, '');

    node.child.kill('SIGTERM');
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
