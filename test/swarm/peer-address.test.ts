/** Peer addresses of either family (BEP 7): their keys, their canonical hosts, and candidates keyed by them. */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { hostOfPeerKey, normalizePeer, peerKey } from '../../src/swarm/peer-address.js';
import { MAX_CANDIDATES, PeerCandidates } from '../../src/swarm/peer-candidates.js';

describe('peer addresses', () => {
  test('a key reads one way: IPv6 hosts in brackets, and back', () => {
    assert.equal(peerKey({ host: '10.0.0.1', port: 6881 }), '10.0.0.1:6881');
    assert.equal(peerKey({ host: 'fd57::1', port: 6881 }), '[fd57::1]:6881');
    // Without brackets fd57::1 port 6881 and fd57::1:6881 (no port) would be one string.
    assert.notEqual(peerKey({ host: 'fd57::1', port: 6881 }), peerKey({ host: 'fd57::1:6881', port: 1 }));
    for (const host of ['10.0.0.1', 'fd57::1', '::', 'seed.example.org']) assert.equal(hostOfPeerKey(peerKey({ host, port: 1 })), host);
  });

  test('normalizePeer: canonical IPv6, IPv4-mapped as IPv4, host names kept, bad ones refused', () => {
    assert.deepEqual(normalizePeer({ host: 'FD57:0::0:1', port: 1 }), { host: 'fd57::1', port: 1 });
    assert.deepEqual(normalizePeer({ host: '::ffff:10.1.2.3', port: 2 }), { host: '10.1.2.3', port: 2 });
    assert.deepEqual(normalizePeer({ host: 'seed.example.org', port: 3 }), { host: 'seed.example.org', port: 3 });
    for (const bad of [
      { host: 'fd57::1', port: 0 }, { host: 'fd57::1', port: 65536 }, { host: '1.2.3.4', port: 1.5 }, { host: '[fd57::1]', port: 1 },
      { host: 'fe80::1%eth0', port: 1 }, { host: '', port: 1 }, { host: 'a b', port: 1 }, { host: 'fd57:::1', port: 1 },
    ]) {
      assert.equal(normalizePeer(bad), undefined, JSON.stringify(bad));
    }
  });

  test('candidates: one entry per peer however it is spelled; a ban covers every spelling of the host', () => {
    const c = new PeerCandidates(() => 0);
    c.add({ host: 'fd57::1', port: 6881 });
    c.add({ host: 'FD57:0:0::1', port: 6881 });
    c.add({ host: '10.0.0.1', port: 6881 });
    c.add({ host: '::ffff:10.0.0.1', port: 6881 });
    c.add({ host: 'fd57::1', port: 0 });
    const first = c.takeDialable(10, () => false);
    assert.deepEqual(first.map((d) => d.key), ['[fd57::1]:6881', '10.0.0.1:6881']);
    c.ban('fd57::1');
    assert.ok(c.isBanned('fd57::1'));
    c.add({ host: 'fd57:0::1', port: 7000 });
    c.dialed('10.0.0.1:6881', false);
    c.resetBackoff();
    assert.deepEqual(c.takeDialable(10, () => false).map((d) => d.key), ['10.0.0.1:6881'], 'the banned host is neither kept nor added again');
  });

  test('candidates are bounded: a PEX flood cannot grow the list; a full list forgets the peer that failed most', () => {
    const c = new PeerCandidates(() => 0);
    const peer = (i: number) => ({ host: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, port: 6881 });
    for (let i = 1; i <= MAX_CANDIDATES + 500; i++) c.add(peer(i));
    assert.equal(c.size, MAX_CANDIDATES, 'newcomers are refused while no candidate has failed');
    // Two dials fail, one of them twice: a newcomer takes the place of the peer that failed most.
    const [a, b] = c.takeDialable(2, () => false);
    c.dialed(a!.key, false);
    c.dialed(b!.key, false);
    c.resetBackoff();
    const again = c.takeDialable(1, (key) => key !== a!.key);
    assert.deepEqual(again.map((d) => d.key), [a!.key]);
    c.dialed(a!.key, false);
    c.add(peer(MAX_CANDIDATES + 1000));
    assert.equal(c.size, MAX_CANDIDATES);
    c.resetBackoff();
    // Every candidate, 8 dials at a time (each then waits out its pause after a good dial).
    const keys = new Set<string>();
    for (let batch = c.takeDialable(MAX_CANDIDATES, () => false); batch.length > 0; batch = c.takeDialable(MAX_CANDIDATES, () => false)) {
      for (const d of batch) {
        keys.add(d.key);
        c.dialed(d.key, true);
      }
    }
    assert.equal(keys.size, MAX_CANDIDATES);
    assert.ok(!keys.has(a!.key), 'the peer that failed twice was forgotten');
    assert.ok(keys.has(b!.key), 'the peer that failed once was kept');
    assert.ok(keys.has('10.0.15.160:6881'), 'the newcomer was added');
  });
});
