import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bytesToLatin1, latin1ToBytes } from '../../src/codec/bencode.js';
import { DecodeError } from '../../src/codec/errors.js';
import {
  decodeKrpc,
  encodeError,
  encodeQuery,
  encodeResponse,
  KRPC_ERROR,
  KrpcDecodeError,
  type KrpcError,
  type KrpcQuery,
  type KrpcResponse,
} from '../../src/codec/krpc.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

const bytes = (s: string): Uint8Array => latin1ToBytes(s);
const text = (b: Uint8Array | undefined): string => bytesToLatin1(b ?? new Uint8Array(0));

/** Seeded uniform [0, 1) generator, so fuzz failures replay. */
function mulberry32(seed: number): () => number {
  const m = new Mulberry32(seed);
  return () => m.next();
}

/** Asserts a KrpcDecodeError whose transaction id is `tid` (or absent when undefined). */
function assertKrpcError(input: string | Uint8Array, tid: string | undefined, pattern?: RegExp): void {
  const data = typeof input === 'string' ? bytes(input) : input;
  assert.throws(
    () => decodeKrpc(data),
    (err: unknown) => {
      assert.ok(err instanceof KrpcDecodeError, `expected KrpcDecodeError, got ${String(err)}`);
      assert.ok(err instanceof DecodeError);
      assert.equal(err.code, 'KRPC_DECODE_ERROR');
      if (tid === undefined) assert.equal(err.transactionId, undefined);
      else assert.equal(text(err.transactionId), tid);
      if (pattern) assert.match(err.message, pattern);
      return true;
    },
  );
}

const PING_QUERY = 'd1:ad2:id20:abcdefghij0123456789e1:q4:ping1:t2:aa1:y1:qe';
const PING_RESPONSE = 'd1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re';

describe('BEP 5 vectors', () => {
  test('ping query', () => {
    const m = decodeKrpc(bytes(PING_QUERY)) as KrpcQuery;
    assert.equal(m.kind, 'query');
    assert.equal(text(m.transactionId), 'aa');
    assert.equal(m.method, 'ping');
    assert.equal(text(m.senderId), 'abcdefghij0123456789');
    assert.equal(m.readOnly, false);
    assert.equal(m.version, undefined);
    assert.deepEqual(Object.keys(m.args), ['id']);
    const again = encodeQuery({ transactionId: bytes('aa'), method: 'ping', args: {}, senderId: bytes('abcdefghij0123456789') });
    assert.equal(text(again), PING_QUERY);
  });

  test('ping response', () => {
    const m = decodeKrpc(bytes(PING_RESPONSE)) as KrpcResponse;
    assert.equal(m.kind, 'response');
    assert.equal(text(m.transactionId), 'aa');
    assert.equal(text(m.senderId), 'mnopqrstuvwxyz123456');
    assert.equal(m.ip, undefined);
    const again = encodeResponse({ transactionId: bytes('aa'), values: {}, senderId: bytes('mnopqrstuvwxyz123456') });
    assert.equal(text(again), PING_RESPONSE);
  });

  test('error', () => {
    const vector = 'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee';
    const m = decodeKrpc(bytes(vector)) as KrpcError;
    assert.equal(m.kind, 'error');
    assert.equal(m.code, 201);
    assert.equal(m.message, 'A Generic Error Ocurred');
    const again = encodeError({ transactionId: bytes('aa'), code: KRPC_ERROR.GENERIC, message: 'A Generic Error Ocurred' });
    assert.equal(text(again), vector);
  });

  test('get_peers query', () => {
    const m = decodeKrpc(bytes('d1:ad2:id20:abcdefghij01234567899:info_hash20:mnopqrstuvwxyz123456e1:q9:get_peers1:t2:aa1:y1:qe')) as KrpcQuery;
    assert.equal(m.method, 'get_peers');
    assert.equal(text(m.args.info_hash as Uint8Array), 'mnopqrstuvwxyz123456');
  });
});

describe('extensions', () => {
  test('BEP 43 ro and v round trip', () => {
    const id = new Uint8Array(20).fill(9);
    const data = encodeQuery({ transactionId: bytes('xy'), method: 'find_node', args: { target: id }, senderId: id, readOnly: true, version: bytes('WR01') });
    assert.match(text(data), /2:roi1e/);
    const m = decodeKrpc(data) as KrpcQuery;
    assert.equal(m.readOnly, true);
    assert.equal(text(m.version), 'WR01');
    assert.deepEqual(m.args.target, id);
    assert.equal((decodeKrpc(bytes('d1:ad2:id20:abcdefghij0123456789e1:q4:ping2:roi0e1:t2:aa1:y1:qe')) as KrpcQuery).readOnly, false);
  });

  test('BEP 42 ip round trip', () => {
    const data = encodeResponse({ transactionId: bytes('t1'), values: { token: bytes('tok') }, senderId: new Uint8Array(20), ip: { host: '1.2.3.4', port: 6881 } });
    const m = decodeKrpc(data) as KrpcResponse;
    assert.deepEqual(m.ip, { host: '1.2.3.4', port: 6881 });
    assert.equal(text(m.values.token as Uint8Array), 'tok');
  });

  test('BEP 42 ip of 18 bytes is an IPv6 address (BEP 32), and round trips', () => {
    const ip18 = 'x'.repeat(16) + '\x1a\xe1';
    const m = decodeKrpc(bytes(`d2:ip18:${ip18}1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:y1:re`)) as KrpcResponse;
    assert.deepEqual(m.ip, { host: '7878:7878:7878:7878:7878:7878:7878:7878', port: 6881 });
    const data = encodeResponse({ transactionId: bytes('t1'), values: {}, senderId: new Uint8Array(20), ip: { host: 'fd57::1', port: 51413 } });
    assert.ok(Buffer.from(data).includes(Buffer.from('2:ip18:')), 'an IPv6 ip is sent in 18 bytes');
    assert.deepEqual((decodeKrpc(data) as KrpcResponse).ip, { host: 'fd57::1', port: 51413 });
  });

  test('ip of another length, or not a string, and non-string v are ignored', () => {
    for (const ip of ['0:', '5:xxxxx', '7:xxxxxxx', '17:xxxxxxxxxxxxxxxxx', '19:xxxxxxxxxxxxxxxxxxx', 'i6e', 'l6:xxxxxxe']) {
      const m = decodeKrpc(bytes(`d2:ip${ip}1:rd2:id20:mnopqrstuvwxyz123456e1:t2:aa1:vi1e1:y1:re`)) as KrpcResponse;
      assert.equal(m.kind, 'response', ip);
      assert.equal(m.ip, undefined, ip);
      assert.equal(m.version, undefined);
    }
  });

  test('senderId overrides an id in args', () => {
    const id = new Uint8Array(20).fill(1);
    const m = decodeKrpc(encodeQuery({ transactionId: bytes('a'), method: 'ping', args: { id: bytes('wrong') }, senderId: id })) as KrpcQuery;
    assert.deepEqual(m.senderId, id);
  });

  test('error with code only, and error with non-string message', () => {
    assert.equal((decodeKrpc(bytes('d1:eli203ee1:t2:aa1:y1:ee')) as KrpcError).message, '');
    const m = decodeKrpc(bytes('d1:eli204ei5ee1:t2:aa1:y1:ee')) as KrpcError;
    assert.equal(m.code, 204);
    assert.equal(m.message, '');
  });

  test('UTF-8 error message round trip', () => {
    const m = decodeKrpc(encodeError({ transactionId: bytes('zz'), code: 202, message: 'ошибка' })) as KrpcError;
    assert.equal(m.message, 'ошибка');
  });

  test('encoders reject bad envelopes', () => {
    assert.throws(() => encodeQuery({ transactionId: new Uint8Array(17), method: 'ping', args: {}, senderId: new Uint8Array(20) }), TypeError);
    assert.throws(() => encodeQuery({ transactionId: bytes('aa'), method: 'ping', args: {}, senderId: new Uint8Array(19) }), TypeError);
    assert.throws(() => encodeResponse({ transactionId: bytes('aa'), values: {}, senderId: new Uint8Array(21) }), TypeError);
    assert.throws(() => encodeError({ transactionId: new Uint8Array(17), code: 201, message: '' }), TypeError);
  });
});

describe('malformed messages', () => {
  test('not bencode, or not a dict: no transaction id', () => {
    assertKrpcError('', undefined);
    assertKrpcError('garbage', undefined);
    assertKrpcError(PING_QUERY + 'x', undefined, /trailing/);
    assertKrpcError('li1ee', undefined, /not a dict/);
    assertKrpcError('d1:y1:qe', undefined, /"t"/);
    assertKrpcError('d1:ti1e1:y1:qe', undefined, /"t"/);
    assertKrpcError(`d1:t17:${'a'.repeat(17)}1:y1:qe`, undefined, /longer than 16/);
  });

  test('too large, too deep, too many elements', () => {
    assertKrpcError(`d1:t2:aa1:x2100:${'a'.repeat(2100)}e`, undefined, /limit of 2048/);
    assertKrpcError(`d1:t2:aa1:x${'l'.repeat(9)}${'e'.repeat(9)}e`, undefined, /nesting/);
    assertKrpcError(`d1:t2:aa1:xl${'i1e'.repeat(600)}ee`, undefined, /more than 512/);
  });

  test('bad envelope after a readable t carries the transaction id', () => {
    assertKrpcError('d1:t2:aae', 'aa', /"y"/);
    assertKrpcError('d1:t2:aa1:yi1ee', 'aa', /"y"/);
    assertKrpcError('d1:t2:aa1:y1:ze', 'aa', /unknown message type/);
    assertKrpcError('d1:ad2:id20:abcdefghij0123456789e1:t2:aa1:y1:qe', 'aa', /"q"/);
    assertKrpcError('d1:q4:ping1:t2:aa1:y1:qe', 'aa', /"a"/);
    assertKrpcError('d1:ad2:id19:abcdefghij012345678e1:q4:ping1:t2:aa1:y1:qe', 'aa', /a\.id/);
    assertKrpcError('d1:ade1:q4:ping1:t2:aa1:y1:qe', 'aa', /a\.id/);
    assertKrpcError('d1:ali1ee1:q4:ping1:t2:aa1:y1:qe', 'aa', /"a"/);
    assertKrpcError('d1:t2:aa1:y1:re', 'aa', /"r"/);
    assertKrpcError('d1:rd2:idi5ee1:t2:aa1:y1:re', 'aa', /r\.id/);
    assertKrpcError('d1:e3:bad1:t2:aa1:y1:ee', 'aa', /"e"/);
    assertKrpcError('d1:ele1:t2:aa1:y1:ee', 'aa', /"e"/);
    assertKrpcError('d1:el3:abce1:t2:aa1:y1:ee', 'aa', /e\[0\]/);
    assertKrpcError(`d1:t16:${'t'.repeat(16)}1:y1:xe`, 't'.repeat(16));
    assertKrpcError('d1:t0:1:y1:xe', '');
  });

  test('truncation at every byte of a valid query is rejected', () => {
    const msg = bytes(PING_QUERY);
    for (let i = 0; i < msg.length; i++) assertKrpcError(msg.subarray(0, i), undefined);
  });

  test('10,000 random mutations only throw KrpcDecodeError', () => {
    const rand = mulberry32(42);
    const seeds = [PING_QUERY, PING_RESPONSE, 'd1:eli201e23:A Generic Error Ocurrede1:t2:aa1:y1:ee'].map(bytes);
    const alphabet = bytes('deil:0123456789-qrtyav');
    let decoded = 0;
    for (let i = 0; i < 10000; i++) {
      const data = seeds[i % seeds.length].slice();
      for (let m = 0; m < 1 + Math.floor(rand() * 3); m++) {
        data[Math.floor(rand() * data.length)] = rand() < 0.5 ? alphabet[Math.floor(rand() * alphabet.length)] : Math.floor(rand() * 256);
      }
      try {
        decodeKrpc(data);
        decoded++;
      } catch (err) {
        if (!(err instanceof KrpcDecodeError)) throw err;
      }
    }
    assert.ok(decoded > 0);
  });
});
