import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  decodeCompactNodes,
  decodeCompactPeer,
  encodeCompactNodes,
  encodeCompactPeer,
  isValidIpv4,
} from '../../src/codec/compact.js';
import { DecodeError } from '../../src/codec/errors.js';

const id = (fill: number): Uint8Array => new Uint8Array(20).fill(fill);

describe('isValidIpv4', () => {
  test('accepts dotted quads', () => {
    for (const h of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '10.20.30.40']) assert.ok(isValidIpv4(h), h);
  });
  test('rejects everything else', () => {
    for (const h of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '00.1.1.1', '1.2.3.-4', 'a.b.c.d', '::1', ' 1.2.3.4', '1.2.3.4 ', '1..3.4', '1.2.3.', '.1.2.3', '1.2.3.1000', '1234.1.1.1']) {
      assert.equal(isValidIpv4(h), false, h);
    }
  });
});

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
    for (const n of [0, 5, 7, 18]) assert.throws(() => decodeCompactPeer(new Uint8Array(n)), DecodeError);
  });
  test('encode rejects bad hosts and ports with TypeError', () => {
    assert.throws(() => encodeCompactPeer({ host: '::1', port: 1 }), TypeError);
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
