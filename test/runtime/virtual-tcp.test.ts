import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import type { TcpConnection } from '../../src/runtime/interfaces.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';

function hasCode(code: string): (e: unknown) => boolean {
  return (e) => (e as { code?: string }).code === code;
}

describe('VirtualNetwork TCP', () => {
  test('echo: connect after a round trip, in-order data, close reaches both sides once', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const server = await net.runtime('10.0.0.1').tcpListen({ host: '0.0.0.0', port: 80 });
    const serverCloses: (Error | undefined)[] = [];
    let accepted: TcpConnection | undefined;
    server.onConnection((conn) => {
      accepted = conn;
      conn.onData((d) => conn.write(d));
      conn.onClose((e) => serverCloses.push(e));
    });
    const connecting = net.runtime('10.0.0.2').tcpConnect({ host: '10.0.0.1', port: 80 });
    const client = await net.clock.run(connecting);
    assert.equal(net.clock.now(), 20);
    assert.deepEqual(client.remote, { host: '10.0.0.1', port: 80 });
    assert.equal(client.local.host, '10.0.0.2');
    assert.deepEqual(accepted?.remote, client.local);

    const echoed: number[] = [];
    const clientCloses: (Error | undefined)[] = [];
    client.onData((d) => echoed.push(...d));
    client.onClose((e) => clientCloses.push(e));
    const buf = new Uint8Array([1, 2]);
    client.write(buf);
    buf[0] = 9; // copied at write time
    net.setExtraLatency('10.0.0.2', 30); // a later, slower chunk must not overtake
    client.write(new Uint8Array([3]));
    net.setExtraLatency('10.0.0.2', 0);
    client.write(new Uint8Array([4, 5]));
    await net.clock.advance(200);
    assert.deepEqual(echoed, [1, 2, 3, 4, 5]);

    client.close();
    client.close();
    await net.clock.advance(100);
    assert.deepEqual(clientCloses, [undefined]);
    assert.deepEqual(serverCloses, [undefined]);
    client.write(new Uint8Array([6])); // ignored after close
    await net.clock.advance(100);
    assert.deepEqual(echoed, [1, 2, 3, 4, 5]);
  });

  test('data and close that arrive before handlers are installed are buffered', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const server = await net.runtime('10.0.0.1').tcpListen({ host: '0.0.0.0', port: 0 });
    const client = await net.clock.run(net.runtime('10.0.0.2').tcpConnect(server.local));
    await net.clock.advance(5);
    server.onConnection((conn) => {
      conn.write(new Uint8Array([7]));
      conn.close();
    });
    await net.clock.advance(100);
    const got: number[] = [];
    const closes: (Error | undefined)[] = [];
    client.onData((d) => got.push(...d));
    client.onClose((e) => closes.push(e));
    await net.clock.advance(1);
    assert.deepEqual(got, [7]);
    assert.deepEqual(closes, [undefined]);
  });

  test('connecting to nothing or to a dead host is refused after one latency', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const rt = net.runtime('10.0.0.2');
    await assert.rejects(net.clock.run(rt.tcpConnect({ host: '10.0.0.1', port: 81 })), hasCode('ECONNREFUSED'));
    assert.equal(net.clock.now(), 10);
    const server = await net.runtime('10.0.0.1').tcpListen({ host: '0.0.0.0', port: 81 });
    net.setDead('10.0.0.1', true);
    await assert.rejects(net.clock.run(rt.tcpConnect(server.local)), hasCode('ECONNREFUSED'));
    net.setDead('10.0.0.1', false);
    server.close();
    await assert.rejects(net.clock.run(rt.tcpConnect(server.local)), hasCode('ECONNREFUSED'));
    await assert.rejects(net.runtime('10.0.0.3').tcpListen({ host: '0.0.0.0', port: 70000 }), hasCode('ERR_SOCKET_BAD_PORT'));
  });
});

describe('VirtualNetwork host services', () => {
  test('the in-memory disk survives runtime re-creation and behaves like a disk', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const fs1 = net.runtime('10.0.0.1').fs;
    assert.equal(await fs1.readFile('/state/node.dat'), undefined);
    await assert.rejects(fs1.writeFile('/state/node.dat', new Uint8Array([1])), hasCode('ENOENT'));
    await fs1.mkdir('/state/sub');
    const data = new Uint8Array([1, 2, 3]);
    await fs1.writeFile('/state/node.dat', data);
    data[0] = 9;
    const fs2 = net.runtime('10.0.0.1').fs;
    const read = await fs2.readFile('/state/./sub/../node.dat');
    assert.deepEqual(read && [...read], [1, 2, 3]);
    assert.equal(await net.runtime('10.0.0.2').fs.readFile('/state/node.dat'), undefined);
    await assert.rejects(fs2.readFile('/state'), hasCode('EISDIR'));
  });

  test('resolveHost: dotted IPv4 resolves to itself, registered names to their address', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const rt = net.runtime('10.0.0.1');
    assert.equal(await rt.resolveHost('10.0.0.7'), '10.0.0.7');
    net.setHostName('router.example.org', '10.0.0.9');
    assert.equal(await rt.resolveHost('Router.Example.org'), '10.0.0.9');
    await assert.rejects(rt.resolveHost('nowhere.example'), hasCode('ENOTFOUND'));
  });

  test('onTransientData: chunks are views overwritten after the handler; writev calls done once copied', async () => {
    const net = new VirtualNetwork({ seed: 6 });
    const server = await net.runtime('10.0.0.1').tcpListen({ host: '0.0.0.0', port: 80 });
    const kept: Uint8Array[] = [];
    const copies: number[] = [];
    server.onConnection((conn) => {
      conn.onTransientData!((d) => {
        kept.push(d);
        copies.push(...d);
      });
    });
    const client = await net.clock.run(net.runtime('10.0.0.2').tcpConnect({ host: '10.0.0.1', port: 80 }));
    let done = 0;
    const parts = [new Uint8Array([1, 2, 3]), new Uint8Array([4, 5])];
    client.writev(parts, () => done++);
    await Promise.resolve();
    assert.equal(done, 1, 'copied at once: done before delivery');
    parts[0]![0] = 9; // the writer may reuse its buffers now
    client.writev([new Uint8Array([6])]);
    await net.clock.run(new Promise<void>((resolve) => net.clock.setTimer(100, resolve)));
    assert.deepEqual(copies, [1, 2, 3, 4, 5, 6]);
    assert.ok(kept.length >= 1);
    for (const view of kept) assert.ok(view.every((b) => b === 0xee), 'a kept view sees the poison');
  });
});
