/**
 * The DHT as a network, on the virtual runtime: joining, lookups that find the true closest nodes,
 * announce and lookup, BEP 44 items, churn, and restarts from the saved table.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { compareDistance, idEquals } from '../../src/kademlia/id.js';
import { createTestnet, testnetHost, TESTNET_PORT } from '../../src/dht/testnet.js';
import { Dht } from '../../src/dht/dht.js';
import { generateEd25519KeyPair } from '../../src/dht/bep44.js';
import { toHex, toInfoHash, toItemTarget } from '../../src/dht/types.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';

function randomId(seed: number): Uint8Array {
  const id = new Uint8Array(20);
  let x = seed * 2654435761;
  for (let i = 0; i < 20; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    id[i] = x >>> 24;
  }
  return id;
}

async function collect(peers: AsyncIterable<Endpoint>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of peers) out.push(`${p.host}:${p.port}`);
  return out;
}

describe('a 100-node virtual network', () => {
  test('every node joins, and lookups find the true k closest nodes', async () => {
    const tn = await createTestnet(100, { seed: 7, network: { latency: () => 20 } });
    for (const node of tn.nodes) assert.ok(node.table.size >= 8, `table of ${node.table.size} is too small`);
    let exact = 0;
    for (let i = 0; i < 40; i++) {
      const target = randomId(i + 1);
      const seeker = tn.nodes[(i * 7) % 100]!;
      const found = await tn.run(seeker.findNode(target));
      const truth = tn.nodes
        .filter((n) => n !== seeker)
        .map((n) => n.nodeId)
        .sort((a, b) => compareDistance(target, a, b))
        .slice(0, 8);
      if (found.length === 8 && found.every((c, j) => idEquals(c.id, truth[j]!))) exact++;
    }
    assert.ok(exact >= 39, `only ${exact}/40 lookups found the exact closest 8`);
    await tn.close();
  });

  test('a peer announced at one node is found from another, and seeds/peers are distinct', async () => {
    const tn = await createTestnet(60, { seed: 3 });
    const infoHash = toInfoHash(randomId(99));
    const result = await tn.run(tn.nodes[10]!.announce(infoHash, 4242));
    assert.ok(result.announcedTo >= 6, `announced to ${result.announcedTo}`);
    const peers = await tn.run(collect(tn.nodes[50]!.lookup(infoHash)));
    assert.deepEqual(peers, [`${testnetHost(10)}:4242`]);
    // implied_port: the UDP source port is stored instead.
    await tn.run(tn.nodes[20]!.announce(infoHash, 1, { impliedPort: true }));
    const again = await tn.run(collect(tn.nodes[40]!.lookup(infoHash)));
    assert.ok(again.includes(`${testnetHost(20)}:${TESTNET_PORT}`), `implied port missing in ${again}`);
    await tn.close();
  });

  test('lookups still succeed when 30% of the nodes die, and dead nodes leave the tables', async () => {
    const tn = await createTestnet(80, { seed: 11 });
    const infoHash = toInfoHash(randomId(5));
    await tn.run(tn.nodes[1]!.announce(infoHash, 5555));
    for (let i = 50; i < 74; i++) tn.net.setDead(testnetHost(i), true);
    for (let round = 0; round < 5; round++) {
      const seeker = tn.nodes[2 + round]!;
      const peers = await tn.run(collect(seeker.lookup(infoHash)));
      assert.ok(peers.includes(`${testnetHost(1)}:5555`), `round ${round}: ${peers}`);
    }
    // Repeated failures drop dead contacts: run lookups from node 3 until its table is clean.
    const node = tn.nodes[3]!;
    const deadHosts = new Set(Array.from({ length: 24 }, (_, j) => testnetHost(50 + j)));
    const deadBefore = node.table.all().filter((c) => deadHosts.has(c.address.host)).length;
    for (let i = 0; i < 30; i++) await tn.run(node.findNode(randomId(1000 + i)));
    const deadAfter = node.table.all().filter((c) => deadHosts.has(c.address.host) && c.failures === 0).length;
    assert.ok(deadBefore > 0, 'test setup: node 3 knew no dead node');
    assert.equal(deadAfter, 0, 'dead contacts still count as healthy');
    assert.ok(node.stats().counters.timeouts > 0);
    await tn.close();
  });

  test('BEP 44: immutable and mutable items travel through the network', async () => {
    const tn = await createTestnet(40, { seed: 5 });
    const put = await tn.run(tn.nodes[3]!.put({ v: 'immutable hello' }));
    assert.ok(put.storedAt >= 6);
    const got = await tn.run(tn.nodes[30]!.get(put.target));
    assert.equal(got?.kind, 'immutable');
    assert.equal(new TextDecoder().decode(got!.v as Uint8Array), 'immutable hello');

    const keyPair = generateEd25519KeyPair();
    const salt = new TextEncoder().encode('profile');
    const first = await tn.run(tn.nodes[4]!.put({ v: { name: 'one' }, keyPair, salt }));
    assert.equal(first.seq, 0);
    const second = await tn.run(tn.nodes[5]!.put({ v: { name: 'two' }, keyPair, salt }));
    assert.equal(second.seq, 1, 'the next seq is found from the network');
    const mutable = await tn.run(tn.nodes[35]!.get(second.target, { salt }));
    assert.equal(mutable?.kind, 'mutable');
    assert.equal(mutable?.kind === 'mutable' && mutable.seq, 1);
    // Without the right salt the signature cannot be checked: nothing is returned.
    assert.equal(await tn.run(tn.nodes[35]!.get(second.target)), undefined);
    // An unknown target finds nothing.
    assert.equal(await tn.run(tn.nodes[36]!.get(toItemTarget(randomId(77)))), undefined);
    await tn.close();
  });

  test('a restarted node rejoins from its saved table without any bootstrap node', async () => {
    const tn = await createTestnet(30, { seed: 9 });
    const host = '10.1.0.1';
    const statePath = '/state/dht.json';
    const first = new Dht({ host, port: TESTNET_PORT, bootstrap: [`${testnetHost(0)}:${TESTNET_PORT}`], statePath }, tn.net.runtime(host));
    await tn.run(first.start());
    const id = toHex(first.nodeId);
    assert.ok(first.table.size > 8);
    await tn.run(first.close());
    tn.net.setDead(testnetHost(0), true); // the bootstrap node is gone
    const second = new Dht({ host, port: TESTNET_PORT, bootstrap: false, statePath }, tn.net.runtime(host));
    await tn.run(second.start());
    assert.equal(toHex(second.nodeId), id, 'the node id survives a restart');
    assert.ok(second.table.size > 8, `rejoined with ${second.table.size} contacts`);
    await tn.run(second.close());
    await tn.close();
  });

  test('the same seed gives the same simulation', async () => {
    const trace = async () => {
      const tn = await createTestnet(30, { seed: 21, network: { lossRate: 0.05 } });
      const found = await tn.run(tn.nodes[29]!.findNode(randomId(3)));
      const out = [found.map((c) => toHex(c.id)).join(','), tn.net.stats.datagramsSent, tn.net.clock.now()];
      await tn.close();
      return out;
    };
    assert.deepEqual(await trace(), await trace());
  });
});
