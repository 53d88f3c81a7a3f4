/**
 * The DHT's saved state: its ids, the external addresses others reported, and its routing tables'
 * contacts (IPv4 and IPv6), so that a restarted node keeps its ids and rejoins without the
 * bootstrap routers. Saved through a `NodeStateStore`: a JSON file, or the node's SQLite store.
 * The IPv6 fields are optional additions to version 1: an older reader ignores them.
 */
import type { FileStore, Endpoint } from '../runtime/interfaces.js';
import { canonicalIpv6, isValidIpv4 } from '../codec/ip.js';
import { toHex, toNodeId, type NodeId } from './types.js';

export interface SavedContact {
  id: NodeId;
  address: Endpoint;
}

export interface NodeState {
  /** The IPv4 node's id (of the IPv6 node when only IPv6 ran). */
  nodeId: NodeId;
  /** The IPv6 node's id, when IPv6 ran (BEP 32). */
  nodeId6?: NodeId;
  /** Our external IPv4 address, as other nodes reported it. */
  externalIp?: string;
  /** Our external IPv6 address, as other nodes reported it. */
  externalIp6?: string;
  /** Contacts of both families. */
  contacts: SavedContact[];
}

interface StateFile {
  version: 1;
  nodeId: string;
  nodeId6?: string;
  externalIp?: string;
  externalIp6?: string;
  contacts: [string, string, number][];
}

/** Encodes the state as a small versioned JSON record. */
export function encodeNodeState(state: NodeState): Uint8Array {
  const file: StateFile = {
    version: 1,
    nodeId: toHex(state.nodeId),
    nodeId6: state.nodeId6 && toHex(state.nodeId6),
    externalIp: state.externalIp,
    externalIp6: state.externalIp6,
    contacts: state.contacts.map((c) => [toHex(c.id), c.address.host, c.address.port]),
  };
  return new TextEncoder().encode(JSON.stringify(file));
}

/** Decodes a record from `encodeNodeState`; throws on a damaged one, skips bad contacts. */
export function decodeNodeState(bytes: Uint8Array): NodeState {
  const file = JSON.parse(new TextDecoder().decode(bytes)) as StateFile;
  const state: NodeState = { nodeId: toNodeId(file.nodeId), contacts: [] };
  if (typeof file.nodeId6 === 'string' && /^[0-9a-f]{40}$/.test(file.nodeId6)) state.nodeId6 = toNodeId(file.nodeId6);
  if (typeof file.externalIp === 'string' && isValidIpv4(file.externalIp)) state.externalIp = file.externalIp;
  const external6 = typeof file.externalIp6 === 'string' ? canonicalIpv6(file.externalIp6) : undefined;
  if (external6 !== undefined) state.externalIp6 = external6;
  for (const entry of Array.isArray(file.contacts) ? file.contacts : []) {
    const [id, host, port] = Array.isArray(entry) ? entry : [];
    if (typeof id !== 'string' || !/^[0-9a-f]{40}$/.test(id)) continue;
    if (typeof host !== 'string') continue;
    const address = isValidIpv4(host) ? host : host.includes(':') ? canonicalIpv6(host) : undefined;
    if (address === undefined) continue;
    if (typeof port !== 'number' || !Number.isInteger(port) || port < 1 || port > 65535) continue;
    state.contacts.push({ id: toNodeId(id), address: { host: address, port } });
  }
  return state;
}

/** Where a DHT keeps its state between runs: a file, or the node's SQLite store. */
export interface NodeStateStore {
  /** `undefined` when there is none (or it is damaged: reported through the DHT's log, then ignored). */
  load(warn: (message: string) => void): Promise<NodeState | undefined>;
  save(state: NodeState): Promise<void>;
}

/** State kept in one JSON file, written atomically through the runtime. */
export function fileNodeStateStore(fs: FileStore, path: string): NodeStateStore {
  return {
    async load(warn) {
      const bytes = await fs.readFile(path);
      if (!bytes) return undefined;
      try {
        return decodeNodeState(bytes);
      } catch (error) {
        warn(`ignoring damaged DHT state file ${path}: ${(error as Error).message}`);
        return undefined;
      }
    },
    async save(state) {
      const dir = path.slice(0, path.lastIndexOf('/'));
      if (dir) await fs.mkdir(dir);
      await fs.writeFile(path, encodeNodeState(state));
    },
  };
}
