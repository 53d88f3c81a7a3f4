/**
 * Port mapping for a node (`--port-map`): which ports to open on the router, and a `PortMapper`
 * started in the background (a node does not wait for its router; a router that says no costs a
 * warning in the log, nothing else).
 */
import { PortMapper, type PortRequest } from '../nat/port-mapper.js';
import type { Runtime } from '../runtime/interfaces.js';
import type { LogLevel } from '../dht/options.js';

/** TCP, and uTP on UDP, at the swarm's port; the DHT's UDP port when it is another one. */
export function portsToMap(swarmPort: number, utp: boolean, dhtPort: number | undefined): PortRequest[] {
  const ports: PortRequest[] = [{ protocol: 'tcp', port: swarmPort }];
  if (utp) ports.push({ protocol: 'udp', port: swarmPort });
  if (dhtPort !== undefined && (dhtPort !== swarmPort || !utp)) ports.push({ protocol: 'udp', port: dhtPort });
  return ports;
}

/** Starts mapping `ports` on the router; `close()` the mapper to delete the mappings. */
export function startPortMapping(runtime: Runtime, ports: readonly PortRequest[], log: (level: LogLevel, message: string) => void): PortMapper {
  const mapper = new PortMapper({ runtime, log }, { ports, description: 'warren' });
  mapper.start().catch((error: Error) => log('warn', `port mapping failed: ${error.message}`));
  return mapper;
}
