/**
 * `warren dht`: a DHT-only node in the foreground. Saves its id and routing table in the data dir
 * on shutdown (SIGINT/SIGTERM) and every few minutes, and rejoins from them on the next start.
 */
import { join } from 'node:path';
import { mkdir } from 'node:fs/promises';
import { formatHostPort } from '../../codec/ip.js';
import { Dht } from '../../dht/dht.js';
import { resolveDataDir } from '../../node/data-dir.js';
import { createNodeRuntime } from '../../runtime/node-runtime.js';
import { CliError } from '../errors.js';
import { parseBootstrap, parseHost, parsePort, type NetworkFlags } from '../options.js';
import { createOutput } from '../output.js';

export async function dhtCommand(flags: NetworkFlags & { port?: string; dataDir?: string }): Promise<void> {
  const host = flags.host === undefined ? '0.0.0.0' : parseHost(flags.host);
  const port = flags.port === undefined ? 6881 : parsePort(flags.port, { allowZero: true });
  const bootstrap = parseBootstrap(flags.bootstrap);
  const dir = resolveDataDir(flags.dataDir);
  try {
    await mkdir(dir, { recursive: true });
  } catch (error) {
    throw new CliError(`cannot use data dir ${dir}: ${(error as Error).message}`);
  }
  const out = createOutput(flags.json === true);
  const dht = new Dht(
    {
      host,
      port,
      bootstrap,
      statePath: join(dir, 'dht-state.json'),
      log: (level, message) => {
        if (level !== 'debug') out.note(`${level}: ${message}`);
      },
    },
    createNodeRuntime(),
  );
  const startup = dht.start().catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'EADDRINUSE') throw new CliError(`port ${port} on ${host} is already in use`);
    throw error;
  });
  const stopped = new Promise<number>((resolve) => {
    const stop = () => {
      void startup.then(async () => {
        const contacts = dht.stats().tableSize;
        await dht.close();
        resolve(contacts);
      });
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await startup;
  const { nodeId, address, tableSize, families } = dht.stats();
  const listening = families.map((f) => formatHostPort(f.address.host, f.address.port)).join(' and ');
  out.event(
    {
      event: 'ready',
      nodeId,
      host: address.host,
      port: address.port,
      families: families.map((f) => ({ family: f.family, nodeId: f.nodeId, host: f.address.host, port: f.address.port, contacts: f.tableSize })),
    },
    `DHT node ${nodeId} listening on ${listening} (${tableSize} contacts)`,
  );
  const contacts = await stopped;
  out.event({ event: 'stopped', contacts }, `saved routing table (${contacts} contacts)`);
}
