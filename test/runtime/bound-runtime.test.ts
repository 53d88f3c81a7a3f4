/**
 * A runtime bound to one local address (`boundToAddress`): TCP connects, HTTP requests and wildcard
 * UDP sockets leave from that address (127.0.0.3 here, on loopback); the other family is refused.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { boundToAddress } from '../../src/runtime/bound-runtime.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';

const hasCode = (code: string) => (e: unknown) => (e as { code?: string }).code === code;

describe('boundToAddress', () => {
  const real = createNodeRuntime();
  const bound = boundToAddress(real, '127.0.0.3');

  test('a TCP connection leaves from the address', async () => {
    const server = await real.tcpListen({ host: '127.0.0.1', port: 0 });
    const remote = new Promise<Endpoint>((resolve) => server.onConnection((c) => resolve(c.remote)));
    const conn = await bound.tcpConnect(server.local, 2000);
    assert.equal((await remote).host, '127.0.0.3');
    assert.equal(conn.local.host, '127.0.0.3');
    conn.close();
    server.close();
  });

  test('an HTTP request leaves from the address', async () => {
    const server = http.createServer((req, res) => res.end(req.socket.remoteAddress));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const { port } = server.address() as AddressInfo;
      const body = await bound.httpGet(`http://127.0.0.1:${port}/`, { timeoutMs: 5000 });
      assert.equal(Buffer.from(body).toString(), '127.0.0.3');
    } finally {
      server.close();
    }
  });

  test('a UDP socket asked for on the wildcard is bound to the address; a named one is left alone', async () => {
    const receiver = await real.udp({ host: '127.0.0.1', port: 0 });
    const from = new Promise<Endpoint>((resolve) => receiver.onMessage((_d, f) => resolve(f)));
    const socket = await bound.udp({ host: '0.0.0.0', port: 0 });
    assert.equal(socket.local.host, '127.0.0.3');
    socket.send(new Uint8Array([1]), receiver.local);
    assert.deepEqual(await from, socket.local);
    const named = await bound.udp({ host: '127.0.0.1', port: 0 });
    assert.equal(named.local.host, '127.0.0.1');
    for (const s of [receiver, socket, named]) s.close();
  });

  test('the other family is refused at once, not sent by another route', async () => {
    await assert.rejects(bound.tcpConnect({ host: 'fd57::1', port: 1 }), hasCode('EAFNOSUPPORT'));
    await assert.rejects(bound.udp({ host: '::', port: 0 }), hasCode('EAFNOSUPPORT'));
    const bound6 = boundToAddress(real, 'fd57::1');
    await assert.rejects(bound6.tcpConnect({ host: '127.0.0.1', port: 1 }), hasCode('EAFNOSUPPORT'));
    await assert.rejects(bound6.udp({ host: '0.0.0.0', port: 0 }), hasCode('EAFNOSUPPORT'));
  });

  test('on the virtual network a host can connect from its own address only', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    await net.runtime('10.0.0.1').tcpListen({ host: '0.0.0.0', port: 80 });
    const rt = net.runtime('10.0.0.2');
    await assert.rejects(rt.tcpConnect({ host: '10.0.0.1', port: 80 }, undefined, '10.0.0.9'), hasCode('EADDRNOTAVAIL'));
    const connecting = boundToAddress(rt, '10.0.0.2').tcpConnect({ host: '10.0.0.1', port: 80 });
    await net.clock.advance(20);
    assert.equal((await connecting).local.host, '10.0.0.2');
  });
});
