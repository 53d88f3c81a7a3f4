import { test } from 'node:test';
import assert from 'node:assert/strict';
import { portsToMap, startPortMapping } from '../../src/node/port-mapping.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { SwarmSession } from '../../src/swarm/session.js';
import { FakeRouter, GATEWAY } from '../nat/fake-router.js';
import { portMappingText } from '../../src/node/port-mapping-text.js';

test('portsToMap: TCP and uTP at the swarm port, and the DHT port when it is another', () => {
  assert.deepEqual(portsToMap(6881, true, 6881), [{ protocol: 'tcp', port: 6881 }, { protocol: 'udp', port: 6881 }]);
  assert.deepEqual(portsToMap(6881, true, 7000), [{ protocol: 'tcp', port: 6881 }, { protocol: 'udp', port: 6881 }, { protocol: 'udp', port: 7000 }]);
  assert.deepEqual(portsToMap(6881, false, 6881), [{ protocol: 'tcp', port: 6881 }, { protocol: 'udp', port: 6881 }], 'no uTP: the DHT still needs UDP 6881');
  assert.deepEqual(portsToMap(6881, false, undefined), [{ protocol: 'tcp', port: 6881 }]);
});

test('portMappingText: each port through each protocol, with the reason of a failure', () => {
  const text = portMappingText({
    externalAddress: '203.0.113.7',
    mappings: [
      { protocol: 'tcp', internalPort: 6881, via: 'nat-pmp', state: 'failed', error: 'no NAT-PMP answer from the gateway 192.168.1.1' },
      { protocol: 'udp', internalPort: 6881, via: 'nat-pmp', state: 'mapping' },
      { protocol: 'tcp', internalPort: 6881, via: 'upnp', state: 'mapped', externalPort: 6881 },
    ],
  });
  assert.equal(text, 'TCP 6881 (NAT-PMP failed: no NAT-PMP answer from the gateway 192.168.1.1; UPnP → 203.0.113.7:6881), UDP 6881 (NAT-PMP asking)');
});

test('startPortMapping: the swarm announces the external port the router gave, and its own again once unmapped', async () => {
  const net = new VirtualNetwork({ seed: 9, latency: () => 2 });
  const router = await FakeRouter.start(net, { upnp: false, externalPortFor: (port) => port + 1000 });
  const runtime = net.runtime('192.168.1.20');
  const session = new SwarmSession({ host: '192.168.1.20', port: 6881, utp: false }, runtime);
  await net.clock.run(session.start());
  assert.equal(session.announcedPort(), 6881);
  const mapper = startPortMapping({ ...runtime, defaultGateway: async () => GATEWAY }, session, undefined, () => undefined);
  await net.clock.runUntil(() => mapper.mappings().every((m) => m.state === 'mapped'), 10_000);
  assert.deepEqual(router.mappings.map((m) => `${m.protocol} ${m.externalPort} → ${m.internalPort}`), ['TCP 7881 → 6881']);
  assert.equal(session.announcedPort(), 7881, 'trackers, the DHT and peers are told the port the router forwards');
  assert.equal(session.announcedPort(6), 6881, 'IPv6 goes through no NAT: its port stays the bound one');
  router.options.natPmpResult = 4; // the renewal fails: the router no longer forwards
  await net.clock.advance(3600_000 + 10_000);
  assert.equal(mapper.mappings()[0]?.state, 'failed');
  assert.equal(session.announcedPort(), 6881);
  await net.clock.run(mapper.close());
  await net.clock.run(session.close());
});
