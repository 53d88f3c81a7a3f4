/**
 * uTP connections on the simulated network: transfers that must arrive whole and in order through
 * loss, reordering and duplication, connection setup and teardown, and refusal of what is not uTP.
 * Sockets can be tapped (a wrapper around the host's UDP socket) to duplicate or drop datagrams,
 * read the connection ids off the wire, and forge packets from a peer's own address: garbage,
 * RESETs, acks of packets never sent. Time is virtual throughout (idle limits, dead peers).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeUtpPacket, encodeUtpPacket, UTP_DATA, UTP_FIN, UTP_RESET, UTP_STATE, UTP_SYN, type UtpPacket } from '../../src/codec/utp.js';
import { deriveSeed, Mulberry32 } from '../../src/runtime/prng.js';
import { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import type { Endpoint, Runtime, TcpConnection, UdpSocket } from '../../src/runtime/interfaces.js';
import { UtpError } from '../../src/utp/errors.js';
import type { UtpConnection } from '../../src/utp/utp-connection.js';
import { UtpSocket, type UtpSocketOptions } from '../../src/utp/utp-socket.js';

function pattern(length: number, seed: number): Uint8Array {
  const prng = new Mulberry32(seed);
  return prng.bytes(length);
}

/** Collects what a connection receives, and its end. */
function collect(conn: TcpConnection) {
  const chunks: Uint8Array[] = [];
  const state = { bytes: 0, closed: false, error: undefined as Error | undefined };
  conn.onData((data) => {
    chunks.push(Uint8Array.from(data));
    state.bytes += data.length;
  });
  conn.onClose((error) => {
    state.closed = true;
    state.error = error;
  });
  return { state, data: () => Buffer.concat(chunks) };
}

async function pair(net: VirtualNetwork, runtimes: { a?: Runtime; b?: Runtime; bOptions?: UtpSocketOptions } = {}) {
  const a = await UtpSocket.bind(runtimes.a ?? net.runtime('10.0.0.1'), { host: '10.0.0.1', port: 6881 });
  const b = await UtpSocket.bind(runtimes.b ?? net.runtime('10.0.0.2'), { host: '10.0.0.2', port: 6881 }, runtimes.bOptions);
  const accepted: TcpConnection[] = [];
  b.onConnection((conn) => accepted.push(conn));
  // Under heavy loss all three SYNs (or their answers) may be lost: dial again, as a caller would.
  let dialled: TcpConnection | undefined;
  for (let attempt = 0; !dialled && attempt < 5; attempt++) {
    dialled = await net.clock.run(a.connect({ host: '10.0.0.2', port: 6881 })).catch(() => undefined);
  }
  assert.ok(dialled, 'could not connect');
  await net.clock.runUntil(() => accepted.length > 0, 5000);
  return { a, b, dialled, accepted: accepted[accepted.length - 1] };
}

describe('uTP on the simulated network', () => {
  test('a connection carries bytes both ways, whole and in order', async () => {
    const net = new VirtualNetwork({ seed: 1 });
    const { dialled, accepted } = await pair(net);
    const toB = pattern(300_000, 1);
    const toA = pattern(100_000, 2);
    const atB = collect(accepted);
    const atA = collect(dialled);
    dialled.write(toB.subarray(0, 1000));
    dialled.writev([toB.subarray(1000, 150_000), toB.subarray(150_000)]);
    accepted.write(toA);
    await net.clock.runUntil(() => atB.state.bytes === toB.length && atA.state.bytes === toA.length, 60_000);
    assert.deepEqual(atB.data(), Buffer.from(toB));
    assert.deepEqual(atA.data(), Buffer.from(toA));
  });

  for (const lossRate of [0.05, 0.2]) {
    test(`2 MB arrive intact through ${lossRate * 100}% loss and reordering`, async () => {
      const jitter = new Mulberry32(9);
      const net = new VirtualNetwork({ seed: 3, lossRate, latency: () => 5 + jitter.next() * 20 });
      const { dialled, accepted } = await pair(net);
      const payload = pattern(2_000_000, 3);
      const atB = collect(accepted);
      dialled.write(payload);
      const ok = await net.clock.runUntil(() => atB.state.bytes === payload.length, 600_000);
      assert.ok(ok, `only ${atB.state.bytes} of ${payload.length} bytes arrived`);
      assert.deepEqual(atB.data(), Buffer.from(payload));
    });
  }

  test('close sends FIN: the peer sees the end after all the data, and its own FIN is acked', async () => {
    const net = new VirtualNetwork({ seed: 4 });
    const { a, b, dialled, accepted } = await pair(net);
    const atB = collect(accepted);
    const atA = collect(dialled);
    const payload = pattern(50_000, 4);
    dialled.write(payload);
    dialled.close();
    await net.clock.runUntil(() => atB.state.closed && atA.state.closed, 30_000);
    assert.equal(atB.state.bytes, payload.length);
    assert.equal(atB.state.error, undefined);
    assert.equal(atA.state.error, undefined);
    await net.clock.advance(1000);
    assert.equal(a.connectionCount, 0);
    assert.equal(b.connectionCount, 0);
    // A's FIN was acked first; it stayed to ack B's FIN rather than answer it with RESET.
    assert.equal(a.stats.unknown + b.stats.unknown, 0, 'no packet met a forgotten connection');
  });

  test('connecting to a port nobody listens on fails with ETIMEDOUT', async () => {
    const net = new VirtualNetwork({ seed: 5 });
    const a = await UtpSocket.bind(net.runtime('10.0.0.1'), { host: '10.0.0.1', port: 6881 });
    await assert.rejects(net.clock.run(a.connect({ host: '10.0.0.9', port: 6881 })), (error: Error & { code?: string }) => error.code === 'ETIMEDOUT');
    assert.equal(a.connectionCount, 0);
  });

  test('a socket without a handler refuses with RESET: connect fails with ECONNRESET', async () => {
    const net = new VirtualNetwork({ seed: 6 });
    const a = await UtpSocket.bind(net.runtime('10.0.0.1'), { host: '10.0.0.1', port: 6881 });
    const b = await UtpSocket.bind(net.runtime('10.0.0.2'), { host: '10.0.0.2', port: 6881 });
    await assert.rejects(net.clock.run(a.connect({ host: '10.0.0.2', port: 6881 })), (error: Error & { code?: string }) => error.code === 'ECONNRESET');
    assert.equal(b.stats.refused, 1);
  });
});

// ---- tools for the tests below ----

const A_HOST = '10.0.0.1';
const B_HOST = '10.0.0.2';
const C_HOST = '10.0.0.3';
const B_END: Endpoint = { host: B_HOST, port: 6881 };
const A_END: Endpoint = { host: A_HOST, port: 6881 };

/** One datagram a tap saw, with the other end. */
interface Seen {
  data: Uint8Array;
  peer: Endpoint;
}

/**
 * A UDP socket wrapped for tests: records what its owner sends and receives, can send every
 * datagram twice or drop chosen ones, runs a hook after each send, and keeps the raw socket
 * underneath, which sends from the same address (to forge packets "from" the owner).
 */
class Tap {
  readonly sent: Seen[] = [];
  readonly received: Seen[] = [];
  duplicate = false;
  /** Datagrams for which this returns true are recorded but not sent (lost). */
  drop: ((data: Uint8Array, to: Endpoint) => boolean) | undefined;
  afterSend: ((data: Uint8Array, to: Endpoint) => void) | undefined;
  readonly socket: UdpSocket;

  constructor(readonly raw: UdpSocket) {
    this.socket = {
      local: raw.local,
      send: (data, to) => {
        this.sent.push({ data: Uint8Array.from(data), peer: to });
        if (this.drop?.(data, to)) return;
        raw.send(data, to);
        if (this.duplicate) raw.send(data, to);
        this.afterSend?.(data, to);
      },
      onMessage: (handler) =>
        raw.onMessage((data, from) => {
          this.received.push({ data: Uint8Array.from(data), peer: from });
          handler(data, from);
        }),
      close: () => raw.close(),
    };
  }

  /** The uTP packets among what was sent or received. */
  packets(which: 'sent' | 'received'): UtpPacket[] {
    const out: UtpPacket[] = [];
    for (const { data } of this[which]) {
      try {
        out.push(decodeUtpPacket(data));
      } catch {
        // not uTP
      }
    }
    return out;
  }
}

/** A runtime whose UDP sockets are tapped (`setup` runs on each tap); taps in bind order. */
function tapped(runtime: Runtime, setup: (tap: Tap) => void = () => undefined): { runtime: Runtime; taps: Tap[] } {
  const taps: Tap[] = [];
  return {
    taps,
    runtime: {
      ...runtime,
      udp: async (bind) => {
        const tap = new Tap(await runtime.udp(bind));
        setup(tap);
        taps.push(tap);
        return tap.socket;
      },
    },
  };
}

/** A packet with harmless defaults for the fields not given. */
function forge(fields: Partial<UtpPacket> & Pick<UtpPacket, 'type' | 'connectionId'>): Uint8Array {
  return encodeUtpPacket({ timestamp: 0, timestampDiff: 0, windowSize: 1024 * 1024, seq: 0, ack: 0, payload: new Uint8Array(0), ...fields });
}

/** A raw UDP socket on another host, and what it receives. */
async function rawSocket(net: VirtualNetwork, host = C_HOST) {
  const socket = await net.clock.run(net.runtime(host).udp({ host, port: 4000 }));
  const got: UtpPacket[] = [];
  socket.onMessage((data) => got.push(decodeUtpPacket(data)));
  return { socket, got };
}

const hasCode = (code: string) => (error: unknown) => error instanceof UtpError && error.code === code;

function withByte(data: Uint8Array, index: number, value: number): Uint8Array {
  const copy = Uint8Array.from(data);
  copy[index] = value;
  return copy;
}

/** The connection ids of the dialled side, read from the SYN B received: it receives on the SYN's id, sends on the next. */
function dialledIds(tapB: Tap): { recvId: number; sendId: number; synSeq: number } {
  const syn = tapB.packets('received').find((p) => p.type === UTP_SYN);
  assert.ok(syn, 'B saw no SYN');
  return { recvId: syn.connectionId, sendId: (syn.connectionId + 1) & 0xffff, synSeq: syn.seq };
}

/** Sends `bytes` each way and checks they arrive whole. */
async function assertCarries(net: VirtualNetwork, x: TcpConnection, y: TcpConnection, bytes = 20_000, seed = 99): Promise<void> {
  const atY = collect(y);
  const atX = collect(x);
  const toY = pattern(bytes, seed);
  const toX = pattern(bytes, seed + 1);
  x.write(toY);
  y.write(toX);
  const ok = await net.clock.runUntil(() => atY.state.bytes >= bytes && atX.state.bytes >= bytes, 30_000);
  assert.ok(ok, `only ${atY.state.bytes} and ${atX.state.bytes} of ${bytes} bytes arrived`);
  assert.deepEqual(atY.data(), Buffer.from(toY));
  assert.deepEqual(atX.data(), Buffer.from(toX));
  assert.equal(atX.state.closed || atY.state.closed, false);
}

describe('uTP against duplication and hostile datagrams', () => {
  test('every datagram sent twice (and reordered): 500 KB arrive exactly once and in order', async () => {
    const jitter = new Mulberry32(17);
    const net = new VirtualNetwork({ seed: 17, latency: () => 5 + jitter.next() * 20 });
    const ta = tapped(net.runtime(A_HOST), (tap) => (tap.duplicate = true));
    const tb = tapped(net.runtime(B_HOST), (tap) => (tap.duplicate = true));
    const { dialled, accepted } = await pair(net, { a: ta.runtime, b: tb.runtime });
    const toB = pattern(500_000, 17);
    const toA = pattern(120_000, 18);
    const atB = collect(accepted);
    const atA = collect(dialled);
    dialled.writev([toB.subarray(0, 123_457), toB.subarray(123_457)]);
    accepted.write(toA);
    const ok = await net.clock.runUntil(() => atB.state.bytes >= toB.length && atA.state.bytes >= toA.length, 120_000);
    assert.ok(ok, `only ${atB.state.bytes} and ${atA.state.bytes} bytes arrived`);
    await net.clock.advance(10_000);
    assert.equal(atB.state.bytes, toB.length, 'no byte arrives twice');
    assert.equal(atA.state.bytes, toA.length, 'no byte arrives twice');
    assert.deepEqual(atB.data(), Buffer.from(toB));
    assert.deepEqual(atA.data(), Buffer.from(toA));
    // Every datagram really went twice.
    const written = ta.taps[0].sent.length + tb.taps[0].sent.length;
    assert.ok(written > 300);
    assert.equal(net.stats.datagramsSent, 2 * written);
    // And the connection still closes cleanly.
    dialled.close();
    await net.clock.runUntil(() => atA.state.closed && atB.state.closed, 30_000);
    assert.equal(atA.state.error, undefined);
    assert.equal(atB.state.error, undefined);
  });

  test('garbage, short and wrong-version datagrams are counted as malformed, answered with nothing, and change nothing', async () => {
    const net = new VirtualNetwork({ seed: 31 });
    const tb = tapped(net.runtime(B_HOST));
    const { a, b, dialled, accepted } = await pair(net, { b: tb.runtime });
    const raw = await rawSocket(net);
    const valid = forge({ type: UTP_DATA, connectionId: 7, seq: 1, ack: 1, payload: new Uint8Array(10) });
    const garbage = new Mulberry32(31).bytes(200);
    garbage[0] = 0x40; // version 0
    const hostile: Uint8Array[] = [
      new Uint8Array(0),
      new Uint8Array([0x41]),
      valid.subarray(0, 19), // a byte short of a header
      new Uint8Array(64).fill(0xff), // version 15, type 15
      garbage,
      withByte(valid, 0, (UTP_DATA << 4) | 2), // version 2
      withByte(valid, 0, (UTP_STATE << 4) | 0), // version 0
      withByte(valid, 0, (5 << 4) | 1), // type 5
      withByte(valid, 0, (15 << 4) | 1), // type 15
      Uint8Array.from([...valid.subarray(0, 20), 0, 200, 1, 2, 3].map((x, i) => (i === 1 ? 2 : x))), // an extension longer than the datagram
      withByte(valid.subarray(0, 21), 1, 1), // an extension header cut short
    ];
    for (const datagram of hostile) {
      raw.socket.send(datagram, A_END); // from a stranger
      raw.socket.send(datagram, B_END);
      tb.taps[0].raw.send(datagram, A_END); // from the peer's own address
    }
    await net.clock.advance(1000);
    assert.equal(a.stats.malformed, 2 * hostile.length);
    assert.equal(b.stats.malformed, hostile.length);
    assert.deepEqual([a.stats.unknown, a.stats.refused, b.stats.unknown, b.stats.refused], [0, 0, 0, 0]);
    assert.equal(raw.got.length, 0, 'nothing is answered');
    assert.equal(a.connectionCount, 1);
    await assertCarries(net, dialled, accepted, 100_000);
  });

  test('DATA, STATE or FIN for no connection are answered with RESET; a RESET for no connection is not', async () => {
    const net = new VirtualNetwork({ seed: 32 });
    const a = await net.clock.run(UtpSocket.bind(net.runtime(A_HOST), A_END));
    a.onConnection(() => undefined);
    const raw = await rawSocket(net);
    raw.socket.send(forge({ type: UTP_DATA, connectionId: 0x1234, seq: 77, ack: 5, payload: new Uint8Array([1, 2, 3]) }), A_END);
    await net.clock.advance(100);
    assert.equal(raw.got.length, 1);
    assert.equal(raw.got[0].type, UTP_RESET);
    assert.equal(raw.got[0].connectionId, 0x1234);
    assert.equal(raw.got[0].ack, 77);
    raw.socket.send(forge({ type: UTP_STATE, connectionId: 0xffff, seq: 9, ack: 8 }), A_END);
    raw.socket.send(forge({ type: UTP_FIN, connectionId: 0, seq: 3, ack: 8 }), A_END);
    await net.clock.advance(100);
    assert.deepEqual(
      raw.got.map((p) => [p.type, p.connectionId]),
      [
        [UTP_RESET, 0x1234],
        [UTP_RESET, 0xffff],
        [UTP_RESET, 0],
      ],
    );
    raw.socket.send(forge({ type: UTP_RESET, connectionId: 0x4321, seq: 1, ack: 1 }), A_END);
    await net.clock.advance(1000);
    assert.equal(raw.got.length, 3, 'a RESET is never answered');
    assert.equal(a.stats.unknown, 4);
    assert.equal(a.connectionCount, 0);
  });

  test("a stranger using an open connection's ids is answered as unknown and cannot reset it", async () => {
    const net = new VirtualNetwork({ seed: 33 });
    const tb = tapped(net.runtime(B_HOST));
    const { a, dialled, accepted } = await pair(net, { b: tb.runtime });
    const ids = dialledIds(tb.taps[0]);
    const raw = await rawSocket(net);
    const atA = collect(dialled);
    for (const connectionId of [ids.recvId, ids.sendId]) {
      raw.socket.send(forge({ type: UTP_RESET, connectionId }), A_END);
      raw.socket.send(forge({ type: UTP_STATE, connectionId, ack: ids.synSeq }), A_END);
    }
    await net.clock.advance(1000);
    assert.equal(atA.state.closed, false);
    assert.equal(a.stats.unknown, 4);
    assert.equal(raw.got.filter((p) => p.type === UTP_RESET).length, 2, 'the STATEs got RESETs, the RESETs nothing');
    await assertCarries(net, dialled, accepted);
  });

  test('an ack of a packet never sent is ignored: through 5% loss, all the data still arrives', async () => {
    const net = new VirtualNetwork({ seed: 34, lossRate: 0.05 });
    const tb = tapped(net.runtime(B_HOST));
    const { dialled, accepted } = await pair(net, { b: tb.runtime });
    const tap = tb.taps[0];
    const { synSeq } = dialledIds(tap);
    const payload = pattern(300_000, 34);
    const atB = collect(accepted);
    let forged = 0;
    let forging = true;
    // After each ack B sends, a forged one from B's address follows it to A, acking far past
    // anything A sent (300 000 bytes take 215 packets). Were it believed, A would free the
    // packets in flight, and those the network lost would never be sent again.
    tap.afterSend = (data, to) => {
      const real = decodeUtpPacket(data);
      if (!forging || real.type !== UTP_STATE) return;
      tap.raw.send(forge({ ...real, selectiveAck: undefined, ack: (synSeq + 5000) & 0xffff }), to);
      forged++;
    };
    dialled.write(payload);
    const ok = await net.clock.runUntil(() => atB.state.bytes >= payload.length, 120_000);
    assert.ok(ok, `only ${atB.state.bytes} of ${payload.length} bytes arrived`);
    assert.deepEqual(atB.data(), Buffer.from(payload));
    assert.ok(forged > 20, `forged ${forged}`);
    assert.ok((dialled as UtpConnection).resent > 0, 'the network lost packets, and they were sent again');
    forging = false;
    await assertCarries(net, dialled, accepted);
  });

  test('a peer cannot make a connection hold more out-of-order data than the receive window it advertises', async () => {
    const net = new VirtualNetwork({ seed: 37 });
    const tb = tapped(net.runtime(B_HOST));
    await pair(net, { b: tb.runtime });
    const tap = tb.taps[0];
    const { recvId, synSeq } = dialledIds(tap);
    // B's answer to the SYN carries the sequence number of its first DATA.
    const firstSeq = tap.packets('sent').find((p) => p.type === UTP_STATE)!.seq;
    // The window A advertises (on every packet, its SYN included).
    const advertised = tap.packets('received').find((p) => p.type === UTP_SYN)!.windowSize;
    assert.ok(advertised > 0 && advertised < 40 * 60_000);
    // Forged from B's address: 40 DATA packets of 60 000 bytes each (2.4 MB), all past a gap (the
    // first one never comes), so A can only keep them, waiting. UDP takes datagrams this large.
    const size = 60_000;
    for (let i = 1; i <= 40; i++) {
      tap.raw.send(forge({ type: UTP_DATA, connectionId: recvId, seq: (firstSeq + i) & 0xffff, ack: synSeq, payload: new Uint8Array(size) }), A_END);
    }
    await net.clock.advance(100);
    // A's last ack names, in its selective ack, every packet it keeps past the gap (none: no mask).
    const acks = tap.packets('received').filter((p) => p.type === UTP_STATE);
    const mask = acks[acks.length - 1].selectiveAck ?? new Uint8Array(0);
    let kept = 0;
    for (const byte of mask) for (let bit = 0; bit < 8; bit++) kept += (byte >> bit) & 1;
    assert.ok(
      kept * size <= advertised,
      `A keeps ${kept} packets (${kept * size} bytes) out of order though it advertises a window of ${advertised} bytes`,
    );
  });

  test('a selective ack of packets past what was sent is ignored: nothing is taken for lost', async () => {
    const net = new VirtualNetwork({ seed: 35 });
    const tb = tapped(net.runtime(B_HOST));
    const { dialled, accepted } = await pair(net, { b: tb.runtime });
    const tap = tb.taps[0];
    const { synSeq } = dialledIds(tap);
    const payload = pattern(300_000, 35);
    // 300 000 bytes take 215 packets: nothing past synSeq + 300 is sent during this test.
    const neverSent = (synSeq + 300) & 0xffff;
    const atB = collect(accepted);
    let forged = 0;
    // After some of B's acks, a forged one from B's address follows it to A: one behind the real
    // ack (so it counts as no duplicate ack), with selective-ack bits set only past `neverSent`.
    // Were they believed, A would count every packet in flight as overtaken and send it again.
    tap.afterSend = (data, to) => {
      const real = decodeUtpPacket(data);
      if (forged >= 40 || real.type !== UTP_STATE) return;
      const ack = (real.ack - 1) & 0xffff;
      const sack = new Uint8Array(32);
      let set = 0;
      for (let bit = 0; bit < 256; bit++) {
        const seq = (ack + 2 + bit) & 0xffff;
        if (((seq - neverSent) & 0xffff) < 0x8000) {
          sack[bit >> 3] |= 1 << (bit & 7);
          set++;
        }
      }
      if (set < 3) return;
      tap.raw.send(forge({ ...real, ack, selectiveAck: sack }), to);
      forged++;
    };
    dialled.write(payload);
    const ok = await net.clock.runUntil(() => atB.state.bytes >= payload.length, 60_000);
    assert.ok(ok, `only ${atB.state.bytes} of ${payload.length} bytes arrived`);
    assert.deepEqual(atB.data(), Buffer.from(payload));
    assert.ok(forged > 3, `forged ${forged}`);
    assert.equal((dialled as UtpConnection).resent, 0, 'no packet was taken for lost');
    await assertCarries(net, dialled, accepted);
  });
});

describe('uTP connection setup and sequence numbers', () => {
  test('the answer to the SYN is lost and the accepting side writes first: its bytes still arrive', async () => {
    const net = new VirtualNetwork({ seed: 36 });
    let states = 0;
    const tb = tapped(net.runtime(B_HOST), (tap) => {
      // The first STATE (the answer to the SYN) is lost.
      tap.drop = (data) => data[0] >> 4 === UTP_STATE && states++ === 0;
    });
    const a = await net.clock.run(UtpSocket.bind(net.runtime(A_HOST), A_END));
    const b = await net.clock.run(UtpSocket.bind(tb.runtime, B_END));
    const hello = pattern(1000, 36);
    const accepted: TcpConnection[] = [];
    // B speaks first, at once (as a peer that sends its handshake or a greeting without waiting).
    b.onConnection((conn) => {
      accepted.push(conn);
      conn.write(hello);
    });
    const dialled = await net.clock.run(a.connect(B_END));
    assert.ok(states >= 2, 'one answer to the SYN was lost, another one went');
    assert.equal(tb.taps[0].packets('received').filter((p) => p.type === UTP_SYN).length, 2, 'A sent its SYN again');
    const atA = collect(dialled);
    const later = pattern(500, 37);
    await net.clock.advance(5000);
    accepted[0].write(later);
    await net.clock.runUntil(() => atA.state.bytes >= hello.length + later.length, 30_000);
    assert.deepEqual(atA.data(), Buffer.concat([hello, later]), `A got ${atA.state.bytes} bytes: the first DATA was taken as already received`);
  });

  test('sequence numbers that wrap past 0xffff mid-transfer, through loss and reordering', async () => {
    // A seed whose hosts start their sequence numbers just below the wrap: A draws its receive
    // id then its first sequence number, B its first sequence number.
    const near = (x: number) => Math.floor(x * 0x10000) >= 0xffff - 120;
    let seed = 1;
    for (; seed < 10_000_000; seed++) {
      const pa = new Mulberry32(deriveSeed(seed, A_HOST));
      pa.next();
      if (near(pa.next()) && near(new Mulberry32(deriveSeed(seed, B_HOST)).next())) break;
    }
    const jitter = new Mulberry32(seed);
    const net = new VirtualNetwork({ seed, lossRate: 0.05, latency: () => 5 + jitter.next() * 20 });
    const ta = tapped(net.runtime(A_HOST));
    const tb = tapped(net.runtime(B_HOST));
    const { dialled, accepted } = await pair(net, { a: ta.runtime, b: tb.runtime });
    const toB = pattern(700_000, seed);
    const toA = pattern(400_000, seed + 1);
    const atB = collect(accepted);
    const atA = collect(dialled);
    dialled.write(toB);
    accepted.write(toA);
    const ok = await net.clock.runUntil(() => atB.state.bytes >= toB.length && atA.state.bytes >= toA.length, 300_000);
    assert.ok(ok, `only ${atB.state.bytes} and ${atA.state.bytes} bytes arrived`);
    assert.deepEqual(atB.data(), Buffer.from(toB));
    assert.deepEqual(atA.data(), Buffer.from(toA));
    // Both directions really went past 0xffff.
    for (const tap of [ta.taps[0], tb.taps[0]]) {
      const seqs = tap.packets('sent').filter((p) => p.type === UTP_DATA).map((p) => p.seq);
      assert.ok(seqs.some((q) => q > 0xff00) && seqs.some((q) => q < 0x100), 'the sequence numbers wrapped');
    }
    assert.ok((dialled as UtpConnection).resent > 0 && (accepted as UtpConnection).resent > 0, 'losses were repaired');
  });
});

describe('uTP connection ends', () => {
  test("the peer's socket closing (RESET) ends the connection with ECONNRESET", async () => {
    const net = new VirtualNetwork({ seed: 41 });
    const { a, b, dialled, accepted } = await pair(net);
    const atA = collect(dialled);
    const atB = collect(accepted);
    b.close();
    await net.clock.runUntil(() => atA.state.closed, 5000);
    assert.ok(atA.state.closed);
    assert.ok(hasCode('ECONNRESET')(atA.state.error), String(atA.state.error));
    assert.ok(hasCode('ECONNABORTED')(atB.state.error), String(atB.state.error));
    assert.equal(a.connectionCount, 0);
    assert.equal(b.connectionCount, 0);
  });

  for (const named of ['recvId', 'sendId'] as const) {
    test(`a forged RESET from the peer's address naming the dialler's ${named} ends it with ECONNRESET`, async () => {
      const net = new VirtualNetwork({ seed: 42 });
      const tb = tapped(net.runtime(B_HOST));
      const { a, b, dialled, accepted } = await pair(net, { b: tb.runtime });
      const ids = dialledIds(tb.taps[0]);
      // What B sends carries the dialler's receive id.
      assert.ok(tb.taps[0].packets('sent').every((p) => p.connectionId === ids.recvId));
      const atA = collect(dialled);
      const atB = collect(accepted);
      let closes = 0;
      dialled.onClose(() => closes++);
      tb.taps[0].raw.send(forge({ type: UTP_RESET, connectionId: ids[named] }), A_END);
      await net.clock.advance(100);
      assert.equal(closes, 1);
      assert.equal(a.connectionCount, 0);
      // B's side learns of it when it next sends: A answers RESET.
      accepted.write(new Uint8Array(100));
      await net.clock.runUntil(() => atB.state.closed, 5000);
      assert.ok(hasCode('ECONNRESET')(atB.state.error), String(atB.state.error));
      assert.equal(b.connectionCount, 0);
      assert.equal(atA.state.bytes, 0);
      await net.clock.advance(1000);
      assert.equal(closes, 1, 'onClose fires once');
    });
  }

  test('a forged RESET naming the accepting side ends it with ECONNRESET', async () => {
    const net = new VirtualNetwork({ seed: 43 });
    const ta = tapped(net.runtime(A_HOST));
    const { b, dialled, accepted } = await pair(net, { a: ta.runtime });
    const syn = ta.taps[0].packets('sent').find((p) => p.type === UTP_SYN)!;
    const atB = collect(accepted);
    const atA = collect(dialled);
    // The accepting side receives on the SYN's id + 1 (and sends on the SYN's id).
    ta.taps[0].raw.send(forge({ type: UTP_RESET, connectionId: (syn.connectionId + 1) & 0xffff }), B_END);
    await net.clock.advance(100);
    assert.ok(hasCode('ECONNRESET')(atB.state.error), String(atB.state.error));
    assert.equal(b.connectionCount, 0);
    assert.equal(atA.state.closed, false);
  });

  test('maxConnections: the SYN past the limit is refused with RESET; a freed slot takes the next', async () => {
    const net = new VirtualNetwork({ seed: 44 });
    const a = await net.clock.run(UtpSocket.bind(net.runtime(A_HOST), A_END));
    const b = await net.clock.run(UtpSocket.bind(net.runtime(B_HOST), B_END, { maxConnections: 2 }));
    const accepted: TcpConnection[] = [];
    b.onConnection((conn) => accepted.push(conn));
    const first = await net.clock.run(a.connect(B_END));
    await net.clock.run(a.connect(B_END));
    assert.equal(b.connectionCount, 2);
    await assert.rejects(net.clock.run(a.connect(B_END)), hasCode('ECONNRESET'));
    assert.equal(b.stats.refused, 1);
    assert.equal(accepted.length, 2);
    assert.equal(b.connectionCount, 2);
    assert.equal(a.connectionCount, 2);
    // Another host is refused too.
    const c = await net.clock.run(UtpSocket.bind(net.runtime(C_HOST), { host: C_HOST, port: 6881 }));
    await assert.rejects(net.clock.run(c.connect(B_END)), hasCode('ECONNRESET'));
    assert.equal(b.stats.refused, 2);
    first.close();
    await net.clock.runUntil(() => b.connectionCount === 1, 10_000);
    assert.equal(b.connectionCount, 1);
    await net.clock.run(c.connect(B_END));
    assert.equal(b.connectionCount, 2);
    assert.equal(accepted.length, 3);
  });

  test('maxConnections also limits dialling', async () => {
    const net = new VirtualNetwork({ seed: 45 });
    const a = await net.clock.run(UtpSocket.bind(net.runtime(A_HOST), A_END, { maxConnections: 1 }));
    const b = await net.clock.run(UtpSocket.bind(net.runtime(B_HOST), B_END));
    b.onConnection(() => undefined);
    await net.clock.run(a.connect(B_END));
    await assert.rejects(net.clock.run(a.connect(B_END)), /no room/);
    assert.equal(b.connectionCount, 1);
  });

  test('writev calls each done once, only after its bytes were cut into packets; writes after close call done and send nothing', async () => {
    const net = new VirtualNetwork({ seed: 46 });
    const ta = tapped(net.runtime(A_HOST));
    const { dialled, accepted } = await pair(net, { a: ta.runtime });
    const tap = ta.taps[0];
    /** Payload bytes A has put in DATA packets so far (each sequence number once). */
    const packetized = (): number => {
      const bySeq = new Map<number, number>();
      for (const p of tap.packets('sent')) if (p.type === UTP_DATA) bySeq.set(p.seq, p.payload.length);
      return [...bySeq.values()].reduce((x, y) => x + y, 0);
    };
    const atB = collect(accepted);
    const calls: { name: string; packetized: number }[] = [];
    const done = (name: string) => () => calls.push({ name, packetized: packetized() });
    const data = pattern(151_000, 46);
    dialled.writev([data.subarray(0, 100_000), data.subarray(100_000, 150_000)], done('first'));
    dialled.writev([data.subarray(150_000)], done('second'));
    dialled.writev([], done('empty'));
    await net.clock.advance(0);
    assert.equal(calls.length, 0, 'nothing is done before the window let the bytes go');
    assert.ok(packetized() < 10_000);
    await net.clock.runUntil(() => calls.length === 3, 60_000);
    assert.deepEqual(
      calls.map((c) => c.name),
      ['first', 'second', 'empty'],
    );
    assert.ok(calls[0].packetized >= 150_000, `first done with ${calls[0].packetized} bytes packetized`);
    assert.ok(calls[1].packetized >= 151_000, `second done with ${calls[1].packetized} bytes packetized`);
    assert.ok(calls[2].packetized >= 151_000);
    // Nothing is queued now: a write's done comes at once (asynchronously).
    let small = 0;
    dialled.writev([new Uint8Array(10)], () => small++);
    assert.equal(small, 0, 'done is never called synchronously');
    await net.clock.advance(0);
    assert.equal(small, 1);
    await net.clock.runUntil(() => atB.state.bytes === 151_010, 30_000);
    dialled.close();
    let late = 0;
    dialled.writev([new Uint8Array(5000).fill(7)], () => late++);
    dialled.write(new Uint8Array(5000).fill(8));
    await net.clock.runUntil(() => atB.state.closed, 30_000);
    await net.clock.advance(1000);
    assert.equal(late, 1);
    assert.equal(atB.state.bytes, 151_010, 'nothing written after close arrives');
    assert.equal(packetized(), 151_010, 'nothing written after close is sent');
    assert.deepEqual(atB.data().subarray(0, 151_000), Buffer.from(data));
    assert.equal(calls.length, 3, 'each done once');
    assert.equal(small, 1);
  });

  test("a write's done is called when the connection is reset before its bytes could go", async () => {
    const net = new VirtualNetwork({ seed: 47 });
    const { b, dialled } = await pair(net);
    const atA = collect(dialled);
    let calls = 0;
    dialled.writev([pattern(1_000_000, 47)], () => calls++);
    await net.clock.advance(50);
    assert.equal(calls, 0);
    b.close();
    await net.clock.runUntil(() => atA.state.closed, 5000);
    await net.clock.advance(0);
    assert.equal(calls, 1);
    assert.ok(hasCode('ECONNRESET')(atA.state.error));
  });

  test('both sides close at once: each onClose fires once without error, and both sockets forget the connection', async () => {
    const net = new VirtualNetwork({ seed: 48 });
    const { a, b, dialled, accepted } = await pair(net);
    const closes = { a: [] as (Error | undefined)[], b: [] as (Error | undefined)[] };
    const got = { a: 0, b: 0 };
    dialled.onData((d) => (got.a += d.length));
    accepted.onData((d) => (got.b += d.length));
    dialled.onClose((e) => closes.a.push(e));
    accepted.onClose((e) => closes.b.push(e));
    dialled.write(pattern(1000, 1));
    accepted.write(pattern(1000, 2));
    dialled.close();
    accepted.close();
    await net.clock.runUntil(() => a.connectionCount === 0 && b.connectionCount === 0, 30_000);
    await net.clock.advance(5000);
    assert.deepEqual(closes, { a: [undefined], b: [undefined] });
    assert.deepEqual(got, { a: 1000, b: 1000 });
    assert.equal(a.connectionCount, 0);
    assert.equal(b.connectionCount, 0);
    // Closing again changes nothing.
    dialled.close();
    accepted.close();
    await net.clock.advance(1000);
    assert.deepEqual(closes, { a: [undefined], b: [undefined] });
  });

  test('a peer that vanishes while data is in flight: the sender ends with ETIMEDOUT within two minutes', async () => {
    const net = new VirtualNetwork({ seed: 49 });
    const { a, dialled, accepted } = await pair(net);
    const atA = collect(dialled);
    const atB = collect(accepted);
    dialled.write(pattern(500_000, 49));
    await net.clock.runUntil(() => atB.state.bytes >= 50_000, 30_000);
    assert.ok(atB.state.bytes < 500_000);
    net.setDead(B_HOST, true);
    const diedAt = net.clock.now();
    const ended = await net.clock.runUntil(() => atA.state.closed, 120_000);
    assert.ok(ended, 'still open two minutes after the peer vanished');
    assert.ok(hasCode('ETIMEDOUT')(atA.state.error), String(atA.state.error));
    // Not before several resends were tried.
    assert.ok(net.clock.now() - diedAt > 5000, `gave up after ${net.clock.now() - diedAt} ms`);
    assert.equal(a.connectionCount, 0);
  });

  test('an idle connection stays open for ten minutes (keepalives), both sides', async () => {
    const net = new VirtualNetwork({ seed: 50 });
    const { a, b, dialled, accepted } = await pair(net);
    const atA = collect(dialled);
    const atB = collect(accepted);
    const sentBefore = net.stats.datagramsSent;
    await net.clock.advance(600_000);
    assert.equal(atA.state.closed, false);
    assert.equal(atB.state.closed, false);
    assert.equal(a.connectionCount, 1);
    assert.equal(b.connectionCount, 1);
    // Keepalives went both ways, but not a flood of them.
    const keepalives = net.stats.datagramsSent - sentBefore;
    assert.ok(keepalives >= 20 && keepalives <= 60, `${keepalives} keepalives in ten minutes`);
    await assertCarries(net, dialled, accepted);
  });

  test('an idle connection whose peer is dead ends with ETIMEDOUT after the idle limit', async () => {
    const net = new VirtualNetwork({ seed: 51 });
    const { a, dialled } = await pair(net);
    const atA = collect(dialled);
    await net.clock.advance(45_000);
    net.setDead(B_HOST, true);
    const diedAt = net.clock.now();
    const ended = await net.clock.runUntil(() => atA.state.closed, 600_000);
    assert.ok(ended, 'still open ten minutes after the peer died');
    const after = net.clock.now() - diedAt;
    // The limit is five minutes since last hearing from the peer, checked every keepalive period.
    assert.ok(after >= 240_000 && after <= 340_000, `ended ${after} ms after the peer died`);
    assert.ok(hasCode('ETIMEDOUT')(atA.state.error), String(atA.state.error));
    assert.equal(a.connectionCount, 0);
  });
});
