import { spawnSync } from 'node:child_process';
import { describe, test, type TestContext } from 'node:test';
import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { netnsUnavailable, TestNamespace } from '../interop/netns.js';

const hasCode = (code: string) => (e: unknown) => (e as { code?: string }).code === code;

describe('VirtualNetwork over IPv6', () => {
  test('IPv6 hosts exchange datagrams and TCP streams; :: binds the host itself', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const a = await net.runtime('fd57::1').udp({ host: '::', port: 6881 });
    const b = await net.runtime('fd57::2').udp({ host: 'fd57::2', port: 0 });
    assert.deepEqual(a.local, { host: 'fd57::1', port: 6881 });
    const got: string[] = [];
    a.onMessage((_d, from) => got.push(`${from.host} ${from.port}`));
    b.send(new Uint8Array([1]), a.local);
    await net.clock.advance(10);
    assert.deepEqual(got, [`fd57::2 ${b.local.port}`]);

    const server = await net.runtime('fd57::1').tcpListen({ host: '::', port: 7000 });
    const remotes: string[] = [];
    server.onConnection((c) => remotes.push(c.remote.host));
    const connecting = net.runtime('fd57::2').tcpConnect({ host: 'fd57::1', port: 7000 });
    await net.clock.advance(20);
    const conn = await connecting;
    assert.equal(conn.remote.host, 'fd57::1');
    assert.deepEqual(remotes, ['fd57::2']);
  });

  test('a host has one family: the other wildcard is refused, cross-family traffic goes nowhere', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    await assert.rejects(net.runtime('fd57::1').udp({ host: '0.0.0.0', port: 1 }), hasCode('EADDRNOTAVAIL'));
    await assert.rejects(net.runtime('10.0.0.1').tcpListen({ host: '::', port: 1 }), hasCode('EADDRNOTAVAIL'));
    const v4 = await net.runtime('10.0.0.1').udp({ host: '0.0.0.0', port: 1 });
    const v6 = await net.runtime('fd57::1').udp({ host: '::', port: 1 });
    let heard = 0;
    v6.onMessage(() => heard++);
    v4.send(new Uint8Array([1]), v6.local);
    await net.clock.advance(50);
    assert.equal(heard, 0);
    assert.equal(net.stats.datagramsLost, 1);
    await net.runtime('fd57::1').tcpListen({ host: '::', port: 2 });
    await assert.rejects(net.runtime('10.0.0.1').tcpConnect({ host: 'fd57::1', port: 2 }), hasCode('ENETUNREACH'));
  });

  test('a host name may resolve to an IPv6 address, and an IPv6 address to itself', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    net.setHostName('router.test', 'fd57::9');
    const rt = net.runtime('fd57::1');
    assert.equal(await rt.resolveHost('router.test'), 'fd57::9');
    assert.equal(await rt.resolveHost('fd57::3'), 'fd57::3');
    assert.throws(() => net.runtime('[fd57::1]'), /IPv4 or IPv6 address/);
  });
});

/**
 * Runs `ipv6-probe.js <mode>` in a network namespace with fd57::1…fd57::`addresses`, and returns
 * the JSON line it printed; undefined when the test was skipped for want of namespaces.
 */
function runProbe(t: TestContext, mode: string, addresses: number): Record<string, unknown> | undefined {
  const why = netnsUnavailable();
  if (why !== undefined) {
    assert.ok(!process.env.CI, `IPv6 runtime test needs a network namespace: ${why}`);
    t.skip(why);
    return undefined;
  }
  const ns = TestNamespace.create(addresses);
  try {
    const probe = fileURLToPath(new URL('./ipv6-probe.js', import.meta.url));
    const { command, args } = ns.wrap(process.execPath, [probe, mode]);
    const run = spawnSync(command, args, { encoding: 'utf8', timeout: 20_000 });
    assert.equal(run.status, 0, run.stderr);
    return JSON.parse(run.stdout) as Record<string, unknown>;
  } finally {
    ns.close();
  }
}

describe('the Node.js runtime over IPv6 (in a network namespace of the test)', () => {
  test('an IPv6 socket takes IPv6 only, and endpoints are spelled canonically', (t) => {
    const seen = runProbe(t, 'probe', 2);
    if (!seen) return;
    const at = (k: string) => seen[k] as { host: string; port: number };
    assert.equal(at('udp6').host, '::');
    assert.deepEqual(at('udp4'), { host: '0.0.0.0', port: at('udp6').port });
    assert.deepEqual(at('udpFrom'), { host: 'fd57::2', port: at('senderLocal').port });
    assert.deepEqual(at('tcp4'), { host: '0.0.0.0', port: at('tcp6').port });
    assert.equal(at('tcpRemote').host, 'fd57::1');
    assert.deepEqual(at('clientRemote'), { host: 'fd57::1', port: at('tcp6').port });
    assert.equal(at('clientLocal').host, 'fd57::1');
    assert.equal(seen['resolved'], 'fd57::2');
  });

  test('a [::] UDP socket answers each peer from the address the peer reached, and its port stays its own', (t) => {
    const seen = runProbe(t, 'answers', 4);
    if (!seen) return;
    // The kernel alone would answer fd57::4 from fd57::4 (the source it prefers for itself).
    assert.deepEqual(seen['answeredFrom'], { 'fd57::1': 'fd57::1', 'fd57::2': 'fd57::2', 'fd57::3': 'fd57::3', '::1': '::1' });
    assert.equal(seen['second'], 'EADDRINUSE');
  });
});
