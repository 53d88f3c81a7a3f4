/**
 * `checkPieces`: pieces read and hashed a few at a time; only matching ones are good; a missing or
 * short file means not good, another read error rejects; it stops when told; it hands the hasher
 * whole buffers (which the worker thread can move) and reuses them.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { parseInfoDict } from '../../src/codec/metainfo.js';
import type { FileStore } from '../../src/runtime/interfaces.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { StorageError } from '../../src/swarm/errors.js';
import { checkPieces } from '../../src/swarm/piece-checker.js';
import { inlineHasher, type PieceHasher } from '../../src/swarm/piece-hasher.js';
import { pieceHash } from '../../src/codec/metainfo.js';
import { TorrentStorage } from '../../src/swarm/storage.js';

const PIECE = 16384;

async function setup(fs: FileStore = new MemoryFileStore()) {
  const mem = fs as MemoryFileStore;
  await mem.mkdir('/s/t');
  const rng = new Mulberry32(7);
  await mem.writeFile('/s/t/a.bin', rng.bytes(100_000));
  await mem.writeFile('/s/t/b.bin', rng.bytes(60_000));
  const created = await createTorrent(mem, '/s/t', { pieceLength: PIECE });
  const info = parseInfoDict(created.infoBytes);
  return { fs: mem, info };
}

/** A hasher that counts calls, the most at once, and whether each buffer owned its whole ArrayBuffer. */
function countingHasher() {
  const seen = { calls: 0, running: 0, most: 0, whole: 0, buffers: new Set<ArrayBufferLike>() };
  const hasher: PieceHasher = {
    async hash(data, how) {
      seen.calls++;
      seen.running++;
      seen.most = Math.max(seen.most, seen.running);
      if (data.byteOffset === 0 && data.byteLength === data.buffer.byteLength) seen.whole++;
      seen.buffers.add(data.buffer);
      await new Promise((r) => setImmediate(r));
      seen.running--;
      return inlineHasher.hash(data, how);
    },
    close() {},
  };
  return { hasher, seen };
}

describe('checkPieces', () => {
  test('every matching piece is good, a damaged one is not; several are in flight, in reused whole buffers', async () => {
    const { fs, info } = await setup();
    const damaged = (await fs.readFile('/s/t/a.bin'))!;
    damaged[3 * PIECE + 5] ^= 1;
    await fs.writeFile('/s/t/a.bin', damaged);
    const storage = new TorrentStorage(fs, info, '/s');
    const { hasher, seen } = countingHasher();
    const good: number[] = [];
    const all = Array.from({ length: info.pieceCount }, (_, i) => i);
    await checkPieces({ info, storage, hasher, check: (i) => ({ how: { kind: 'sha1' }, digest: pieceHash(info, i) }), good: (i) => good.push(i), stopped: () => false }, all);
    assert.deepEqual(good.sort((a, b) => a - b), all.filter((i) => i !== 3));
    assert.equal(seen.calls, info.pieceCount);
    assert.ok(seen.most > 1 && seen.most <= 4, `at most ${seen.most} at once`);
    assert.equal(seen.whole, info.pieceCount, 'each piece in a buffer of its own (the worker thread can move it)');
    assert.ok(seen.buffers.size <= 5, `${seen.buffers.size} buffers for ${info.pieceCount} pieces`);
  });

  test('a missing file makes its pieces not good; pieces with no check yet are skipped', async () => {
    const { fs, info } = await setup();
    await fs.remove('/s/t/b.bin'); // bytes 100000.. : pieces 6 (shared with a.bin) to 9
    const storage = new TorrentStorage(fs, info, '/s');
    const good: number[] = [];
    await checkPieces(
      { info, storage, hasher: inlineHasher, check: (i) => (i === 0 ? undefined : { how: { kind: 'sha1' }, digest: pieceHash(info, i) }), good: (i) => good.push(i), stopped: () => false },
      Array.from({ length: info.pieceCount }, (_, i) => i),
    );
    assert.deepEqual(good.sort((a, b) => a - b), [1, 2, 3, 4, 5]);
  });

  test('another read error rejects once the pieces in flight have settled', async () => {
    const { fs, info } = await setup();
    const failing: FileStore = Object.create(fs) as FileStore;
    failing.open = async (path, mode) => {
      if (path.endsWith('b.bin')) throw Object.assign(new Error('input/output error'), { code: 'EIO' });
      return fs.open(path, mode);
    };
    const storage = new TorrentStorage(failing, info, '/s');
    await assert.rejects(
      checkPieces({ info, storage, hasher: inlineHasher, check: (i) => ({ how: { kind: 'sha1' }, digest: pieceHash(info, i) }), good: () => undefined, stopped: () => false }, [0, 7, 1]),
      (e: unknown) => e instanceof StorageError && e.code === 'IO',
    );
  });

  test('large pieces are checked fewer at a time (32 MiB of buffers at most)', async () => {
    const fs = new MemoryFileStore();
    await fs.mkdir('/s');
    await fs.writeFile('/s/big.bin', new Mulberry32(3).bytes(5 * 16 * 1024 * 1024 - 1000));
    const created = await createTorrent(fs, '/s/big.bin', { pieceLength: 16 * 1024 * 1024 });
    const info = parseInfoDict(created.infoBytes);
    const { hasher, seen } = countingHasher();
    const good: number[] = [];
    await checkPieces({ info, storage: new TorrentStorage(fs, info, '/s'), hasher, check: (i) => ({ how: { kind: 'sha1' }, digest: pieceHash(info, i) }), good: (i) => good.push(i), stopped: () => false }, [0, 1, 2, 3, 4]);
    assert.equal(good.length, 5);
    assert.equal(seen.most, 2);
  });

  test('it stops when told', async () => {
    const { fs, info } = await setup();
    const storage = new TorrentStorage(fs, info, '/s');
    const good: number[] = [];
    await checkPieces({ info, storage, hasher: inlineHasher, check: (i) => ({ how: { kind: 'sha1' }, digest: pieceHash(info, i) }), good: (i) => good.push(i), stopped: () => good.length >= 2 }, Array.from({ length: info.pieceCount }, (_, i) => i));
    assert.ok(good.length >= 2 && good.length <= 5, `${good.length} checked after the stop`);
  });
});
