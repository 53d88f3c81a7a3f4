/**
 * Test data for the swarm benchmark: a work directory under /tmp, a file of random bytes
 * (AES-CTR keystream: random, incompressible, and fast to make), its .torrent from warren's own
 * `createTorrent`, and a free-space check before anything is written.
 */
import { createCipheriv, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, open, rm, statfs, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent, type CreatedTorrent, type TorrentFormat } from '../../src/swarm/create-torrent.js';

const CHUNK = 16 * 1024 * 1024;

/** A `--size=` value: bytes, or with a K, M or G suffix (powers of 1024), e.g. 256M, 1G. */
export function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(text);
  if (!m) throw new Error(`bad --size '${text}' (e.g. 256M, 1G)`);
  const unit = { '': 1, K: 1024, M: 1024 ** 2, G: 1024 ** 3 }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * unit);
}

/** Bytes free for an unprivileged user on the file system holding `path`. */
export async function freeBytes(path: string): Promise<number> {
  const s = await statfs(path);
  return s.bavail * s.bsize;
}

/** A fresh work directory under the system temp dir (/tmp); remove it with `rm(dir, {recursive})`. */
export function makeWorkDir(): Promise<string> {
  return mkdtemp(join(tmpdir(), 'warren-swarm-bench-'));
}

/** Writes `size` random bytes to `path`. */
export async function writeRandomFile(path: string, size: number): Promise<void> {
  const cipher = createCipheriv('aes-128-ctr', randomBytes(16), randomBytes(16));
  const zeros = Buffer.alloc(CHUNK);
  const file = await open(path, 'w');
  try {
    for (let done = 0; done < size; done += CHUNK) {
      const chunk = cipher.update(zeros.subarray(0, Math.min(CHUNK, size - done)));
      await file.write(chunk, 0, chunk.length);
    }
  } finally {
    await file.close();
  }
}

/** The data set of one run: the source file, its torrent, and files holding the torrent. */
export interface BenchData {
  dir: string;
  sourceDir: string;
  sourcePath: string;
  size: number;
  torrent: CreatedTorrent;
  /** The whole .torrent (what warren's child processes and libtorrent load). */
  torrentPath: string;
  /** Wall-clock ms warren's createTorrent took to hash the file. */
  createMs: number;
}

/** Writes a random file of `size` bytes under `dir/source/<name>` and makes its torrent (v1 unless `format` says otherwise). */
export async function makeBenchData(dir: string, name: string, size: number, format: TorrentFormat = 'v1'): Promise<BenchData> {
  const sourceDir = join(dir, `source-${name}`);
  await rm(sourceDir, { recursive: true, force: true });
  await mkdir(sourceDir, { recursive: true });
  const sourcePath = join(sourceDir, name);
  await writeRandomFile(sourcePath, size);
  const t0 = performance.now();
  const torrent = await createTorrent(createNodeRuntime().fs, sourcePath, { format });
  const createMs = performance.now() - t0;
  const torrentPath = join(dir, `${name}.torrent`);
  await writeFile(torrentPath, torrent.bytes);
  return { dir, sourceDir, sourcePath, size, torrent, torrentPath, createMs };
}
