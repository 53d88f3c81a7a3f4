/**
 * One node answering hand-made KRPC queries on the virtual network: the six methods, tokens,
 * errors 201-207/301/302, reply size, expiry, read-only senders and rate limiting.
 */
import { describe, test, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { bencode, type BDict } from '../../src/codec/bencode.js';
import { encodeQuery } from '../../src/codec/krpc.js';
import { decodeCompactNodes, decodeCompactPeer } from '../../src/codec/compact.js';
import { Dht } from '../../src/dht/dht.js';
import { generateEd25519KeyPair, mutableTarget, signItem } from '../../src/dht/bep44.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';
import { errorOf, KrpcProbe, responseOf } from './krpc-probe.js';

const NODE: Endpoint = { host: '10.0.0.1', port: 6881 };
const INFO_HASH = new Uint8Array(20).fill(7);
const MIN = 60_000;

let net: VirtualNetwork;
let node: Dht;
let probe: KrpcProbe;

async function startNode(options = {}): Promise<Dht> {
  const dht = new Dht({ host: NODE.host, port: NODE.port, bootstrap: false, ...options }, net.runtime(NODE.host));
  await net.clock.run(dht.start());
  return dht;
}

beforeEach(async () => {
  net = new VirtualNetwork({ seed: 1 });
  node = await startNode();
  probe = await KrpcProbe.open(net, '10.0.0.2');
});

afterEach(async () => {
  probe.close();
  await net.clock.run(node.close());
});

async function tokenFor(p: KrpcProbe, method = 'get_peers'): Promise<Uint8Array> {
  const args = method === 'get_peers' ? { info_hash: INFO_HASH } : { target: INFO_HASH };
  return responseOf(await p.query(NODE, method, args))!.token as Uint8Array;
}

describe('BEP 5 queries', () => {
  test('ping answers with the node id, our address as seen (BEP 42 ip) and a version', async () => {
    const reply = await probe.query(NODE, 'ping', {});
    assert.deepEqual(responseOf(reply)!.id, node.nodeId);
    assert.deepEqual(decodeCompactPeer(reply!.dict.ip as Uint8Array), { host: '10.0.0.2', port: 7000 });
    assert.equal(new TextDecoder().decode(reply!.dict.v as Uint8Array).slice(0, 2), 'WR');
    assert.equal(node.table.size, 1, 'the querying node was added to the table');
  });

  test('find_node returns compact contacts, closest first', async () => {
    for (let i = 3; i < 20; i++) {
      const other = await KrpcProbe.open(net, `10.0.0.${i}`);
      await other.query(NODE, 'ping', {}, new Uint8Array(20).fill(i));
      other.close();
    }
    const nodes = decodeCompactNodes(responseOf(await probe.query(NODE, 'find_node', { target: new Uint8Array(20).fill(5) }))!.nodes as Uint8Array);
    assert.equal(nodes.length, 8);
    assert.deepEqual(nodes[0]!.id, new Uint8Array(20).fill(5));
    assert.deepEqual(nodes[0]!.address, { host: '10.0.0.5', port: 7000 });
  });

  test('announce_peer needs a token issued to the same IP, valid for 5 to 10 minutes', async () => {
    assert.deepEqual(errorOf(await probe.query(NODE, 'announce_peer', { info_hash: INFO_HASH, port: 80, token: new Uint8Array(8) }))?.[0], 203);
    const token = await tokenFor(probe);
    const thief = await KrpcProbe.open(net, '10.0.0.3');
    assert.equal(errorOf(await thief.query(NODE, 'announce_peer', { info_hash: INFO_HASH, port: 80, token }))?.[0], 203);
    thief.close();
    await net.clock.advance(6 * MIN);
    assert.ok(responseOf(await probe.query(NODE, 'announce_peer', { info_hash: INFO_HASH, port: 80, token })), 'previous secret still accepted');
    const values = responseOf(await probe.query(NODE, 'get_peers', { info_hash: INFO_HASH }))!.values as Uint8Array[];
    assert.deepEqual(values.map(decodeCompactPeer), [{ host: '10.0.0.2', port: 80 }]);
    await net.clock.advance(6 * MIN);
    assert.equal(errorOf(await probe.query(NODE, 'announce_peer', { info_hash: INFO_HASH, port: 80, token }))?.[0], 203, 'two rotations later the token is dead');
  });

  test('implied_port stores the UDP source port', async () => {
    const token = await tokenFor(probe);
    await probe.query(NODE, 'announce_peer', { info_hash: INFO_HASH, port: 1, implied_port: 1, token });
    const values = responseOf(await probe.query(NODE, 'get_peers', { info_hash: INFO_HASH }))!.values as Uint8Array[];
    assert.deepEqual(values.map(decodeCompactPeer), [{ host: '10.0.0.2', port: 7000 }]);
  });

  test('announced peers expire after 30 minutes', async () => {
    const token = await tokenFor(probe);
    await probe.query(NODE, 'announce_peer', { info_hash: INFO_HASH, port: 80, token });
    await net.clock.advance(29 * MIN);
    assert.ok(responseOf(await probe.query(NODE, 'get_peers', { info_hash: INFO_HASH }))!.values);
    await net.clock.advance(2 * MIN);
    assert.equal(responseOf(await probe.query(NODE, 'get_peers', { info_hash: INFO_HASH }))!.values, undefined);
    assert.equal(node.stats().peersStored, 0, 'maintenance dropped the expired peer');
  });

  test('a get_peers reply with hundreds of stored peers fits in 1400 bytes, sampled', async () => {
    for (let i = 0; i < 300; i++) {
      const peer = await KrpcProbe.open(net, `10.1.${i >> 8}.${i & 255}`);
      const token = await tokenFor(peer);
      await peer.query(NODE, 'announce_peer', { info_hash: INFO_HASH, port: 1000 + i, token });
      peer.close();
    }
    assert.equal(node.stats().peersStored, 200, 'bounded at 200 peers per infohash');
    const first = await probe.query(NODE, 'get_peers', { info_hash: INFO_HASH });
    const second = await probe.query(NODE, 'get_peers', { info_hash: INFO_HASH });
    assert.ok(first!.size <= 1400, `reply is ${first!.size} bytes`);
    const a = (responseOf(first)!.values as Uint8Array[]).map((v) => decodeCompactPeer(v).port);
    const b = (responseOf(second)!.values as Uint8Array[]).map((v) => decodeCompactPeer(v).port);
    assert.ok(a.length > 100, `only ${a.length} peers in the reply`);
    assert.notDeepEqual(a, b, 'replies are random samples');
  });

  test('unknown methods get 204, malformed queries 203, unreadable bytes nothing; all counted', async () => {
    assert.equal(errorOf(await probe.query(NODE, 'frobnicate', {}))?.[0], 204);
    assert.equal(errorOf(await probe.query(NODE, 'find_node', { target: new Uint8Array(3) }))?.[0], 203);
    assert.equal(errorOf(await probe.raw(NODE, bencode({ t: 'xy', y: 'q', q: 'ping', a: 'not a dict' })))?.[0], 203);
    assert.equal(await probe.raw(NODE, new TextEncoder().encode('not bencode at all')), undefined);
    const counters = node.stats().counters;
    assert.equal(counters.malformed, 3);
    assert.equal(counters.errorsOut, 3);
  });

  test('a read-only (BEP 43) sender is answered but not added to the routing table', async () => {
    const bytes = encodeQuery({ transactionId: Uint8Array.of(1), method: 'ping', args: {}, senderId: probe.id, readOnly: true });
    assert.ok(responseOf(await probe.raw(NODE, bytes)));
    assert.equal(node.table.size, 0);
  });

  test('a read-only node answers nothing and says ro=1 in its queries', async () => {
    const ro = new Dht({ host: '10.0.0.9', port: 6881, bootstrap: ['10.0.0.2:7000'], readOnly: true }, net.runtime('10.0.0.9'));
    const seen: BDict[] = [];
    probe.socket.onMessage((data) => seen.push(JSON.parse(JSON.stringify({ ro: data.includes(0x72) })) as BDict));
    const start = net.clock.run(ro.start());
    await start;
    assert.ok(seen.length > 0, 'the read-only node sent its bootstrap query');
    assert.equal(await probe.query({ host: '10.0.0.9', port: 6881 }, 'ping', {}), undefined);
    await net.clock.run(ro.close());
  });

  test('a flood from one address is rate limited; others are still served', async () => {
    const ping = encodeQuery({ transactionId: Uint8Array.of(9), method: 'ping', args: {}, senderId: probe.id });
    for (let i = 0; i < 1000; i++) probe.socket.send(ping, NODE);
    await net.clock.advance(100);
    assert.ok(node.stats().counters.rateLimited >= 700, `rateLimited ${node.stats().counters.rateLimited}`);
    const other = await KrpcProbe.open(net, '10.0.0.3');
    assert.ok(responseOf(await other.query(NODE, 'ping', {})));
    other.close();
  });
});

describe('BEP 44 put and get', () => {
  test('an immutable item is stored under SHA-1 of its value and expires after 2 hours', async () => {
    const token = await tokenFor(probe, 'get');
    assert.ok(responseOf(await probe.query(NODE, 'put', { token, v: 'Hello World!' })));
    const target = Buffer.from('e5f96f6f38320f0f33959cb4d3d656452117aadb', 'hex');
    assert.equal(new TextDecoder().decode(responseOf(await probe.query(NODE, 'get', { target }))!.v as Uint8Array), 'Hello World!');
    await net.clock.advance(121 * MIN);
    assert.equal(responseOf(await probe.query(NODE, 'get', { target }))!.v, undefined);
  });

  test('mutable items: signature, seq, cas, salt and size rules with their error codes', async () => {
    const keyPair = generateEd25519KeyPair();
    const salt = new TextEncoder().encode('s');
    const token = await tokenFor(probe, 'get');
    const put = (v: string, seq: number, extra: Record<string, unknown> = {}) => {
      const vEncoded = bencode(v);
      return probe.query(NODE, 'put', { token, v, k: keyPair.publicKey, seq, salt, sig: signItem(keyPair, vEncoded, seq, salt), ...extra } as never);
    };
    assert.ok(responseOf(await put('first', 1)));
    assert.equal(errorOf(await put('older', 0))?.[0], 302);
    assert.equal(errorOf(await put('same seq, other value', 1))?.[0], 302);
    assert.equal(errorOf(await put('cas', 2, { cas: 5 }))?.[0], 301);
    assert.ok(responseOf(await put('second', 2, { cas: 1 })));
    assert.equal(errorOf(await put('forged', 3, { sig: new Uint8Array(64) }))?.[0], 206);
    assert.equal(errorOf(await put('x'.repeat(1000), 4))?.[0], 205);
    assert.equal(errorOf(await put('long salt', 5, { salt: new Uint8Array(65) }))?.[0], 207);
    assert.equal(errorOf(await probe.query(NODE, 'put', { token: new Uint8Array(8), v: 'x' }))?.[0], 203);
    const target = mutableTarget(keyPair.publicKey, salt);
    const got = responseOf(await probe.query(NODE, 'get', { target }))!;
    assert.equal(got.seq, 2);
    assert.equal(new TextDecoder().decode(got.v as Uint8Array), 'second');
    const newer = responseOf(await probe.query(NODE, 'get', { target, seq: 2 }))!;
    assert.equal(newer.seq, 2);
    assert.equal(newer.v, undefined, 'v is left out when the asker already has this seq');
  });
});
