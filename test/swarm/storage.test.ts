import { test, describe, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { InfoDict } from '../../src/codec/metainfo.js';
import type { FileHandle, FileStore } from '../../src/runtime/interfaces.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { StorageError } from '../../src/swarm/errors.js';
import { TorrentStorage, sha1 } from '../../src/swarm/storage.js';

/** Deterministic bytes (an LCG), different for each seed. */
function data(length: number, seed: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = seed * 2654435761 + 1;
  for (let i = 0; i < length; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

const PIECE = 16 * 1024;
/** Lengths chosen so pieces span files: tiny files, an empty one, a file ending on a boundary. */
const LAYOUT: [string, number][] = [
  ['a.bin', 5000],
  ['empty.txt', 0],
  ['sub/b.bin', 40000],
  ['sub/c.bin', 17],
  ['sub/deep/d.bin', PIECE * 2 - 45017 + PIECE], // ends exactly on a piece boundary
  ['z.bin', 30000],
];

/** Byte equality whatever the Uint8Array subclass (Buffer or not), without a huge diff on failure. */
function assertBytes(actual: Uint8Array, expected: Uint8Array, message?: string): void {
  assert.equal(actual.length, expected.length, message);
  assert.ok(Buffer.from(actual.buffer, actual.byteOffset, actual.length).equals(expected), message ?? 'bytes differ');
}

const storageCode = (code: string) => (e: unknown) => e instanceof StorageError && e.code === code;

/** Writes the LAYOUT under `dir` in `fs` and returns the content of each file. */
async function makeSource(fs: FileStore, dir: string): Promise<Uint8Array[]> {
  const contents: Uint8Array[] = [];
  for (const [i, [name, length]] of LAYOUT.entries()) {
    const path = `${dir}/${name}`;
    await fs.mkdir(path.slice(0, path.lastIndexOf('/')));
    const bytes = data(length, i + 1);
    await fs.writeFile(path, bytes);
    contents.push(bytes);
  }
  return contents;
}

/** The torrent's concatenated data, for slicing expected pieces. */
function concat(parts: Uint8Array[]): Uint8Array {
  return new Uint8Array(Buffer.concat(parts));
}

function piece(all: Uint8Array, info: InfoDict, index: number): Uint8Array {
  return all.subarray(index * info.pieceLength, Math.min((index + 1) * info.pieceLength, info.totalLength));
}

const tempDirs: string[] = [];
after(async () => {
  for (const d of tempDirs) await rm(d, { recursive: true, force: true });
});

describe('TorrentStorage on the real disk', () => {
  test('round trip: pieces written in any order land byte-exact in every file', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-storage-'));
    tempDirs.push(dir);
    const fs = createNodeRuntime().fs;
    const contents = await makeSource(fs, `${dir}/src/share`);
    const { info } = await createTorrent(fs, `${dir}/src/share`, { pieceLength: PIECE });
    assert.equal(info.pieceLength, PIECE);
    assert.equal(info.pieceCount, 5);
    const all = concat(contents);

    // The seeder's view: every piece verifies in place, and blocks across file boundaries read right.
    const seed = new TorrentStorage(fs, info, `${dir}/src`);
    for (let i = 0; i < info.pieceCount; i++) assert.equal(await seed.verifyPiece(i), true, `piece ${i}`);
    assertBytes(await seed.readBlock(0, 4990, 20), all.subarray(4990, 5010)); // a.bin → sub/b.bin
    assertBytes(await seed.readBlock(2, 45000 - 2 * PIECE, 30), all.subarray(45000, 45030)); // b → c → d
    await seed.close();

    // The leecher writes pieces back to front into another folder.
    const leech = new TorrentStorage(fs, info, `${dir}/dl`);
    for (let i = info.pieceCount - 1; i >= 0; i--) await leech.writePiece(i, piece(all, info, i));
    await leech.createEmptyFiles();
    await leech.sync();
    for (let i = 0; i < info.pieceCount; i++) assert.equal(await leech.verifyPiece(i), true);
    assertBytes(await leech.readPiece(1), piece(all, info, 1));
    const stats = await leech.fileStats();
    assert.deepEqual(
      stats.map((s) => s?.size),
      LAYOUT.map(([, length]) => length),
    );
    await leech.close();
    for (const [i, [name]] of LAYOUT.entries()) {
      assertBytes(await readFile(join(dir, 'dl', 'share', name)), contents[i]!, name);
    }
  });

  test('single-file torrent lives at rootDir/name; a corrupted byte fails verification', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-storage-'));
    tempDirs.push(dir);
    await mkdir(join(dir, 'src'));
    const content = data(PIECE * 3 + 100, 9);
    await writeFile(join(dir, 'src', 'one.bin'), content);
    const fs = createNodeRuntime().fs;
    const { info } = await createTorrent(fs, `${dir}/src/one.bin`, { pieceLength: PIECE });
    const storage = new TorrentStorage(fs, info, `${dir}/out/`);
    assert.equal(storage.paths[0], `${dir}/out/one.bin`);
    for (let i = 0; i < info.pieceCount; i++) await storage.writePiece(i, piece(content, info, i));
    await storage.close();
    assertBytes(await readFile(join(dir, 'out', 'one.bin')), content);

    const h = await fs.open(`${dir}/out/one.bin`, 'rw');
    await h.write(new Uint8Array([content[PIECE + 5]! ^ 0xff]), PIECE + 5);
    await h.close();
    assert.equal(await storage.verifyPiece(0), true);
    assert.equal(await storage.verifyPiece(1), false);
    assert.equal(await storage.verifyPiece(3), true); // the short last piece
    await assert.rejects(storage.writePiece(0, new Uint8Array(5)), RangeError);
    await assert.rejects(storage.readBlock(3, 90, 20), RangeError);
    await storage.close();
  });
});

describe('TorrentStorage failures (memory disk)', () => {
  async function setup(options: { quotaBytes?: number } = {}) {
    const fs = new MemoryFileStore(options);
    const contents = await makeSource(fs, '/src/share');
    const { info } = await createTorrent(fs, '/src/share', { pieceLength: PIECE });
    return { fs, info, all: concat(contents) };
  }

  test('disk full → StorageError DISK_FULL naming the file; earlier pieces intact', async () => {
    const { fs, info, all } = await setup();
    fs.quotaBytes = fs.usedBytes + 50_000; // room for the first ~3 pieces of the second copy
    const storage = new TorrentStorage(fs, info, '/dl');
    await storage.writePiece(0, piece(all, info, 0));
    await storage.writePiece(1, piece(all, info, 1));
    let error: unknown;
    for (let i = 2; i < info.pieceCount && error === undefined; i++) {
      await storage.writePiece(i, piece(all, info, i)).catch((e: unknown) => (error = e));
    }
    assert.ok(error instanceof StorageError, String(error));
    assert.equal(error.code, 'DISK_FULL');
    assert.match(error.message, /^disk full writing \/dl\/share\/\S+$/);
    assert.equal(error.message.includes('\n'), false);
    // What was written before is intact.
    assert.equal(await storage.verifyPiece(0), true);
    assert.equal(await storage.verifyPiece(1), true);
    await storage.close();
  });

  test('permission denied → StorageError PERMISSION', async () => {
    const { fs, info, all } = await setup();
    await fs.mkdir('/dl');
    fs.setReadOnly('/dl');
    const storage = new TorrentStorage(fs, info, '/dl');
    await assert.rejects(storage.writePiece(0, piece(all, info, 0)), (e: unknown) => {
      assert.ok(e instanceof StorageError);
      assert.equal(e.code, 'PERMISSION');
      assert.match(e.message, /permission denied .*\/dl\/share/);
      return true;
    });
    fs.setReadOnly('/dl', false);
    await storage.writePiece(0, piece(all, info, 0)); // the failed open is retried
    assert.equal(await storage.verifyPiece(0), true);
  });

  test('a vanished file: MISSING_FILE on read, verifyPiece false there and true elsewhere', async () => {
    const { fs, info, all } = await setup();
    const storage = new TorrentStorage(fs, info, '/dl');
    for (let i = 0; i < info.pieceCount; i++) await storage.writePiece(i, piece(all, info, i));
    await storage.close();
    await fs.remove('/dl/share/z.bin'); // the last 30000 bytes: pieces 3..4 of 5
    const last = info.pieceCount - 1;
    await assert.rejects(storage.readBlock(last, 0, 100), (e: unknown) => {
      assert.ok(storageCode('MISSING_FILE')(e));
      assert.match((e as Error).message, /\/dl\/share\/z\.bin is missing/);
      return true;
    });
    assert.equal(await storage.verifyPiece(last), false);
    assert.equal(await storage.verifyPiece(0), true);
    const stats = await storage.fileStats();
    assert.equal(stats[5], undefined);
    assert.equal(stats[0]?.size, 5000);

    // A truncated file is "missing data" too.
    await fs.truncate('/dl/share/sub/b.bin', 100);
    assert.equal(await storage.verifyPiece(1), false);
    await assert.rejects(storage.readPiece(1), storageCode('MISSING_FILE'));
  });

  test('at most maxOpenFiles handles are open; evicted dirty files are still synced', async () => {
    const { fs, info, all } = await setup();
    let openNow = 0;
    let maxOpen = 0;
    let syncs = 0;
    const counting: FileStore = Object.assign(Object.create(fs) as FileStore, {
      open: async (path: string, mode: 'r' | 'rw'): Promise<FileHandle> => {
        const h = await fs.open(path, mode);
        openNow++;
        maxOpen = Math.max(maxOpen, openNow);
        let closed = false;
        return {
          read: (p, l) => h.read(p, l),
          write: (d, p) => h.write(d, p),
          sync: () => {
            syncs++;
            return h.sync();
          },
          close: async () => {
            if (!closed) openNow--;
            closed = true;
            await h.close();
          },
        };
      },
    });
    const storage = new TorrentStorage(counting, info, '/dl', { maxOpenFiles: 2 });
    for (let i = 0; i < info.pieceCount; i++) await storage.writePiece(i, piece(all, info, i));
    assert.ok(maxOpen <= 4, `max open ${maxOpen}`); // the limit may be passed only by spans in flight (3 here)
    await storage.sync();
    assert.equal(syncs, 5); // every non-empty file, including those whose handle was evicted
    await storage.sync();
    assert.equal(syncs, 5); // nothing written since
    for (let i = 0; i < info.pieceCount; i++) assert.equal(await storage.verifyPiece(i), true);
    await storage.close();
    assert.equal(openNow, 0);
  });

  test('sha1 matches the known digest of "abc"', () => {
    assert.equal(Buffer.from(sha1(new TextEncoder().encode('abc'))).toString('hex'), 'a9993e364706816aba3e25717850c26c9cd0d89d');
  });
});
