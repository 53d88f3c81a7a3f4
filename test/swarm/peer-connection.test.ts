import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { encodeMessage, makeReserved, type PeerMessage } from '../../src/codec/peer-wire.js';
import type { TcpConnection } from '../../src/runtime/interfaces.js';
import { PeerConnection } from '../../src/swarm/peer-connection.js';

/** A connection that records batches and lets the test say when the runtime is done with each. */
function fakeConnection() {
  const batches: { chunks: readonly Uint8Array[]; done?: () => void }[] = [];
  const conn: TcpConnection = {
    local: { host: '127.0.0.1', port: 1 },
    remote: { host: '127.0.0.1', port: 2 },
    write: () => undefined,
    writev: (chunks, done) => void batches.push({ chunks, done }),
    onData: () => undefined,
    onClose: () => undefined,
    close: () => undefined,
  };
  return { conn, batches };
}

function open(conn: TcpConnection): PeerConnection {
  const remote = { infoHash: new Uint8Array(20), peerId: new Uint8Array(20), reserved: makeReserved({}) };
  return new PeerConnection(conn, { now: () => 0, setTimer: () => ({ cancel: () => undefined }) }, remote, true, { chunks: [] });
}

describe('PeerConnection.sendPiece', () => {
  test("a block's owner is released once the runtime is done with its batch, not before", async () => {
    const { conn, batches } = fakeConnection();
    const pc = open(conn);
    let released = 0;
    const owner = { release: () => void released++ };
    pc.sendPiece(0, 0, new Uint8Array(16), owner);
    pc.sendPiece(0, 16, new Uint8Array(16), owner);
    await Promise.resolve();
    assert.equal(batches.length, 1);
    assert.equal(batches[0]!.chunks.length, 4, 'two headers and two blocks, one batch');
    assert.equal(released, 0);
    batches[0]!.done!();
    assert.equal(released, 2);
    pc.close('test');
  });

  test('on a closed connection the owner is released at once, queued blocks too', async () => {
    const { conn, batches } = fakeConnection();
    const pc = open(conn);
    let released = 0;
    const owner = { release: () => void released++ };
    pc.sendPiece(0, 0, new Uint8Array(16), owner);
    pc.close('test'); // flushes the queued block first
    assert.equal(batches.length, 1);
    batches[0]!.done!();
    assert.equal(released, 1);
    pc.sendPiece(0, 16, new Uint8Array(16), owner);
    assert.equal(released, 2);
    await Promise.resolve();
    assert.equal(batches.length, 1);
  });
});

describe('PeerConnection: messages received before the torrent attaches', () => {
  test('on a transient connection they are copies, so a reused read buffer does not change them', () => {
    let deliver: ((data: Uint8Array) => void) | undefined;
    const { conn } = fakeConnection();
    conn.onTransientData = (handler) => void (deliver = handler);
    const pc = open(conn);
    const root = new Uint8Array(32).fill(7);
    const hashes = new Uint8Array(64).fill(9);
    const buffer = new Uint8Array(4096);
    const wire = [
      encodeMessage({ type: 'hash-request', piecesRoot: root, baseLayer: 2, index: 0, length: 2, proofLayers: 1 }),
      encodeMessage({ type: 'hashes', piecesRoot: root, baseLayer: 2, index: 0, length: 2, proofLayers: 0, hashes }),
      encodeMessage({ type: 'bitfield', bitfield: Uint8Array.of(0xf0) }),
    ];
    let at = 0;
    for (const bytes of wire) {
      buffer.set(bytes, at);
      at += bytes.length;
    }
    deliver!(buffer.subarray(0, at));
    buffer.fill(0); // the runtime reuses its read buffer
    const got: PeerMessage[] = [];
    pc.attach({ onMessage: (m) => got.push(m), onClose: () => undefined });
    assert.deepEqual(got.map((m) => m.type), ['hash-request', 'hashes', 'bitfield']);
    const [request, answer, bitfield] = got as [PeerMessage & { piecesRoot: Uint8Array }, PeerMessage & { piecesRoot: Uint8Array; hashes: Uint8Array }, PeerMessage & { bitfield: Uint8Array }];
    assert.deepEqual(request.piecesRoot, root);
    assert.deepEqual(answer.piecesRoot, root);
    assert.deepEqual(answer.hashes, hashes);
    assert.deepEqual(bitfield.bitfield, Uint8Array.of(0xf0));
    pc.close('test');
  });
});
