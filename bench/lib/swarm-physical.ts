/**
 * The physical limit of a loopback transfer, for the swarm benchmark: SHA-1 over the file on one
 * core (node:crypto, reading the file in 4 MiB chunks into one reused buffer), and a plain loopback
 * TCP copy of the file between two processes (node:net; `swarm-tcp-child.ts`), once written to a
 * file at the receiver and once discarded.
 */
import { createHash } from 'node:crypto';
import { open } from 'node:fs/promises';
import { benchScript, JsonChild } from './swarm-proc.js';

const READ_CHUNK = 4 * 1024 * 1024;

/** Hashes the file once; returns wall-clock ms. */
export async function sha1FileMs(path: string): Promise<number> {
  const buffer = Buffer.alloc(READ_CHUNK);
  const file = await open(path, 'r');
  const hash = createHash('sha1');
  const t0 = performance.now();
  try {
    for (;;) {
      const { bytesRead } = await file.read(buffer, 0, READ_CHUNK, null);
      if (bytesRead === 0) break;
      hash.update(buffer.subarray(0, bytesRead));
    }
    hash.digest();
    return performance.now() - t0;
  } finally {
    await file.close();
  }
}

/** A TCP copy's figures: receiver ms and CPU seconds of both sides. */
export interface TcpCopyResult {
  bytes: number;
  ms: number;
  cpuRecv: number;
  cpuSend: number;
}

/** Copies `path` over loopback TCP from one process to another; `out` = '-' discards. */
export async function tcpCopy(path: string, out: string): Promise<TcpCopyResult> {
  const recv = new JsonChild('tcp receiver', process.execPath, [benchScript('swarm-tcp-child.js'), 'recv', out]);
  try {
    const ready = await recv.next('ready');
    const send = new JsonChild('tcp sender', process.execPath, [benchScript('swarm-tcp-child.js'), 'send', path, String(ready.port)]);
    const [done, sent] = await Promise.all([recv.next('done'), send.next('done')]);
    await Promise.all([recv.exit, send.exit]);
    return { bytes: done.bytes as number, ms: done.ms as number, cpuRecv: done.cpu as number, cpuSend: sent.cpu as number };
  } finally {
    await recv.stop();
  }
}
