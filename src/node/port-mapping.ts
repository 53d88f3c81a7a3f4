/**
 * Port mapping for a node (`--port-map`): which ports to open on the router, a `PortMapper`
 * started in the background (a node does not wait for its router; a router that says no costs a
 * log line, nothing else), and the router's external TCP port told to the swarm, which announces
 * it to trackers and the DHT and sends it to peers, as libtorrent does.
 */
import { PortMapper, type PortRequest } from '../nat/port-mapper.js';
import type { Runtime } from '../runtime/interfaces.js';
import type { LogLevel } from '../dht/options.js';
import type { SwarmSession } from '../swarm/session.js';

/** TCP, and uTP on UDP, at the swarm's port; the DHT's UDP port when it is another one. */
export function portsToMap(swarmPort: number, utp: boolean, dhtPort: number | undefined): PortRequest[] {
  const ports: PortRequest[] = [{ protocol: 'tcp', port: swarmPort }];
  if (utp) ports.push({ protocol: 'udp', port: swarmPort });
  if (dhtPort !== undefined && (dhtPort !== swarmPort || !utp)) ports.push({ protocol: 'udp', port: dhtPort });
  return ports;
}

/**
 * Starts mapping the session's ports (and `dhtPort`) on the router; `close()` the mapper to delete
 * the mappings. Whenever the mappings change, the session learns the external TCP port (the first
 * mapped one; undefined while none is).
 */
export function startPortMapping(runtime: Runtime, session: SwarmSession, dhtPort: number | undefined, log: (level: LogLevel, message: string) => void): PortMapper {
  const tcpPort = session.address.port;
  const mapper = new PortMapper({ runtime, log }, { ports: portsToMap(tcpPort, session.utpSocket !== undefined, dhtPort), description: 'warren' });
  mapper.onChange(() => {
    const tcp = mapper.mappings().find((m) => m.protocol === 'tcp' && m.internalPort === tcpPort && m.state === 'mapped');
    session.setExternalPort(tcp?.externalPort);
  });
  mapper.start().catch((error: Error) => log('warn', `port mapping failed: ${error.message}`));
  return mapper;
}
