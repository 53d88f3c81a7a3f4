/** Finding peers in the DHT and at trackers: a hybrid v1 + v2 torrent is looked up and announced under both of its infohashes. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import type { Dht } from '../../src/dht/dht.js';
import { toHex, type InfoHash } from '../../src/dht/types.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { PeerDiscovery } from '../../src/swarm/peer-discovery.js';
import { SwarmSession } from '../../src/swarm/session.js';

/** A DHT that records what it was asked and finds one peer per infohash. */
function recordingDht(): { dht: Dht; lookups: string[]; announces: string[] } {
  const lookups: string[] = [];
  const announces: string[] = [];
  const dht = {
    async *lookup(infoHash: InfoHash): AsyncGenerator<Endpoint> {
      lookups.push(toHex(infoHash));
      yield { host: '10.9.9.9', port: 1 + lookups.length };
    },
    async announce(infoHash: InfoHash) {
      announces.push(toHex(infoHash));
      return { stored: 1 };
    },
  } as unknown as Dht;
  return { dht, lookups, announces };
}

for (const format of ['v1', 'v2', 'hybrid'] as const) {
  test(`a ${format} torrent is looked up and announced under ${format === 'hybrid' ? 'its v1 and its truncated v2 infohash' : 'its infohash'}`, async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const runtime = net.runtime('10.0.0.1');
    const fs = runtime.fs as MemoryFileStore;
    await fs.mkdir('/share');
    await fs.writeFile('/share/a.bin', new Uint8Array(70_000).fill(1));
    const made = await net.clock.run(createTorrent(fs, '/share/a.bin', { pieceLength: 16384, format }));
    const session = new SwarmSession({ host: '10.0.0.1', port: 6881 }, runtime);
    await net.clock.run(session.start());
    const torrent = await net.clock.run(session.add({ infoHash: made.infoHash as InfoHash, infoBytes: made.infoBytes, pieceLayers: made.pieceLayers, dir: '/share', assumeComplete: true, paused: true }));
    const { dht, lookups, announces } = recordingDht();
    const discovery = new PeerDiscovery({ runtime, dht, listenPort: () => 6881, log: () => undefined }, torrent, []);
    discovery.start();
    await net.clock.runUntil(() => announces.length === torrent.swarmHashes.length, 10_000);
    const expected = [toHex(made.infoHash), ...(format === 'hybrid' ? [toHex(made.infoHashV2!).slice(0, 40)] : [])];
    assert.deepEqual(lookups, expected);
    assert.deepEqual(announces, expected);
    await discovery.stop();
    await net.clock.run(session.close());
  });
}

/** The raw bytes of `info_hash` in an announce's query string, as hex. */
function infoHashOfQuery(url: string): string {
  const raw = /[?&]info_hash=([^&]*)/.exec(url)![1]!;
  const bytes: number[] = [];
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === '%') {
      bytes.push(parseInt(raw.slice(i + 1, i + 3), 16));
      i += 2;
    } else bytes.push(raw.charCodeAt(i));
  }
  return Buffer.from(bytes).toString('hex');
}

test('a hybrid torrent is announced to its trackers under both infohashes, and peers of both are used', async () => {
  const announced: string[] = [];
  const server = createServer((req, res) => {
    announced.push(infoHashOfQuery(req.url!));
    const peer = Buffer.from([127, 0, 0, announced.length, 0x1a, 0xe1]);
    res.end(Buffer.concat([Buffer.from('d8:intervali900e5:peers6:'), peer, Buffer.from('e')]));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
  const net = new VirtualNetwork({ seed: 2 });
  const runtime = net.runtime('10.0.0.1');
  const fs = runtime.fs as MemoryFileStore;
  await fs.mkdir('/share');
  await fs.writeFile('/share/a.bin', new Uint8Array(70_000).fill(2));
  const made = await net.clock.run(createTorrent(fs, '/share/a.bin', { pieceLength: 16384, format: 'hybrid' }));
  const session = new SwarmSession({ host: '10.0.0.1', port: 6881 }, runtime);
  await net.clock.run(session.start());
  const torrent = await net.clock.run(session.add({ infoHash: made.infoHash as InfoHash, infoBytes: made.infoBytes, dir: '/share', assumeComplete: true, paused: true }));
  const added: string[] = [];
  const addPeers = torrent.addPeers.bind(torrent);
  torrent.addPeers = (peers) => {
    for (const p of peers) added.push(`${p.host}:${p.port}`);
    addPeers(peers);
  };
  // The tracker is real (HTTP on 127.0.0.1), so discovery runs on the real runtime.
  const discovery = new PeerDiscovery({ runtime: createNodeRuntime(), listenPort: () => 6881, log: () => undefined }, torrent, [url]);
  discovery.start();
  for (let i = 0; i < 100 && added.length < 2; i++) await new Promise((r) => setTimeout(r, 20));
  assert.deepEqual([...announced].sort(), [toHex(made.infoHash), toHex(made.infoHashV2!).slice(0, 40)].sort());
  assert.deepEqual(added.sort(), ['127.0.0.1:6881', '127.0.0.2:6881']);
  await discovery.stop();
  assert.equal(announced.length, 4, 'and "stopped" under both');
  server.close();
  await net.clock.run(session.close());
});
