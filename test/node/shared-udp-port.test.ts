/**
 * One UDP port for the DHT and uTP (`shareUdpPort`) on the virtual network: both views bind the
 * same port, datagrams go to the view their first byte names, each view closes on its own, and
 * the port is released once both are closed. Other ports, and port 0, are not shared.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { shareUdpPort } from '../../src/node/shared-udp-port.js';
import type { Endpoint, UdpSocket } from '../../src/runtime/interfaces.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';

const HOST = '10.0.0.1';
const PEER = '10.0.0.2';
const PORT = 6881;

/** What a socket receives: the first byte of each datagram and where it came from. */
function inbox(socket: UdpSocket): { first: number[]; from: Endpoint[] } {
  const got = { first: [] as number[], from: [] as Endpoint[] };
  socket.onMessage((data, from) => {
    got.first.push(data[0]);
    got.from.push(from);
  });
  return got;
}

const dht = (): Uint8Array => new TextEncoder().encode('d1:y1:qe');
const utp = (): Uint8Array => new Uint8Array([0x41, 0, 0, 1, ...new Array<number>(16).fill(0)]);

/** Sends a KRPC and a uTP datagram to the shared port: each view must get its own, and only it. */
async function assertEachGetsItsOwn(net: VirtualNetwork, peer: UdpSocket, dhtView: UdpSocket, swarmView: UdpSocket): Promise<void> {
  const dGot = inbox(dhtView);
  const sGot = inbox(swarmView);
  peer.send(dht(), { host: HOST, port: PORT });
  peer.send(utp(), { host: HOST, port: PORT });
  await net.clock.advance(100);
  assert.deepEqual(dGot.first, [0x64]);
  assert.deepEqual(sGot.first, [0x41]);
}

async function setup(port = PORT) {
  const net = new VirtualNetwork({ seed: 11 });
  const runtime = net.runtime(HOST);
  const views = shareUdpPort(runtime, port);
  const peer = await net.clock.run(net.runtime(PEER).udp({ host: PEER, port: 9000 }));
  const peerGot = inbox(peer);
  return { net, runtime, views, peer, peerGot };
}

describe('shareUdpPort', () => {
  test('both views report the same local port', async () => {
    const { net, views } = await setup();
    const [d, s] = await net.clock.run(Promise.all([views.dht.udp({ host: '0.0.0.0', port: PORT }), views.swarm.udp({ host: '0.0.0.0', port: PORT })]));
    assert.equal(d.local.port, PORT);
    assert.equal(s.local.port, PORT);
    assert.equal(d.local.host, HOST);
    assert.equal(s.local.host, HOST);
  });

  test("a datagram starting with 'd' reaches only the DHT view, one starting with 0x41 only the swarm view", async () => {
    const { net, views, peer, peerGot } = await setup();
    const d = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    const s = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
    const dGot = inbox(d);
    const sGot = inbox(s);
    const to = { host: HOST, port: PORT };
    peer.send(dht(), to);
    peer.send(utp(), to);
    for (const first of [0x01, 0x11, 0x21, 0x31]) peer.send(new Uint8Array([first, ...new Array<number>(19).fill(0)]), to);
    await net.clock.advance(100);
    assert.deepEqual(dGot.first, [0x64]);
    assert.deepEqual(sGot.first, [0x41, 0x01, 0x11, 0x21, 0x31]);
    assert.deepEqual(dGot.from, [{ host: PEER, port: 9000 }]);
    // Both views send from the shared port.
    d.send(dht(), peer.local);
    s.send(utp(), peer.local);
    await net.clock.advance(100);
    assert.deepEqual(peerGot.first, [0x64, 0x41]);
  });

  test('datagrams for a view that is not open (or has no handler yet) are dropped, not sent to the other', async () => {
    const { net, views, peer } = await setup();
    const s = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
    const sGot = inbox(s);
    peer.send(dht(), { host: HOST, port: PORT });
    await net.clock.advance(100);
    assert.deepEqual(sGot.first, []);
  });

  test('closing one view leaves the other working', async () => {
    for (const closing of ['dht', 'swarm'] as const) {
      const { net, views, peer, peerGot } = await setup();
      const d = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
      const s = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
      const dGot = inbox(d);
      const sGot = inbox(s);
      const [gone, kept, keptGot, goneGot] = closing === 'dht' ? [d, s, sGot, dGot] : [s, d, dGot, sGot];
      gone.close();
      gone.close(); // twice: must not count as closing the other view too
      const to = { host: HOST, port: PORT };
      peer.send(dht(), to);
      peer.send(utp(), to);
      await net.clock.advance(100);
      assert.deepEqual(goneGot.first, [], `${closing}: the closed view hears nothing`);
      assert.deepEqual(keptGot.first, [closing === 'dht' ? 0x41 : 0x64], `${closing}: the open view still hears its datagrams`);
      kept.send(closing === 'dht' ? utp() : dht(), peer.local);
      await net.clock.advance(100);
      assert.equal(peerGot.first.length, 1, `${closing}: the open view still sends`);
      // The port is still held: nobody else can bind it.
      await assert.rejects(net.clock.run(net.runtime(HOST).udp({ host: HOST, port: PORT })), (e: Error & { code?: string }) => e.code === 'EADDRINUSE');
    }
  });

  test('a closed view sends nothing, like any closed socket, while the other view stays open', async () => {
    const { net, views, peerGot } = await setup();
    const d = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    const s = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
    const peer = { host: PEER, port: 9000 };
    d.close();
    d.send(dht(), peer);
    s.send(utp(), peer);
    await net.clock.advance(100);
    assert.deepEqual(peerGot.first, [0x41], 'the closed DHT view still sent through the shared socket');
  });

  test('closing both views releases the port, and the views can bind it again', async () => {
    const { net, runtime, views, peer } = await setup();
    const d = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    const s = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
    d.close();
    s.close();
    const other = await net.clock.run(runtime.udp({ host: HOST, port: PORT }));
    assert.equal(other.local.port, PORT);
    // While someone else holds it, the views cannot bind it.
    await assert.rejects(net.clock.run(views.dht.udp({ host: HOST, port: PORT })), (e: Error & { code?: string }) => e.code === 'EADDRINUSE');
    await assert.rejects(net.clock.run(views.swarm.udp({ host: HOST, port: PORT })), (e: Error & { code?: string }) => e.code === 'EADDRINUSE');
    other.close();
    // A failed bind is not remembered: once the port is free, the views share it again.
    const d2 = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    const s2 = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
    await assertEachGetsItsOwn(net, peer, d2, s2);
  });

  test('a side closed and opened again while the other stays open shares the port again', async () => {
    const { net, views, peer } = await setup();
    const d = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    const s = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
    s.close();
    const s2 = await net.clock.run(views.swarm.udp({ host: HOST, port: PORT }));
    await assertEachGetsItsOwn(net, peer, d, s2);
  });

  test('a view asked for while the other view closes still gets a working socket', async () => {
    const { net, views, peer } = await setup();
    const d = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    // The swarm asks for its view (the shared socket is already bound, so it only waits a turn)...
    const pending = views.swarm.udp({ host: HOST, port: PORT });
    // ...and the DHT closes before that turn comes.
    d.close();
    const s = await net.clock.run(pending);
    const sGot = inbox(s);
    peer.send(utp(), { host: HOST, port: PORT });
    await net.clock.advance(100);
    assert.deepEqual(sGot.first, [0x41], 'the swarm view hears nothing: it was handed a socket that had been closed');
  });

  test('a different port is bound on its own, not shared', async () => {
    const { net, views, peer } = await setup();
    const shared = await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    const sharedGot = inbox(shared);
    const own = await net.clock.run(views.swarm.udp({ host: HOST, port: 7000 }));
    assert.equal(own.local.port, 7000);
    const ownGot = inbox(own);
    // A socket of its own gets every datagram, whatever its first byte.
    peer.send(dht(), { host: HOST, port: 7000 });
    peer.send(utp(), { host: HOST, port: 7000 });
    await net.clock.advance(100);
    assert.deepEqual(ownGot.first, [0x64, 0x41]);
    assert.deepEqual(sharedGot.first, []);
    // ...and it is an ordinary bind: the other view cannot take 7000 as well.
    await assert.rejects(net.clock.run(views.dht.udp({ host: HOST, port: 7000 })), (e: Error & { code?: string }) => e.code === 'EADDRINUSE');
    // Closing it leaves the shared port alone.
    own.close();
    peer.send(dht(), { host: HOST, port: PORT });
    await net.clock.advance(100);
    assert.deepEqual(sharedGot.first, [0x64]);
  });

  test('port 0 shares nothing', async () => {
    const { net, runtime } = await setup();
    const views = shareUdpPort(runtime, 0);
    // Two ephemeral binds are two sockets.
    const a = await net.clock.run(views.dht.udp({ host: HOST, port: 0 }));
    const b = await net.clock.run(views.swarm.udp({ host: HOST, port: 0 }));
    assert.notEqual(a.local.port, b.local.port);
    // A fixed port asked by both is an ordinary bind: the second one fails.
    await net.clock.run(views.dht.udp({ host: HOST, port: PORT }));
    await assert.rejects(net.clock.run(views.swarm.udp({ host: HOST, port: PORT })), (e: Error & { code?: string }) => e.code === 'EADDRINUSE');
  });

  test('the port is shared per address family: an IPv6 bind never gets the IPv4 socket (BEP 32 DHT)', async () => {
    const { net, views } = await setup();
    const v4 = await net.clock.run(views.dht.udp({ host: '0.0.0.0', port: PORT }));
    assert.equal(v4.local.host, HOST);
    // This virtual host has IPv4 only: its IPv6 bind fails as on a machine without IPv6.
    await assert.rejects(net.clock.run(views.dht.udp({ host: '::', port: PORT })), (e: Error & { code?: string }) => e.code === 'EADDRNOTAVAIL');
    // On an IPv6 host both views share the IPv6 socket.
    const host6 = 'fd57::1';
    const views6 = shareUdpPort(net.runtime(host6), PORT);
    const dhtView = await net.clock.run(views6.dht.udp({ host: '::', port: PORT }));
    const swarmView = await net.clock.run(views6.swarm.udp({ host: '::', port: PORT }));
    assert.deepEqual([dhtView.local, swarmView.local], [{ host: host6, port: PORT }, { host: host6, port: PORT }]);
    const peer6 = await net.clock.run(net.runtime('fd57::2').udp({ host: 'fd57::2', port: 9000 }));
    const dGot = inbox(dhtView);
    const sGot = inbox(swarmView);
    peer6.send(dht(), { host: host6, port: PORT });
    peer6.send(utp(), { host: host6, port: PORT });
    await net.clock.advance(100);
    assert.deepEqual([dGot.first, sGot.first], [[0x64], [0x41]]);
  });
});

describe('shareUdpPort with both address families (BEP 7, BEP 32)', () => {
  test('0.0.0.0:port and [::]:port are two shared sockets: each family\'s DHT and uTP datagrams reach their own view', async () => {
    const net = new VirtualNetwork({ seed: 12 });
    // A dual-stack machine as two virtual hosts (a virtual host has one address): 0.0.0.0 binds the
    // IPv4 one, :: the IPv6 one.
    const v4 = net.runtime(HOST);
    const v6 = net.runtime('fd57::1');
    const bound: string[] = [];
    const dual = { ...v4, udp: (bind: Endpoint) => (bound.push(bind.host), (bind.host === '::' ? v6 : v4).udp(bind)) };
    const views = shareUdpPort(dual, PORT);
    const [d4, s4, d6, s6] = await net.clock.run(
      Promise.all([
        views.dht.udp({ host: '0.0.0.0', port: PORT }),
        views.swarm.udp({ host: '0.0.0.0', port: PORT }),
        views.dht.udp({ host: '::', port: PORT }),
        views.swarm.udp({ host: '::', port: PORT }),
      ]),
    );
    assert.deepEqual(bound, ['0.0.0.0', '::'], 'one socket per bind address');
    assert.equal(d6.local.host, 'fd57::1');
    assert.equal(s4.local.host, HOST);
    const peer4 = await net.clock.run(net.runtime(PEER).udp({ host: PEER, port: 9000 }));
    const peer6 = await net.clock.run(net.runtime('fd57::2').udp({ host: '::', port: 9000 }));
    const got = [d4, s4, d6, s6].map(inbox);
    peer4.send(dht(), { host: HOST, port: PORT });
    peer4.send(utp(), { host: HOST, port: PORT });
    peer6.send(utp(), { host: 'fd57::1', port: PORT });
    peer6.send(dht(), { host: 'fd57::1', port: PORT });
    peer6.send(dht(), { host: 'fd57::1', port: PORT });
    await net.clock.advance(100);
    assert.deepEqual(got.map((g) => g.first), [[0x64], [0x41], [0x64, 0x64], [0x41]]);
    assert.deepEqual(got[3]!.from, [{ host: 'fd57::2', port: 9000 }]);
    // Closing the IPv6 views releases the IPv6 socket only.
    d6.close();
    s6.close();
    const again = await net.clock.run(v6.udp({ host: '::', port: PORT }));
    assert.equal(again.local.port, PORT);
    await assert.rejects(net.clock.run(v4.udp({ host: HOST, port: PORT })), (e: Error & { code?: string }) => e.code === 'EADDRINUSE');
  });
});
