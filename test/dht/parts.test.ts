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
import { fileNodeStateStore } from '../../src/dht/node-state.js';
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
    assert.equal(store.get(ih(5), 10, Math.random, true).length, 1, 'noseed leaves seeds out');
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
});
