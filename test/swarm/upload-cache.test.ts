import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PieceBufferPool } from '../../src/swarm/piece-buffer-pool.js';
import { UploadCache } from '../../src/swarm/upload-cache.js';

const PIECE = 64;

/** A cache whose reads fill the piece with its index; each read settles when the test says so. */
function setup(capacity = 2) {
  const reads = new Map<number, { finish: () => void; fail: (e: Error) => void }>();
  const pool = new PieceBufferPool(PIECE);
  const cache = new UploadCache(
    (index, into) =>
      new Promise<Uint8Array>((resolve, reject) => {
        reads.set(index, {
          finish: () => resolve(into.fill(index)),
          fail: reject,
        });
      }),
    pool,
    capacity,
  );
  const load = async (index: number) => {
    const piece = cache.acquire(index, PIECE);
    reads.get(index)?.finish();
    await piece.loaded;
    return piece;
  };
  return { cache, pool, reads, load };
}

describe('UploadCache', () => {
  test('a buffer is recycled only once its piece is evicted and every block of it is released', async () => {
    const { cache, pool, load } = setup();
    const p0 = await load(0);
    const block = p0.hold().block(16, 8);
    p0.release(); // the acquirer is done; the block is still being sent
    assert.equal(cache.ready(0), p0);
    (await load(1)).release();
    (await load(2)).release(); // evicts piece 0
    assert.equal(cache.ready(0), undefined);
    assert.equal(pool.idleBytes, 0, 'still held by the block being sent');
    assert.deepEqual([...block], new Array(8).fill(0));
    const oldBuffer = block.buffer;
    p0.release();
    assert.equal(pool.idleBytes, PIECE, 'released: back in the pool');
    const p3 = await load(3); // evicts piece 1, reads into the recycled buffer
    assert.equal(p3.data!.buffer, oldBuffer);
    assert.deepEqual([...p3.block(0, 4)], [3, 3, 3, 3]);
    assert.equal(pool.idleBytes, PIECE, "piece 1's buffer, evicted and not held");
  });

  test('a piece evicted while being read is recycled after the read and the last release', async () => {
    const { cache, pool, reads } = setup(1);
    const p0 = cache.acquire(0, PIECE);
    const p1 = cache.acquire(1, PIECE); // evicts piece 0 while it is read
    assert.equal(pool.idleBytes, 0);
    reads.get(0)!.finish();
    await p0.loaded;
    assert.equal(pool.idleBytes, 0, 'the acquirer still holds it');
    assert.deepEqual([...p0.block(0, 2)], [0, 0]);
    p0.release();
    assert.equal(pool.idleBytes, PIECE);
    reads.get(1)!.finish();
    await p1.loaded;
    p1.release();
    assert.equal(pool.idleBytes, PIECE, 'piece 1 is cached: not recycled');
    assert.equal(cache.ready(1), p1);
  });

  test('a failed read leaves the cache and its buffer is not pooled', async () => {
    const { cache, pool, reads } = setup();
    const p0 = cache.acquire(0, PIECE);
    reads.get(0)!.fail(new Error('gone'));
    await assert.rejects(p0.loaded, /gone/);
    p0.release();
    assert.equal(cache.size, 0);
    assert.equal(pool.idleBytes, 0);
    const again = cache.acquire(0, PIECE);
    assert.notEqual(again, p0, 'read afresh');
  });

  test('a pinned piece is never recycled; releasing more than held throws', async () => {
    const { pool, load } = setup(1);
    const p0 = await load(0);
    p0.pin();
    p0.release();
    (await load(1)).release();
    assert.equal(pool.idleBytes, 0);
    assert.throws(() => p0.release(), /released more often than held/);
  });
});
