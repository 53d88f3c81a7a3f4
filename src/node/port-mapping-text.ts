/** The router's port mappings in one line, as the CLI prints them and the web UI shows them. */
import { MAPPING_PROTOCOL_NAMES } from '../nat/mapping.js';
import type { PortMappingView } from './view-types.js';

/** `TCP 6881 (UPnP → 203.0.113.7:6881; NAT-PMP failed: …), UDP 6881 (…)`: each port through each protocol. */
export function portMappingText(view: PortMappingView): string {
  const byPort = new Map<string, string[]>();
  for (const m of view.mappings) {
    const port = `${m.protocol.toUpperCase()} ${m.internalPort}`;
    const via = MAPPING_PROTOCOL_NAMES[m.via];
    const what =
      m.state === 'mapped' ? `${via} → ${view.externalAddress ?? 'router'}:${m.externalPort}` : m.state === 'failed' ? `${via} failed: ${m.error}` : `${via} asking`;
    byPort.set(port, [...(byPort.get(port) ?? []), what]);
  }
  return [...byPort].map(([port, results]) => `${port} (${results.join('; ')})`).join(', ');
}
