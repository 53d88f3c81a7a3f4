/**
 * The node a standalone command (`warren seed`, `warren get`) runs for its duration: a DHT node
 * (unless disabled) and a swarm session that finds peers through it, sharing one data directory
 * for the DHT's saved table and the torrents' resume data.
 */
import { Dht } from '../dht/dht.js';
import type { LogLevel } from '../dht/options.js';
import type { Runtime } from '../runtime/interfaces.js';
import { createNodeRuntime } from '../runtime/node-runtime.js';
import type { EncryptionPolicy } from '../swarm/mse-handshake.js';
import { SwarmSession } from '../swarm/session.js';
import type { PortMapper } from '../nat/port-mapper.js';
import { startPortMapping } from './port-mapping.js';
import { shareUdpPort } from './shared-udp-port.js';

export interface StandaloneNodeOptions {
  host: string;
  /** TCP port for peers (0 for any). */
  port: number;
  /** UDP port of the DHT (0 for any). */
  dhtPort: number;
  /** `false` disables the DHT. */
  bootstrap: string[] | false;
  useDht: boolean;
  dataDir: string;
  /** Protocol encryption for peer connections (default `prefer`). */
  encryption?: EncryptionPolicy;
  /** uTP with peers, beside TCP (default true). */
  utp?: boolean;
  /** Open the ports on the router with NAT-PMP and UPnP (default false). */
  portMap?: boolean;
  log(level: LogLevel, message: string): void;
}

export interface StandaloneNode {
  dht?: Dht;
  session: SwarmSession;
  runtime: Runtime;
  /** The router's port mappings, with `portMap`. */
  portMapper?: PortMapper;
  close(): Promise<void>;
}

export async function startStandaloneNode(options: StandaloneNodeOptions, runtime: Runtime = createNodeRuntime()): Promise<StandaloneNode> {
  await runtime.fs.mkdir(options.dataDir);
  let dht: Dht | undefined;
  const udp = shareUdpPort(runtime, options.port === options.dhtPort ? options.port : 0);
  if (options.useDht) {
    dht = new Dht(
      { host: options.host, port: options.dhtPort, bootstrap: options.bootstrap, statePath: `${options.dataDir}/dht-state.json`, log: options.log },
      udp.dht,
    );
    await dht.start();
  }
  const session = new SwarmSession({ host: options.host, port: options.port, dht, dataDir: options.dataDir, encryption: options.encryption, utp: options.utp, log: options.log, hashInWorker: true }, udp.swarm);
  try {
    await session.start();
  } catch (error) {
    await dht?.close();
    throw error;
  }
  const portMapper = options.portMap
    ? startPortMapping(runtime, session, dht?.address.port, options.log)
    : undefined;
  return {
    dht,
    session,
    runtime,
    portMapper,
    close: async () => {
      await portMapper?.close();
      await session.close();
      await dht?.close();
    },
  };
}
