/**
 * `warren demo` (what `npm start` runs until the full demo lands): a few dozen DHT nodes on
 * 127.0.0.1, one announcing a swarm and storing a BEP 44 item, another finding both through the
 * DHT alone. Everything is printed as it happens; exits 0 when the lookups found what was stored.
 */
import { randomBytes } from 'node:crypto';
import { Dht } from '../../dht/dht.js';
import { toHex, toInfoHash } from '../../dht/types.js';
import { createNodeRuntime } from '../../runtime/node-runtime.js';
import { CliError } from '../errors.js';
import { createOutput } from '../output.js';

export async function demoCommand(flags: { nodes: string; json?: boolean }): Promise<void> {
  const count = Number(flags.nodes);
  if (!Number.isInteger(count) || count < 3 || count > 500) throw new CliError('--nodes must be 3-500', 2);
  const out = createOutput(flags.json === true);
  const runtime = createNodeRuntime();
  const nodes: Dht[] = [];
  try {
    const started = performance.now();
    for (let i = 0; i < count; i++) {
      const bootstrap = i === 0 ? false : [`127.0.0.1:${nodes[0]!.address.port}`];
      const dht = new Dht({ host: '127.0.0.1', port: 0, bootstrap }, runtime);
      await dht.start();
      nodes.push(dht);
    }
    const sizes = nodes.map((n) => n.table.size);
    out.event(
      { event: 'network', nodes: count, ms: Math.round(performance.now() - started), minContacts: Math.min(...sizes) },
      `started ${count} DHT nodes on 127.0.0.1 in ${Math.round(performance.now() - started)} ms ` +
        `(each knows ${Math.min(...sizes)}-${Math.max(...sizes)} others)`,
    );

    const infoHash = toInfoHash(randomBytes(20));
    const announcer = nodes[Math.floor(count / 3)]!;
    const seeker = nodes[count - 1]!;
    const announced = await announcer.announce(infoHash, 51413);
    out.event(
      { event: 'announced', infoHash: toHex(infoHash), from: announcer.address, nodes: announced.announcedTo },
      `node ${announcer.address.port} announced swarm ${toHex(infoHash)} (port 51413) to ${announced.announcedTo} nodes`,
    );
    const lookupStart = performance.now();
    let found = false;
    for await (const peer of seeker.lookup(infoHash)) {
      const ms = Math.round(performance.now() - lookupStart);
      out.event({ event: 'peer', host: peer.host, port: peer.port, ms }, `node ${seeker.address.port} found peer ${peer.host}:${peer.port} after ${ms} ms`);
      if (peer.port === 51413) found = true;
    }
    if (!found) throw new CliError('demo failed: the announced peer was not found');

    const stored = await announcer.put({ v: 'hello from warren' });
    out.event({ event: 'stored', target: toHex(stored.target), nodes: stored.storedAt }, `stored item ${toHex(stored.target)} at ${stored.storedAt} nodes`);
    const item = await seeker.get(stored.target);
    const text = item && item.v instanceof Uint8Array ? new TextDecoder().decode(item.v) : undefined;
    out.event({ event: 'fetched', target: toHex(stored.target), value: text }, `fetched it back through the DHT: "${text}"`);
    if (text !== 'hello from warren') throw new CliError('demo failed: the stored item was not found');
    out.event({ event: 'done' }, 'demo complete');
  } finally {
    await Promise.all(nodes.map((n) => n.close()));
  }
}
