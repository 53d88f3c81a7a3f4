/**
 * Runs warren DHT nodes in a process of their own, driven over JSON lines, for interop tests whose
 * nodes must live inside a network namespace (IPv6: test/interop/netns.ts) while the test process
 * stays outside. Started as `node dist/test/interop/warren-dht-driver.js serve`; without `serve` it
 * does nothing (the test runner may load it as a test file).
 *
 * Commands (one JSON object a line on stdin) and the events they produce (on stdout):
 *   {"cmd":"start","nodes":[{"host","host6"?,"port","bootstrap":[...]|false}]}
 *                                  -> {"event":"ready","nodes":[{"families":[{family,nodeId,address}]}]}
 *   {"cmd":"bootstrap","node":i}   -> {"event":"bootstrapped","node":i,"contacts":n}
 *   {"cmd":"stats","node":i}       -> {"event":"stats","node":i,"families":[...],"contacts":[{"id","endpoint"}],"counters":{...}}
 *   {"cmd":"announce","node":i,"infohash":hex,"port":p} -> {"event":"announced","node":i,"announcedTo":n}
 *   {"cmd":"lookup","node":i,"infohash":hex,"until":"host:port"?}
 *                                  -> {"event":"peers","node":i,"peers":["host:port"|"[v6]:port"...]}
 *   {"cmd":"find_node","node":i,"host","port","want":[...]?}
 *                                  -> {"event":"found","fields":[...],"nodes":[...],"nodes6":[...]} (raw reply)
 *   {"cmd":"await_query","method":m,"host":h}
 *                                  -> {"event":"query","method":m,"from":"[v6]:port"} once any node has
 *                                     received a query of that method from host h (at once if one came before)
 *   {"cmd":"put","node":i,"value":s} -> {"event":"put","target":hex,"storedAt":n}
 *   {"cmd":"get","node":i,"target":hex} -> {"event":"item","found":bool,"value":s|null}
 *   {"cmd":"quit"}                 -> {"event":"bye"}, and exit
 * Failures: {"event":"error","message":...}. The process exits by itself after 120 s.
 */
import { createInterface } from 'node:readline';
import { decodeCompactNodes } from '../../src/codec/compact.js';
import { decodeKrpc } from '../../src/codec/krpc.js';
import { formatHostPort } from '../../src/codec/ip.js';
import { Dht } from '../../src/dht/dht.js';
import { toHex, toInfoHash, toItemTarget } from '../../src/dht/types.js';
import type { Endpoint, Runtime, UdpSocket } from '../../src/runtime/interfaces.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';

const LIFETIME_MS = 120_000;

interface NodeSpec {
  host: string;
  host6?: string;
  port: number;
  bootstrap: string[] | false;
}

const nodes: Dht[] = [];
const emit = (event: Record<string, unknown>) => process.stdout.write(`${JSON.stringify(event)}\n`);

/** The first sender of each query method from each host any node received, and who waits for one. */
const firstQuery = new Map<string, Endpoint>();
const queryWaiters = new Map<string, (() => void)[]>();
const queryKey = (method: string, host: string) => `${method} ${host}`;

/** A real runtime whose sockets note each KRPC query they receive (after the node handled it). */
function tappedRuntime(): Runtime {
  const base = createNodeRuntime();
  const tap = (data: Uint8Array, from: Endpoint) => {
    try {
      const message = decodeKrpc(data);
      const key = message.kind === 'query' ? queryKey(message.method, from.host) : undefined;
      if (key === undefined || firstQuery.has(key)) return;
      firstQuery.set(key, from);
      for (const wake of queryWaiters.get(key) ?? []) wake();
      queryWaiters.delete(key);
    } catch {
      // The node counts malformed datagrams itself; the tests read its counters.
    }
  };
  return {
    ...base,
    udp: async (bind: Endpoint): Promise<UdpSocket> => {
      const socket = await base.udp(bind);
      return {
        local: socket.local,
        send: (data, to) => socket.send(data, to),
        close: () => socket.close(),
        onMessage: (handler) =>
          socket.onMessage((data, from) => {
            handler(data, from);
            tap(data, from);
          }),
      };
    },
  };
}

function node(i: unknown): Dht {
  const dht = nodes[Number(i)];
  if (!dht) throw new Error(`no node ${String(i)}`);
  return dht;
}

async function handle(cmd: Record<string, unknown>): Promise<void> {
  switch (cmd.cmd) {
    case 'start': {
      for (const spec of cmd.nodes as NodeSpec[]) {
        const dht = new Dht({ ...spec, queryTimeoutMs: 1000 }, tappedRuntime());
        await dht.start();
        nodes.push(dht);
      }
      emit({ event: 'ready', nodes: nodes.map((n) => ({ families: n.stats().families })) });
      return;
    }
    case 'bootstrap':
      emit({ event: 'bootstrapped', node: cmd.node, contacts: await node(cmd.node).bootstrap() });
      return;
    case 'stats': {
      const dht = node(cmd.node);
      const stats = dht.stats();
      const contacts = dht.families.flatMap((f) => dht.family(f)!.table.all().map((c) => ({ id: toHex(c.id), endpoint: formatHostPort(c.address.host, c.address.port) })));
      emit({ event: 'stats', node: cmd.node, families: stats.families, contacts, counters: stats.counters });
      return;
    }
    case 'announce': {
      const result = await node(cmd.node).announce(toInfoHash(String(cmd.infohash)), Number(cmd.port));
      emit({ event: 'announced', node: cmd.node, announcedTo: result.announcedTo });
      return;
    }
    case 'lookup': {
      const peers: string[] = [];
      for await (const peer of node(cmd.node).lookup(toInfoHash(String(cmd.infohash)))) {
        peers.push(formatHostPort(peer.host, peer.port));
        if (peers.at(-1) === cmd.until) break;
      }
      emit({ event: 'peers', node: cmd.node, peers });
      return;
    }
    case 'find_node': {
      const to = { host: String(cmd.host), port: Number(cmd.port) };
      const outcome = await node(cmd.node).rpc(to, 'find_node', { target: node(cmd.node).nodeId, want: cmd.want as string[] | undefined });
      if (outcome?.kind !== 'response') throw new Error(`find_node to ${formatHostPort(to.host, to.port)}: ${outcome ? 'error reply' : 'no reply'}`);
      const values = outcome.response.values;
      const list = (field: 'nodes' | 'nodes6') => {
        const raw = values[field];
        return raw instanceof Uint8Array ? decodeCompactNodes(raw, field === 'nodes' ? 4 : 6).map((c) => formatHostPort(c.address.host, c.address.port)) : [];
      };
      emit({ event: 'found', fields: Object.keys(values).sort(), nodes: list('nodes'), nodes6: list('nodes6') });
      return;
    }
    case 'await_query': {
      const method = String(cmd.method);
      const key = queryKey(method, String(cmd.host));
      if (!firstQuery.has(key)) await new Promise<void>((resolve) => queryWaiters.set(key, [...(queryWaiters.get(key) ?? []), resolve]));
      const from = firstQuery.get(key)!;
      emit({ event: 'query', method, from: formatHostPort(from.host, from.port) });
      return;
    }
    case 'put': {
      const result = await node(cmd.node).put({ v: String(cmd.value) });
      emit({ event: 'put', target: toHex(result.target), storedAt: result.storedAt });
      return;
    }
    case 'get': {
      const item = await node(cmd.node).get(toItemTarget(String(cmd.target)));
      const value = item?.v instanceof Uint8Array ? Buffer.from(item.v).toString('utf8') : null;
      emit({ event: 'item', found: item !== undefined, value });
      return;
    }
    default:
      throw new Error(`unknown command ${JSON.stringify(cmd.cmd)}`);
  }
}

async function serve(): Promise<void> {
  const lifetime = setTimeout(() => {
    emit({ event: 'error', message: `lifetime of ${LIFETIME_MS} ms exceeded, exiting` });
    process.exit(2);
  }, LIFETIME_MS);
  const quit = async () => {
    await Promise.all(nodes.map((n) => n.close()));
    clearTimeout(lifetime);
    emit({ event: 'bye' });
    process.exit(0);
  };
  const lines = createInterface({ input: process.stdin });
  lines.on('line', (line) => {
    if (line.trim() === '') return;
    let cmd: Record<string, unknown>;
    try {
      cmd = JSON.parse(line) as Record<string, unknown>;
    } catch (error) {
      emit({ event: 'error', message: `bad command line: ${(error as Error).message}` });
      return;
    }
    if (cmd.cmd === 'quit') {
      void quit();
      return;
    }
    handle(cmd).catch((error: Error) => emit({ event: 'error', message: `${String(cmd.cmd)}: ${error.message}` }));
  });
  lines.on('close', () => void quit());
}

if (process.argv[2] === 'serve') void serve();
