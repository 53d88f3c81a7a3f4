/**
 * A warren peer in its own process, for the swarm benchmark (`bench/lib/swarm-warren.ts` spawns
 * it), so seeds and leechers never share an event loop. JSON lines on stdout, commands on stdin:
 *
 *   node swarm-warren-child.js seed  <file.torrent> <dir> [encryption]  → {"event":"ready","port"}
 *   node swarm-warren-child.js leech <file.torrent> <dir> [encryption]  → {"event":"ready","port"}
 *   (`encryption`: the session's policy, prefer|require|allow; default the session's default.)
 *   stdin `go <json endpoints>` (leech): adds the torrent with those peers → progress lines each
 *     second, then {"event":"complete","ms","cpu","peakRss",...}; it then keeps seeding.
 *   (`peakMemory`: peaks of process.memoryUsage() and of the piece buffers, sampled every 100 ms.)
 *   stdin `stats` → {"event":"stats","cpu","threads","uploaded","peakRss"}; stdin `stop` (or SIGTERM) exits.
 *   (`threads`: CPU seconds by thread name since the process started, see `threadCpu`.)
 *
 * `cpu` is user+system seconds since the transfer began (leech: `go`; seed: ready).
 */
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { torrentHashes } from '../../src/swarm/info-hashes.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { SwarmSession } from '../../src/swarm/session.js';
import type { EncryptionPolicy } from '../../src/swarm/mse-handshake.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { peakRss, threadCpu } from './swarm-proc.js';

function emit(event: Record<string, unknown>): void {
  process.stdout.write(`${JSON.stringify(event)}\n`);
}

function cpuSince(start: NodeJS.CpuUsage): number {
  const d = process.cpuUsage(start);
  return (d.user + d.system) / 1e6;
}

async function main(): Promise<void> {
  const [mode, torrentFile, dir, encryption] = process.argv.slice(2);
  if ((mode !== 'seed' && mode !== 'leech') || !torrentFile || !dir) throw new Error('usage: seed|leech <file.torrent> <dir>');
  const { info, infoBytes, pieceLayers } = parseMetainfo(readFileSync(torrentFile));
  const { infoHash } = torrentHashes(infoBytes, info);
  const session = new SwarmSession(
    { host: '127.0.0.1', port: 0, hashInWorker: true, encryption: encryption as EncryptionPolicy | undefined, log: (level, message) => level !== 'debug' && process.stderr.write(`[${level}] ${message}\n`) },
    createNodeRuntime(),
  );
  await session.start();
  let torrent: Torrent | undefined;
  let cpuStart = process.cpuUsage();
  let progress: NodeJS.Timeout | undefined;
  const shutdown = async () => {
    clearInterval(progress);
    await session.close();
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown());
  if (mode === 'seed') {
    torrent = await session.add({ infoHash, infoBytes, pieceLayers, dir, assumeComplete: true });
    if (torrent.state !== 'seeding') throw new Error(`seed is ${torrent.state}, not seeding: ${torrent.stats().piecesHad} pieces`);
    cpuStart = process.cpuUsage();
  }
  emit({ event: 'ready', port: session.address.port, pid: process.pid });

  createInterface({ input: process.stdin }).on('line', (line) => {
    const [command, ...rest] = line.split(' ');
    if (command === 'stop') void shutdown();
    else if (command === 'stats') emit({ event: 'stats', cpu: cpuSince(cpuStart), threads: threadCpu(), uploaded: torrent?.stats().uploaded ?? 0, peakRss: peakRss('self') });
    else if (command === 'go' && mode === 'leech') void leech(JSON.parse(rest.join(' ')) as Endpoint[]);
  });

  async function leech(peers: Endpoint[]): Promise<void> {
    cpuStart = process.cpuUsage();
    const t0 = performance.now();
    torrent = await session.add({ infoHash, infoBytes, pieceLayers, dir, peers });
    const t = torrent;
    const report = (event: string) => {
      const s = t.stats();
      return { event, state: s.state, piecesHad: s.piecesHad, pieceCount: s.pieceCount, downloaded: s.downloaded, uploaded: s.uploaded, peers: s.peers.map((p) => `${p.address} ${p.flags} ↓${Math.round(p.downloadRate)}`) };
    };
    // Where the leecher's memory goes: sampled every 100 ms, peaks reported at the end.
    const peak = { rss: 0, arrayBuffers: 0, heapUsed: 0, pieceBuffers: 0 };
    const internals = t as unknown as { assembler?: { bufferedBytes: number } };
    let ticks = 0;
    progress = setInterval(() => {
      const m = process.memoryUsage();
      peak.rss = Math.max(peak.rss, m.rss);
      peak.arrayBuffers = Math.max(peak.arrayBuffers, m.arrayBuffers);
      peak.heapUsed = Math.max(peak.heapUsed, m.heapUsed);
      peak.pieceBuffers = Math.max(peak.pieceBuffers, internals.assembler?.bufferedBytes ?? 0);
      if (++ticks % 10 === 0) emit(report('progress'));
    }, 100);
    const done = () => {
      clearInterval(progress);
      const ms = performance.now() - t0;
      emit({ ...report('complete'), ms, cpu: cpuSince(cpuStart), peakRss: peakRss('self'), peakMemory: peak });
    };
    if (t.state === 'seeding') return done();
    t.on((event) => {
      if (event.type === 'complete') done();
      else if (event.type === 'error') emit({ ...report('error'), message: event.error.message });
    });
  }
}

main().catch((error: Error) => {
  emit({ event: 'error', message: error.stack ?? error.message });
  process.exit(1);
});
