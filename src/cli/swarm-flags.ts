/**
 * Options shared by the commands that join the swarm (`seed`, `get`), and starting their node.
 */
import { resolveDataDir } from '../node/data-dir.js';
import type { StandaloneNode } from '../node/standalone-node.js';
import { startStandaloneNode } from '../node/standalone-node.js';
import { portMappingText } from '../node/port-mapping-text.js';
import type { EncryptionPolicy } from '../swarm/mse-handshake.js';
import { CliError } from './errors.js';
import { parseBootstrap, parseHost, parsePort, type NetworkFlags } from './options.js';
import type { Output } from './output.js';

export interface SwarmFlags extends NetworkFlags {
  port?: string;
  dhtPort?: string;
  dht?: boolean;
  dataDir?: string;
  encryption?: string;
  utp?: boolean;
  portMap?: boolean;
}

export async function startNodeFromFlags(flags: SwarmFlags, out: Output): Promise<StandaloneNode> {
  const host = flags.host === undefined ? '0.0.0.0' : parseHost(flags.host);
  const port = flags.port === undefined ? 6881 : parsePort(flags.port, { allowZero: true });
  const dhtPort = flags.dhtPort === undefined ? 6881 : parsePort(flags.dhtPort, { allowZero: true });
  const bootstrap = parseBootstrap(flags.bootstrap);
  let node: StandaloneNode;
  try {
    node = await startStandaloneNode({
      host,
      port,
      dhtPort,
      bootstrap,
      useDht: flags.dht !== false,
      dataDir: resolveDataDir(flags.dataDir),
      // commander checked it is one of the policies
      encryption: flags.encryption as EncryptionPolicy | undefined,
      utp: flags.utp,
      portMap: flags.portMap === true,
      log: (level, message) => {
        if (level === 'warn') out.note(`warning: ${message}`);
      },
    });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new CliError(`a port is already in use (TCP ${port} or UDP ${dhtPort} on ${host}); pick others with --port/--dht-port`);
    throw new CliError((error as Error).message);
  }
  const mapper = node.portMapper;
  mapper?.onChange(() => {
    const view = mapper.snapshot();
    out.event({ event: 'port-mapping', externalAddress: view.externalAddress ?? null, mappings: view.mappings }, `port mapping: ${portMappingText(view)}`);
  });
  return node;
}

/** Resolves on the first SIGINT/SIGTERM. */
export function untilSignal(): Promise<void> {
  return new Promise((resolve) => {
    process.once('SIGINT', () => resolve());
    process.once('SIGTERM', () => resolve());
  });
}
