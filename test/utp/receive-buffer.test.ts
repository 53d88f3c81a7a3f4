/**
 * The receiving side of a uTP sequence: in-order delivery, packets kept past a gap, the selective
 * ack that names them, the FIN, and the limits on what is kept.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { UTP_DATA, UTP_FIN, type UtpPacket } from '../../src/codec/utp.js';
import { RECEIVE_WINDOW, UtpReceiveBuffer } from '../../src/utp/receive-buffer.js';

function data(seq: number, bytes = 100, type: typeof UTP_DATA | typeof UTP_FIN = UTP_DATA): UtpPacket {
  return { type, connectionId: 1, timestamp: 0, timestampDiff: 0, windowSize: 0, seq: seq & 0xffff, ack: 0, payload: new Uint8Array(type === UTP_FIN ? 0 : bytes) };
}

const seqs = (arrival: ReturnType<UtpReceiveBuffer['accept']>): number[] | string => (Array.isArray(arrival) ? arrival.map((p) => p.seq) : arrival);

describe('UtpReceiveBuffer', () => {
  test('the next packet is delivered at once; old ones are duplicates', () => {
    const buffer = new UtpReceiveBuffer(10);
    assert.deepEqual(seqs(buffer.accept(data(11))), [11]);
    assert.equal(buffer.ack, 11);
    assert.equal(buffer.accept(data(11)), 'duplicate');
    assert.equal(buffer.accept(data(5)), 'duplicate');
    assert.equal(buffer.selectiveAck(), undefined);
    assert.equal(buffer.window, RECEIVE_WINDOW);
  });

  test('packets past a gap wait, are named in the selective ack, and go out in order when it fills', () => {
    const buffer = new UtpReceiveBuffer(100);
    assert.equal(buffer.accept(data(103)), 'ahead');
    assert.equal(buffer.accept(data(102)), 'ahead');
    assert.equal(buffer.accept(data(110)), 'ahead');
    assert.equal(buffer.window, RECEIVE_WINDOW - 300, 'what waits shrinks the window');
    // Bit 0 stands for ack + 2 = 102: bits 0, 1 (102, 103) and 8 (110).
    assert.deepEqual([...buffer.selectiveAck()!], [0b11, 0b1, 0, 0]);
    assert.deepEqual(seqs(buffer.accept(data(101))), [101, 102, 103]);
    assert.equal(buffer.ack, 103);
    assert.deepEqual([...buffer.selectiveAck()!], [0b100000, 0, 0, 0], '110 is ack + 7: bit 5');
    assert.equal(buffer.window, RECEIVE_WINDOW - 100);
  });

  test('sequence numbers wrap past 0xffff', () => {
    const buffer = new UtpReceiveBuffer(0xfffe);
    assert.equal(buffer.accept(data(0)), 'ahead');
    assert.deepEqual(seqs(buffer.accept(data(0xffff))), [0xffff, 0]);
    assert.equal(buffer.ack, 0);
    assert.equal(buffer.accept(data(0xfffd)), 'duplicate');
  });

  test('the FIN ends the stream after what came before it; nothing is taken after', () => {
    const buffer = new UtpReceiveBuffer(1);
    assert.equal(buffer.accept(data(4, 0, UTP_FIN)), 'ahead');
    assert.equal(buffer.accept(data(3)), 'ahead');
    assert.deepEqual(seqs(buffer.accept(data(2))), [2, 3, 4]);
    assert.equal(buffer.ended, true);
    assert.equal(buffer.accept(data(5)), 'duplicate');
    assert.equal(buffer.window, RECEIVE_WINDOW);
  });

  test('a packet too far ahead, or bytes past the window, are not kept', () => {
    const buffer = new UtpReceiveBuffer(0);
    assert.equal(buffer.accept(data(5000)), 'ahead');
    assert.equal(buffer.window, RECEIVE_WINDOW, 'a packet 5000 ahead is dropped');
    // 60 KB packets: 17 fill the window; the rest are dropped.
    for (let seq = 2; seq < 40; seq++) buffer.accept(data(seq, 60_000));
    assert.ok(buffer.window >= 0 && buffer.window < 60_000, `window ${buffer.window}`);
    const delivered = buffer.accept(data(1, 60_000));
    assert.ok(Array.isArray(delivered));
    assert.equal(delivered.length, 1 + Math.floor(RECEIVE_WINDOW / 60_000), 'the kept ones follow the gap; the gap after them stays');
  });
});
