/**
 * Choosing the files of a torrent on the long-running node, on 127.0.0.1 with real sockets and
 * files: a selection given with a magnet is applied when the metadata arrives and only its pieces
 * are fetched; progress counts the chosen files; more files later are fetched too; the choice
 * survives restarts; an index naming no file is refused, and a magnet added with one stops at the
 * metadata (a plain resume stops it again) and goes on once the choice is fixed.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { encodeMagnet } from '../../src/codec/magnet.js';
import { toInfoHash } from '../../src/dht/types.js';
import { NodeError } from '../../src/node/errors.js';
import type { TorrentDetail } from '../../src/node/view-types.js';
import { WarrenNode } from '../../src/node/warren-node.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import type { SwarmSession } from '../../src/swarm/session.js';
import { testNodeOptions } from './node-options.js';
import { eventually, tempDirMaker } from './test-dirs.js';

const PIECE = 16384;
/**
 * Three files over 14 pieces of 16 KiB: a.bin is pieces 0–6, b.bin 6–10, c.bin 10–13. Without
 * b.bin, pieces 7–9 (b.bin's alone) are not wanted; 6 and 10 are, for a.bin and c.bin.
 */
const SIZES = { 'a.bin': 100_000, 'b.bin': 70_000, 'c.bin': 50_000 };
const ONLY_B = [7, 8, 9];

const tempDir = tempDirMaker('warren-files-test-');


function hasPiece(detail: TorrentDetail, index: number): boolean {
  return (Buffer.from(detail.pieces, 'base64')[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

function refusedWith(message: string) {
  return (error: unknown) => error instanceof NodeError && error.code === 'BAD_REQUEST' && error.message === message;
}

describe('choosing files on the node', () => {
  let seedDir: string;
  let seeder: WarrenNode;
  let torrentFile: string;
  let id: string;
  let magnet: string;

  before(async () => {
    seedDir = await tempDir();
    await mkdir(join(seedDir, 'pack'));
    for (const [name, size] of Object.entries(SIZES)) await writeFile(join(seedDir, 'pack', name), randomBytes(size));
    const created = await createTorrent(createNodeRuntime().fs, join(seedDir, 'pack'), { pieceLength: PIECE });
    torrentFile = Buffer.from(created.bytes).toString('base64');
    seeder = await WarrenNode.start(testNodeOptions(join(seedDir, 'data')));
    id = (await seeder.add({ torrent: torrentFile, dir: seedDir })).torrent.id;
    await eventually('the seeder to check its data', () => (seeder.get(id)?.state === 'seeding' ? true : undefined));
    const port = Number(seeder.node().swarmAddress.split(':')[1]);
    magnet = encodeMagnet({ infoHash: toInfoHash(id), peers: [{ host: '127.0.0.1', port }] });
  });
  after(() => seeder?.close());

  const source = (name: keyof typeof SIZES) => readFile(join(seedDir, 'pack', name));

  test('only the chosen files are fetched, progress counts them, more can be added, and the choice survives restarts', async () => {
    const dataDir = join(await tempDir(), 'data');
    const downloaded = (name: keyof typeof SIZES) => readFile(join(dataDir, 'downloads', 'pack', name));
    let node = await WarrenNode.start(testNodeOptions(dataDir));
    try {
      const added = await node.add({ magnet, files: [2, 0, 2] });
      assert.equal(added.created, true);
      const done = await eventually('the chosen files', () => {
        const d = node.get(id);
        return d?.state === 'seeding' ? d : undefined;
      });
      assert.equal(done.progress, 1, 'the chosen files are complete: 100%');
      assert.equal(done.bytesLeft, 0);
      assert.equal(done.totalLength, 220_000);
      assert.equal(done.wantedLength, done.totalLength - ONLY_B.length * PIECE, 'every piece but those of b.bin alone');
      assert.ok(done.bytesHad < done.totalLength);
      assert.equal(done.eta, null);
      assert.deepEqual(done.files.map((f) => [f.path, f.wanted]), [['pack/a.bin', true], ['pack/b.bin', false], ['pack/c.bin', true]]);
      assert.deepEqual(done.files.map((f) => f.bytesHad === f.length), [true, false, true]);
      assert.equal(done.piecesHad, 11);
      for (const index of ONLY_B) assert.equal(hasPiece(done, index), false, `piece ${index} holds only b.bin: not fetched`);
      assert.deepEqual(await downloaded('a.bin'), await source('a.bin'));
      assert.deepEqual(await downloaded('c.bin'), await source('c.bin'));

      await assert.rejects(node.setFiles(id, [0, 3]), refusedWith('no file number 4: the torrent has 3 files'));
      assert.deepEqual(node.get(id)!.files.map((f) => f.wanted), [true, false, true], 'a refused choice changes nothing');
      await assert.rejects(node.setFiles('99'.repeat(20), null), (error: unknown) => error instanceof NodeError && error.code === 'NOT_FOUND');

      await node.close();
      node = await WarrenNode.start(testNodeOptions(dataDir));
      const again = await eventually('the check after a restart', () => {
        const d = node.get(id);
        return d?.state === 'seeding' ? d : undefined;
      });
      assert.deepEqual(again.files.map((f) => f.wanted), [true, false, true], 'the choice is remembered');
      assert.equal(again.progress, 1);

      const all = await node.setFiles(id, null);
      assert.equal(all.state, 'downloading', 'a file more: downloading again');
      assert.deepEqual(all.files.map((f) => f.wanted), [true, true, true]);
      assert.equal(all.wantedLength, all.totalLength);
      assert.ok(all.progress < 1);
      const complete = await eventually('b.bin', () => {
        const d = node.get(id);
        return d?.state === 'seeding' ? d : undefined;
      });
      assert.equal(complete.progress, 1);
      assert.equal(complete.bytesHad, complete.totalLength);
      assert.deepEqual(await downloaded('b.bin'), await source('b.bin'));

      await node.close();
      node = await WarrenNode.start(testNodeOptions(dataDir));
      const third = await eventually('the check after the second restart', () => {
        const d = node.get(id);
        return d?.state === 'seeding' ? d : undefined;
      });
      assert.deepEqual(third.files.map((f) => f.wanted), [true, true, true], 'every file, as chosen last');
    } finally {
      await node.close();
    }
  });

  test('a .torrent added with a file that does not exist is refused; a choice made before the metadata is kept for it', async () => {
    const dataDir = join(await tempDir(), 'data');
    let node = await WarrenNode.start(testNodeOptions(dataDir));
    const wantedOf = (hash: string) => (node as unknown as { session: SwarmSession }).session.get(toInfoHash(hash))?.wantedFiles;
    try {
      await assert.rejects(node.add({ torrent: torrentFile, files: [1, 3] }), refusedWith('no file number 4: the torrent has 3 files'));
      assert.deepEqual(node.list(), [], 'nothing was added');

      const other = 'ab'.repeat(20);
      await node.add({ infoHash: other, paused: true });
      const detail = await node.setFiles(other, [4, 1]);
      assert.deepEqual(detail.files, [], 'no metadata yet');
      assert.deepEqual(wantedOf(other), [1, 4], 'kept for the metadata, in order');
      await node.close();
      node = await WarrenNode.start(testNodeOptions(dataDir));
      assert.deepEqual(wantedOf(other), [1, 4], 'and across a restart');
    } finally {
      await node.close();
    }
  });

  test('a magnet added with a file that does not exist stops at the metadata, and goes on once the choice is fixed', async () => {
    const dataDir = join(await tempDir(), 'data');
    const node = await WarrenNode.start(testNodeOptions(dataDir));
    try {
      await node.add({ magnet, files: [1, 6] });
      const stopped = await eventually('the metadata', () => {
        const d = node.get(id);
        return d?.state === 'error' ? d : undefined;
      });
      assert.equal(stopped.error, 'no file number 7: the torrent has 3 files');
      // A plain resume tries the same choice again, and stops again for the same reason.
      await node.resume(id);
      const again = await eventually('the second refusal', () => {
        const d = node.get(id);
        return d?.state === 'error' ? d : undefined;
      });
      assert.equal(again.error, 'no file number 7: the torrent has 3 files');
      await assert.rejects(node.setFiles(id, [3]), refusedWith('no file number 4: the torrent has 3 files'));
      const fixed = await node.setFiles(id, [1]);
      assert.deepEqual(fixed.files.map((f) => f.wanted), [false, true, false]);
      const done = await eventually('b.bin', () => {
        const d = node.get(id);
        return d?.state === 'seeding' ? d : undefined;
      });
      assert.equal(done.name, 'pack');
      assert.equal(done.progress, 1);
      assert.deepEqual(await readFile(join(dataDir, 'downloads', 'pack', 'b.bin')), await source('b.bin'));
      assert.equal(hasPiece(done, 2), false, 'a.bin alone: not fetched');
      assert.equal(hasPiece(done, 12), false, 'c.bin alone: not fetched');
    } finally {
      await node.close();
    }
  });
});
