import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { PieceBufferPool } from '../../src/swarm/piece-buffer-pool.js';

describe('PieceBufferPool', () => {
  test('a full-size buffer given back is handed out again', () => {
    const pool = new PieceBufferPool(1024);
    const a = pool.take(1024);
    assert.equal(a.length, 1024);
    assert.equal(a.byteOffset, 0);
    assert.equal(a.buffer.byteLength, 1024, 'owns its whole ArrayBuffer (movable to the hashing thread)');
    pool.give(a);
    assert.equal(pool.idleBytes, 1024);
    assert.equal(pool.take(1024), a);
    assert.equal(pool.idleBytes, 0);
    assert.notEqual(pool.take(1024), a, 'a buffer is never handed out twice');
  });

  test('short pieces are not pooled, and foreign buffers are ignored', () => {
    const pool = new PieceBufferPool(1024);
    const short = pool.take(100);
    assert.equal(short.length, 100);
    pool.give(short);
    pool.give(new Uint8Array(2048).subarray(0, 1024)); // a view of a larger buffer
    pool.give(new Uint8Array(2048).subarray(1024)); // not at offset 0
    assert.equal(pool.idleBytes, 0);
  });

  test('at most maxFree idle buffers are kept', () => {
    const pool = new PieceBufferPool(64, 2);
    const taken = [pool.take(64), pool.take(64), pool.take(64)];
    for (const b of taken) pool.give(b);
    assert.equal(pool.idleBytes, 128);
    pool.clear();
    assert.equal(pool.idleBytes, 0);
  });
});
