/**
 * Run by ipv6.test.ts inside a network namespace of its own (never on the host), as
 * `ipv6-probe.js probe`: exercises the real runtime over IPv6 on fd57::1 and fd57::2 and prints one
 * JSON line of what it saw; `ipv6-probe.js answers` does the same for the addresses a `[::]` socket
 * answers from (fd57::1 to fd57::4). Without an argument it does nothing (the test runner loads every file under
 * dist/test/ as a test, and this one must not send anything from the host).
 */
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';

if (process.argv[2] === 'probe') await probe();
if (process.argv[2] === 'answers') await answers();

async function probe(): Promise<void> {
  const runtime = createNodeRuntime();

  // The same port for each family: an IPv6 socket takes IPv6 only, so both binds succeed.
  const udp6 = await runtime.udp({ host: '::', port: 0 });
  const udp4 = await runtime.udp({ host: '0.0.0.0', port: udp6.local.port });
  const sender = await runtime.udp({ host: 'fd57::2', port: 0 });
  const datagram = new Promise<Endpoint>((resolve) => udp6.onMessage((_data, from) => resolve(from)));
  sender.send(new Uint8Array([1]), { host: 'fd57::1', port: udp6.local.port });
  const udpFrom = await datagram;

  const tcp6 = await runtime.tcpListen({ host: '::', port: 0 });
  const tcp4 = await runtime.tcpListen({ host: '0.0.0.0', port: tcp6.local.port });
  const accepted = new Promise<Endpoint>((resolve) => tcp6.onConnection((conn) => resolve(conn.remote)));
  const client = await runtime.tcpConnect({ host: 'fd57:0:0::1', port: tcp6.local.port }, 2000);
  const tcpRemote = await accepted;
  const resolved = await runtime.resolveHost('fd57::2');

  console.log(
    JSON.stringify({
      udp6: udp6.local,
      udp4: udp4.local,
      udpFrom,
      senderLocal: sender.local,
      tcp6: tcp6.local,
      tcp4: tcp4.local,
      tcpRemote,
      clientLocal: client.local,
      clientRemote: client.remote,
      resolved,
    }),
  );
  for (const s of [udp6, udp4, sender, client, tcp6, tcp4]) s.close();
}

/**
 * A `[::]` socket echoes every datagram to its sender; a peer on fd57::4 sends one to each of
 * fd57::1, fd57::2 and fd57::3 at that port, and to ::1, and records where each answer came from.
 * Also: is the port still refused to a second `[::]` socket?
 */
async function answers(): Promise<void> {
  const runtime = createNodeRuntime();
  const echo = await runtime.udp({ host: '::', port: 0 });
  echo.onMessage((data, from) => echo.send(data, from));
  const peer = await runtime.udp({ host: 'fd57::4', port: 0 });
  const peer1 = await runtime.udp({ host: '::1', port: 0 });
  const targets = ['fd57::1', 'fd57::2', 'fd57::3', '::1'];
  const answeredFrom: Record<string, string> = {};
  const done = new Promise<void>((resolve) => {
    const heard = (data: Uint8Array, from: Endpoint): void => {
      answeredFrom[targets[data[0]!]!] = from.host;
      if (Object.keys(answeredFrom).length === targets.length) resolve();
    };
    peer.onMessage(heard);
    peer1.onMessage(heard);
  });
  targets.forEach((host, i) => (host === '::1' ? peer1 : peer).send(new Uint8Array([i]), { host, port: echo.local.port }));
  await Promise.race([done, new Promise((resolve) => setTimeout(resolve, 5000).unref())]);
  const second = await runtime.udp({ host: '::', port: echo.local.port }).then(
    (s) => (s.close(), 'bound'),
    (error: NodeJS.ErrnoException) => error.code,
  );
  console.log(JSON.stringify({ port: echo.local.port, answeredFrom, second }));
  for (const s of [echo, peer, peer1]) s.close();
}
