import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCompactNodes,
  decodeCompactPeer,
  encodeCompactNodes,
  decodeCompactPeers,
  encodeCompactPeer,
  encodeCompactPeers,
} from '../../src/codec/compact.js';
import { DecodeError } from '../../src/codec/errors.js';

const id = (fill: number): Uint8Array => new Uint8Array(20).fill(fill);

describe('compact peer', () => {
  test('known vector', () => {
    assert.deepEqual(encodeCompactPeer({ host: '1.2.3.4', port: 0x1ae1 }), new Uint8Array([1, 2, 3, 4, 0x1a, 0xe1]));
    assert.deepEqual(decodeCompactPeer(new Uint8Array([192, 168, 0, 255, 0xff, 0xff])), { host: '192.168.0.255', port: 65535 });
  });
  test('round trip', () => {
    for (const e of [{ host: '127.0.0.1', port: 6881 }, { host: '0.0.0.0', port: 0 }, { host: '255.255.255.255', port: 65535 }]) {
      assert.deepEqual(decodeCompactPeer(encodeCompactPeer(e)), e);
    }
  });
  test('decode rejects wrong lengths with DecodeError', () => {
    for (const n of [0, 5, 7, 17, 19, 26]) assert.throws(() => decodeCompactPeer(new Uint8Array(n)), DecodeError);
  });
  test('encode rejects bad hosts and ports with TypeError', () => {
    assert.throws(() => encodeCompactPeer({ host: 'localhost', port: 1 }), TypeError);
    assert.throws(() => encodeCompactPeer({ host: '[::1]', port: 1 }), TypeError);
    assert.throws(() => encodeCompactPeer({ host: '1.2.3.4', port: 65536 }), TypeError);
    assert.throws(() => encodeCompactPeer({ host: '1.2.3.4', port: -1 }), TypeError);
    assert.throws(() => encodeCompactPeer({ host: '1.2.3.4', port: 1.5 }), TypeError);
  });
});

describe('compact nodes', () => {
  test('round trip and layout', () => {
    const nodes = [
      { id: id(1), address: { host: '10.0.0.1', port: 1000 } },
      { id: id(2), address: { host: '10.0.0.2', port: 2000 } },
    ];
    const bytes = encodeCompactNodes(nodes);
    assert.equal(bytes.length, 52);
    assert.deepEqual(bytes.subarray(0, 20), id(1));
    assert.deepEqual(bytes.subarray(20, 26), new Uint8Array([10, 0, 0, 1, 0x03, 0xe8]));
    assert.deepEqual(decodeCompactNodes(bytes), nodes);
    assert.deepEqual(decodeCompactNodes(new Uint8Array(0)), []);
  });
  test('decoded ids are copies', () => {
    const bytes = encodeCompactNodes([{ id: id(7), address: { host: '1.1.1.1', port: 1 } }]);
    const [n] = decodeCompactNodes(bytes);
    bytes.fill(0);
    assert.deepEqual(n.id, id(7));
  });
  test('skips port-0 entries', () => {
    const bytes = encodeCompactNodes([
      { id: id(1), address: { host: '1.1.1.1', port: 0 } },
      { id: id(2), address: { host: '2.2.2.2', port: 2 } },
    ]);
    assert.deepEqual(decodeCompactNodes(bytes), [{ id: id(2), address: { host: '2.2.2.2', port: 2 } }]);
  });
  test('rejects lengths not a multiple of 26', () => {
    for (const n of [1, 25, 27, 51]) assert.throws(() => decodeCompactNodes(new Uint8Array(n)), DecodeError);
  });
  test('encode rejects bad ids', () => {
    assert.throws(() => encodeCompactNodes([{ id: new Uint8Array(19), address: { host: '1.1.1.1', port: 1 } }]), TypeError);
  });
});

describe('compact IPv6 (BEP 7, BEP 32)', () => {
  const v6 = (last: number): Uint8Array => Uint8Array.from([0xfd, 0x57, ...new Array<number>(13).fill(0), last]);
  test('known vector: 16 address bytes, then the port', () => {
    const bytes = encodeCompactPeer({ host: 'fd57::1', port: 0x1ae1 });
    assert.deepEqual(bytes, Uint8Array.from([...v6(1), 0x1a, 0xe1]));
    assert.deepEqual(decodeCompactPeer(bytes), { host: 'fd57::1', port: 6881 });
  });
  test('decoding spells the address canonically, whatever the encoder was given', () => {
    const bytes = encodeCompactPeer({ host: 'FD57:0:0:0:0:0:0:0001', port: 1 });
    assert.equal(decodeCompactPeer(bytes).host, 'fd57::1');
  });
  test('lists of one family: peers6 and added6', () => {
    const peers = [{ host: '::1', port: 1 }, { host: '2001:db8::7', port: 65535 }];
    const bytes = encodeCompactPeers(peers, 6);
    assert.equal(bytes.length, 36);
    assert.deepEqual(decodeCompactPeers(bytes, 6), peers);
    assert.deepEqual(decodeCompactPeers(encodeCompactPeers([{ host: '1.2.3.4', port: 5 }], 4), 4), [{ host: '1.2.3.4', port: 5 }]);
  });
  test('a list refuses a peer of the other family, and a length that is no multiple', () => {
    assert.throws(() => encodeCompactPeers([{ host: '1.2.3.4', port: 1 }], 6), /not an IPv6 address/);
    assert.throws(() => encodeCompactPeers([{ host: '::1', port: 1 }], 4), /not an IPv4 address/);
    for (const n of [1, 17, 19, 35]) assert.throws(() => decodeCompactPeers(new Uint8Array(n), 6), DecodeError);
    for (const n of [1, 5, 7]) assert.throws(() => decodeCompactPeers(new Uint8Array(n), 4), DecodeError);
  });
  test('nodes6: 38-byte entries, port 0 skipped, wrong lengths refused', () => {
    const nodes = [
      { id: id(1), address: { host: 'fd57::1', port: 1000 } },
      { id: id(2), address: { host: 'fd57::2', port: 0 } },
    ];
    const bytes = encodeCompactNodes(nodes, 6);
    assert.equal(bytes.length, 76);
    assert.deepEqual(bytes.subarray(20, 38), Uint8Array.from([...v6(1), 0x03, 0xe8]));
    assert.deepEqual(decodeCompactNodes(bytes, 6), [nodes[0]]);
    for (const n of [26, 37, 39, 52]) assert.throws(() => decodeCompactNodes(new Uint8Array(n), 6), DecodeError);
    assert.throws(() => encodeCompactNodes([{ id: id(1), address: { host: '1.1.1.1', port: 1 } }], 6), TypeError);
  });
});
