/**
 * The DHT's small parts on their own: BEP 42 ids, tokens, stores and their bounds, the rate
 * limiter, external-address votes and the saved state file.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { crc32c, isExemptAddress, isSecureNodeId, secureNodeId } from '../../src/dht/secure-id.js';
import { TokenManager } from '../../src/dht/token-manager.js';
import { PeerStore } from '../../src/dht/peer-store.js';
import { ItemStore } from '../../src/dht/item-store.js';
import { RateLimiter } from '../../src/dht/rate-limiter.js';
import { ExternalAddressVotes } from '../../src/dht/external-address.js';
import { decodeNodeState, encodeNodeState, fileNodeStateStore } from '../../src/dht/node-state.js';
import { chooseNodeIds } from '../../src/dht/node-ids.js';
import { parseHostPort, rateLimitSource, usableEndpoint } from '../../src/dht/endpoint.js';
import { parseIpv6 } from '../../src/codec/ip.js';
import { toInfoHash, toItemTarget, toNodeId } from '../../src/dht/types.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';

function clock() {
  let t = 0;
  return { now: () => t, advance: (ms: number) => (t += ms) };
}

describe('BEP 42 secure node ids', () => {
  // The test vectors of BEP 42: IP, rand (the last byte), and the id's first three bytes.
  const vectors: [string, number, string][] = [
    ['124.31.75.21', 1, '5fbfbf'],
    ['21.75.31.124', 86, '5a3ce9'],
    ['65.23.51.170', 22, 'a5d432'],
    ['84.124.73.14', 65, '1b0321'],
    ['43.213.53.83', 90, 'e56f6c'],
  ];
  test('the BEP 42 vectors verify, and generated ids match them on the first 21 bits', () => {
    for (const [ip, rand, prefix] of vectors) {
      const id = new Uint8Array(20).fill(0x11);
      id.set(Buffer.from(prefix, 'hex'), 0);
      id[19] = rand;
      assert.ok(isSecureNodeId(id, ip), ip);
      const made = secureNodeId(ip, Uint8Array.from({ length: 20 }, (_, i) => (i === 19 ? rand : i)));
      assert.equal(Buffer.from(made.subarray(0, 2)).toString('hex'), prefix.slice(0, 4), ip);
      assert.equal(made[2]! & 0xf8, Buffer.from(prefix, 'hex')[2]! & 0xf8, ip);
      assert.ok(isSecureNodeId(made, ip));
      assert.ok(!isSecureNodeId(made, '1.2.3.4'));
    }
  });
  test('CRC32-C of "123456789" is e3069283; local addresses are exempt', () => {
    assert.equal(crc32c(new TextEncoder().encode('123456789')), 0xe3069283);
    for (const ip of ['127.0.0.1', '10.1.2.3', '192.168.0.1', '172.20.0.1', '169.254.1.1']) assert.ok(isExemptAddress(ip));
    assert.ok(!isExemptAddress('8.8.8.8'));
    assert.ok(!isSecureNodeId(new Uint8Array(20), '127.0.0.1'));
  });
});

describe('BEP 42 for IPv6, and the ids of the two families', () => {
  /** The id prefix BEP 42 gives, computed as the BEP writes it: crc32c((ip >> 64 & 0x0103070f1f3f7fff) | r << 61). */
  function bepPrefix(host: string, r: number): number {
    const high = BigInt(`0x${Buffer.from(parseIpv6(host)!.subarray(0, 8)).toString('hex')}`);
    const value = (high & 0x0103070f1f3f7fffn) | (BigInt(r) << 61n);
    return crc32c(Buffer.from(value.toString(16).padStart(16, '0'), 'hex'));
  }

  test('an IPv6 id matches the BEP formula on its first 21 bits, with r in its last byte', () => {
    for (const [host, r] of [['2001:db8:85a3::8a2e:370:7334', 0], ['2a00:1450:4001:82b::200e', 5], ['2600::1', 7]] as const) {
      const rand = Uint8Array.from({ length: 20 }, (_, i) => (i === 19 ? 0xf8 | r : 0x5a));
      const id = secureNodeId(host, rand);
      const crc = bepPrefix(host, r);
      assert.equal(id[0], crc >>> 24, host);
      assert.equal(id[1], (crc >>> 16) & 0xff, host);
      assert.equal(id[2]! & 0xf8, (crc >>> 8) & 0xf8, host);
      assert.equal(id[19], 0xf8 | r);
      assert.ok(isSecureNodeId(id, host));
      // Only the first 64 bits count: another interface id in the same /64 matches too.
      assert.ok(isSecureNodeId(id, host.replace(/:[0-9a-f]+$/, ':1234')));
      const flipped = Uint8Array.from(id);
      flipped[2] = flipped[2]! ^ 0x08;
      assert.ok(!isSecureNodeId(flipped, host));
      assert.ok(!isSecureNodeId(id, '2001:db9::1'));
    }
  });

  test('local IPv6 ranges are exempt, public ones are not; non-addresses are exempt', () => {
    for (const host of ['::', '::1', 'fe80::1', 'febf::1', 'fd57::1', 'fc00::9', '::ffff:10.0.0.1', '0.0.0.0', 'localhost']) {
      assert.ok(isExemptAddress(host), host);
    }
    for (const host of ['2001:db8::1', '2a00:1450::1', 'fec0::1', '::ffff:8.8.8.8']) assert.ok(!isExemptAddress(host), host);
    assert.ok(!isSecureNodeId(new Uint8Array(20), 'fd57::1'));
  });

  test('one id for both families unless each has a public address of its own', () => {
    let n = 0;
    const randomBytes = (len: number) => new Uint8Array(len).fill(++n);
    const both = [4, 6] as const;
    // Private addresses: one shared random id (BEP 32).
    const local = chooseNodeIds({ families: both, bound: { 4: '10.0.0.1', 6: 'fd57::1' }, randomBytes });
    assert.deepEqual(local.get(4), local.get(6));
    // A public IPv6 address only: the IPv6 id is derived from it, IPv4 shares it.
    const six = chooseNodeIds({ families: both, bound: { 4: '0.0.0.0', 6: '2a00:1450::1' }, randomBytes });
    assert.ok(isSecureNodeId(six.get(6)!, '2a00:1450::1'));
    assert.deepEqual(six.get(4), six.get(6));
    // Public addresses in both families (as reported by others): one BEP 42 id each.
    const saved = { nodeId: toNodeId('ab'.repeat(20)), externalIp: '8.8.8.8', externalIp6: '2a00:1450::1', contacts: [] };
    const two = chooseNodeIds({ families: both, bound: { 4: '0.0.0.0', 6: '::' }, saved, randomBytes });
    assert.ok(isSecureNodeId(two.get(4)!, '8.8.8.8'));
    assert.ok(isSecureNodeId(two.get(6)!, '2a00:1450::1'));
    // Saved ids that still match are kept; a configured id is used in both.
    const kept = chooseNodeIds({ families: both, bound: {}, saved: { ...saved, nodeId: two.get(4)!, nodeId6: two.get(6)! }, randomBytes });
    assert.deepEqual([kept.get(4), kept.get(6)], [two.get(4), two.get(6)]);
    const configured = chooseNodeIds({ families: [6], configured: 'cd'.repeat(20), bound: { 6: '2a00:1450::1' }, randomBytes });
    assert.deepEqual([...configured.values()], [toNodeId('cd'.repeat(20))]);
  });

  test('endpoints: [v6]:port bootstrap entries, and which contacts can be sent to', () => {
    assert.deepEqual(parseHostPort('[FD57::0:1]:6881'), { host: 'fd57::1', port: 6881 });
    assert.deepEqual(parseHostPort('router.example.org:6881'), { host: 'router.example.org', port: 6881 });
    assert.deepEqual(parseHostPort('[::ffff:1.2.3.4]:6881'), { host: '1.2.3.4', port: 6881 }, 'an IPv4-mapped host as its dotted quad');
    for (const bad of ['[fd57::1]', '[fd57::1]6881', '[fd57::zz]:1', 'fd57::1:6881', '[fd57::1]:0', '[fd57::1]:65536', '[]:1', '[fe80::1%eth0]:1', 'a b:1']) {
      assert.throws(() => parseHostPort(bad), (e: unknown) => e instanceof Error && e.message.startsWith(`bad address "${bad}": `) && !e.message.includes('\n'), bad);
    }
    for (const host of ['fd57::1', '2001:db8::1', '::1']) assert.ok(usableEndpoint({ host, port: 1 }), host);
    for (const host of ['::', 'ff02::1', '::ffff:1.2.3.4', 'fd57::zz', 'host']) assert.ok(!usableEndpoint({ host, port: 1 }), host);
    assert.ok(!usableEndpoint({ host: 'fd57::1', port: 0 }));
  });

  test('rate-limit sources: an address, address and port on loopback, a public IPv6 /64', () => {
    assert.equal(rateLimitSource({ host: '5.6.7.8', port: 1 }), '5.6.7.8');
    assert.equal(rateLimitSource({ host: '127.0.0.2', port: 9 }), '127.0.0.2:9');
    assert.equal(rateLimitSource({ host: '::1', port: 9 }), '[::1]:9');
    assert.equal(rateLimitSource({ host: '2001:db8:1:2:aaaa::7', port: 1 }), '2001:db8:1:2::/64');
    assert.equal(rateLimitSource({ host: '2001:db8:1:2::8', port: 2 }), '2001:db8:1:2::/64');
    assert.equal(rateLimitSource({ host: '2001:db8::8', port: 2 }), '2001:db8:0:0::/64');
    assert.equal(rateLimitSource({ host: 'fd57::1', port: 1 }), 'fd57::1');
    assert.equal(rateLimitSource({ host: 'fe80::1', port: 1 }), 'fe80::1');
  });
});

describe('stores and limits', () => {
  test('tokens: bound to the IP, survive one rotation, not two', () => {
    const c = clock();
    let n = 0;
    const tokens = new TokenManager({ now: c.now, randomBytes: (len) => new Uint8Array(len).fill(++n) });
    const token = tokens.issue('1.2.3.4');
    assert.ok(tokens.verify('1.2.3.4', token));
    assert.ok(!tokens.verify('1.2.3.5', token));
    assert.ok(!tokens.verify('1.2.3.4', token.subarray(0, 4)));
    c.advance(5 * 60_000);
    assert.ok(tokens.verify('1.2.3.4', token));
    c.advance(5 * 60_000);
    assert.ok(!tokens.verify('1.2.3.4', token));
  });

  test('peer store: bounded per swarm and in swarms, renewals do not duplicate', () => {
    const c = clock();
    const store = new PeerStore(c.now, { maxInfoHashes: 3, maxPeersPerInfoHash: 5 });
    const ih = (i: number) => toInfoHash(new Uint8Array(20).fill(i));
    for (let i = 0; i < 20; i++) store.add(ih(1), { host: '1.1.1.1', port: 1000 + i });
    store.add(ih(1), { host: '1.1.1.1', port: 1019 });
    assert.equal(store.size, 5);
    assert.deepEqual(store.get(ih(1), 10, Math.random).map((p) => p.port).sort(), [1015, 1016, 1017, 1018, 1019]);
    for (let i = 2; i < 6; i++) {
      c.advance(1);
      store.add(ih(i), { host: '2.2.2.2', port: i });
    }
    assert.equal(store.infoHashCount, 3);
    assert.equal(store.get(ih(1), 10, Math.random).length, 0, 'the stalest swarm made room');
    assert.equal(store.size, 3);
    store.add(ih(5), { host: '3.3.3.3', port: 1, }, true);
    assert.equal(store.get(ih(5), 10, Math.random, { noSeed: true }).length, 1, 'noseed leaves seeds out');
  });

  test('item store: bounded by count and bytes, expires after 2 hours', () => {
    const c = clock();
    const store = new ItemStore(c.now, { maxItems: 3, maxBytes: 250 });
    const target = (i: number) => toItemTarget(new Uint8Array(20).fill(i));
    for (let i = 1; i <= 4; i++) {
      c.advance(1);
      store.set(target(i), { v: 1, vEncoded: new Uint8Array(100) });
      assert.ok(store.byteSize <= 250);
    }
    assert.ok(store.size <= 3);
    assert.ok(store.get(target(4)));
    assert.equal(store.get(target(1)), undefined);
    c.advance(2 * 60 * 60_000);
    assert.equal(store.get(target(4)), undefined);
    store.expire();
    assert.equal(store.size, 0);
    assert.equal(store.byteSize, 0);
  });

  test('rate limiter: burst then steady rate, bounded number of sources', () => {
    const c = clock();
    const limiter = new RateLimiter(c.now, { perSecond: 10, burst: 20, maxSources: 100 });
    let allowed = 0;
    for (let i = 0; i < 100; i++) if (limiter.allow('a')) allowed++;
    assert.equal(allowed, 20);
    c.advance(1000);
    allowed = 0;
    for (let i = 0; i < 100; i++) if (limiter.allow('a')) allowed++;
    assert.equal(allowed, 10);
    for (let i = 0; i < 1000; i++) limiter.allow(`s${i}`);
    assert.equal(limiter.size, 100);
  });

  test('external address: a clear majority of at least 3 voters wins', () => {
    const votes = new ExternalAddressVotes();
    votes.add('a', '5.5.5.5');
    votes.add('b', '5.5.5.5');
    assert.equal(votes.winner(), undefined);
    votes.add('c', '5.5.5.5');
    assert.equal(votes.winner(), '5.5.5.5');
    for (const v of ['d', 'e', 'f']) votes.add(v, '6.6.6.6');
    assert.equal(votes.winner(), undefined, 'a tie has no winner');
    votes.add('a', '6.6.6.6');
    assert.equal(votes.winner(), '6.6.6.6', 'a voter has one (its latest) vote');
  });
});

describe('saved state', () => {
  test('round trip, and a damaged file is reported and ignored', async () => {
    const fs = new VirtualNetwork({ seed: 1 }).runtime('10.0.0.1').fs;
    await fs.mkdir('/d');
    const nodeId = toNodeId('00'.repeat(20));
    const at = (path: string) => fileNodeStateStore(fs, path);
    await at('/d/s.json').save({ nodeId, contacts: [{ id: toNodeId('11'.repeat(20)), address: { host: '1.2.3.4', port: 5 } }] });
    const warnings: string[] = [];
    const loaded = await at('/d/s.json').load((m) => warnings.push(m));
    assert.deepEqual(loaded?.contacts[0]?.address, { host: '1.2.3.4', port: 5 });
    assert.equal(await at('/d/none.json').load((m) => warnings.push(m)), undefined);
    await fs.writeFile('/d/bad.json', new TextEncoder().encode('{"nodeId": "zz"'));
    assert.equal(await at('/d/bad.json').load((m) => warnings.push(m)), undefined);
    await fs.writeFile('/d/mixed.json', new TextEncoder().encode(JSON.stringify({ version: 1, nodeId: '22'.repeat(20), contacts: [['33'.repeat(20), '1.2.3.4', 7], ['bad', 'x', 0], 5] })));
    assert.equal((await at('/d/mixed.json').load((m) => warnings.push(m)))?.contacts.length, 1);
    assert.equal(warnings.length, 1);
    assert.match(warnings[0]!, /damaged/);
  });

  test('IPv6: the second id, the external IPv6 address and IPv6 contacts round trip, in canonical spelling', () => {
    const state = {
      nodeId: toNodeId('01'.repeat(20)),
      nodeId6: toNodeId('02'.repeat(20)),
      externalIp: '8.8.8.8',
      externalIp6: '2a00:1450::1',
      contacts: [
        { id: toNodeId('11'.repeat(20)), address: { host: '1.2.3.4', port: 5 } },
        { id: toNodeId('12'.repeat(20)), address: { host: 'fd57::2', port: 6 } },
      ],
    };
    assert.deepEqual(decodeNodeState(encodeNodeState(state)), state);
    const file = {
      version: 1,
      nodeId: '22'.repeat(20),
      nodeId6: 'not hex',
      externalIp6: 'FD57:0::1',
      contacts: [['33'.repeat(20), 'FD57:0:0::9', 7], ['44'.repeat(20), '[fd57::1]', 7], ['55'.repeat(20), 'fd57::zz', 7], ['66'.repeat(20), 'fd57::1', 70000]],
    };
    const loaded = decodeNodeState(new TextEncoder().encode(JSON.stringify(file)));
    assert.equal(loaded.nodeId6, undefined, 'a damaged second id is dropped');
    assert.equal(loaded.externalIp6, 'fd57::1');
    assert.deepEqual(loaded.contacts.map((c) => c.address), [{ host: 'fd57::9', port: 7 }]);
  });
});
