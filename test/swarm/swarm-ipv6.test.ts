/**
 * IPv6 in the swarm (BEP 7) on the virtual network, whose hosts each have one address of one
 * family: seeds and leechers on fd57::/16 hosts; a leecher that learns the seed only through peer
 * exchange (BEP 11 `added6`); leechers led to the seed by an HTTP tracker's `peers6` and by a UDP
 * tracker reached over IPv6 (BEP 15, 18-byte peers); and what the session binds by default.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { bencode } from '../../src/codec/bencode.js';
import { encodeCompactPeers } from '../../src/codec/compact.js';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import type { Endpoint, Runtime } from '../../src/runtime/interfaces.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { SwarmSession, type SwarmSessionOptions } from '../../src/swarm/session.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { readAll, writeFile } from './memory-files.js';

const SEED = 'fd57::1';
const sha = (d: Uint8Array) => createHash('sha1').update(d).digest('hex');

async function session(net: VirtualNetwork, runtime: Runtime, options: SwarmSessionOptions = {}): Promise<SwarmSession> {
  const s = new SwarmSession({ port: 6881, ...options }, runtime);
  await net.clock.run(s.start());
  return s;
}

/** A seed on `SEED` (listening by default, both families asked for) with `size` random bytes. */
async function ipv6Seed(net: VirtualNetwork, size = 2 * 1024 * 1024 + 777) {
  const runtime = net.runtime(SEED);
  const data = new Mulberry32(size).bytes(size);
  await writeFile(runtime, '/share/file.bin', data);
  const created = await net.clock.run(createTorrent(runtime.fs, '/share/file.bin', { pieceLength: 65536 }));
  const infoHash = toInfoHash(created.infoHash);
  const seed = await session(net, runtime);
  await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, dir: '/share', assumeComplete: true }));
  return { seed, data, infoHash, infoBytes: created.infoBytes };
}

function untilComplete(net: VirtualNetwork, torrent: Torrent): Promise<boolean> {
  return net.clock.runUntil(() => torrent.state === 'seeding' || torrent.state === 'error', 600_000);
}

describe('IPv6 swarm on the virtual network (BEP 7)', () => {
  test('an IPv6 host listens on its own family alone, after one log line, and is keyed [host]:port', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const logs: string[] = [];
    const s = await session(net, net.runtime('fd57::5'), { log: (_level, message) => logs.push(message) });
    assert.deepEqual(s.addresses, [{ host: 'fd57::5', port: 6881 }]);
    assert.equal(logs.filter((m) => m.includes('one address family only')).length, 1, logs.join('\n'));
    const v4 = await session(net, net.runtime('10.0.0.5'), { log: (_level, message) => logs.push(message) });
    assert.deepEqual(v4.addresses, [{ host: '10.0.0.5', port: 6881 }]);
    assert.equal(logs.filter((m) => m.includes('one address family only')).length, 2, logs.join('\n'));
    // A given address is that address only: the other family is not even tried.
    const given = await session(net, net.runtime('fd57::6'), { host: '::', log: (_level, message) => logs.push(message) });
    assert.deepEqual(given.addresses, [{ host: 'fd57::6', port: 6881 }]);
    assert.equal(logs.filter((m) => m.includes('one address family only')).length, 2);
    await net.clock.run(Promise.all([s.close(), v4.close(), given.close()]));
  });

  test('a leecher given only another leecher learns the IPv6 seed through PEX (added6) and connects to it', async () => {
    const net = new VirtualNetwork({ seed: 6, latency: () => 5 });
    const { seed, data, infoHash, infoBytes } = await ipv6Seed(net);
    const first = await session(net, net.runtime('fd57::2'));
    // The first leecher is slow both ways: it is still connected to the seed at the first PEX round
    // (a minute in), and the second cannot be done by then from it alone.
    const a = await net.clock.run(first.add({ infoHash, infoBytes, dir: '/down', peers: [seed.address], uploadLimit: 8192, downloadLimit: 16384 }));
    const second = await session(net, net.runtime('fd57::3'));
    const b = await net.clock.run(second.add({ infoHash, infoBytes, dir: '/down', peers: [{ host: 'FD57:0:0::2', port: 6881 }] }));
    assert.ok(await net.clock.runUntil(() => b.links.has('[fd57::1]:6881'), 300_000), `links of the second leecher: ${[...b.links.keys()].join(', ')}`);
    assert.ok(b.stats().peers.some((p) => p.address === '[fd57::1]:6881'), JSON.stringify(b.stats().peers));
    assert.ok(b.stats().peers.some((p) => p.address === '[fd57::2]:6881'), 'the address given as FD57:0:0::2 is keyed canonically');
    for (const [t, host] of [[a, 'fd57::2'], [b, 'fd57::3']] as const) {
      assert.ok(await untilComplete(net, t), `${host} stuck in ${t.state}`);
      assert.equal(sha(await readAll(net.runtime(host), '/down/file.bin')), sha(data), `${host} got exact data`);
    }
    await net.clock.run(Promise.all([seed.close(), first.close(), second.close()]));
  });

  test('an HTTP tracker\'s peers6 (BEP 7) leads a leecher to the IPv6 seed', async () => {
    const net = new VirtualNetwork({ seed: 7, latency: () => 5 });
    const { seed, data, infoHash, infoBytes } = await ipv6Seed(net, 300_000);
    const asked: string[] = [];
    // The virtual network has no HTTP servers: this leecher's GETs are answered here, as a tracker would.
    const runtime: Runtime = {
      ...net.runtime('fd57::2'),
      httpGet: async (url) => {
        asked.push(url);
        return bencode({ interval: 1800, peers: new Uint8Array(0), peers6: encodeCompactPeers([seed.address, { host: 'fd57::99', port: 0 }], 6) });
      },
    };
    const leech = await session(net, runtime);
    const t = await net.clock.run(leech.add({ infoHash, infoBytes, dir: '/down', trackers: ['http://[fd57::8]:8080/announce'] }));
    assert.ok(await untilComplete(net, t), `stuck in ${t.state}`);
    assert.equal(sha(await readAll(net.runtime('fd57::2'), '/down/file.bin')), sha(data));
    assert.ok(asked[0]?.startsWith('http://[fd57::8]:8080/announce?info_hash='), asked[0]);
    assert.ok(!asked[0]!.includes('ipv6='), 'warren does not send BEP 7\'s optional ipv6=');
    await net.clock.run(Promise.all([seed.close(), leech.close()]));
  });

  test('a UDP tracker reached over IPv6 answers with 18-byte peers (BEP 15) that lead to the seed', async () => {
    const net = new VirtualNetwork({ seed: 8, latency: () => 5 });
    const { seed, data, infoHash, infoBytes } = await ipv6Seed(net, 300_000);
    const announced = await udpTracker(net, 'fd57::9', 6969, infoHash, [seed.address]);
    const leech = await session(net, net.runtime('fd57::3'));
    const t = await net.clock.run(leech.add({ infoHash, infoBytes, dir: '/down', trackers: ['udp://[fd57::9]:6969/announce'] }));
    assert.ok(await untilComplete(net, t), `stuck in ${t.state}`);
    assert.equal(sha(await readAll(net.runtime('fd57::3'), '/down/file.bin')), sha(data));
    assert.equal(announced[0]?.host, 'fd57::3', 'the announce came over IPv6');
    await net.clock.run(Promise.all([seed.close(), leech.close()]));
  });
});

/**
 * A BEP 15 tracker on a virtual IPv6 host, its datagrams laid out here from the BEP (only the peer
 * list comes from warren's compact encoder): it answers connect, and answers announce with `peers`
 * as 18-byte compact peers. Returns the list of announcers, filled as they come.
 */
async function udpTracker(net: VirtualNetwork, host: string, port: number, infoHash: InfoHash, peers: Endpoint[]): Promise<Endpoint[]> {
  const socket = await net.clock.run(net.runtime(host).udp({ host: '::', port }));
  const announcers: Endpoint[] = [];
  socket.onMessage((msg, from) => {
    const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    if (msg.length < 16) return;
    const action = v.getUint32(8);
    const tid = v.getUint32(12);
    if (action === 0 && msg.length === 16) {
      const reply = new Uint8Array(16);
      const r = new DataView(reply.buffer);
      r.setUint32(0, 0);
      r.setUint32(4, tid);
      reply.set([1, 2, 3, 4, 5, 6, 7, 8], 8);
      socket.send(reply, from);
    } else if (action === 1 && msg.length >= 98) {
      if (!Buffer.from(msg.subarray(16, 36)).equals(Buffer.from(infoHash))) return;
      announcers.push(from);
      const list = encodeCompactPeers(peers, 6);
      const reply = new Uint8Array(20 + list.length);
      const r = new DataView(reply.buffer);
      r.setUint32(0, 1);
      r.setUint32(4, tid);
      r.setUint32(8, 1800);
      r.setUint32(12, 0);
      r.setUint32(16, 1);
      reply.set(list, 20);
      socket.send(reply, from);
    }
  });
  return announcers;
}
