import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { bdecode, bencode, bytesToLatin1, latin1ToBytes, type BDict, type BEncodable } from '../../src/codec/bencode.js';
import { encodeCompactNodes, encodeCompactPeer } from '../../src/codec/compact.js';
import {
  parseAnnouncePeerArgs,
  parseFindNodeArgs,
  parseGetArgs,
  parseGetPeersArgs,
  parseGetPeersReply,
  parseGetReply,
  parseNodesReply,
  parsePutArgs,
} from '../../src/codec/dht-messages.js';
import { DecodeError } from '../../src/codec/errors.js';

/** Builds a decoded dict the way it would arrive from the network. */
const dict = (v: { [k: string]: BEncodable | undefined }): BDict => bdecode(bencode(v)) as BDict;
const bytes = (n: number, fill = 1): Uint8Array => new Uint8Array(n).fill(fill);
const ID = bytes(20, 0xaa);

function rejects(fn: () => unknown, field: string): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof DecodeError, `expected DecodeError, got ${String(err)}`);
    assert.ok(err.message.includes(`"${field}"`), `message should name ${field}: ${err.message}`);
    return true;
  });
}

describe('query arguments', () => {
  test('find_node', () => {
    assert.deepEqual(parseFindNodeArgs(dict({ id: ID, target: bytes(20, 2) })), { target: bytes(20, 2) });
    assert.deepEqual(parseFindNodeArgs(dict({ id: ID, target: bytes(20), want: ['n4', 'n6'] })).want, ['n4', 'n6']);
    rejects(() => parseFindNodeArgs(dict({ id: ID })), 'target');
    rejects(() => parseFindNodeArgs(dict({ target: bytes(19) })), 'target');
    rejects(() => parseFindNodeArgs(dict({ target: 5 })), 'target');
    rejects(() => parseFindNodeArgs(dict({ target: bytes(20), want: 'n4' })), 'want');
    rejects(() => parseFindNodeArgs(dict({ target: bytes(20), want: [4] })), 'want');
  });

  test('get_peers', () => {
    assert.deepEqual(parseGetPeersArgs(dict({ info_hash: bytes(20, 3) })), { infoHash: bytes(20, 3) });
    assert.deepEqual(parseGetPeersArgs(dict({ info_hash: bytes(20), noseed: 1, scrape: 0 })), { infoHash: bytes(20), noSeed: true, scrape: false });
    rejects(() => parseGetPeersArgs(dict({})), 'info_hash');
    rejects(() => parseGetPeersArgs(dict({ info_hash: bytes(21) })), 'info_hash');
    rejects(() => parseGetPeersArgs(dict({ info_hash: bytes(20), noseed: 'yes' })), 'noseed');
  });

  test('announce_peer', () => {
    const base = { id: ID, info_hash: bytes(20, 4), token: 'tok' };
    const a = parseAnnouncePeerArgs(dict({ ...base, port: 6881 }));
    assert.deepEqual(a, { infoHash: bytes(20, 4), port: 6881, impliedPort: false, token: latin1ToBytes('tok') });
    assert.equal(parseAnnouncePeerArgs(dict({ ...base, port: 1, seed: 1 })).seed, true);
    const implied = parseAnnouncePeerArgs(dict({ ...base, implied_port: 1 }));
    assert.equal(implied.impliedPort, true);
    assert.equal(implied.port, 0);
    assert.equal(parseAnnouncePeerArgs(dict({ ...base, implied_port: 1, port: 99999 })).port, 0);
    assert.equal(parseAnnouncePeerArgs(dict({ ...base, implied_port: 1, port: 55 })).port, 55);
    assert.equal(parseAnnouncePeerArgs(dict({ ...base, implied_port: 0, port: 55 })).impliedPort, false);
    rejects(() => parseAnnouncePeerArgs(dict(base)), 'port');
    rejects(() => parseAnnouncePeerArgs(dict({ ...base, port: 0 })), 'port');
    rejects(() => parseAnnouncePeerArgs(dict({ ...base, port: 65536 })), 'port');
    rejects(() => parseAnnouncePeerArgs(dict({ ...base, port: -1 })), 'port');
    rejects(() => parseAnnouncePeerArgs(dict({ ...base, port: '6881' })), 'port');
    rejects(() => parseAnnouncePeerArgs(dict({ info_hash: bytes(20), port: 1 })), 'token');
    rejects(() => parseAnnouncePeerArgs(dict({ info_hash: bytes(20), port: 1, token: 7 })), 'token');
    rejects(() => parseAnnouncePeerArgs(dict({ token: 't', port: 1 })), 'info_hash');
    rejects(() => parseAnnouncePeerArgs(dict({ ...base, implied_port: 'x' })), 'implied_port');
  });

  test('BEP 32 want in find_node, get_peers and get: a short list of byte strings, unknown entries kept', () => {
    const want = ['n4', 'n6'];
    assert.deepEqual(parseGetPeersArgs(dict({ info_hash: bytes(20), want })).want, want);
    assert.deepEqual(parseGetArgs(dict({ target: bytes(20), want: ['n6'] })).want, ['n6']);
    assert.deepEqual(parseFindNodeArgs(dict({ target: bytes(20), want: ['n6', 'x9', ''] })).want, ['n6', 'x9', '']);
    assert.deepEqual(parseFindNodeArgs(dict({ target: bytes(20), want: [] })).want, []);
    for (const parse of [
      (a: BDict) => parseFindNodeArgs({ target: bytes(20), ...a }),
      (a: BDict) => parseGetPeersArgs({ info_hash: bytes(20), ...a }),
      (a: BDict) => parseGetArgs({ target: bytes(20), ...a }),
    ]) {
      rejects(() => parse(dict({ want: 'n6' })), 'want');
      rejects(() => parse(dict({ want: { n6: 1 } })), 'want');
      rejects(() => parse(dict({ want: ['n4', 6] })), 'want');
      rejects(() => parse(dict({ want: [['n6']] })), 'want');
      rejects(() => parse(dict({ want: Array.from({ length: 9 }, () => 'n4') })), 'want');
      assert.equal(parse(dict({ want: Array.from({ length: 8 }, () => 'n4') })).want?.length, 8);
    }
  });

  test('get', () => {
    assert.deepEqual(parseGetArgs(dict({ target: bytes(20) })), { target: bytes(20) });
    assert.deepEqual(parseGetArgs(dict({ target: bytes(20), seq: 0 })), { target: bytes(20), seq: 0 });
    rejects(() => parseGetArgs(dict({ target: bytes(20), seq: -1 })), 'seq');
    rejects(() => parseGetArgs(dict({ target: bytes(20), seq: 'x' })), 'seq');
    rejects(() => parseGetArgs(dict({ target: bytes(32) })), 'target');
  });
});

describe('put arguments (BEP 44)', () => {
  test('immutable put', () => {
    const p = parsePutArgs(dict({ token: 'tk', v: 'Hello World!' }));
    assert.equal(bytesToLatin1(p.vEncoded), '12:Hello World!');
    assert.equal(bytesToLatin1(p.v as Uint8Array), 'Hello World!');
    assert.equal(p.k, undefined);
    for (const extra of [{ salt: 's' }, { seq: 1 }, { sig: bytes(64) }, { cas: 1 }]) {
      rejects(() => parsePutArgs(dict({ token: 'tk', v: 1, ...extra })), Object.keys(extra)[0]);
    }
  });

  test('mutable put', () => {
    const p = parsePutArgs(dict({ token: 'tk', v: { a: [1, 'b'] }, k: bytes(32, 5), sig: bytes(64, 6), seq: 4, salt: 'foobar', cas: 3 }));
    assert.deepEqual(p.k, bytes(32, 5));
    assert.deepEqual(p.sig, bytes(64, 6));
    assert.equal(p.seq, 4);
    assert.equal(p.cas, 3);
    assert.equal(bytesToLatin1(p.salt as Uint8Array), 'foobar');
    assert.equal(bytesToLatin1(p.vEncoded), 'd1:ali1e1:bee');
    const mut = { token: 'tk', v: 1, k: bytes(32), sig: bytes(64), seq: 0 };
    assert.equal(parsePutArgs(dict(mut)).seq, 0);
    rejects(() => parsePutArgs(dict({ ...mut, sig: undefined })), 'sig');
    rejects(() => parsePutArgs(dict({ ...mut, seq: undefined })), 'seq');
    rejects(() => parsePutArgs(dict({ ...mut, seq: -1 })), 'seq');
    rejects(() => parsePutArgs(dict({ ...mut, cas: -1 })), 'cas');
    rejects(() => parsePutArgs(dict({ ...mut, k: bytes(31) })), 'k');
    rejects(() => parsePutArgs(dict({ ...mut, sig: bytes(63) })), 'sig');
    // Over-long salt parses: the storing node answers it with BEP 44 error 207.
    assert.equal(parsePutArgs(dict({ ...mut, salt: bytes(65) })).salt?.length, 65);
    assert.equal(parsePutArgs(dict({ ...mut, salt: bytes(64) })).salt?.length, 64);
  });

  test('value size is left to the storing node (error 205), vEncoded is exact', () => {
    assert.equal(parsePutArgs(dict({ token: 't', v: bytes(995) })).vEncoded.length, 999);
    assert.equal(parsePutArgs(dict({ token: 't', v: bytes(997) })).vEncoded.length, 1001);
    rejects(() => parsePutArgs(dict({ token: 't' })), 'v');
    rejects(() => parsePutArgs(dict({ v: 1 })), 'token');
  });
});

describe('replies', () => {
  const nodes = [
    { id: bytes(20, 1), address: { host: '10.0.0.1', port: 1 } },
    { id: bytes(20, 2), address: { host: '10.0.0.2', port: 2 } },
  ];

  const nodes6 = [
    { id: bytes(20, 3), address: { host: 'fd57::1', port: 6881 } },
    { id: bytes(20, 4), address: { host: '2001:db8::8:800:200c:417a', port: 65535 } },
  ];

  test('nodes', () => {
    assert.deepEqual(parseNodesReply(dict({ id: ID })), { nodes: [], nodes6: [] });
    assert.deepEqual(parseNodesReply(dict({ id: ID, nodes: encodeCompactNodes(nodes) })), { nodes, nodes6: [] });
    rejects(() => parseNodesReply(dict({ nodes: bytes(27) })), 'nodes');
    rejects(() => parseNodesReply(dict({ nodes: [1] })), 'nodes');
  });

  test('nodes6 (BEP 32): 38-byte entries beside nodes; truncated, oversized and mistyped ones rejected', () => {
    const both = parseNodesReply(dict({ id: ID, nodes: encodeCompactNodes(nodes), nodes6: encodeCompactNodes(nodes6, 6) }));
    assert.deepEqual(both, { nodes, nodes6 });
    assert.deepEqual(parseNodesReply(dict({ id: ID, nodes6: new Uint8Array(0) })), { nodes: [], nodes6: [] });
    const encoded = encodeCompactNodes(nodes6, 6);
    for (const cut of [1, 20, 37, 39, 75]) rejects(() => parseNodesReply(dict({ nodes6: encoded.subarray(0, cut) })), 'nodes6');
    rejects(() => parseNodesReply(dict({ nodes6: Uint8Array.from([...encoded, 0]) })), 'nodes6');
    // IPv4 entries in nodes6 (26 bytes each) are the wrong length, and the other way round.
    rejects(() => parseNodesReply(dict({ nodes6: encodeCompactNodes(nodes) })), 'nodes6');
    rejects(() => parseNodesReply(dict({ nodes: encoded })), 'nodes');
    rejects(() => parseNodesReply(dict({ nodes6: [encoded] })), 'nodes6');
    rejects(() => parseNodesReply(dict({ nodes6: 38 })), 'nodes6');
    // An entry with port 0 is unreachable and skipped.
    const zero = encodeCompactNodes([{ id: bytes(20, 9), address: { host: 'fd57::9', port: 0 } }], 6);
    assert.deepEqual(parseNodesReply(dict({ nodes6: zero })).nodes6, []);
    // A large, well-formed nodes6 (as many as fit in a datagram) parses without trouble.
    const many = Array.from({ length: 50 }, (_, i) => ({ id: bytes(20, i), address: { host: `fd57::${i + 1}`, port: 1000 + i } }));
    assert.equal(parseNodesReply(dict({ nodes6: encodeCompactNodes(many, 6) })).nodes6.length, 50);
    assert.deepEqual(parseGetReply(dict({ id: ID, nodes6: encoded })).nodes6, nodes6);
    assert.deepEqual(parseGetPeersReply(dict({ id: ID, nodes6: encoded })).nodes6, nodes6);
  });

  test('get_peers', () => {
    const peer = { host: '1.2.3.4', port: 6881 };
    const r = parseGetPeersReply(dict({
      id: ID,
      token: 'tok',
      values: [encodeCompactPeer(peer), bytes(17), bytes(7), 5, encodeCompactPeer({ host: '5.6.7.8', port: 0 }), encodeCompactPeer({ host: '9.9.9.9', port: 9 })],
    }));
    assert.equal(bytesToLatin1(r.token as Uint8Array), 'tok');
    assert.deepEqual(r.peers, [peer, { host: '9.9.9.9', port: 9 }]);
    assert.deepEqual(r.nodes, []);
    const withNodes = parseGetPeersReply(dict({ id: ID, nodes: encodeCompactNodes(nodes) }));
    assert.deepEqual(withNodes, { nodes, nodes6: [], peers: [] });
    rejects(() => parseGetPeersReply(dict({ values: 'x' })), 'values');
    rejects(() => parseGetPeersReply(dict({ token: 1 })), 'token');
  });

  test('get_peers values of 18 bytes are IPv6 peers (BEP 32); other lengths and port 0 skipped', () => {
    const v6 = { host: 'fd57::2', port: 51413 };
    const mapped = { host: '::ffff:1.2.3.4', port: 80 };
    const r = parseGetPeersReply(dict({
      id: ID,
      values: [
        encodeCompactPeer(v6),
        encodeCompactPeer({ host: '1.2.3.4', port: 1 }),
        encodeCompactPeer({ host: 'fd57::3', port: 0 }),
        encodeCompactPeer(v6).subarray(0, 17),
        Uint8Array.from([...encodeCompactPeer(v6), 0]),
        encodeCompactPeer(mapped),
        [encodeCompactPeer(v6)],
      ],
    }));
    assert.deepEqual(r.peers, [v6, { host: '1.2.3.4', port: 1 }, mapped]);
  });

  test('get: immutable, mutable, seq-only', () => {
    const imm = parseGetReply(dict({ id: ID, token: 't', v: 'hi' }));
    assert.equal(bytesToLatin1(imm.vEncoded as Uint8Array), '2:hi');
    assert.equal(imm.k, undefined);
    const mut = parseGetReply(dict({ id: ID, token: 't', v: 'hi', k: bytes(32), sig: bytes(64), seq: 9, nodes: encodeCompactNodes(nodes) }));
    assert.equal(mut.seq, 9);
    assert.deepEqual(mut.k, bytes(32));
    assert.deepEqual(mut.sig, bytes(64));
    assert.deepEqual(mut.nodes, nodes);
    assert.equal(parseGetReply(dict({ id: ID, seq: 3 })).seq, 3);
    rejects(() => parseGetReply(dict({ v: 'hi', k: bytes(32), seq: 1 })), 'sig');
    rejects(() => parseGetReply(dict({ v: 'hi', k: bytes(32), sig: bytes(64) })), 'seq');
    rejects(() => parseGetReply(dict({ k: bytes(32), sig: bytes(64), seq: 1 })), 'v');
    rejects(() => parseGetReply(dict({ v: 'hi', sig: bytes(64) })), 'sig');
    rejects(() => parseGetReply(dict({ v: bytes(2000) })), 'v');
    rejects(() => parseGetReply(dict({ seq: -2 })), 'seq');
  });
});
