/**
 * Interoperability of warren's `Dht` with the `bittorrent-dht` package (webtorrent's mainline DHT)
 * on 127.0.0.1: mixed networks bootstrapped from a warren node and from a bittorrent-dht node;
 * peers announced on one side are found from the other (BEP 5); BEP 44 immutable and salted
 * mutable items stored by one side are read, verified and updated by the other; each side answers
 * the other's ping and find_node and keeps it in its routing table.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { generateEd25519KeyPair, toHex, toInfoHash, toItemTarget, type Dht, type InfoHash } from '../../src/index.js';
import {
  MixedNetwork,
  btAnnounce,
  btEndpoint,
  btGet,
  btLookup,
  btPut,
  btQuery,
  ed25519Signer,
  hostPort,
  parseCompactNodes,
} from './bittorrent-dht-network.js';

const TIMEOUT = { timeout: 60_000 };
const LOOPBACK = '127.0.0.1';

/** An infohash one bit away from `id`: the node with that id is among its closest for sure. */
function nextTo(id: Uint8Array): InfoHash {
  const ih = Uint8Array.from(id);
  ih[19] = ih[19]! ^ 0x01;
  return toInfoHash(ih);
}

function text(v: unknown): string {
  assert.ok(v instanceof Uint8Array, `expected a byte string, got ${typeof v}`);
  return Buffer.from(v).toString();
}

async function warrenPeers(dht: Dht, infoHash: InfoHash): Promise<string[]> {
  const found: string[] = [];
  for await (const peer of dht.lookup(infoHash)) found.push(hostPort(peer));
  return found;
}

/** No bittorrent-dht message was malformed to warren, and warren refused none of its queries. */
function assertCleanCounters(net: MixedNetwork): void {
  for (const dht of net.warren) {
    const { counters } = dht.stats();
    assert.equal(counters.malformed, 0, `warren ${dht.stats().nodeId} counted malformed datagrams`);
    assert.equal(counters.errorsOut, 0, `warren ${dht.stats().nodeId} answered queries with errors`);
    assert.equal(counters.rateLimited, 0);
  }
  assert.deepEqual(net.btWarnings, [], 'bittorrent-dht found nothing wrong in what warren sent');
}

describe('warren and bittorrent-dht, bootstrapped from a warren node', () => {
  const net = new MixedNetwork();
  let warrenIds: Set<string>;
  let btIds: Set<string>;

  before(async () => {
    const root = await net.addWarren(false);
    const seed = [hostPort(root.address)];
    for (let i = 0; i < 10; i++) {
      await net.addBt(seed);
      if (i < 9) await net.addWarren(seed);
    }
    warrenIds = new Set(net.warren.map((d) => toHex(d.nodeId)));
    btIds = new Set(net.bt.map((n) => n.nodeId.toString('hex')));
  });
  after(() => net.close());

  test('the network has 10 warren and 10 bittorrent-dht nodes on loopback', TIMEOUT, () => {
    assert.equal(net.warren.length, 10);
    assert.equal(net.bt.length, 10);
    for (const dht of net.warren) assert.equal(dht.address.host, LOOPBACK);
    for (const node of net.bt) assert.equal(node.address().address, LOOPBACK);
  });

  test('bittorrent-dht routing tables hold warren nodes, and warren tables hold bittorrent-dht nodes', TIMEOUT, () => {
    const warrenSeenByBt = new Set<string>();
    for (const node of net.bt) {
      const ids = node._rpc.nodes.toArray().map((c) => c.id.toString('hex'));
      const warrenHere = ids.filter((id) => warrenIds.has(id));
      assert.ok(warrenHere.length > 0, `bittorrent-dht ${node.nodeId.toString('hex')} has no warren contact`);
      warrenHere.forEach((id) => warrenSeenByBt.add(id));
      // Each warren contact sits at the address warren is bound to.
      for (const contact of node._rpc.nodes.toArray()) {
        const owner = net.warren.find((d) => toHex(d.nodeId) === contact.id.toString('hex'));
        if (owner) assert.equal(`${contact.host}:${contact.port}`, hostPort(owner.address));
      }
      assert.ok(node.toJSON().nodes.length >= warrenHere.length);
    }
    assert.ok(warrenSeenByBt.size >= 5, `only ${warrenSeenByBt.size} warren nodes known to bittorrent-dht`);
    for (const dht of net.warren) {
      const btHere = dht.table.all().filter((c) => btIds.has(toHex(c.id)));
      assert.ok(btHere.length > 0, `warren ${toHex(dht.nodeId)} has no bittorrent-dht contact`);
      for (const c of btHere) {
        const owner = net.bt.find((n) => n.nodeId.toString('hex') === toHex(c.id))!;
        assert.equal(hostPort(c.address), hostPort(btEndpoint(owner)));
      }
    }
  });

  test('warren answers bittorrent-dht ping and find_node, and the other way round', TIMEOUT, async () => {
    const asker = net.bt[3]!;
    for (const dht of net.warren) {
      const pong = await btQuery(asker, dht.address, 'ping');
      assert.ok(pong.r?.id && Buffer.from(dht.nodeId).equals(pong.r.id), 'ping reply carries the warren id');

      const target = net.bt[7]!.nodeId;
      const reply = await btQuery(asker, dht.address, 'find_node', { target });
      assert.ok(reply.r?.nodes instanceof Buffer, 'find_node reply has compact nodes');
      assert.equal(reply.r.nodes.length % 26, 0);
      const nodes = parseCompactNodes(reply.r.nodes);
      assert.ok(nodes.length > 0 && nodes.length <= 8, `${nodes.length} nodes`);
      for (const n of nodes) {
        assert.ok(warrenIds.has(n.id) || btIds.has(n.id), `unknown id ${n.id} in find_node reply`);
        const endpoint = [...net.warren.map((d) => [toHex(d.nodeId), hostPort(d.address)]), ...net.bt.map((b) => [b.nodeId.toString('hex'), hostPort(btEndpoint(b))])].find(
          ([id]) => id === n.id,
        )![1];
        assert.equal(n.endpoint, endpoint);
      }
      // The queried warren node knows bt[7] (it is in the table of most): if so, it must come first.
      if (dht.table.get(target)) assert.equal(nodes[0]!.id, target.toString('hex'));
    }
    for (const node of net.bt) assert.equal(await net.warren[4]!.addNode(btEndpoint(node)), true);
    assert.ok(net.warren[4]!.table.get(net.bt[0]!.nodeId), 'an answering bittorrent-dht node is added');
  });

  test('a peer announced by warren is found by a bittorrent-dht lookup', TIMEOUT, async () => {
    const keeper = net.bt[7]!;
    const infoHash = nextTo(keeper.nodeId);
    // It emits 'announce_peer' before it answers, so before warren's announce() resolves.
    const stored: string[] = [];
    const onAnnounce = (ih: Buffer) => stored.push(ih.toString('hex'));
    keeper.on('announce_peer', onAnnounce);
    const port = 51413;
    const result = await net.warren[3]!.announce(infoHash, port);
    keeper.off('announce_peer', onAnnounce);
    assert.ok(result.announcedTo >= 1, `announced to ${result.announcedTo}`);
    assert.deepEqual(stored, [toHex(infoHash)], 'the closest node (bittorrent-dht) accepted announce_peer');

    const peers = await btLookup(net.bt[2]!, infoHash);
    assert.ok(peers.some((p) => hostPort(p) === `${LOOPBACK}:${port}`), `lookup found ${JSON.stringify(peers)}`);
  });

  test('a peer announced by bittorrent-dht is found by a warren lookup', TIMEOUT, async () => {
    const keeper = net.warren[6]!;
    const infoHash = nextTo(keeper.nodeId);
    const port = 6999;
    await btAnnounce(net.bt[4]!, infoHash, port);
    const stored = keeper.localStores.peers.get(infoHash, Infinity, () => 0).map(hostPort);
    assert.deepEqual(stored, [`${LOOPBACK}:${port}`], 'the closest node (warren) accepted announce_peer');

    const peers = await warrenPeers(net.warren[8]!, infoHash);
    assert.ok(peers.includes(`${LOOPBACK}:${port}`), `lookup found ${JSON.stringify(peers)}`);
  });

  test('BEP 44 immutable items cross both ways', TIMEOUT, async () => {
    const fromWarren = await net.warren[2]!.put({ v: 'some string stored by warren' });
    assert.ok(fromWarren.storedAt >= 1);
    const item = await btGet(net.bt[3]!, fromWarren.target);
    assert.ok(item, 'bittorrent-dht found the item warren stored');
    assert.equal(item.v.toString(), 'some string stored by warren');

    const fromBt = await btPut(net.bt[6]!, { v: Buffer.from('some string stored by bittorrent-dht') });
    assert.ok(fromBt.stored >= 1);
    const got = await net.warren[5]!.get(toItemTarget(fromBt.target));
    assert.equal(got?.kind, 'immutable');
    assert.equal(text(got.v), 'some string stored by bittorrent-dht');
  });

  test('BEP 44 salted mutable items cross both ways and updates win by seq', TIMEOUT, async () => {
    const keyPair = generateEd25519KeyPair();
    const k = Buffer.from(keyPair.publicKey);
    const salt = Buffer.from('interop-salt');
    const expectedTarget = createHash('sha1').update(Buffer.concat([k, salt])).digest();

    const v1 = await net.warren[1]!.put({ v: 'mutable v1 (warren)', keyPair, salt, seq: 1 });
    assert.ok(expectedTarget.equals(v1.target));
    assert.ok(v1.storedAt >= 1);
    const seen1 = await btGet(net.bt[8]!, v1.target, { salt });
    assert.ok(seen1, 'bittorrent-dht verified and returned the item warren signed');
    assert.equal(seen1.v.toString(), 'mutable v1 (warren)');
    assert.equal(seen1.seq, 1);
    assert.ok(seen1.k?.equals(k));

    const v2 = await btPut(net.bt[2]!, { k, salt, seq: 2, v: Buffer.from('mutable v2 (bittorrent-dht)'), sign: ed25519Signer(keyPair) });
    assert.ok(expectedTarget.equals(v2.target));
    assert.ok(v2.stored >= 1);
    const seen2 = await net.warren[7]!.get(toItemTarget(v2.target), { salt });
    assert.equal(seen2?.kind, 'mutable');
    assert.equal(seen2.seq, 2);
    assert.equal(text(seen2.v), 'mutable v2 (bittorrent-dht)');
    // Without the salt the target does not match: warren must not return it.
    assert.equal(await net.warren[7]!.get(toItemTarget(v2.target)), undefined);

    // warren picks seq 3 itself (highest seen + 1), and bittorrent-dht sees the update.
    const v3 = await net.warren[4]!.put({ v: 'mutable v3 (warren)', keyPair, salt });
    assert.equal(v3.seq, 3);
    const seen3 = await btGet(net.bt[9]!, v3.target, { salt, cache: false });
    assert.ok(seen3);
    assert.equal(seen3.seq, 3);
    assert.equal(seen3.v.toString(), 'mutable v3 (warren)');
  });

  test('warren counted no bittorrent-dht message as malformed and refused none', TIMEOUT, () => {
    assertCleanCounters(net);
  });
});

describe('warren and bittorrent-dht, bootstrapped from a bittorrent-dht node', () => {
  const net = new MixedNetwork();

  before(async () => {
    const root = await net.addBt(false);
    const seed = [hostPort(btEndpoint(root))];
    for (let i = 0; i < 4; i++) {
      await net.addWarren(seed);
      await net.addBt(seed);
    }
  });
  after(() => net.close());

  test('warren nodes join through the bittorrent-dht node and learn each other from it', TIMEOUT, () => {
    const root = net.bt[0]!;
    const warrenIds = net.warren.map((d) => toHex(d.nodeId));
    const rootKnows = root._rpc.nodes.toArray().map((c) => c.id.toString('hex'));
    for (const id of warrenIds) assert.ok(rootKnows.includes(id), `root bittorrent-dht node lacks warren ${id}`);
    for (const dht of net.warren) {
      assert.ok(dht.table.get(root.nodeId), 'warren added its bittorrent-dht bootstrap node');
      assert.ok(dht.table.size >= 4, `warren table has ${dht.table.size} contacts`);
    }
    // The last warren node can only have learnt the earlier ones through bittorrent-dht's nodes.
    const last = net.warren[3]!;
    for (const other of net.warren.slice(0, 3)) assert.ok(last.table.get(other.nodeId), 'warren learnt a warren node via bittorrent-dht');
  });

  test('announces cross both ways', TIMEOUT, async () => {
    const toBt = nextTo(net.bt[2]!.nodeId);
    assert.ok((await net.warren[0]!.announce(toBt, 40001)).announcedTo >= 1);
    const btFound = await btLookup(net.bt[4]!, toBt);
    assert.ok(btFound.some((p) => hostPort(p) === `${LOOPBACK}:40001`), JSON.stringify(btFound));

    const toWarren = nextTo(net.warren[2]!.nodeId);
    await btAnnounce(net.bt[1]!, toWarren, 40002);
    const stored = net.warren[2]!.localStores.peers.get(toWarren, Infinity, () => 0).map(hostPort);
    assert.deepEqual(stored, [`${LOOPBACK}:40002`], 'the closest node (warren) accepted announce_peer');
    const warrenFound = await warrenPeers(net.warren[1]!, toWarren);
    assert.ok(warrenFound.includes(`${LOOPBACK}:40002`), JSON.stringify(warrenFound));
  });

  test('warren counted no bittorrent-dht message as malformed and refused none', TIMEOUT, () => {
    assertCleanCounters(net);
  });
});
