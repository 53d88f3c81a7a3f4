/**
 * warren's port mapping (`--port-map`) against miniupnpd, the UPnP IGD and NAT-PMP daemon of
 * OpenWrt and most Linux routers, in namespaces of the test's own (upnp-router.ts): `warren seed
 * --port-map` runs in the lan namespace behind the router and must get TCP and UDP 6881 mapped
 * through both protocols; `warren get` in the wan namespace, outside, downloads from the router's
 * external address, which only works through the mapping; when the seed stops, the mappings must
 * be gone from the router. Where the router cannot run (no root, ip, miniupnpd-nftables or nft) it
 * skips, except under CI=true, where it fails with the reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { JsonProcess, type CommandWrapper } from './json-process.js';
import { assertSameTree, makeTempDir, removeDir, writeRandomFolder } from './swarm-fixtures.js';
import { TestRouter, upnpRouterUnavailable } from './upnp-router.js';

const unavailable = upnpRouterUnavailable();
const skip = unavailable !== undefined && process.env.CI !== 'true' ? `the UPnP test router cannot run here: ${unavailable}` : false;

interface Mapping {
  protocol: string;
  internalPort: number;
  via: string;
  state: string;
  externalPort?: number;
  error?: string;
}

describe('interop: warren --port-map against miniupnpd (UPnP IGD and NAT-PMP)', { skip, timeout: 120_000 }, () => {
  let router: TestRouter | undefined;
  let root: string | undefined;
  const processes: JsonProcess[] = [];
  const lan: CommandWrapper = { wrap: (command, args) => router!.wrapLan(command, args) };
  const wan: CommandWrapper = { wrap: (command, args) => router!.wrapWan(command, args) };

  before(async () => {
    if (unavailable) throw new Error(`CI=true and the UPnP test router cannot run: ${unavailable}`);
    router = await TestRouter.create();
    root = await makeTempDir('port-mapping');
    await writeRandomFolder(join(root, 'src', 'payload'));
  });

  after(async () => {
    await Promise.all(processes.map((p) => p.stop()));
    await router?.close();
    await removeDir(root);
  });

  test('warren seed --port-map behind the router is reached from outside; its mappings go when it stops', async () => {
    const r = router!;
    const seed = JsonProcess.warren(lan, ['seed', join(root!, 'src', 'payload'), '--port-map', '--no-dht', '--port', '6881', '--data-dir', join(root!, 'seed-state')]);
    processes.push(seed);
    const ready = await seed.event('ready');
    const done = await seed.next('every port mapped or failed', (e) => e.event === 'port-mapping' && (e.mappings as Mapping[]).every((m) => m.state !== 'mapping'));
    const mappings = done.mappings as Mapping[];
    assert.deepEqual(
      mappings.map((m) => `${m.via} ${m.protocol} ${m.internalPort} ${m.state} ${m.externalPort ?? m.error}`).sort(),
      ['nat-pmp tcp 6881 mapped 6881', 'nat-pmp udp 6881 mapped 6881', 'upnp tcp 6881 mapped 6881', 'upnp udp 6881 mapped 6881'],
      `${JSON.stringify(seed.events)}\n${seed.stderr}\n${r.log.slice(-2000)}`,
    );
    assert.equal(done.externalAddress, r.externalAddress);
    const held = (await r.mappings()).map((m) => `${m.protocol} ${m.externalPort} → ${m.internalHost}:${m.internalPort}`).sort();
    assert.deepEqual(held, [`TCP 6881 → ${r.clientAddress}:6881`, `UDP 6881 → ${r.clientAddress}:6881`]);

    // From outside, the router's external address is the seed.
    const out = join(root!, 'from-outside');
    await mkdir(out, { recursive: true });
    const get = JsonProcess.warren(wan, ['get', String(ready.magnet), '--peer', `${r.externalAddress}:6881`, '--no-dht', '--port', '0', '-o', out, '--data-dir', join(root!, 'get-state')]);
    processes.push(get);
    assert.equal(await get.exited, 0, get.stderr);
    await assertSameTree(join(root!, 'src', 'payload'), join(out, 'payload'));

    await seed.stop();
    assert.deepEqual(await r.mappings(), [], 'warren deleted its mappings on the way out');
  });

  test('warren node --port-map: `warren status` shows the mappings; they go when the node stops', async () => {
    const r = router!;
    const dataDir = join(root!, 'node-state');
    const node = JsonProcess.warren(lan, ['node', '--port-map', '--no-dht', '--port', '6882', '--dht-port', '6883', '--api', '127.0.0.1:0', '--data-dir', dataDir]);
    processes.push(node);
    await node.event('ready');
    let view: { portMapping?: { externalAddress?: string; mappings: Mapping[] } } | undefined;
    for (let tries = 0; tries < 50; tries++) {
      const status = JsonProcess.warren(lan, ['status', '--data-dir', dataDir]);
      const event = await status.event('node');
      view = event.node as typeof view;
      if (view?.portMapping?.mappings.every((m) => m.state !== 'mapping')) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    assert.equal(view?.portMapping?.externalAddress, r.externalAddress, JSON.stringify(view));
    assert.deepEqual(
      view!.portMapping!.mappings.map((m) => `${m.via} ${m.protocol} ${m.internalPort} ${m.state}`).sort(),
      ['nat-pmp tcp 6882 mapped', 'nat-pmp udp 6882 mapped', 'upnp tcp 6882 mapped', 'upnp udp 6882 mapped'],
      'TCP and uTP at the swarm port; no DHT, so no DHT port',
    );
    assert.deepEqual((await r.mappings()).map((m) => `${m.protocol} ${m.externalPort}`).sort(), ['TCP 6882', 'UDP 6882']);
    await node.stop();
    assert.deepEqual(await r.mappings(), []);
  });
});
