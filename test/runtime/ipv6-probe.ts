/**
 * Run by ipv6.test.ts inside a network namespace of its own (never on the host), as
 * `ipv6-probe.js probe`: exercises the real runtime over IPv6 on fd57::1 and fd57::2 and prints one
 * JSON line of what it saw. Without `probe` it does nothing (the test runner loads every file under
 * dist/test/ as a test, and this one must not send anything from the host).
 */
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import type { Endpoint } from '../../src/runtime/interfaces.js';

if (process.argv[2] === 'probe') await probe();

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
