/**
 * `checkNoRunningNode`: a data directory's `api.json` blocks a second node only while the process
 * it names is alive and its API answers; a file left behind by a killed node, whose pid may since
 * belong to another process, does not.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { checkNoRunningNode, writeApiInfo } from '../../src/node/node-files.js';

test('api.json blocks a second node only while its process lives and its API answers', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'warren-files-'));
  // Another live process: as if the dead node's pid had been reused.
  const other = spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60000)'], { stdio: 'ignore' });
  const server: Server = createServer((socket) => socket.destroy());
  try {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const listening = (server.address() as AddressInfo).port;
    const closed = await new Promise<number>((resolve) => {
      const probe = createServer().listen(0, '127.0.0.1', () => {
        const { port } = probe.address() as AddressInfo;
        probe.close(() => resolve(port));
      });
    });

    await checkNoRunningNode(dir); // no api.json at all
    await writeApiInfo(dir, { api: `http://127.0.0.1:${closed}`, pid: other.pid! });
    await checkNoRunningNode(dir); // a live pid, but nothing answers at the API: stale
    await writeApiInfo(dir, { api: `http://127.0.0.1:${listening}`, pid: other.pid! });
    await assert.rejects(checkNoRunningNode(dir), (error: Error & { code?: string }) => error.code === 'CONFLICT' && /already running/.test(error.message));
    await writeApiInfo(dir, { api: `http://127.0.0.1:${listening}`, pid: process.pid });
    await checkNoRunningNode(dir); // our own pid (a restart in the same process) never blocks
  } finally {
    other.kill();
    server.close();
    await rm(dir, { recursive: true, force: true });
  }
});
