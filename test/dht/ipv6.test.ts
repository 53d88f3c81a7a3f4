/**
 * BEP 32 on the virtual network: an IPv6-only node answering hand-made queries (`nodes6`, 18-byte
 * `ip` and peers, `want`), a dual-stack node (two virtual hosts, one per family) that answers each
 * family from its own table, IPv6-only networks, and a mixed network of IPv4-only, IPv6-only and
 * dual-stack nodes where lookups, announces and BEP 44 items cross between the families.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeCompactNodes, decodeCompactPeer } from '../../src/codec/compact.js';
import { encodeQuery } from '../../src/codec/krpc.js';
import { formatHostPort } from '../../src/codec/ip.js';
import { Dht } from '../../src/dht/dht.js';
import { createTestnet, testnetHost6, TESTNET_PORT } from '../../src/dht/testnet.js';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { errorOf, KrpcProbe, responseOf } from './krpc-probe.js';

const V4: Endpoint = { host: '10.0.0.1', port: 6881 };
const V6: Endpoint = { host: 'fd57::1', port: 6881 };
const INFO_HASH = new Uint8Array(20).fill(7);

async function collect(peers: AsyncIterable<Endpoint>): Promise<string[]> {
  const out: string[] = [];
  for await (const p of peers) out.push(formatHostPort(p.host, p.port));
  return out.sort();
}

/** A dual-stack node: IPv4 on `host`, IPv6 on `host6`, each a virtual host of its own. */
function dualStack(net: VirtualNetwork, host: string, host6: string, options: ConstructorParameters<typeof Dht>[0] = {}): Dht {
  return new Dht({ host, host6, port: TESTNET_PORT, bootstrap: false, ...options }, net.runtime(host), net.runtime(host6));
}

/** Probes that each ping `to` from their own host (and so enter its table). */
async function pingFrom(net: VirtualNetwork, hosts: string[], to: Endpoint): Promise<void> {
  for (const [i, host] of hosts.entries()) {
    const probe = await KrpcProbe.open(net, host);
    await probe.query(to, 'ping', {}, new Uint8Array(20).fill(i + 1));
    probe.close();
  }
}

describe('an IPv6-only node answering queries', () => {
  test('ping, find_node and get_peers over IPv6: 18-byte ip, nodes6 only, IPv6 peers only', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const node = new Dht({ host: V6.host, port: V6.port, bootstrap: false }, net.runtime(V6.host));
    await net.clock.run(node.start());
    assert.deepEqual(node.families, [6]);
    assert.equal(node.family(4), undefined);
    assert.deepEqual(node.address, V6);
    const probe = await KrpcProbe.open(net, 'fd57::2');
    const pong = await probe.query(V6, 'ping', {});
    assert.equal((pong!.dict.ip as Uint8Array).length, 18);
    assert.deepEqual(decodeCompactPeer(pong!.dict.ip as Uint8Array), { host: 'fd57::2', port: 7000 });
    assert.equal(node.table.size, 1);
    await pingFrom(net, ['fd57::3', 'fd57::4', 'fd57::5'], V6);

    const found = responseOf(await probe.query(V6, 'find_node', { target: new Uint8Array(20) }))!;
    assert.equal(found.nodes, undefined, 'no IPv4 table, no nodes');
    const six = decodeCompactNodes(found.nodes6 as Uint8Array, 6);
    assert.deepEqual(six.map((c) => c.address.host).sort(), ['fd57::3', 'fd57::4', 'fd57::5'], 'the asker is left out');
    // Asked for IPv4 nodes it does not have, it answers with what it has.
    const wantN4 = responseOf(await probe.query(V6, 'find_node', { target: new Uint8Array(20), want: ['n4'] }))!;
    assert.equal(wantN4.nodes, undefined);
    assert.ok(wantN4.nodes6 instanceof Uint8Array);

    const token = responseOf(await probe.query(V6, 'get_peers', { info_hash: INFO_HASH }))!.token as Uint8Array;
    const announced = await probe.query(V6, 'announce_peer', { info_hash: INFO_HASH, port: 51413, token });
    assert.equal(errorOf(announced), undefined);
    const other = await KrpcProbe.open(net, 'fd57::9');
    const values = responseOf(await other.query(V6, 'get_peers', { info_hash: INFO_HASH }))!.values as Uint8Array[];
    assert.deepEqual(values.map((v) => v.length), [18]);
    assert.deepEqual(decodeCompactPeer(values[0]!), { host: 'fd57::2', port: 51413 });
    other.close();
    probe.close();
    await net.clock.run(node.close());
  });

  test('hostile want and nodes6: answered with 203 or dropped and counted, the node stays up', async () => {
    const net = new VirtualNetwork({ seed: 2 });
    const node = new Dht({ host: V6.host, port: V6.port, bootstrap: false }, net.runtime(V6.host));
    await net.clock.run(node.start());
    const probe = await KrpcProbe.open(net, 'fd57::2');
    for (const want of ['n6', [6], Array.from({ length: 9 }, () => 'n6'), { n6: 1 }]) {
      const reply = await probe.query(V6, 'find_node', { target: new Uint8Array(20), want });
      assert.equal(errorOf(reply)?.[0], 203, `want ${JSON.stringify(want)}`);
    }
    const before = node.stats().counters.malformed;
    assert.equal(before, 4);
    // A response nobody asked for, carrying a truncated nodes6: unexpected, never parsed.
    await probe.raw(V6, new TextEncoder().encode('d1:rd2:id20:aaaaaaaaaaaaaaaaaaaa6:nodes65:xxxxxe1:t2:zz1:y1:re'));
    assert.equal(node.stats().counters.unexpected, 1);
    assert.ok(responseOf(await probe.query(V6, 'ping', {})), 'still answers');
    probe.close();
    await net.clock.run(node.close());
  });
});

describe('a dual-stack node', () => {
  test('answers each family from its own table, and both when want asks', async () => {
    const net = new VirtualNetwork({ seed: 3 });
    const node = dualStack(net, V4.host, V6.host);
    await net.clock.run(node.start());
    assert.deepEqual(node.families, [4, 6]);
    await pingFrom(net, ['10.0.0.3', '10.0.0.4'], V4);
    await pingFrom(net, ['fd57::3', 'fd57::4', 'fd57::5'], V6);
    assert.equal(node.family(4)!.table.size, 2);
    assert.equal(node.family(6)!.table.size, 3);
    assert.equal(node.stats().tableSize, 5);
    assert.deepEqual(node.stats().families.map((f) => [f.family, f.tableSize, f.address.host]), [[4, 2, V4.host], [6, 3, V6.host]]);

    const p4 = await KrpcProbe.open(net, '10.0.0.2');
    const p6 = await KrpcProbe.open(net, 'fd57::2');
    const target = new Uint8Array(20);
    const plain4 = responseOf(await p4.query(V4, 'find_node', { target }))!;
    assert.deepEqual([plain4.nodes instanceof Uint8Array, plain4.nodes6], [true, undefined]);
    const both = responseOf(await p4.query(V4, 'find_node', { target, want: ['n4', 'n6'] }))!;
    assert.equal(decodeCompactNodes(both.nodes as Uint8Array, 4).length, 2);
    assert.equal(decodeCompactNodes(both.nodes6 as Uint8Array, 6).length, 3);
    const only6 = responseOf(await p4.query(V4, 'get_peers', { info_hash: INFO_HASH, want: ['n6'] }))!;
    assert.deepEqual([only6.nodes, (only6.nodes6 as Uint8Array).length], [undefined, 3 * 38]);
    const plain6 = responseOf(await p6.query(V6, 'get', { target }))!;
    assert.deepEqual([plain6.nodes, plain6.nodes6 instanceof Uint8Array], [undefined, true]);
    const unknownWant = responseOf(await p6.query(V6, 'find_node', { target, want: ['n5'] }))!;
    assert.deepEqual([unknownWant.nodes, unknownWant.nodes6 instanceof Uint8Array], [undefined, true]);
    // The ids: on private addresses BEP 42 derives nothing, so both families share one (BEP 32).
    assert.deepEqual(node.family(4)!.nodeId, node.family(6)!.nodeId);
    assert.deepEqual(responseOf(await p6.query(V6, 'ping', {}))!.id, node.nodeId);
    p4.close();
    p6.close();
    await net.clock.run(node.close());
  });

  test('get_peers values hold the peers of the family the query came on, and always fit in 1,400 bytes', async () => {
    const net = new VirtualNetwork({ seed: 4 });
    const node = dualStack(net, V4.host, V6.host);
    await net.clock.run(node.start());
    const store = node.localStores.peers;
    const ih = toInfoHash(INFO_HASH);
    for (let i = 1; i <= 90; i++) {
      store.add(ih, { host: `10.1.${i >> 8}.${i & 255}`, port: 1000 + i });
      store.add(ih, { host: `2001:db8::${i.toString(16)}`, port: 2000 + i });
    }
    const p4 = await KrpcProbe.open(net, '10.0.0.2');
    const p6 = await KrpcProbe.open(net, 'fd57::2');
    const r4 = await p4.query(V4, 'get_peers', { info_hash: INFO_HASH });
    const r6 = await p6.query(V6, 'get_peers', { info_hash: INFO_HASH });
    const v4 = responseOf(r4)!.values as Uint8Array[];
    const v6 = responseOf(r6)!.values as Uint8Array[];
    assert.ok(v4.length === 90 && v4.every((v) => v.length === 6), `IPv4 values: ${v4.length}`);
    assert.ok(v6.length > 40 && v6.length < 90 && v6.every((v) => v.length === 18), `IPv6 values: ${v6.length} (sampled to fit)`);
    assert.ok(r4!.size <= 1400 && r6!.size <= 1400, `reply sizes ${r4!.size}, ${r6!.size}`);
    assert.ok(v6.every((v) => decodeCompactPeer(v).host.startsWith('2001:db8::')));
    // announce_peer over IPv6 stores the IPv6 source address, found only over IPv6.
    const token = responseOf(await p6.query(V6, 'get_peers', { info_hash: new Uint8Array(20).fill(9) }))!.token;
    assert.equal(errorOf(await p6.query(V6, 'announce_peer', { info_hash: new Uint8Array(20).fill(9), port: 7777, token })), undefined);
    assert.equal(responseOf(await p4.query(V4, 'get_peers', { info_hash: new Uint8Array(20).fill(9) }))!.values, undefined);
    // A token issued to the IPv6 address is no good from the IPv4 one.
    assert.equal(errorOf(await p4.query(V4, 'announce_peer', { info_hash: new Uint8Array(20).fill(9), port: 7777, token }))?.[0], 203);
    p4.close();
    p6.close();
    await net.clock.run(node.close());
  });

  test('on a host without IPv6 the wildcard binds IPv4 only, saying so once', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const warnings: string[] = [];
    const node = new Dht({ host: '0.0.0.0', port: 6881, bootstrap: false, log: (level, m) => level === 'warn' && warnings.push(m) }, net.runtime('10.0.0.1'));
    await net.clock.run(node.start());
    assert.deepEqual(node.families, [4]);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /no IPv6 socket.*running on IPv4 only/);
    await net.clock.run(node.close());
    // Named, an IPv6 address that cannot be bound is an error; host6: false asks for IPv4 only.
    const named = new Dht({ host: '10.0.0.2', host6: 'fd57::2', port: 6881, bootstrap: false }, net.runtime('10.0.0.2'));
    await assert.rejects(net.clock.run(named.start()), (e: Error & { code?: string }) => e.code === 'EADDRNOTAVAIL');
    const quiet = new Dht({ host: '0.0.0.0', host6: false, port: 6881, bootstrap: false, log: (level) => assert.notEqual(level, 'warn') }, net.runtime('10.0.0.3'));
    await net.clock.run(quiet.start());
    assert.deepEqual(quiet.families, [4]);
    await net.clock.run(quiet.close());
    // The wildcard's IPv6 socket takes the IPv4 port; when that is taken on IPv6, IPv6 is skipped.
    const busy = await net.clock.run(net.runtime('fd57::4').udp({ host: 'fd57::4', port: 6881 }));
    const skipped: string[] = [];
    const dual = new Dht({ port: 6881, bootstrap: false, log: (level, m) => level === 'warn' && skipped.push(m) }, net.runtime('10.0.0.4'), net.runtime('fd57::4'));
    await net.clock.run(dual.start());
    assert.deepEqual([dual.families, skipped.length], [[4], 1]);
    await net.clock.run(dual.close());
    busy.close();
    // Both up on one port number, the IPv6 socket on the wildcard of its host.
    const both = new Dht({ port: 6881, bootstrap: false }, net.runtime('10.0.0.4'), net.runtime('fd57::4'));
    await net.clock.run(both.start());
    assert.deepEqual(both.stats().families.map((f) => f.address), [{ host: '10.0.0.4', port: 6881 }, { host: 'fd57::4', port: 6881 }]);
    await net.clock.run(both.close());
  });
});

describe('IPv6 networks', () => {
  test('60 IPv6-only nodes: all join, an announced IPv6 peer is found, items travel', async () => {
    const tn = await createTestnet(60, { seed: 6, family: 6 });
    for (const node of tn.nodes) assert.ok(node.table.size >= 8, `table of ${node.table.size}`);
    const infoHash = toInfoHash(new Uint8Array(20).fill(0x42));
    const result = await tn.run(tn.nodes[10]!.announce(infoHash, 4242));
    assert.ok(result.announcedTo >= 6, `announced to ${result.announcedTo}`);
    assert.deepEqual(await tn.run(collect(tn.nodes[50]!.lookup(infoHash))), [`[${testnetHost6(10)}]:4242`]);
    const put = await tn.run(tn.nodes[3]!.put({ v: 'over IPv6' }));
    assert.ok(put.storedAt >= 6);
    const got = await tn.run(tn.nodes[40]!.get(put.target));
    assert.equal(new TextDecoder().decode(got!.v as Uint8Array), 'over IPv6');
    await tn.close();
  });

  test('a mixed network: dual-stack nodes link the families; peers and items of both come back', async () => {
    const net = new VirtualNetwork({ seed: 7 });
    const run = <T>(p: Promise<T>) => net.clock.run(p, 3_600_000);
    const router = dualStack(net, '10.9.0.1', 'fd57:9::1');
    await run(router.start());
    const v4Boot = [`10.9.0.1:${TESTNET_PORT}`];
    const v6Boot = [`[fd57:9::1]:${TESTNET_PORT}`];
    const v4only: Dht[] = [];
    const v6only: Dht[] = [];
    const dual: Dht[] = [];
    for (let i = 1; i <= 25; i++) {
      const a = new Dht({ host: `10.4.0.${i}`, port: TESTNET_PORT, bootstrap: v4Boot }, net.runtime(`10.4.0.${i}`));
      const b = new Dht({ host: `fd57:6::${i.toString(16)}`, port: TESTNET_PORT, bootstrap: v6Boot }, net.runtime(`fd57:6::${i.toString(16)}`));
      await run(Promise.all([a.start(), b.start()]));
      v4only.push(a);
      v6only.push(b);
    }
    // Dual-stack nodes that know only the IPv4 address of the router: they find the IPv6 DHT
    // through BEP 32 `want` (the router hands them nodes6 over IPv4).
    for (let i = 1; i <= 8; i++) {
      const d = dualStack(net, `10.46.0.${i}`, `fd57:46::${i.toString(16)}`, { bootstrap: v4Boot });
      await run(d.start());
      dual.push(d);
    }
    for (const d of dual) {
      assert.ok(d.family(4)!.table.size >= 8, `IPv4 table of ${d.family(4)!.table.size}`);
      assert.ok(d.family(6)!.table.size >= 8, `IPv6 table of ${d.family(6)!.table.size}: the families were not linked`);
      assert.ok(d.family(6)!.table.all().every((c) => c.address.host.includes(':')), 'an IPv4 contact in the IPv6 table');
      assert.ok(d.family(4)!.table.all().every((c) => !c.address.host.includes(':')), 'an IPv6 contact in the IPv4 table');
    }

    const infoHash = toInfoHash(new Uint8Array(20).fill(0x77));
    await run(v4only[3]!.announce(infoHash, 4000));
    await run(v6only[4]!.announce(infoHash, 6000));
    const fromDual = await run(collect(dual[5]!.lookup(infoHash)));
    assert.deepEqual(fromDual, [`10.4.0.4:4000`, `[fd57:6::5]:6000`], 'a dual-stack lookup finds the peers of both families');
    assert.deepEqual(await run(collect(v6only[20]!.lookup(infoHash))), [`[fd57:6::5]:6000`]);
    assert.deepEqual(await run(collect(v4only[20]!.lookup(infoHash))), [`10.4.0.4:4000`]);

    // A dual-stack node announces in both families, each under the address of that family.
    const second = toInfoHash(new Uint8Array(20).fill(0x78));
    const announced = await run(dual[2]!.announce(second, 5000));
    assert.ok(announced.announcedTo >= 12, `announced to ${announced.announcedTo} nodes over both families`);
    assert.deepEqual(await run(collect(v4only[10]!.lookup(second))), [`10.46.0.3:5000`]);
    assert.deepEqual(await run(collect(v6only[10]!.lookup(second))), [`[fd57:46::3]:5000`]);

    // With port6 (a router mapped the IPv4 port to another), each family hears its own port.
    const third = toInfoHash(new Uint8Array(20).fill(0x79));
    await run(dual[2]!.announce(third, 7000, { port6: 5000 }));
    assert.deepEqual(await run(collect(v4only[11]!.lookup(third))), [`10.46.0.3:7000`]);
    assert.deepEqual(await run(collect(v6only[11]!.lookup(third))), [`[fd57:46::3]:5000`]);

    // BEP 44: an item put in the IPv6 DHT is found by a dual-stack node; one put by a dual-stack
    // node is found in each family.
    const put6 = await run(v6only[7]!.put({ v: 'from IPv6' }));
    assert.ok(put6.storedAt > 0);
    assert.equal(new TextDecoder().decode((await run(dual[1]!.get(put6.target)))!.v as Uint8Array), 'from IPv6');
    const putDual = await run(dual[6]!.put({ v: 'from both' }));
    assert.ok(putDual.storedAt >= 12, `stored at ${putDual.storedAt}`);
    assert.ok(await run(v4only[0]!.get(putDual.target)));
    assert.ok(await run(v6only[0]!.get(putDual.target)));

    const found = await run(dual[0]!.findNode(new Uint8Array(20).fill(1)));
    assert.ok(found.some((c) => c.address.host.includes(':')) && found.some((c) => !c.address.host.includes(':')), 'findNode merges both families');
    await run(Promise.all([router, ...v4only, ...v6only, ...dual].map((n) => n.close())));
  });

  test('an empty IPv6 table is filled within a minute through an IPv4 contact that knows IPv6 nodes (want n6)', async () => {
    const net = new VirtualNetwork({ seed: 9 });
    const run = <T>(p: Promise<T>) => net.clock.run(p, 3_600_000);
    const router = dualStack(net, '10.9.0.1', 'fd57:9::1');
    await run(router.start());
    const others: Dht[] = [];
    for (let i = 1; i <= 12; i++) {
      const host = `fd57:6::${i.toString(16)}`;
      const node = new Dht({ host, port: TESTNET_PORT, bootstrap: [`[fd57:9::1]:${TESTNET_PORT}`] }, net.runtime(host));
      await run(node.start());
      others.push(node);
    }
    const lonely = dualStack(net, '10.46.0.1', 'fd57:46::1');
    await run(lonely.start());
    assert.ok(await run(lonely.addNode({ host: '10.9.0.1', port: TESTNET_PORT })));
    assert.deepEqual([lonely.family(4)!.table.size, lonely.family(6)!.table.size], [1, 0]);
    await net.clock.advance(70_000); // one maintenance round, and the lookups it starts
    assert.ok(lonely.family(6)!.table.size >= 8, `IPv6 table of ${lonely.family(6)!.table.size} after a minute`);
    await run(Promise.all([router, lonely, ...others].map((n) => n.close())));
  });

  test('a dual-stack node restarts with both ids and both tables from its saved state', async () => {
    const tn = await createTestnet(20, { seed: 8, family: 6 });
    const statePath = '/state/dht.json';
    const net = tn.net;
    const options = { bootstrap: [`[${testnetHost6(0)}]:${TESTNET_PORT}`], statePath };
    const first = dualStack(net, '10.0.0.1', 'fd57:1::1', options);
    await tn.run(first.start());
    const ids = [toHex(first.family(4)!.nodeId), toHex(first.family(6)!.nodeId)];
    const size6 = first.family(6)!.table.size;
    assert.ok(size6 >= 8);
    assert.equal(first.family(4)!.table.size, 0, 'no IPv4 node exists');
    await tn.run(first.close());
    tn.net.setDead(testnetHost6(0), true);
    const second = dualStack(net, '10.0.0.1', 'fd57:1::1', { statePath, bootstrap: false });
    await tn.run(second.start());
    assert.deepEqual([toHex(second.family(4)!.nodeId), toHex(second.family(6)!.nodeId)], ids);
    assert.ok(second.family(6)!.table.size >= 8, `rejoined with ${second.family(6)!.table.size} IPv6 contacts`);
    await tn.run(second.close());
    await tn.close();
  });
});


describe('rate limits over IPv6', () => {
  test('a public /64 shares one budget: a flood spread over its addresses is limited, another /64 is served', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const at: Endpoint = { host: '2001:db8:1::1', port: 6881 };
    const node = new Dht({ host: at.host, port: at.port, bootstrap: false }, net.runtime(at.host));
    await net.clock.run(node.start());
    const ping = encodeQuery({ transactionId: Uint8Array.of(9), method: 'ping', args: {}, senderId: new Uint8Array(20).fill(3) });
    // 20 addresses of one /64, 50 pings each: 1,000 in all, each address under the burst of 200.
    const flooders = await Promise.all(Array.from({ length: 20 }, (_, i) => KrpcProbe.open(net, `2001:db8:2:3::${(i + 1).toString(16)}`)));
    for (const probe of flooders) for (let i = 0; i < 50; i++) probe.socket.send(ping, at);
    await net.clock.advance(100);
    assert.ok(node.stats().counters.rateLimited >= 700, `rateLimited ${node.stats().counters.rateLimited}`);
    const neighbour = await KrpcProbe.open(net, '2001:db8:2:4::1');
    assert.ok(responseOf(await neighbour.query(at, 'ping', {})), 'another /64 has a budget of its own');
    for (const probe of [...flooders, neighbour]) probe.close();
    await net.clock.run(node.close());
  });

  test('private IPv6 addresses (fc00::/7) count one by one, as IPv4 addresses do', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const node = new Dht({ host: V6.host, port: V6.port, bootstrap: false }, net.runtime(V6.host));
    await net.clock.run(node.start());
    const ping = encodeQuery({ transactionId: Uint8Array.of(9), method: 'ping', args: {}, senderId: new Uint8Array(20).fill(3) });
    const probes = await Promise.all(Array.from({ length: 10 }, (_, i) => KrpcProbe.open(net, `fd57::${(i + 0x10).toString(16)}`)));
    for (const probe of probes) for (let i = 0; i < 100; i++) probe.socket.send(ping, V6);
    await net.clock.advance(100);
    assert.equal(node.stats().counters.rateLimited, 0);
    for (const probe of probes) probe.close();
    await net.clock.run(node.close());
  });
});
