/**
 * Verifying a torrent's data on the long-running node, on 127.0.0.1 with real files: `verify`
 * answers at once in the checking state; a damaged byte costs its piece, which is then to be
 * downloaded again (no other peer here, so the torrent stays downloading); with the byte put back
 * it seeds again; a paused torrent stays paused; a torrent stopped by an error runs again; a second
 * verify during a check, or one before the metadata, is CONFLICT with the engine's message.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdir, open, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { NodeError, type NodeErrorCode } from '../../src/node/errors.js';
import type { TorrentDetail } from '../../src/node/view-types.js';
import { WarrenNode } from '../../src/node/warren-node.js';
import { testNodeOptions } from './node-options.js';
import { eventually, tempDirMaker } from './test-dirs.js';

/** 1 MiB: 64 pieces of 16 KiB as `createTorrent` chooses them. */
const SIZE = 1024 * 1024;
const DAMAGED_AT = 300_000;

const tempDir = tempDirMaker('warren-verify-test-');


/** The torrent's detail once its check has ended. */
function checked(node: WarrenNode, id: string): Promise<TorrentDetail> {
  return eventually('the end of the check', () => {
    const d = node.get(id);
    return d && d.state !== 'checking' ? d : undefined;
  });
}

function hasPiece(detail: TorrentDetail, index: number): boolean {
  return (Buffer.from(detail.pieces, 'base64')[index >> 3]! & (0x80 >> (index & 7))) !== 0;
}

function refusedWith(code: NodeErrorCode, message: string | RegExp) {
  return (error: unknown) =>
    error instanceof NodeError && error.code === code && (typeof message === 'string' ? error.message === message : message.test(error.message));
}

/** Writes `value` over one byte of `path`, in place. */
async function writeByte(path: string, offset: number, value: number): Promise<void> {
  const handle = await open(path, 'r+');
  try {
    await handle.write(Uint8Array.of(value), 0, 1, offset);
  } finally {
    await handle.close();
  }
}

/** A node sharing a fresh 1 MiB file in place. */
async function sharing(): Promise<{ node: WarrenNode; file: string; content: Buffer; id: string }> {
  const dir = await tempDir();
  const file = join(dir, 'data.bin');
  const content = randomBytes(SIZE);
  await writeFile(file, content);
  const node = await WarrenNode.start(testNodeOptions(join(dir, 'node')));
  const { torrent } = await node.add({ path: file });
  assert.equal(torrent.state, 'seeding');
  return { node, file, content, id: torrent.id };
}

describe('verifying a torrent on the node', () => {
  test('a damaged byte costs its piece, put back it seeds again; a check is answered at once and not started twice; paused stays paused', async () => {
    const { node, file, content, id } = await sharing();
    try {
      const pieceLength = node.get(id)!.pieceLength;
      const damagedPiece = Math.floor(DAMAGED_AT / pieceLength);
      await writeByte(file, DAMAGED_AT, content[DAMAGED_AT]! ^ 0xff);

      const started = await node.verify(id);
      assert.equal(started.state, 'checking', 'answered at once, while checking');
      assert.equal(started.id, id);
      await assert.rejects(node.verify(id), refusedWith('CONFLICT', 'the data is being checked already'));
      const damaged = await checked(node, id);
      assert.equal(damaged.state, 'downloading', 'the damaged piece is to be downloaded again (no peer has it here)');
      assert.ok(damaged.pieceCount > 1);
      assert.equal(damaged.piecesHad, damaged.pieceCount - 1);
      assert.equal(hasPiece(damaged, damagedPiece), false, `piece ${damagedPiece} holds the damaged byte`);
      assert.equal(hasPiece(damaged, damagedPiece - 1) && hasPiece(damaged, damagedPiece + 1), true);
      assert.ok(damaged.progress < 1);
      assert.equal(damaged.bytesLeft, pieceLength);

      await writeByte(file, DAMAGED_AT, content[DAMAGED_AT]!);
      assert.equal((await node.verify(id)).state, 'checking');
      const repaired = await checked(node, id);
      assert.equal(repaired.state, 'seeding');
      assert.equal(repaired.piecesHad, repaired.pieceCount);
      assert.equal(repaired.progress, 1);

      await node.pause(id);
      const pausedCheck = await node.verify(id);
      assert.equal(pausedCheck.state, 'checking', 'a paused torrent says it is checking');
      assert.equal(pausedCheck.paused, true);
      const afterPaused = await checked(node, id);
      assert.equal(afterPaused.state, 'paused', 'and stays paused after');
      assert.equal(afterPaused.piecesHad, afterPaused.pieceCount);
    } finally {
      await node.close();
    }
  });

  test('a torrent stopped by an error runs again after a verify once its file is back', async () => {
    const { node, file, content, id } = await sharing();
    try {
      // A directory where the file was: reading it fails, and the check stops the torrent.
      await rm(file);
      await mkdir(file);
      await node.verify(id);
      const failed = await checked(node, id);
      assert.equal(failed.state, 'error');
      assert.match(failed.error ?? '', /data\.bin/);

      await rm(file, { recursive: true });
      await writeFile(file, content);
      const again = await node.verify(id);
      assert.equal(again.state, 'checking');
      assert.equal(again.error, undefined, 'the error is gone with the new check');
      const seeding = await checked(node, id);
      assert.equal(seeding.state, 'seeding');
      assert.equal(seeding.piecesHad, seeding.pieceCount);
    } finally {
      await node.close();
    }
  });

  test('before the metadata there is nothing to check (CONFLICT); an unknown torrent is NOT_FOUND', async () => {
    const dir = await tempDir();
    const node = await WarrenNode.start(testNodeOptions(join(dir, 'node')));
    try {
      const magnet = `magnet:?xt=urn:btih:${'ab'.repeat(20)}&dn=nothing.bin`;
      const { torrent } = await node.add({ magnet });
      assert.equal(torrent.state, 'metadata');
      await assert.rejects(node.verify(torrent.id), refusedWith('CONFLICT', 'the metadata is not known yet: there is no data to check'));
      assert.equal(node.get(torrent.id)!.state, 'metadata', 'nothing changed');
      await assert.rejects(node.verify('cd'.repeat(20)), refusedWith('NOT_FOUND', /^no torrent cdcd/));
    } finally {
      await node.close();
    }
  });
});
