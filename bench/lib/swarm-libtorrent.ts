/**
 * libtorrent → libtorrent for the swarm benchmark: runs `libtorrent-swarm-bench.py` (Debian's
 * python3-libtorrent, two sessions in one process) on the same .torrent and data.
 */
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { BenchData } from './swarm-data.js';
import { JsonChild } from './swarm-proc.js';

const DRIVER = fileURLToPath(new URL('../../../bench/lib/libtorrent-swarm-bench.py', import.meta.url));
const PYTHON = '/usr/bin/python3';

export interface LibtorrentResult {
  version: string;
  settings: Record<string, unknown>;
  ms: number;
  /** CPU seconds of the process (both sessions) during the transfer. */
  cpu: number;
}

/** Runs the transfer; throws with the driver's message when it fails. */
export async function runLibtorrent(data: BenchData): Promise<LibtorrentResult> {
  const leechDir = join(data.dir, 'lt-leech');
  await rm(leechDir, { recursive: true, force: true });
  await mkdir(leechDir);
  const child = new JsonChild('libtorrent driver', PYTHON, [DRIVER, data.torrentPath, data.sourceDir, leechDir]);
  try {
    const settings = await child.next('settings');
    const done = await child.next('complete');
    await child.exit;
    const { event: _event, version, ...rest } = settings;
    return { version: String(version), settings: rest, ms: done.ms as number, cpu: done.cpu as number };
  } finally {
    await child.stop();
    await rm(leechDir, { recursive: true, force: true });
  }
}
