import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FileStore } from '../../src/runtime/interfaces.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';

const bytes = (...values: number[]): Uint8Array => new Uint8Array(values);
const hasCode = (code: string) => (e: NodeJS.ErrnoException) => e.code === code;

/** The same contract, run against the real disk and the memory store. */
function fileApiContract(label: string, setup: () => Promise<{ fs: FileStore; dir: string }>): void {
  describe(`FileStore file API (${label})`, () => {
    test('open rw creates, positional write/read, gaps read as zeros, short read at EOF', async () => {
      const { fs, dir } = await setup();
      const path = `${dir}/a.bin`;
      assert.equal(await fs.stat(path), undefined);
      const h = await fs.open(path, 'rw');
      await h.write(bytes(1, 2, 3), 0);
      await h.write(bytes(9, 9), 6); // extends with a gap
      await h.write(bytes(7), 1); // overwrite in place
      await h.sync();
      assert.deepEqual([...(await h.read(0, 8))], [1, 7, 3, 0, 0, 0, 9, 9]);
      assert.deepEqual([...(await h.read(5, 100))], [0, 9, 9]);
      assert.equal((await h.read(50, 10)).length, 0);
      await h.close();
      await h.close(); // idempotent
      const s = await fs.stat(path);
      assert.equal(s?.size, 8);
      assert.equal(s?.isDirectory, false);
      assert.equal(typeof s?.mtimeMs, 'number');
      // Reopening rw does not truncate.
      const h2 = await fs.open(path, 'rw');
      await h2.write(bytes(5), 0);
      await h2.close();
      assert.deepEqual([...((await fs.readFile(path)) ?? [])], [5, 7, 3, 0, 0, 0, 9, 9]);
    });

    test('read-only open: ENOENT when missing, reads work, writes are refused', async () => {
      const { fs, dir } = await setup();
      await assert.rejects(fs.open(`${dir}/missing`, 'r'), hasCode('ENOENT'));
      await assert.rejects(fs.open(`${dir}/no-dir/x`, 'rw'), hasCode('ENOENT'));
      await fs.writeFile(`${dir}/r`, bytes(1, 2, 3, 4));
      const h = await fs.open(`${dir}/r`, 'r');
      assert.deepEqual([...(await h.read(1, 2))], [2, 3]);
      await assert.rejects(h.write(bytes(1), 0));
      await h.close();
    });

    test('stat, list (sorted names), remove, truncate', async () => {
      const { fs, dir } = await setup();
      await fs.mkdir(`${dir}/sub/deeper`);
      await fs.writeFile(`${dir}/b`, bytes(1));
      await fs.writeFile(`${dir}/a`, bytes(1, 2));
      await fs.writeFile(`${dir}/sub/c`, bytes());
      assert.deepEqual(await fs.list(dir), ['a', 'b', 'sub']);
      assert.deepEqual(await fs.list(`${dir}/sub`), ['c', 'deeper']);
      assert.deepEqual(await fs.list(`${dir}/sub/deeper`), []);
      await assert.rejects(fs.list(`${dir}/nope`), hasCode('ENOENT'));
      assert.equal((await fs.stat(`${dir}/sub`))?.isDirectory, true);
      assert.equal((await fs.stat(`${dir}/a`))?.size, 2);
      assert.equal(await fs.stat(`${dir}/a/x`), undefined); // a file as a directory: not there

      await fs.truncate(`${dir}/a`, 5);
      assert.deepEqual([...((await fs.readFile(`${dir}/a`)) ?? [])], [1, 2, 0, 0, 0]);
      await fs.truncate(`${dir}/a`, 1);
      await fs.truncate(`${dir}/a`, 3);
      assert.deepEqual([...((await fs.readFile(`${dir}/a`)) ?? [])], [1, 0, 0]);
      await assert.rejects(fs.truncate(`${dir}/nope`, 1), hasCode('ENOENT'));

      await fs.remove(`${dir}/b`);
      await fs.remove(`${dir}/b`); // no error when missing
      assert.equal(await fs.stat(`${dir}/b`), undefined);
      assert.deepEqual(await fs.list(dir), ['a', 'sub']);
      await assert.rejects(fs.open(`${dir}/sub`, 'rw'), hasCode('EISDIR'));
    });

    test('writing changes mtime; a handle survives removal of its file', async () => {
      const { fs, dir } = await setup();
      const path = `${dir}/m`;
      const h = await fs.open(path, 'rw');
      await h.write(bytes(1), 0);
      const before = (await fs.stat(path))!.mtimeMs;
      await fs.remove(path);
      assert.deepEqual([...(await h.read(0, 1))], [1]);
      await h.close();
      assert.equal(await fs.stat(path), undefined);
      await fs.writeFile(path, bytes(1, 2));
      const h2 = await fs.open(path, 'rw');
      // Real mtimes have a coarse clock: write until it moves (bounded), the memory store moves at once.
      let after = before;
      for (let i = 0; i < 5000 && after === before; i++) {
        await h2.write(bytes(i & 0xff), 0);
        after = (await fs.stat(path))!.mtimeMs;
      }
      await h2.close();
      assert.notEqual(after, before);
    });
  });
}

const tempDirs: string[] = [];
after(async () => {
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

fileApiContract('node fs', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'warren-files-'));
  tempDirs.push(dir);
  return { fs: createNodeRuntime().fs, dir };
});

fileApiContract('memory', async () => {
  const fs = new MemoryFileStore();
  await fs.mkdir('/t');
  return { fs, dir: '/t' };
});

describe('MemoryFileStore test switches', () => {
  test('quota: a write past it is ENOSPC and changes nothing; freeing space lets it through', async () => {
    const fs = new MemoryFileStore({ quotaBytes: 10 });
    await fs.writeFile('/a', new Uint8Array(6));
    const h = await fs.open('/b', 'rw');
    await h.write(new Uint8Array(4), 0);
    assert.equal(fs.usedBytes, 10);
    await assert.rejects(h.write(bytes(1), 4), hasCode('ENOSPC'));
    await h.write(bytes(1, 2), 2); // overwrite within the file needs no space
    assert.equal((await fs.stat('/b'))?.size, 4);
    await assert.rejects(fs.writeFile('/c', bytes(1)), hasCode('ENOSPC'));
    await assert.rejects(fs.truncate('/a', 7), hasCode('ENOSPC'));
    await fs.remove('/a');
    assert.equal(fs.usedBytes, 4);
    await h.write(new Uint8Array(6), 4);
    assert.equal(fs.usedBytes, 10);
    fs.quotaBytes = undefined;
    await h.write(bytes(1), 100);
    await h.close();
  });

  test('read-only paths: EACCES for every change at or below, reads still work', async () => {
    const fs = new MemoryFileStore();
    await fs.mkdir('/d/sub');
    await fs.writeFile('/d/sub/f', bytes(1, 2));
    const open = await fs.open('/d/sub/f', 'rw');
    fs.setReadOnly('/d');
    await assert.rejects(fs.open('/d/sub/f', 'rw'), hasCode('EACCES'));
    await assert.rejects(fs.open('/d/new', 'rw'), hasCode('EACCES'));
    await assert.rejects(open.write(bytes(1), 0), hasCode('EACCES'));
    await assert.rejects(fs.writeFile('/d/x', bytes(1)), hasCode('EACCES'));
    await assert.rejects(fs.mkdir('/d/e'), hasCode('EACCES'));
    await assert.rejects(fs.remove('/d/sub/f'), hasCode('EACCES'));
    await assert.rejects(fs.truncate('/d/sub/f', 0), hasCode('EACCES'));
    const r = await fs.open('/d/sub/f', 'r');
    assert.deepEqual([...(await r.read(0, 2))], [1, 2]);
    await fs.writeFile('/elsewhere', bytes(1)); // outside: unaffected
    fs.setReadOnly('/d', false);
    await open.write(bytes(3), 0);
    assert.deepEqual([...((await fs.readFile('/d/sub/f')) ?? [])], [3, 2]);
  });

  test('mtimes come from the injected clock, and setMtime overrides', async () => {
    let t = 1000;
    const fs = new MemoryFileStore({ now: () => t });
    const h = await fs.open('/f', 'rw');
    t = 2000;
    await h.write(bytes(1), 0);
    assert.equal((await fs.stat('/f'))?.mtimeMs, 2000);
    fs.setMtime('/f', 5);
    assert.equal((await fs.stat('/f'))?.mtimeMs, 5);
    assert.deepEqual(fs.allFiles(), ['/f']);
  });
});
