import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { PortMapper, type PortMapperOptions } from '../../src/nat/port-mapper.js';
import type { MappingProtocol } from '../../src/nat/mapping.js';
import { EXTERNAL, FakeRouter, GATEWAY, igdDescription, SSDP, type FakeRouterOptions } from './fake-router.js';

const CLIENT = '192.168.1.20';
const PORTS = [
  { protocol: 'tcp', port: 6881 },
  { protocol: 'udp', port: 6881 },
] as const;

async function setup(router: FakeRouterOptions = {}, options: Partial<PortMapperOptions> & { protocols?: MappingProtocol[] } = {}) {
  const net = new VirtualNetwork({ seed: 7, latency: () => 2 });
  const fake = await FakeRouter.start(net, router);
  const logs: string[] = [];
  const mapper = new PortMapper(
    { runtime: net.runtime(CLIENT), log: (level, message) => logs.push(`${level}: ${message}`) },
    { ports: PORTS, gateway: GATEWAY, ssdp: SSDP, description: 'warren test', ...options },
  );
  let changes = 0;
  mapper.onChange(() => changes++);
  return { net, fake, mapper, logs, changes: () => changes };
}

const summary = (mapper: PortMapper) => mapper.mappings().map((m) => `${m.via} ${m.protocol} ${m.internalPort} ${m.state}${m.externalPort ? ` ${m.externalPort}` : ''}`);

describe('PortMapper against a router on the virtual network', () => {
  test('maps TCP and UDP through NAT-PMP and UPnP at once; close deletes every mapping', async () => {
    const { net, fake, mapper, logs, changes } = await setup();
    await net.clock.run(mapper.start());
    assert.deepEqual(summary(mapper), ['nat-pmp tcp 6881 mapped 6881', 'nat-pmp udp 6881 mapped 6881', 'upnp tcp 6881 mapped 6881', 'upnp udp 6881 mapped 6881']);
    assert.equal(mapper.externalAddress(), EXTERNAL);
    assert.equal(changes(), 4);
    const held = fake.mappings.map((m) => `${m.via} ${m.protocol} ${m.externalPort} → ${m.client}:${m.internalPort} lease ${m.lease}`).sort();
    assert.deepEqual(held, [
      `nat-pmp TCP 6881 → ${CLIENT}:6881 lease 7200`,
      `nat-pmp UDP 6881 → ${CLIENT}:6881 lease 7200`,
      `upnp TCP 6881 → ${CLIENT}:6881 lease 7200`,
      `upnp UDP 6881 → ${CLIENT}:6881 lease 7200`,
    ]);
    assert.ok(fake.mappings.filter((m) => m.via === 'upnp').every((m) => m.description === 'warren test'));
    assert.ok(logs.some((l) => l === `info: UPnP: TCP port 6881 is mapped to ${EXTERNAL}:6881 for 7200 s`), logs.join('\n'));
    await net.clock.run(mapper.close());
    assert.deepEqual(fake.mappings, [], 'every mapping deleted');
  });

  test('renews before the lease ends: NAT-PMP at half of what the gateway granted, UPnP at half its lease', async () => {
    const { net, fake, mapper } = await setup({ grantedLifetime: 120 });
    await net.clock.run(mapper.start());
    const count = (what: string) => fake.log.filter((l) => l === what).length;
    assert.equal(count('nat-pmp map TCP 6881 7200'), 1);
    await net.clock.advance(59_000);
    assert.equal(count('nat-pmp map TCP 6881 7200'), 1);
    await net.clock.advance(2_000);
    assert.equal(count('nat-pmp map TCP 6881 7200'), 2, 'renewed at 60 s');
    assert.equal(count('upnp AddPortMapping'), 2, 'UPnP not yet');
    await net.clock.advance(3600_000);
    assert.ok(count('upnp AddPortMapping') >= 4, 'UPnP renewed at 3600 s');
    assert.ok(mapper.mappings().every((m) => m.state === 'mapped'));
    await net.clock.run(mapper.close());
  });

  test('NAT-PMP maps again when the gateway restarted (its epoch went back)', async () => {
    const { net, fake, mapper, logs } = await setup({}, { protocols: ['nat-pmp'] });
    await net.clock.run(mapper.start());
    fake.reboot();
    await net.clock.advance(3600_000); // the renewal at half of 7200 s sees the new epoch
    assert.ok(logs.some((l) => l.includes('lost its mappings')), logs.join('\n'));
    await net.clock.advance(1000);
    assert.deepEqual(fake.mappings.map((m) => m.protocol).sort(), ['TCP', 'UDP']);
    await net.clock.run(mapper.close());
  });

  test('no router: both fail with a reason, within seconds', async () => {
    const { net, mapper } = await setup({ natPmp: false, upnp: false });
    const started = net.clock.now();
    await net.clock.run(mapper.start());
    assert.ok(net.clock.now() - started <= 5000, `gave up after ${net.clock.now() - started} ms`);
    assert.deepEqual(
      mapper.mappings().map((m) => `${m.via} ${m.state}: ${m.error}`),
      [
        `nat-pmp failed: no NAT-PMP answer from the gateway ${GATEWAY}`,
        `nat-pmp failed: no NAT-PMP answer from the gateway ${GATEWAY}`,
        'upnp failed: no UPnP gateway answered on the LAN',
        'upnp failed: no UPnP gateway answered on the LAN',
      ],
    );
    assert.equal(mapper.externalAddress(), undefined);
    await net.clock.run(mapper.close());
  });

  test('refusals are reported with the router\'s reason; a permanent-leases-only router gets lease 0', async () => {
    const refused = await setup({ natPmpResult: 2, upnpError: () => 718 });
    await refused.net.clock.run(refused.mapper.start());
    assert.deepEqual([...new Set(refused.mapper.mappings().map((m) => `${m.via}: ${m.error}`))], [
      'nat-pmp: the gateway refused: not authorized (the router has NAT-PMP turned off for this client)',
      'upnp: the gateway refused: the port is already mapped to another host (UPnP error 718)',
    ]);
    assert.deepEqual(refused.fake.mappings, []);
    await refused.net.clock.run(refused.mapper.close());

    const permanent = await setup({ upnpError: (lease) => (lease === 0 ? undefined : 725) }, { protocols: ['upnp'] });
    await permanent.net.clock.run(permanent.mapper.start());
    assert.deepEqual(summary(permanent.mapper), ['upnp tcp 6881 mapped 6881', 'upnp udp 6881 mapped 6881']);
    assert.deepEqual(permanent.fake.mappings.map((m) => m.lease), [0, 0]);
    assert.ok(permanent.logs.some((l) => l.includes('mapped to 203.0.113.7:6881 permanently')), permanent.logs.join('\n'));
    await permanent.net.clock.run(permanent.mapper.close());
    assert.deepEqual(permanent.fake.mappings, []);
  });

  test('UPnP: a port another host holds on the router is mapped at a random port instead, kept on renewal and deleted on close', async () => {
    const { net, fake, mapper } = await setup({ upnpError: (_lease, port) => (port === 6881 ? 718 : undefined) }, { protocols: ['upnp'] });
    await net.clock.run(mapper.start());
    const mapped = mapper.mappings();
    assert.ok(mapped.every((m) => m.state === 'mapped' && m.externalPort !== 6881 && m.externalPort! > 1024), JSON.stringify(mapped));
    assert.deepEqual(fake.mappings.map((m) => `${m.protocol} ${m.internalPort}`).sort(), ['TCP 6881', 'UDP 6881']);
    const ports = fake.mappings.map((m) => m.externalPort).sort();
    await net.clock.advance(3600_000 + 1000);
    assert.deepEqual(fake.mappings.map((m) => m.externalPort).sort(), ports, 'renewed at the same external ports');
    await net.clock.run(mapper.close());
    assert.deepEqual(fake.mappings, []);
  });

  test('a search answer pointing at another host is ignored; a device without a WAN service is no gateway', async () => {
    const elsewhere = await setup({ location: 'http://192.168.1.99:5000/rootDesc.xml' }, { protocols: ['upnp'] });
    await elsewhere.net.clock.run(elsewhere.mapper.start());
    assert.deepEqual([...new Set(elsewhere.mapper.mappings().map((m) => m.error))], ['no UPnP gateway answered on the LAN']);
    assert.equal(elsewhere.fake.log.length, 0, 'nothing was asked of the other host or the router');
    assert.ok(elsewhere.mapper.malformed() >= 1, 'the answer was dropped and counted');

    const printer = await setup({ description: igdDescription().replace(/WANIPConnection/g, 'PrintBasic') }, { protocols: ['upnp'] });
    await printer.net.clock.run(printer.mapper.start());
    assert.deepEqual([...new Set(printer.mapper.mappings().map((m) => m.error))], [`${GATEWAY}:5000: it is not a gateway with a WAN connection service`]);
  });

  test('NAT-PMP drops answers from others, malformed ones and answers to nothing asked', async () => {
    const { net, fake, mapper } = await setup({}, { protocols: ['nat-pmp'] });
    // Before anything is asked: an answer to nothing, and garbage, from the gateway.
    const stray = await net.runtime('192.168.1.66').udp({ host: '192.168.1.66', port: 5351 });
    const starting = mapper.start();
    await net.clock.advance(1); // the external-address request is on its way: answer first with junk
    const client = fake.lastClient ?? (await net.clock.advance(2), fake.lastClient!);
    for (const bytes of [[0, 130, 0, 0], [1, 128, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4], [0, 2, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0], [0, 131, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0]]) {
      fake.sendFromGateway(new Uint8Array(bytes), client);
    }
    // A well-formed mapping answer while the external address is asked: an answer to nothing asked.
    fake.sendFromGateway(new Uint8Array([0, 130, 0, 0, 0, 0, 0, 1, 0x1a, 0xe1, 0x1a, 0xe1, 0, 0, 0x1c, 0x20]), client);
    stray.send(new Uint8Array([0, 128, 0, 0, 0, 0, 0, 1, 6, 6, 6, 6]), client);
    await net.clock.run(starting);
    assert.deepEqual(summary(mapper), ['nat-pmp tcp 6881 mapped 6881', 'nat-pmp udp 6881 mapped 6881']);
    assert.equal(mapper.externalAddress(), EXTERNAL, 'not the stray host\'s 6.6.6.6');
    assert.equal(mapper.malformed(), 6, 'four malformed, one to nothing asked, one from another host');
    await net.clock.run(mapper.close());
  });

  test('close while searching ends at once and leaves nothing mapped', async () => {
    const { net, fake, mapper } = await setup({ upnp: false });
    const starting = mapper.start();
    await net.clock.advance(100);
    await net.clock.run(mapper.close());
    await net.clock.run(starting);
    await net.clock.advance(10_000);
    assert.deepEqual(fake.mappings, []);
  });
});
