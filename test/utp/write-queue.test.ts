/** The bytes written to a uTP connection before they are cut into packets, and their callbacks. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UtpWriteQueue } from '../../src/utp/write-queue.js';

const bytes = (from: number, length: number) => Uint8Array.from({ length }, (_, i) => (from + i) & 0xff);
const tick = () => new Promise<void>((resolve) => queueMicrotask(resolve));

describe('UtpWriteQueue', () => {
  test('packets take the bytes in order, across chunk boundaries, after room for the header', () => {
    const queue = new UtpWriteQueue();
    queue.push([bytes(0, 5), bytes(5, 3)]);
    queue.push([bytes(8, 10), new Uint8Array(0)]);
    assert.equal(queue.pending, 18);
    const first = queue.take(7, 2);
    assert.deepEqual([...first], [0, 0, 0, 1, 2, 3, 4, 5, 6]);
    const second = queue.take(100, 0);
    assert.deepEqual([...second], [...bytes(7, 11)]);
    assert.equal(queue.pending, 0);
  });

  test('the bytes are copied: the caller may reuse its buffers once done is called', () => {
    const queue = new UtpWriteQueue();
    const chunk = bytes(0, 4);
    queue.push([chunk]);
    const packet = queue.take(4, 0);
    chunk.fill(9);
    assert.deepEqual([...packet], [0, 1, 2, 3]);
  });

  test('done is called once, asynchronously, after the last byte of its batch is taken', async () => {
    const queue = new UtpWriteQueue();
    const calls: string[] = [];
    queue.push([bytes(0, 10)], () => calls.push('a'));
    queue.push([bytes(10, 10)], () => calls.push('b'));
    queue.take(15, 0);
    assert.equal(calls.length, 0, 'never synchronously');
    await tick();
    assert.deepEqual(calls, ['a']);
    queue.take(15, 0);
    await tick();
    assert.deepEqual(calls, ['a', 'b']);
    queue.push([], () => calls.push('empty'));
    await tick();
    assert.deepEqual(calls, ['a', 'b', 'empty'], 'nothing to wait for: done at once');
  });

  test('abort drops what waits and calls every callback', async () => {
    const queue = new UtpWriteQueue();
    let calls = 0;
    queue.push([bytes(0, 10)], () => calls++);
    queue.push([bytes(0, 10)], () => calls++);
    queue.take(5, 0);
    queue.abort();
    assert.equal(queue.pending, 0);
    await tick();
    assert.equal(calls, 2);
  });

  test('thousands of small chunks are taken without losing one (the taken front is dropped in batches)', () => {
    const queue = new UtpWriteQueue();
    const all: number[] = [];
    for (let i = 0; i < 5000; i++) {
      const chunk = bytes(i, 1 + (i % 7));
      all.push(...chunk);
      queue.push([chunk]);
    }
    const out: number[] = [];
    while (queue.pending > 0) out.push(...queue.take(1400, 20).subarray(20));
    assert.deepEqual(out, all);
  });
});
