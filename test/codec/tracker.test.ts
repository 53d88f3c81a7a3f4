import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  TrackerError,
  buildHttpAnnounceUrl,
  decodeUdpTrackerReply,
  encodeUdpAnnounce,
  encodeUdpConnect,
  parseHttpAnnounceResponse,
  percentEncodeBytes,
  type AnnounceParams,
} from '../../src/codec/tracker.js';
import { bencode } from '../../src/codec/bencode.js';
import { DecodeError } from '../../src/codec/errors.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { concat } from './bytes.js';

const enc = new TextEncoder();
const ascii = (s: string): Uint8Array => enc.encode(s);
const hex = (s: string): Uint8Array => Uint8Array.from(s.match(/../g) ?? [], (h) => parseInt(h, 16));


const params: AnnounceParams = {
  infoHash: hex('123456789abcdef0123456789abcdef012345678'),
  peerId: ascii('-WR0001-abcdefghij~.'),
  port: 6881,
  uploaded: 0,
  downloaded: 1024,
  left: 2 ** 40,
  event: 'started',
  numWant: 50,
  key: 0xbeef,
};

describe('HTTP announce URL', () => {
  test('byte-wise percent-encoding', () => {
    assert.equal(percentEncodeBytes(new Uint8Array([0x00, 0x20, 0x41, 0x7a, 0x2d, 0x2e, 0x5f, 0x7e, 0xff, 0x25, 0x2f])), '%00%20Az-._~%FF%25%2F');
  });

  test('known URL', () => {
    assert.equal(
      buildHttpAnnounceUrl('http://tracker.example:6969/announce', params),
      'http://tracker.example:6969/announce?info_hash=%124Vx%9A%BC%DE%F0%124Vx%9A%BC%DE%F0%124Vx' +
        '&peer_id=-WR0001-abcdefghij~.&port=6881&uploaded=0&downloaded=1024&left=1099511627776&compact=1' +
        '&event=started&numwant=50&key=0000BEEF',
    );
  });

  test('keeps an existing query and drops a fragment', () => {
    const p = { ...params, event: undefined, numWant: undefined, key: undefined };
    const u = buildHttpAnnounceUrl('https://t.example/announce.php?passkey=abc#frag', p);
    assert.ok(u.startsWith('https://t.example/announce.php?passkey=abc&info_hash='), u);
    assert.ok(!u.includes('#') && !u.includes('event=') && u.endsWith('compact=1'), u);
    assert.ok(buildHttpAnnounceUrl('http://t/a?', p).startsWith('http://t/a?info_hash='));
    // The URL parses and the info hash survives the round trip byte for byte.
    const parsed = new URL(buildHttpAnnounceUrl('http://t/a?x=1', params));
    assert.equal(parsed.searchParams.get('x'), '1');
    assert.equal(parsed.searchParams.get('compact'), '1');
  });

  test('bad params are TypeErrors', () => {
    assert.throws(() => buildHttpAnnounceUrl('http://t/a', { ...params, infoHash: new Uint8Array(19) }), TypeError);
    assert.throws(() => buildHttpAnnounceUrl('http://t/a', { ...params, left: -1 }), TypeError);
    assert.throws(() => buildHttpAnnounceUrl('http://t/a', { ...params, port: 70000 }), TypeError);
    assert.throws(() => buildHttpAnnounceUrl('http://t/a', { ...params, key: 2 ** 32 }), TypeError);
  });
});

describe('HTTP announce response', () => {
  test('compact peers (BEP 23), as opentracker sends them', () => {
    const body = concat(
      ascii('d8:completei5e10:incompletei3e8:intervali1800e12:min intervali900e5:peers18:'),
      new Uint8Array([127, 0, 0, 1, 0x1a, 0xe1, 10, 0, 0, 2, 0xc8, 0xd5, 9, 9, 9, 9, 0, 0]),
      ascii('e'),
    );
    assert.deepEqual(parseHttpAnnounceResponse(body), {
      interval: 1800,
      minInterval: 900,
      complete: 5,
      incomplete: 3,
      peers: [{ host: '127.0.0.1', port: 6881 }, { host: '10.0.0.2', port: 51413 }], // port 0 dropped
    });
  });

  test('dictionary peers and a warning', () => {
    const body = bencode({
      interval: 600,
      peers: [
        { ip: '192.168.1.7', 'peer id': new Uint8Array(20), port: 51413 },
        { ip: 'seed.example.org', port: 6881 },
        { ip: '2001:db8::1', port: 1 },
      ],
      'warning message': 'tracker is busy',
    });
    assert.deepEqual(parseHttpAnnounceResponse(body), {
      interval: 600,
      peers: [{ host: '192.168.1.7', port: 51413 }, { host: 'seed.example.org', port: 6881 }, { host: '2001:db8::1', port: 1 }],
      warning: 'tracker is busy',
    });
  });

  test('IPv6 peers (BEP 7): compact peers6 after the IPv4 peers, port 0 dropped', () => {
    const body = concat(
      ascii('d8:intervali900e5:peers6:'), hex('7f0000011ae1'),
      ascii('6:peers654:'), hex('fd570000000000000000000000000001' + '1ae1'), hex('20010db8000000000000000000000000' + '0000'), hex('00000000000000000000ffff01020304' + 'c8d5'),
      ascii('e'),
    );
    assert.deepEqual(parseHttpAnnounceResponse(body), {
      interval: 900,
      peers: [{ host: '127.0.0.1', port: 6881 }, { host: 'fd57::1', port: 6881 }, { host: '::ffff:1.2.3.4', port: 51413 }],
    });
    // peers6 alone, and next to dictionary peers.
    assert.deepEqual(parseHttpAnnounceResponse(bencode({ interval: 1, peers6: hex('00000000000000000000000000000001' + '0001') })).peers, [{ host: '::1', port: 1 }]);
    assert.deepEqual(
      parseHttpAnnounceResponse(bencode({ interval: 1, peers: [{ ip: '1.2.3.4', port: 2 }], peers6: hex('00000000000000000000000000000001' + '0001') })).peers,
      [{ host: '1.2.3.4', port: 2 }, { host: '::1', port: 1 }],
    );
    assert.deepEqual(parseHttpAnnounceResponse(bencode({ interval: 1, peers6: new Uint8Array(0) })).peers, []);
  });

  test('dictionary peers: IP addresses spelled canonically, host names as given', () => {
    const body = bencode({
      interval: 1,
      peers: [
        { ip: 'FD57:0000::0:1', port: 1 }, { ip: '::ffff:10.1.2.3', port: 2 }, { ip: '[fd57::1]', port: 3 }, { ip: 'fe80::1%eth0', port: 4 }, { ip: '010.1.1.1', port: 5 },
      ],
    });
    assert.deepEqual(parseHttpAnnounceResponse(body).peers, [
      { host: 'fd57::1', port: 1 }, { host: '10.1.2.3', port: 2 }, { host: '[fd57::1]', port: 3 }, { host: 'fe80::1%eth0', port: 4 }, { host: '010.1.1.1', port: 5 },
    ]);
  });

  test('no peers key means no peers', () => {
    assert.deepEqual(parseHttpAnnounceResponse(ascii('d8:intervali60ee')), { interval: 60, peers: [] });
  });

  test('failure reason is a TrackerError with the message', () => {
    const body = ascii('d14:failure reason22:torrent not registerede');
    assert.throws(() => parseHttpAnnounceResponse(body), (e: unknown) => {
      assert.ok(e instanceof TrackerError);
      assert.equal(e.code, 'TRACKER_ERROR');
      assert.equal(e.message, 'torrent not registered');
      return true;
    });
  });

  test('malformed bodies are DecodeErrors', () => {
    const bad: [string, Uint8Array][] = [
      ['html', ascii('<html>502 Bad Gateway</html>')],
      ['empty', new Uint8Array(0)],
      ['list', ascii('le')],
      ['truncated', ascii('d8:intervali1800e5:peers6:abc')],
      ['no interval', bencode({ peers: new Uint8Array(0) })],
      ['string interval', bencode({ interval: '1800' })],
      ['negative interval', bencode({ interval: -1 })],
      ['compact not a multiple of 6', bencode({ interval: 1, peers: new Uint8Array(7) })],
      ['peers an integer', bencode({ interval: 1, peers: 3 })],
      ['dict peer without ip', bencode({ interval: 1, peers: [{ port: 1 }] })],
      ['dict peer with bad port', bencode({ interval: 1, peers: [{ ip: '1.2.3.4', port: 70000 }] })],
      ['dict peer not a dict', bencode({ interval: 1, peers: [ascii('x')] })],
      ['peers6 not a multiple of 18', bencode({ interval: 1, peers6: new Uint8Array(17) })],
      ['peers6 of IPv4 length', bencode({ interval: 1, peers6: new Uint8Array(6) })],
      ['peers6 one byte over', bencode({ interval: 1, peers6: new Uint8Array(37) })],
      ['peers6 a list', bencode({ interval: 1, peers6: [{ ip: '::1', port: 1 }] })],
      ['peers6 an integer', bencode({ interval: 1, peers6: 18 })],
      ['peers6 truncated', concat(ascii('d8:intervali1e6:peers618:'), new Uint8Array(9))],
      ['good peers, bad peers6', bencode({ interval: 1, peers: new Uint8Array(6), peers6: new Uint8Array(1) })],
      ['failure reason not a string', bencode({ 'failure reason': 1 })],
      ['warning not a string', bencode({ interval: 1, 'warning message': 1 })],
    ];
    for (const [name, b] of bad) assert.throws(() => parseHttpAnnounceResponse(b), DecodeError, name);
  });
});

describe('UDP tracker (BEP 15)', () => {
  test('connect request bytes', () => {
    assert.deepEqual(encodeUdpConnect(0x01020304), hex('0000041727101980' + '00000000' + '01020304'));
    assert.throws(() => encodeUdpConnect(-1), TypeError);
  });

  test('announce request layout', () => {
    const cid = hex('a1a2a3a4a5a6a7a8');
    const b = encodeUdpAnnounce(cid, 7, params);
    assert.equal(b.length, 98);
    const v = new DataView(b.buffer);
    assert.deepEqual(b.subarray(0, 8), cid);
    assert.equal(v.getUint32(8), 1);
    assert.equal(v.getUint32(12), 7);
    assert.deepEqual(b.subarray(16, 36), params.infoHash);
    assert.deepEqual(b.subarray(36, 56), params.peerId);
    assert.deepEqual(b.subarray(56, 64), hex('0000000000000400')); // downloaded 1024
    assert.deepEqual(b.subarray(64, 72), hex('0000010000000000')); // left 2^40
    assert.deepEqual(b.subarray(72, 80), new Uint8Array(8)); // uploaded
    assert.equal(v.getUint32(80), 2); // started
    assert.equal(v.getUint32(84), 0); // ip: default
    assert.equal(v.getUint32(88), 0xbeef);
    assert.equal(v.getInt32(92), 50);
    assert.equal(v.getUint16(96), 6881);
    const d = new DataView(encodeUdpAnnounce(cid, 7, { ...params, event: undefined, numWant: undefined, key: undefined }).buffer);
    assert.equal(d.getUint32(80), 0);
    assert.equal(d.getInt32(92), -1);
    assert.equal(new DataView(encodeUdpAnnounce(cid, 7, { ...params, event: 'stopped' }).buffer).getUint32(80), 3);
    assert.equal(new DataView(encodeUdpAnnounce(cid, 7, { ...params, event: 'completed' }).buffer).getUint32(80), 1);
    assert.throws(() => encodeUdpAnnounce(new Uint8Array(7), 7, params), TypeError);
  });

  test('replies', () => {
    assert.deepEqual(decodeUdpTrackerReply(hex('00000000' + '01020304' + 'a1a2a3a4a5a6a7a8')), {
      action: 'connect', transactionId: 0x01020304, connectionId: hex('a1a2a3a4a5a6a7a8'),
    });
    assert.deepEqual(decodeUdpTrackerReply(hex('00000001' + '00000009' + '00000708' + '00000002' + '00000003' + '7f0000011ae1' + '0a000002c8d5')), {
      action: 'announce', transactionId: 9, interval: 1800, leechers: 2, seeders: 3,
      peers: [{ host: '127.0.0.1', port: 6881 }, { host: '10.0.0.2', port: 51413 }],
    });
    assert.deepEqual(decodeUdpTrackerReply(concat(hex('00000003' + '00000009'), ascii('unknown torrent'))), {
      action: 'error', transactionId: 9, message: 'unknown torrent',
    });
  });

  test('an announce reply over IPv6 carries 18-byte peers (decoded by the family the request went over)', () => {
    const head = '00000001' + '00000009' + '00000708' + '00000002' + '00000003';
    const peers6 = 'fd570000000000000000000000000002' + '1ae1' + '20010db8000000000000000000000001' + 'c8d5' + '00000000000000000000000000000003' + '0000';
    assert.deepEqual(decodeUdpTrackerReply(hex(head + peers6), 6), {
      action: 'announce', transactionId: 9, interval: 1800, leechers: 2, seeders: 3,
      peers: [{ host: 'fd57::2', port: 6881 }, { host: '2001:db8::1', port: 51413 }],
    });
    assert.deepEqual(decodeUdpTrackerReply(hex(head), 6), { action: 'announce', transactionId: 9, interval: 1800, leechers: 2, seeders: 3, peers: [] });
    // The same 36 bytes over IPv4 read as six 6-byte entries, four of them port 0 (the family decides, not the length).
    assert.deepEqual((decodeUdpTrackerReply(hex(head + peers6.slice(0, 72)), 4) as { peers: unknown[] }).peers, [{ host: '0.0.0.2', port: 6881 }, { host: '0.0.0.1', port: 51413 }]);
    for (const tail of ['00', '7f0000011ae1', peers6.slice(0, 70), peers6 + '00']) {
      assert.throws(() => decodeUdpTrackerReply(hex(head + tail), 6), DecodeError, tail);
    }
    // Connect and error replies read the same over either family.
    assert.deepEqual(decodeUdpTrackerReply(hex('00000000' + '01020304' + 'a1a2a3a4a5a6a7a8'), 6), {
      action: 'connect', transactionId: 0x01020304, connectionId: hex('a1a2a3a4a5a6a7a8'),
    });
  });

  test('random and mutated replies of either family: a reply or a DecodeError, nothing else', () => {
    const rng = new Mulberry32(15);
    for (let i = 0; i < 4000; i++) {
      const b = rng.bytes(i % 120);
      if (i % 3 === 0 && b.length >= 4) b.set([0, 0, 0, i % 4], 0);
      try {
        decodeUdpTrackerReply(b, i % 2 === 0 ? 4 : 6);
      } catch (error) {
        assert.ok(error instanceof DecodeError, String(error));
      }
    }
  });

  test('short, unknown and malformed replies are DecodeErrors', () => {
    const bad = [
      '', '000000000000', '00000000' + '00000001' + 'a1a2a3a4a5a6a7', '00000001' + '00000001' + '0000070800000002',
      '00000001' + '00000009' + '00000708' + '00000002' + '00000003' + '7f0000011a', '00000002' + '00000001', '00000004' + '00000001',
    ];
    for (const h of bad) assert.throws(() => decodeUdpTrackerReply(hex(h)), DecodeError, h);
  });
});
