/**
 * The node's seed limits on 127.0.0.1 with real sockets and files: a torrent is paused once it has
 * uploaded the seed ratio times its size (the pause is kept across a restart, and a resume while
 * over the ratio seeds on), or after seeding for the seeding time (resumed, it seeds on).
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { encodeMagnet } from '../../src/codec/magnet.js';
import { toInfoHash } from '../../src/dht/types.js';
import type { TorrentSummary } from '../../src/node/view-types.js';
import { WarrenNode, type WarrenNodeOptions } from '../../src/node/warren-node.js';
import { testNodeOptions } from './node-options.js';
import { eventually, tempDirMaker } from './test-dirs.js';

const tempDir = tempDirMaker('warren-seed-limits-test-');
const SIZE = 1024 * 1024;
/** Slow enough that the ratio of 0.5 is reached well before the whole file is uploaded. */
const UPLOAD_LIMIT = 128 * 1024;

/** Options that keep what the node logs at info and above. */
function logged(dataDir: string, overrides: Partial<WarrenNodeOptions>): { options: WarrenNodeOptions; lines: string[] } {
  const lines: string[] = [];
  const options = testNodeOptions(dataDir, { ...overrides, log: (level, message) => level !== 'debug' && lines.push(message) });
  return { options, lines };
}

function magnetTo(node: WarrenNode, id: string): string {
  const port = Number(node.node().swarmAddress.split(':')[1]);
  return encodeMagnet({ infoHash: toInfoHash(id), peers: [{ host: '127.0.0.1', port }] });
}

const inState = (node: WarrenNode, id: string, state: string) => (): TorrentSummary | undefined => {
  const t = node.list().find((s) => s.id === id);
  return t?.state === state ? t : undefined;
};

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('seed limits on the node', () => {
  test('seed ratio: paused once it has uploaded R times its size, kept paused across a restart; resumed over the ratio it seeds on', async () => {
    const dir = await tempDir();
    const file = join(dir, 'data.bin');
    const content = randomBytes(SIZE);
    await writeFile(file, content);
    const seedOptions = { seedRatio: 0.5, uploadLimit: UPLOAD_LIMIT };
    const first = logged(join(dir, 'seeder'), seedOptions);
    let seeder = await WarrenNode.start(first.options);
    const leecher = await WarrenNode.start(testNodeOptions(join(dir, 'leecher')));
    let third: WarrenNode | undefined;
    try {
      const { id } = (await seeder.add({ path: file })).torrent;
      await eventually('the seeder to seed', inState(seeder, id, 'seeding'));
      await sleep(1500);
      assert.equal(seeder.list()[0]!.state, 'seeding', 'nothing uploaded: the ratio is not reached');

      await leecher.add({ magnet: magnetTo(seeder, id) });
      const paused = await eventually('the seeder to pause at its ratio', inState(seeder, id, 'paused'));
      assert.equal(paused.paused, true);
      assert.ok(paused.uploaded >= SIZE / 2, `uploaded ${paused.uploaded}: at least half the size`);
      assert.ok(paused.uploaded < SIZE, `uploaded ${paused.uploaded}: paused before the whole file went out`);
      assert.ok(leecher.list()[0]!.progress < 1, 'the leecher did not get everything');
      assert.deepEqual(first.lines.filter((l) => l.includes('reached its')), [`torrent ${id} reached its seed ratio (0.5): paused`]);
      await leecher.close();
      await seeder.close();

      // The pause is stored: a restart keeps the torrent paused.
      const second = logged(join(dir, 'seeder'), { seedRatio: 0.5 }); // no upload limit now
      seeder = await WarrenNode.start(second.options);
      const restarted = await eventually('the restarted seeder to check its data', inState(seeder, id, 'paused'));
      assert.equal(restarted.paused, true);
      assert.ok(restarted.uploaded >= SIZE / 2, 'the upload total is kept');

      // Resumed while over the ratio, it seeds on: a new leecher gets all of it.
      assert.equal((await seeder.resume(id)).paused, false);
      third = await WarrenNode.start(testNodeOptions(join(dir, 'third')));
      await third.add({ magnet: magnetTo(seeder, id) });
      await eventually('the new leecher to finish', inState(third, id, 'seeding'));
      assert.deepEqual(await readFile(join(dir, 'third', 'downloads', 'data.bin')), content);
      await sleep(2500); // more than two checks
      const after = seeder.list()[0]!;
      assert.equal(after.state, 'seeding', 'not paused again in this run');
      assert.equal(after.paused, false);
      assert.ok(after.uploaded >= SIZE * 1.5, `uploaded ${after.uploaded}: well over the ratio`);
      assert.deepEqual(second.lines.filter((l) => l.includes('reached its')), []);
    } finally {
      await third?.close();
      await leecher.close();
      await seeder.close();
    }
  });

  test('seeding time: paused after seeding that long, counted from when it became seeding; resumed, it seeds on', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'a.bin'), randomBytes(64 * 1024));
    await writeFile(join(dir, 'b.bin'), randomBytes(64 * 1024));
    const { options, lines } = logged(join(dir, 'node'), { seedTimeMinutes: 0.02 });
    const node = await WarrenNode.start(options);
    try {
      const { id } = (await node.add({ path: join(dir, 'a.bin') })).torrent;
      const later = (await node.add({ path: join(dir, 'b.bin'), paused: true })).torrent.id;
      await eventually('the torrent to seed', inState(node, id, 'seeding'));
      const seedingAt = Date.now();
      const paused = await eventually('the torrent to pause after its seeding time', inState(node, id, 'paused'), 10_000);
      const seeded = Date.now() - seedingAt;
      assert.ok(seeded >= 1100, `paused after ${seeded} ms: not before the 1.2 s seeding time`);
      assert.ok(seeded <= 4000, `paused after ${seeded} ms: within a check or two of the seeding time`);
      assert.equal(paused.paused, true);
      assert.deepEqual(lines.filter((l) => l.includes('reached its')), [`torrent ${id} reached its seeding time (0.02 min): paused`]);

      // Added paused well over 1.2 s ago: its clock starts only once it seeds, and again after a pause.
      await node.resume(later);
      await eventually('the other torrent to seed', inState(node, later, 'seeding'));
      await sleep(500);
      await node.pause(later);
      await sleep(2000); // the clock stops while paused: it would be over 1.2 s if it ran on
      await node.resume(later);
      await eventually('the other torrent to seed again', inState(node, later, 'seeding'));
      const laterAt = Date.now();
      await eventually('the other torrent to pause', inState(node, later, 'paused'), 10_000);
      assert.ok(Date.now() - laterAt >= 1100, `paused after ${Date.now() - laterAt} ms of seeding`);

      await node.resume(id);
      await eventually('the resumed torrent to seed', inState(node, id, 'seeding'));
      await sleep(2500);
      assert.equal(inState(node, id, 'seeding')()?.paused, false, 'not paused again in this run');
      assert.equal(lines.filter((l) => l.includes('reached its')).length, 2);
    } finally {
      await node.close();
    }
  });
});
