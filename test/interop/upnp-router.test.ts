/**
 * Proves the UPnP/NAT-PMP test router (upnp-router.ts) with third-party clients only, before any of
 * warren's own port-mapping code is tested against it: miniupnpc's `upnpc` finds miniupnpd by SSDP
 * from the lan namespace, reads its status and external address, maps TCP 7000, and a connection
 * from the wan namespace to the router's external address reaches a listener in lan; the mapping is
 * then deleted and is gone. A hand-written NAT-PMP exchange (RFC 6886) reads the external address
 * and maps and unmaps a UDP port. Everything runs in the router's own namespaces.
 * Where the router cannot run (no root, ip, miniupnpd-nftables, nftables or upnpc) it skips, except
 * under CI=true, where it fails with the reason.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { TestRouter, upnpRouterUnavailable } from './upnp-router.js';

function unavailableHere(): string | undefined {
  const router = upnpRouterUnavailable();
  if (router) return router;
  const upnpc = spawnSync('upnpc', [], { encoding: 'utf8' });
  if (upnpc.error) return `upnpc is missing (Debian: apt-get install miniupnpc): ${upnpc.error.message}`;
  return undefined;
}

const unavailable = unavailableHere();
const skip = unavailable !== undefined && process.env.CI !== 'true' ? `the UPnP test router cannot run here: ${unavailable}` : false;

/** Runs a wrapped command to its end; its exit code and output (never throws on a non-zero exit). */
function run(wrapped: { command: string; args: string[] }, timeout = 10_000): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    execFile(wrapped.command, wrapped.args, { encoding: 'utf8', timeout }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : null) : 0;
      resolve({ code, out: `${stdout}${stderr}` });
    });
  });
}

/** A NAT-PMP request sent from the lan namespace to the gateway; the answer's bytes in hex. */
const NATPMP_CLIENT = `
const s = require('node:dgram').createSocket('udp4');
const request = Buffer.from(process.argv[2], 'hex');
let tries = 0;
const send = () => { if (tries++ === 4) { console.error('no answer'); process.exit(2); } s.send(request, 5351, process.argv[1]); t = setTimeout(send, 250 * tries); };
let t;
s.on('message', (m) => { clearTimeout(t); console.log(m.toString('hex')); s.close(); });
send();
`;

describe('interop: the UPnP IGD / NAT-PMP test router (miniupnpd in namespaces)', { skip, timeout: 60_000 }, () => {
  let router: TestRouter | undefined;
  let rootDesc = '';
  const r = () => router ?? assert.fail('the router did not start');
  /** upnpc in the lan namespace; -i because miniupnpc calls an IGD whose external address is private "not connected". */
  const upnpc = (args: string[]) => run(r().wrapLan('upnpc', ['-i', ...(rootDesc ? ['-u', rootDesc] : []), ...args]));
  const natpmp = async (requestHex: string) => {
    const { code, out } = await run(r().wrapLan(process.execPath, ['-e', NATPMP_CLIENT, r().gateway, requestHex]));
    assert.equal(code, 0, `the NAT-PMP client failed: ${out}`);
    return Buffer.from(out.trim(), 'hex');
  };

  before(async () => {
    if (unavailable) throw new Error(`CI=true and the UPnP test router cannot run here: ${unavailable}`);
    router = await TestRouter.create();
  });

  after(async () => {
    await router?.close();
  });

  test('upnpc discovers it by SSDP and reads its status and external address', async () => {
    const { code, out } = await upnpc(['-s']);
    assert.equal(code, 0, out);
    const desc = /desc: (http:\/\/\S+\/rootDesc\.xml)/.exec(out);
    assert.ok(desc, `no IGD found by SSDP:\n${out}`);
    assert.ok(desc[1]!.startsWith(`http://${r().gateway}:`), out);
    assert.match(out, /Status : Connected/);
    assert.match(out, new RegExp(`ExternalIPAddress = ${r().externalAddress.replaceAll('.', '\\.')}\\b`));
    assert.match(out, new RegExp(`Local LAN ip address : ${r().clientAddress.replaceAll('.', '\\.')}\\b`));
    rootDesc = desc[1]!;
  });

  test('a UPnP TCP mapping is listed, reaches lan from wan, and is gone once deleted', async () => {
    const { clientAddress, externalAddress, wanAddress } = r();
    const add = await upnpc(['-e', 'warren harness test', '-a', clientAddress, '7000', '7000', 'TCP']);
    assert.equal(add.code, 0, add.out);
    assert.match(add.out, new RegExp(`external ${externalAddress}:7000 TCP is redirected to internal ${clientAddress}:7000`));
    assert.deepEqual(
      (await r().mappings()).filter((m) => m.externalPort === 7000),
      [{ protocol: 'TCP', externalPort: 7000, internalHost: clientAddress, internalPort: 7000, description: 'warren harness test' }],
    );
    const list = await upnpc(['-l']);
    assert.match(list.out, new RegExp(`TCP\\s+7000->${clientAddress}:7000\\s+'warren harness test'`), list.out);

    // A listener in lan at 7000; a client in wan connects to the router's external address.
    const server = r().wrapLan(process.execPath, [
      '-e',
      `require('node:net').createServer((s) => s.end('hello ' + s.remoteAddress)).listen(7000, process.argv[1], () => console.log('listening'));`,
      clientAddress,
    ]);
    const listener = spawn(server.command, server.args, { stdio: ['ignore', 'pipe', 'inherit'] });
    try {
      await Promise.race([
        once(listener.stdout, 'data'),
        once(listener, 'exit').then(([code]) => assert.fail(`the listener in lan exited (${code}) before it listened`)),
      ]);
      const connect = (port: number) =>
        run(
          r().wrapWan(process.execPath, [
            '-e',
            `const s = require('node:net').connect(Number(process.argv[2]), process.argv[1]); let got = '';
             s.setTimeout(3000, () => { console.log('timeout'); s.destroy(); });
             s.on('data', (d) => (got += d)); s.on('end', () => console.log(got)); s.on('error', (e) => console.log(e.code));`,
            externalAddress,
            String(port),
          ]),
        );
      assert.equal((await connect(7000)).out.trim(), `hello ${wanAddress}`);

      const del = await upnpc(['-d', '7000', 'TCP']);
      assert.equal(del.code, 0, del.out);
      assert.match(del.out, /UPNP_DeletePortMapping\(\) returned : 0/);
      assert.deepEqual((await r().mappings()).filter((m) => m.externalPort === 7000), []);
      assert.equal((await connect(7000)).out.trim(), 'ECONNREFUSED', 'the deleted mapping still forwards');
    } finally {
      listener.kill();
    }
  });

  test('NAT-PMP answers with the external address and maps and unmaps a UDP port', async () => {
    const { clientAddress, externalAddress } = r();
    // External address request: version 0, opcode 0. Answer: 0, 128, result (2 bytes), epoch (4), address (4).
    const address = await natpmp('0000');
    assert.equal(address.length, 12);
    assert.equal(address[0], 0);
    assert.equal(address[1], 128);
    assert.equal(address.readUInt16BE(2), 0, 'result code');
    assert.equal([...address.subarray(8, 12)].join('.'), externalAddress);

    // UDP mapping request: 0, opcode 1, reserved (2), internal port, suggested external port, lifetime (4).
    const map = await natpmp('0001' + '0000' + '1b59' + '1b59' + '0000003c'); // 7001 -> 7001, 60 s
    assert.equal(map.length, 16);
    assert.equal(map[1], 129);
    assert.equal(map.readUInt16BE(2), 0, 'result code');
    assert.equal(map.readUInt16BE(8), 7001, 'internal port');
    const externalPort = map.readUInt16BE(10);
    assert.ok(map.readUInt32BE(12) > 0 && map.readUInt32BE(12) <= 60, `lifetime ${map.readUInt32BE(12)}`);
    assert.deepEqual(
      (await r().mappings()).filter((m) => m.protocol === 'UDP'),
      [{ protocol: 'UDP', externalPort, internalHost: clientAddress, internalPort: 7001, description: `NAT-PMP ${externalPort} udp` }],
    );

    const unmap = await natpmp('0001' + '0000' + '1b59' + '0000' + '00000000');
    assert.equal(unmap.readUInt16BE(2), 0, 'result code of the deletion');
    assert.deepEqual((await r().mappings()).filter((m) => m.protocol === 'UDP'), []);
  });
});
