/**
 * The DHT's saved state: its id, the external address others reported, and its routing table's
 * contacts, so that a restarted node keeps its id and rejoins without the bootstrap routers.
 * Saved as a small JSON file, written atomically through the runtime.
 */
import type { FileStore, Endpoint } from '../runtime/interfaces.js';
import { isValidIpv4 } from '../codec/compact.js';
import { toHex, toNodeId, type NodeId } from './types.js';

export interface SavedContact {
  id: NodeId;
  address: Endpoint;
}

export interface NodeState {
  nodeId: NodeId;
  externalIp?: string;
  contacts: SavedContact[];
}

interface StateFile {
  version: 1;
  nodeId: string;
  externalIp?: string;
  contacts: [string, string, number][];
}

export async function saveNodeState(fs: FileStore, path: string, state: NodeState): Promise<void> {
  const file: StateFile = {
    version: 1,
    nodeId: toHex(state.nodeId),
    externalIp: state.externalIp,
    contacts: state.contacts.map((c) => [toHex(c.id), c.address.host, c.address.port]),
  };
  await fs.writeFile(path, new TextEncoder().encode(JSON.stringify(file)));
}

/**
 * Loads saved state; `undefined` when there is none. A damaged file is reported through `warn`
 * and treated as absent (the node then starts fresh from its bootstrap list); bad entries are skipped.
 */
export async function loadNodeState(
  fs: FileStore,
  path: string,
  warn: (message: string) => void,
): Promise<NodeState | undefined> {
  const bytes = await fs.readFile(path);
  if (!bytes) return undefined;
  let file: StateFile;
  try {
    file = JSON.parse(new TextDecoder().decode(bytes)) as StateFile;
    const state: NodeState = { nodeId: toNodeId(file.nodeId), contacts: [] };
    if (typeof file.externalIp === 'string' && isValidIpv4(file.externalIp)) state.externalIp = file.externalIp;
    for (const entry of Array.isArray(file.contacts) ? file.contacts : []) {
      const [id, host, port] = Array.isArray(entry) ? entry : [];
      if (typeof id !== 'string' || !/^[0-9a-f]{40}$/.test(id)) continue;
      if (typeof host !== 'string' || !isValidIpv4(host)) continue;
      if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
      state.contacts.push({ id: toNodeId(id), address: { host, port } });
    }
    return state;
  } catch (error) {
    warn(`ignoring damaged DHT state file ${path}: ${(error as Error).message}`);
    return undefined;
  }
}
