/**
 * `warren demo` (what `npm start` runs): a local network on 127.0.0.1 — a few dozen DHT nodes and
 * several seeds sharing a generated sample file — and a full warren node (state store, HTTP API,
 * web UI) that is given nothing but the file's infohash: it finds the seeds through the DHT, fetches
 * the metadata from them (BEP 9), downloads from all of them at once, and verifies the result.
 * Printed as it happens, with the web UI's login link; then it keeps running until Ctrl-C so a
 * person can look around (`--once` exits 0 as soon as the download is verified, 1 if it is not).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { encodeMagnet } from '../../codec/magnet.js';
import { Dht } from '../../dht/dht.js';
import { toHex, toInfoHash } from '../../dht/types.js';
import { createNodeRuntime } from '../../runtime/node-runtime.js';
import { createTorrent } from '../../swarm/create-torrent.js';
import { SwarmSession } from '../../swarm/session.js';
import { startApiServer } from '../../api/server.js';
import { WarrenNode } from '../../node/warren-node.js';
import { CliError } from '../errors.js';
import { formatBytes } from '../format.js';
import { createOutput } from '../output.js';
import { untilSignal } from '../swarm-flags.js';
import { VERSION } from '../version.js';
import { WEB_DIR } from './node.js';

const SEEDS = 3;

export async function demoCommand(flags: { nodes: string; size: string; once?: boolean; json?: boolean }): Promise<void> {
  const count = Number(flags.nodes);
  if (!Number.isInteger(count) || count < 3 || count > 500) throw new CliError('--nodes must be 3-500', 2);
  const size = Number(flags.size) * 1024 * 1024;
  if (!Number.isInteger(size) || size < 1 || size > 1024 * 1024 * 1024) throw new CliError('--size must be 1-1024 (MiB)', 2);
  const out = createOutput(flags.json === true);
  const runtime = createNodeRuntime();
  const dhts: Dht[] = [];
  const sessions: SwarmSession[] = [];
  const dir = await mkdtemp(join(tmpdir(), 'warren-demo-'));
  let node: WarrenNode | undefined;
  let api: Awaited<ReturnType<typeof startApiServer>> | undefined;
  const newDht = async () => {
    const bootstrap = dhts.length === 0 ? false : [`127.0.0.1:${dhts[0]!.address.port}`];
    const dht = new Dht({ host: '127.0.0.1', port: 0, bootstrap }, runtime);
    await dht.start();
    dhts.push(dht);
    return dht;
  };
  const newSession = async (dht: Dht) => {
    const session = new SwarmSession({ host: '127.0.0.1', port: 0, dht, hashInWorker: true }, runtime);
    await session.start();
    sessions.push(session);
    return session;
  };
  try {
    const started = performance.now();
    for (let i = 0; i < count; i++) await newDht();
    const sizes = dhts.map((n) => n.table.size);
    out.event(
      { event: 'network', nodes: count, ms: Math.round(performance.now() - started) },
      `started ${count} DHT nodes on 127.0.0.1 in ${Math.round(performance.now() - started)} ms (each knows ${Math.min(...sizes)}-${Math.max(...sizes)} others)`,
    );

    const sample = randomBytes(size);
    await writeFile(join(dir, 'sample.bin'), sample);
    const created = await createTorrent(runtime.fs, join(dir, 'sample.bin'), {});
    const infoHash = toInfoHash(created.infoHash);
    out.event(
      { event: 'shared', infoHash: toHex(infoHash), bytes: size, pieces: created.info.pieceCount },
      `generated sample.bin (${formatBytes(size)}, ${created.info.pieceCount} pieces), infohash ${toHex(infoHash)}`,
    );
    for (let i = 0; i < SEEDS; i++) {
      const dht = await newDht();
      const session = await newSession(dht);
      await session.add({ infoHash, infoBytes: created.infoBytes, dir, assumeComplete: true });
      const announced = await dht.announce(infoHash, session.address.port, { seed: true });
      out.event(
        { event: 'seeding', port: session.address.port, announcedTo: announced.announcedTo },
        `seed ${i + 1} on port ${session.address.port} announced itself to ${announced.announcedTo} DHT nodes`,
      );
    }

    node = await WarrenNode.start({
      dataDir: join(dir, 'node'),
      host: '127.0.0.1',
      port: 0,
      dhtPort: 0,
      dht: true,
      bootstrap: [`127.0.0.1:${dhts[0]!.address.port}`],
      downloadDir: join(dir, 'download'),
      maxConnections: 200,
      uploadLimit: 0,
      version: VERSION,
      log: () => undefined,
    });
    const token = randomBytes(24).toString('base64url');
    api = await startApiServer(node, { host: '127.0.0.1', port: 0, token, staticDir: WEB_DIR });
    const ui = `${api.url}/#token=${token}`;
    out.event({ event: 'node', ui }, `a warren node is up; watch it in the web UI: ${ui}`);

    const magnet = encodeMagnet({ infoHash });
    out.event({ event: 'downloading', magnet }, `downloading ${magnet} (no peers given: the DHT has to find them)`);
    const downloadStart = performance.now();
    const id = toHex(infoHash);
    let lastPercent = -1;
    let sawMetadata = false;
    const watching = node;
    const done = new Promise<void>((resolve, reject) => {
      watching.subscribe((event) => {
        if (event.type !== 'piece' || event.id !== id) return;
        const t = watching.list().find((torrent) => torrent.id === id)!;
        if (!sawMetadata) {
          sawMetadata = true;
          out.event({ event: 'metadata' }, 'got the metadata from the seeds (BEP 9)');
        }
        const percent = Math.floor((100 * t.piecesHad) / t.pieceCount / 10) * 10;
        if (percent > lastPercent) {
          lastPercent = percent;
          out.event({ event: 'progress', percent, peers: t.peers }, `  ${String(percent).padStart(3)}%  from ${t.peers} peers`);
        }
        if (t.piecesHad === t.pieceCount) resolve();
        if (t.state === 'error') reject(new CliError(`demo failed: ${t.error}`));
      });
    });
    await node.add({ infoHash: id });
    await done;
    const seconds = (performance.now() - downloadStart) / 1000;
    const got = await readFile(join(dir, 'download', 'sample.bin'));
    const same = createHash('sha1').update(got).digest('hex') === createHash('sha1').update(sample).digest('hex');
    if (!same) throw new CliError('demo failed: the downloaded file differs from the original');
    out.event(
      { event: 'done', seconds: Math.round(seconds * 100) / 100, verified: true },
      `downloaded and verified ${formatBytes(size)} in ${seconds.toFixed(2)} s: identical to the original`,
    );
    if (!flags.once) {
      out.event({ event: 'running', ui }, `the network keeps running; the web UI: ${ui}\npress Ctrl-C to stop`);
      await untilSignal();
    }
  } finally {
    await api?.close();
    await node?.close();
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(dhts.map((n) => n.close()));
    await rm(dir, { recursive: true, force: true });
  }
}
