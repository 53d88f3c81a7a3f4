/**
 * The tracker client against small trackers written here by hand from BEP 15 and BEP 3/23 (not
 * with warren's own codec), on 127.0.0.1; and a session that leaves without waiting long on them.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createSocket } from 'node:dgram';
import { createServer } from 'node:http';
import { once } from 'node:events';
import type { AddressInfo } from 'node:net';
import { announceToTracker } from '../../src/swarm/tracker-client.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { SwarmSession } from '../../src/swarm/session.js';
import { toInfoHash } from '../../src/dht/types.js';

const params = {
  infoHash: new Uint8Array(20).fill(0xaa),
  peerId: new TextEncoder().encode('-WR0100-123456789012'),
  port: 51413,
  uploaded: 1,
  downloaded: 2,
  left: 3,
  event: 'started' as const,
  numWant: 50,
};

test('UDP tracker (BEP 15): connect, announce, compact peers; errors are reported', async () => {
  const server = createSocket('udp4');
  const seen: { action: number; infoHash?: string; port?: number; event?: number }[] = [];
  const connectionId = Buffer.from('0102030405060708', 'hex');
  let failNext = false;
  server.on('message', (msg, rinfo) => {
    const action = msg.readUInt32BE(8);
    const tid = msg.readUInt32BE(12);
    if (action === 0) {
      assert.equal(msg.readBigUInt64BE(0), 0x41727101980n, 'protocol id');
      seen.push({ action });
      const reply = Buffer.alloc(16);
      reply.writeUInt32BE(0, 0);
      reply.writeUInt32BE(tid, 4);
      connectionId.copy(reply, 8);
      server.send(reply, rinfo.port, rinfo.address);
      return;
    }
    assert.ok(msg.subarray(0, 8).equals(connectionId));
    seen.push({ action, infoHash: msg.subarray(16, 36).toString('hex'), port: msg.readUInt16BE(96), event: msg.readUInt32BE(80) });
    if (failNext) {
      const text = Buffer.from('torrent not registered');
      const reply = Buffer.alloc(8 + text.length);
      reply.writeUInt32BE(3, 0);
      reply.writeUInt32BE(tid, 4);
      text.copy(reply, 8);
      server.send(reply, rinfo.port, rinfo.address);
      return;
    }
    const reply = Buffer.alloc(20 + 12);
    reply.writeUInt32BE(1, 0);
    reply.writeUInt32BE(tid, 4);
    reply.writeUInt32BE(1800, 8);
    reply.writeUInt32BE(3, 12);
    reply.writeUInt32BE(7, 16);
    Buffer.from([127, 0, 0, 5, 0x1a, 0xe1, 127, 0, 0, 6, 0x00, 0x50]).copy(reply, 20);
    server.send(reply, rinfo.port, rinfo.address);
  });
  server.bind(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `udp://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
  const runtime = createNodeRuntime();
  const response = await announceToTracker({ runtime }, url, params);
  assert.equal(response.interval, 1800);
  assert.equal(response.complete, 7);
  assert.equal(response.incomplete, 3);
  assert.deepEqual(response.peers, [
    { host: '127.0.0.5', port: 6881 },
    { host: '127.0.0.6', port: 80 },
  ]);
  assert.deepEqual(seen[1], { action: 1, infoHash: 'aa'.repeat(20), port: 51413, event: 2 });
  failNext = true;
  await assert.rejects(announceToTracker({ runtime }, url, params), /torrent not registered/);
  server.close();
});

test('HTTP tracker (BEP 3, BEP 23): query string, compact peers, failure reason', async () => {
  let query: URLSearchParams | undefined;
  let rawQuery = '';
  let fail = false;
  const server = createServer((req, res) => {
    rawQuery = req.url!.split('?')[1]!;
    query = new URLSearchParams(rawQuery);
    if (fail) {
      res.end('d14:failure reason12:unregisterede');
      return;
    }
    const peers = Buffer.from([127, 0, 0, 9, 0x1a, 0xe1]);
    res.end(Buffer.concat([Buffer.from('d8:intervali900e5:peers6:'), peers, Buffer.from('e')]));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/announce`;
  const runtime = createNodeRuntime();
  const response = await announceToTracker({ runtime }, url, params);
  assert.equal(response.interval, 900);
  assert.deepEqual(response.peers, [{ host: '127.0.0.9', port: 6881 }]);
  assert.ok(rawQuery.includes('info_hash=' + '%AA'.repeat(20)), rawQuery);
  assert.equal(query!.get('port'), '51413');
  assert.equal(query!.get('left'), '3');
  assert.equal(query!.get('event'), 'started');
  assert.equal(query!.get('compact'), '1');
  fail = true;
  await assert.rejects(announceToTracker({ runtime }, url, params), /unregistered/);
  server.close();
});

test('closing a session does not wait on a tracker that never answers its "stopped" announce', { timeout: 10_000 }, async () => {
  const hanging = createServer(() => undefined); // accepts requests and never answers
  hanging.listen(0, '127.0.0.1');
  await once(hanging, 'listening');
  const session = new SwarmSession({ host: '127.0.0.1', port: 0 }, createNodeRuntime());
  await session.start();
  const url = `http://127.0.0.1:${(hanging.address() as AddressInfo).port}/announce`;
  await session.add({ infoHash: toInfoHash(params.infoHash), dir: '/nonexistent-warren-test', trackers: [url] });
  await session.close(); // the test's timeout (10 s) is shorter than the tracker request timeout (15 s)
  hanging.closeAllConnections();
  hanging.close();
});
