/**
 * One side of the plain loopback TCP copy that the swarm benchmark takes as a physical limit
 * (`bench/lib/swarm-physical.ts` spawns both sides as separate processes). JSON lines on stdout:
 *
 *   node swarm-tcp-child.js recv <out-file|->  → {"event":"ready","port"}, then after the sender
 *     closes: {"event":"done","bytes","ms","cpu","peakRss"} (`-` discards instead of writing)
 *   node swarm-tcp-child.js send <file> <port> → streams the file, then {"event":"done","cpu"}
 *
 * `ms` runs from the accepted connection until the last byte is written (and the file closed).
 */
import { createReadStream, createWriteStream } from 'node:fs';
import net from 'node:net';
import { pipeline } from 'node:stream/promises';
import { Writable } from 'node:stream';
import { peakRss } from './swarm-proc.js';

const CHUNK = 1024 * 1024;

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function cpu(): number {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1e6;
}

async function main(): Promise<void> {
  const [mode, path, port] = process.argv.slice(2);
  if (mode === 'recv' && path) {
    const server = net.createServer((socket) => {
      server.close();
      const t0 = performance.now();
      let bytes = 0;
      socket.on('data', (chunk: Buffer) => {
        bytes += chunk.length;
      });
      const sink =
        path === '-'
          ? new Writable({ write: (_chunk, _enc, cb) => cb(), highWaterMark: CHUNK })
          : createWriteStream(path, { highWaterMark: CHUNK });
      pipeline(socket, sink).then(
        () => {
          emit({ event: 'done', bytes, ms: performance.now() - t0, cpu: cpu(), peakRss: peakRss('self') });
          process.exit(0);
        },
        (error: Error) => {
          emit({ event: 'error', message: error.message });
          process.exit(1);
        },
      );
    });
    server.listen(0, '127.0.0.1', () => emit({ event: 'ready', port: (server.address() as net.AddressInfo).port }));
  } else if (mode === 'send' && path && port) {
    const socket = net.connect(Number(port), '127.0.0.1');
    await new Promise<void>((resolve, reject) => socket.once('connect', resolve).once('error', reject));
    await pipeline(createReadStream(path, { highWaterMark: CHUNK }), socket);
    emit({ event: 'done', cpu: cpu() });
  } else {
    throw new Error('usage: recv <out-file|-> | send <file> <port>');
  }
}

main().catch((error: Error) => {
  emit({ event: 'error', message: error.message });
  process.exit(1);
});
