/**
 * One uTP connection (BEP 29): a reliable, ordered byte stream over datagrams, with the same face
 * as a TCP connection so the peer wire protocol runs on it unchanged. `UtpSocket` creates these and
 * feeds them the packets addressed to them.
 *
 * Sending: written bytes are cut into DATA packets of up to `PAYLOAD_SIZE` bytes, each taking the
 * next sequence number, and sent while the bytes in flight fit both the congestion window
 * (`Ledbat`) and the window the peer advertises. A packet is acked by the peer's cumulative
 * `ack_nr` or its selective ack; one that three later packets overtook, or that three duplicate
 * acks point at, is sent again at once (and the window halved); when the resend timer fires, all
 * unacked packets are sent again, from a window of one packet. Repeated timeouts end the
 * connection with ETIMEDOUT.
 *
 * Receiving: packets in order are delivered at once; later ones wait for the gap to fill
 * (`UtpReceiveBuffer`), and the ack sent back names them in a selective ack. Acks go out with the
 * next data packet, or on their own after the packets that arrived together.
 *
 * Closing sends FIN after the queued data; the peer's FIN ends the stream once everything before
 * it is delivered. RESET from the peer ends it with ECONNRESET.
 */
import { formatHostPort } from '../codec/ip.js';
import {
  encodeUtpPacket,
  UTP_DATA,
  UTP_FIN,
  UTP_HEADER_LENGTH,
  UTP_RESET,
  UTP_STATE,
  UTP_SYN,
  writeUtpHeader,
  type UtpHeader,
  type UtpPacket,
  type UtpPacketType,
} from '../codec/utp.js';
import type { Endpoint, Runtime, TcpConnection, Timer } from '../runtime/interfaces.js';
import { TurnFlush } from '../runtime/turn-flush.js';
import { UtpError, type UtpErrorCode } from './errors.js';
import { Ledbat } from './ledbat.js';
import { RECEIVE_WINDOW, UtpReceiveBuffer } from './receive-buffer.js';
import { SEQ_MASK, seqDiff } from './sequence.js';
import { UtpWriteQueue } from './write-queue.js';

/** Most payload bytes per packet: 20 header + 1400 + 28 (IPv4, UDP) stays under a 1500-byte MTU. */
const PAYLOAD_SIZE = 1400;
/** Packets received without an ack sent back, after which one goes at once. */
const ACK_EVERY = 16;
/** Resend timeout bounds and the value before any round trip was measured, in ms. */
const MIN_RTO_MS = 500;
const MAX_RTO_MS = 30_000;
const INITIAL_RTO_MS = 1000;
/** SYNs sent before connecting fails; timeouts in a row before an open connection fails. */
const SYN_TRIES = 3;
const MAX_TIMEOUTS = 7;
/** An idle connection sends an ack this often, and ends after this long without hearing anything. */
const KEEPALIVE_MS = 29_000;
const IDLE_TIMEOUT_MS = 300_000;
/** How long a connection closed before the peer's FIN stays to ack it. */
const LINGER_MS = 10_000;
/** Sacked packets past an unacked one, or duplicate acks of it, that make it count as lost. */
const LOSS_EVIDENCE = 3;

interface OutPacket {
  seq: number;
  type: UtpPacketType;
  payload: Uint8Array;
  /** A DATA packet's first datagram, its payload already in place after the header (sent once). */
  datagram?: Uint8Array;
  sentAt: number;
  transmissions: number;
  /** Not sent yet, or lost or timed out: waiting to go (again); its bytes are not in flight. */
  waiting: boolean;
  /** The next new sequence number when this packet was last sent: it is lost once packets from there on are acked past it. */
  sentBefore: number;
}

type State = 'syn-sent' | 'connected' | 'closed';

/** What a connection needs from its socket. */
export interface UtpConnectionDeps {
  runtime: Pick<Runtime, 'now' | 'setTimer'>;
  /** Sends one datagram to the peer. */
  send(datagram: Uint8Array): void;
  /** The connection is over: its ids may be reused. */
  forget(): void;
}

/** The ids and numbers a connection starts with (see `UtpSocket`). */
export interface UtpConnectionStart {
  local: Endpoint;
  remote: Endpoint;
  /** The id the peer puts on packets to us, and the one we put on ours. */
  recvId: number;
  sendId: number;
  /** Our first sequence number. */
  seq: number;
  /** Accepting: the SYN's sequence number (the last packet received in order). */
  ack?: number;
}

export class UtpConnection implements TcpConnection {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  /** Packets sent again (lost or timed out). */
  resent = 0;
  private state: State;
  private readonly recvId: number;
  readonly sendId: number;
  /** The next sequence number to send, and the oldest not yet acked. */
  private seqNr: number;
  private sendBase: number;
  /** What we received: the next packet expected, and the ones past a gap. */
  private readonly received: UtpReceiveBuffer;
  private readonly outgoing = new Map<number, OutPacket>();
  /** Packets of `outgoing` that are `waiting`. */
  private waitingCount = 0;
  private inFlight = 0;
  private peerWindow = RECEIVE_WINDOW;
  private readonly ledbat = new Ledbat({ packetSize: PAYLOAD_SIZE });
  private srtt: number | undefined;
  private rttVar = 0;
  private rto = INITIAL_RTO_MS;
  private timeouts = 0;
  private resendTimer: Timer | undefined;
  /** Running while a cleanly closed connection waits for the peer's FIN. */
  private lingerTimer: Timer | undefined;
  /** When the resend timer is due; an ack that makes progress moves it, and the timer looks again. */
  private resendDue = 0;
  private keepaliveTimer: Timer | undefined;
  private duplicateAcks = 0;
  /** Written bytes not yet cut into packets. */
  private readonly writes = new UtpWriteQueue();
  private readonly flushes = new TurnFlush(() => this.flush());
  /** Accepting: our first sequence number, which every answer to the peer's SYN names. */
  private readonly firstSeq: number;
  /** The peer's clock minus ours on its last packet, for `timestamp_difference` (µs, wrapping). */
  private replyDelay = 0;
  private unackedReceived = 0;
  private ackTimer: Timer | undefined;
  private lastSentAt: number;
  private lastReceivedAt: number;
  /** We queued our FIN (close was called) / it is sent; the peer's FIN was delivered. */
  private closing = false;
  private finSent = false;
  private dataHandler: ((data: Uint8Array) => void) | undefined;
  private early: Uint8Array[] = [];
  private closeHandler: ((error?: Error) => void) | undefined;
  private closeReported = false;
  private endError: Error | undefined;
  private connectWaiter: { resolve: () => void; reject: (error: Error) => void } | undefined;

  constructor(
    private readonly deps: UtpConnectionDeps,
    start: UtpConnectionStart,
  ) {
    this.local = start.local;
    this.remote = start.remote;
    this.recvId = start.recvId;
    this.sendId = start.sendId;
    this.seqNr = start.seq & SEQ_MASK;
    this.sendBase = this.seqNr;
    this.firstSeq = this.seqNr;
    const now = deps.runtime.now();
    this.lastSentAt = now;
    this.lastReceivedAt = now;
    this.state = start.ack === undefined ? 'syn-sent' : 'connected';
    this.received = new UtpReceiveBuffer((start.ack ?? 0) & SEQ_MASK);
    this.armKeepalive();
  }

  /** Outgoing: sends the SYN; resolves once the peer answers, rejects with ETIMEDOUT or ECONNRESET. */
  open(): Promise<void> {
    return new Promise((resolve, reject) => {
      this.connectWaiter = { resolve, reject };
      this.enqueue(UTP_SYN, new Uint8Array(0));
      this.flush();
    });
  }

  /**
   * Accepting: answers the SYN (again, when the peer sent it again). The answer always names our
   * first sequence number, which the peer takes as the start of our stream, even when data
   * has gone out since.
   */
  acceptSyn(): void {
    this.sendState(this.firstSeq);
  }

  write(data: Uint8Array): void {
    this.writev([data]);
  }

  writev(chunks: readonly Uint8Array[], done?: () => void): void {
    if (this.closing || this.state === 'closed') {
      if (done) queueMicrotask(done);
      return;
    }
    this.writes.push(chunks, done);
    this.flushes.schedule();
  }

  onData(handler: (data: Uint8Array) => void): void {
    this.dataHandler = handler;
    if (this.early.length === 0) return;
    queueMicrotask(() => {
      while (this.early.length > 0 && this.dataHandler === handler) handler(this.early.shift()!);
    });
  }

  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
    if (this.isClosed() || this.received.ended) queueMicrotask(() => this.reportClose());
  }

  /** Sends FIN after what was written; the connection ends when the FIN is acked (or given up on). */
  close(): void {
    if (this.closing || this.state === 'closed') return;
    if (this.state === 'syn-sent') return this.end('ECONNABORTED', 'uTP connection closed before it opened');
    this.closing = true;
    this.flushes.schedule();
  }

  /** Ends the connection at once, telling the peer with RESET (the socket is closing). */
  destroy(): void {
    if (this.lingerTimer) {
      this.lingerTimer.cancel();
      this.lingerTimer = undefined;
      this.deps.forget();
    }
    if (this.state === 'closed') return;
    if (this.state === 'connected') this.sendControl(UTP_RESET);
    this.end('ECONNABORTED', 'uTP socket closed');
  }

  /** A packet for this connection, decoded by the socket. */
  receive(packet: UtpPacket): void {
    const now = this.deps.runtime.now();
    this.replyDelay = (micros(now) - packet.timestamp) >>> 0;
    if (this.state === 'closed') return this.lingerReceive(packet);
    this.lastReceivedAt = now;
    if (packet.type === UTP_RESET) return this.end('ECONNRESET', 'uTP connection reset by peer');
    if (packet.type === UTP_SYN) {
      if (this.connectWaiter === undefined) this.acceptSyn();
      return;
    }
    this.peerWindow = packet.windowSize;
    if (this.state === 'syn-sent') {
      if (packet.type !== UTP_STATE) return;
      // The answer to our SYN carries the sequence number its first DATA will take.
      this.received.ack = (packet.seq - 1) & SEQ_MASK;
      this.state = 'connected';
      this.handleAck(packet, now);
      const waiter = this.connectWaiter;
      this.connectWaiter = undefined;
      waiter?.resolve();
      this.flush();
      return;
    }
    this.handleAck(packet, now);
    // The ack may have completed our close.
    if (this.isClosed()) return;
    if (packet.type === UTP_DATA || packet.type === UTP_FIN) this.handleSequenced(packet);
    this.flush();
  }

  // ---- receiving ----

  private handleSequenced(packet: UtpPacket): void {
    const arrival = this.received.accept(packet);
    // Already had (our ack was lost), or past a gap (the sender learns of it from the selective
    // ack): ack at once.
    if (!Array.isArray(arrival)) return this.sendState();
    for (const next of arrival) this.deliver(next);
    if (++this.unackedReceived >= ACK_EVERY || this.received.ended) this.sendState();
    else this.ackTimer ??= this.deps.runtime.setTimer(0, () => {
      this.ackTimer = undefined;
      if (this.unackedReceived > 0 && this.state !== 'closed') this.sendState();
    });
  }

  private deliver(packet: UtpPacket): void {
    if (packet.type === UTP_FIN) {
      // The stream is over for the reader; our own FIN follows what is still queued.
      this.reportEndSoon();
      this.close();
      return;
    }
    if (packet.payload.length === 0) return;
    if (this.dataHandler && this.early.length === 0) this.dataHandler(packet.payload);
    else this.early.push(packet.payload);
  }

  private reportEndSoon(): void {
    queueMicrotask(() => {
      // Data that waited for a handler goes first.
      if (this.early.length === 0) this.reportClose();
      else queueMicrotask(() => this.reportClose());
    });
  }

  // ---- acks ----

  private handleAck(packet: UtpPacket, now: number): void {
    // An ack past what we sent is garbage; ignore it rather than free unsent packets.
    if (seqDiff(packet.ack, (this.seqNr - 1) & SEQ_MASK) > 0) return;
    let acked = 0;
    let progressed = false;
    while (seqDiff(packet.ack, this.sendBase) >= 0 && this.sendBase !== this.seqNr) {
      acked += this.ackPacket(this.sendBase, now);
      this.sendBase = (this.sendBase + 1) & SEQ_MASK;
      progressed = true;
    }
    let sackedPastBase = 0;
    let highestSacked = -1;
    const sack = packet.selectiveAck;
    if (sack) {
      for (let bit = 0; bit < sack.length * 8; bit++) {
        if ((sack[bit >> 3] & (1 << (bit & 7))) === 0) continue;
        const seq = (packet.ack + 2 + bit) & SEQ_MASK;
        if (seqDiff(seq, this.seqNr) >= 0) break;
        acked += this.ackPacket(seq, now);
        sackedPastBase++;
        highestSacked = seq;
      }
    }
    if (acked > 0) {
      const delay = packet.timestampDiff === 0 ? undefined : packet.timestampDiff;
      this.ledbat.onAck(acked, delay, now);
    }
    if (progressed) {
      this.timeouts = 0;
      this.duplicateAcks = 0;
      this.armResendTimer(true);
    } else if (packet.type === UTP_STATE && this.outgoing.size > 0 && seqDiff(packet.ack, this.sendBase) === -1) {
      this.duplicateAcks++;
    }
    this.detectLoss(sackedPastBase, highestSacked);
    // Our FIN is acked, so everything before it is: the connection is done.
    if (this.finSent && this.outgoing.size === 0) this.end();
  }

  /** Frees an acked packet; returns its payload size (0 when it was already acked). */
  private ackPacket(seq: number, now: number): number {
    const packet = this.outgoing.get(seq);
    if (!packet) return 0;
    this.outgoing.delete(seq);
    if (packet.waiting) this.waitingCount--;
    else this.inFlight -= packet.payload.length;
    if (packet.transmissions === 1) this.sampleRtt(now - packet.sentAt);
    if (packet.type === UTP_SYN) return 0;
    return packet.payload.length;
  }

  /**
   * One round trip, from a packet sent once. A packet the peer had long ago but could only ack
   * when a gap before it filled (its selective acks were lost) would read as a huge round trip and
   * blow the resend timeout up, so a sample counts for at most twice the estimate (plus 100 ms):
   * a real rise still doubles the estimate every few samples.
   */
  private sampleRtt(sample: number): void {
    const rtt = this.srtt === undefined ? sample : Math.min(sample, 2 * this.srtt + 100);
    if (this.srtt === undefined) {
      this.srtt = rtt;
      this.rttVar = rtt / 2;
    } else {
      this.rttVar += (Math.abs(this.srtt - rtt) - this.rttVar) / 4;
      this.srtt += (rtt - this.srtt) / 8;
    }
    this.rto = Math.min(MAX_RTO_MS, Math.max(MIN_RTO_MS, this.srtt + 4 * this.rttVar));
  }

  /**
   * Sends again, at once, packets that later packets overtook (at least three sent after one were
   * sacked) and the oldest packet when three duplicate acks point at it. They go whatever the
   * windows say: the peer may be holding everything after the gap, its window shrunk by it.
   */
  private detectLoss(sacked: number, highestSacked: number): void {
    const lost: OutPacket[] = [];
    if (sacked >= LOSS_EVIDENCE) {
      for (const packet of this.outgoing.values()) {
        if (seqDiff(packet.seq, highestSacked) >= 0) break;
        if (!packet.waiting && seqDiff(highestSacked, packet.sentBefore) >= LOSS_EVIDENCE - 1) lost.push(packet);
      }
    }
    if (this.duplicateAcks >= LOSS_EVIDENCE) {
      this.duplicateAcks = 0;
      const oldest = this.outgoing.get(this.sendBase);
      if (oldest && !oldest.waiting && !lost.includes(oldest)) lost.push(oldest);
    }
    if (lost.length === 0) return;
    this.ledbat.onLoss();
    for (const packet of lost) {
      this.markLost(packet);
      this.resent++;
      this.transmit(packet);
    }
  }

  private markLost(packet: OutPacket): void {
    packet.waiting = true;
    this.waitingCount++;
    this.inFlight -= packet.payload.length;
  }

  // ---- sending ----

  /** Sends what the windows allow: packets to resend first, then new data, then the FIN. */
  private flush(): void {
    if (this.state !== 'connected') {
      if (this.state === 'syn-sent') this.sendWaiting();
      return;
    }
    if (!this.sendWaiting()) return;
    while (this.writes.pending > 0 && this.mayGo(Math.min(PAYLOAD_SIZE, this.writes.pending))) {
      const datagram = this.writes.take(PAYLOAD_SIZE, UTP_HEADER_LENGTH);
      const packet = this.enqueue(UTP_DATA, datagram.subarray(UTP_HEADER_LENGTH));
      packet.datagram = datagram;
      this.transmit(packet);
    }
    if (this.closing && !this.finSent && this.writes.pending === 0) {
      this.finSent = true;
      this.transmit(this.enqueue(UTP_FIN, new Uint8Array(0)));
    }
  }

  /** Sends packets waiting to go (again) while the windows allow; false when one had to wait. */
  private sendWaiting(): boolean {
    if (this.waitingCount === 0) return true;
    for (const packet of this.outgoing.values()) {
      if (!packet.waiting) continue;
      if (!this.mayGo(packet.payload.length)) return false;
      if (packet.transmissions > 0) this.resent++;
      this.transmit(packet);
    }
    return true;
  }

  private mayGo(bytes: number): boolean {
    // With nothing in flight one packet always goes: it probes a closed window and restarts the clock.
    return this.inFlight === 0 || this.inFlight + bytes <= Math.min(this.ledbat.window, this.peerWindow);
  }

  private enqueue(type: UtpPacketType, payload: Uint8Array): OutPacket {
    const packet: OutPacket = { seq: this.seqNr, type, payload, sentAt: 0, transmissions: 0, waiting: true, sentBefore: 0 };
    this.outgoing.set(packet.seq, packet);
    this.waitingCount++;
    this.seqNr = (this.seqNr + 1) & SEQ_MASK;
    return packet;
  }

  private transmit(packet: OutPacket): void {
    const now = this.deps.runtime.now();
    packet.sentAt = now;
    packet.transmissions++;
    if (packet.waiting) {
      packet.waiting = false;
      this.waitingCount--;
    }
    packet.sentBefore = this.seqNr;
    this.inFlight += packet.payload.length;
    this.send(packet.type, packet.seq, packet.payload, now, packet.datagram);
    // A datagram handed to the socket is not written again: a resend is encoded afresh.
    packet.datagram = undefined;
    this.armResendTimer(false);
  }

  /** Sends an ack (STATE), with a selective ack when packets wait past a gap. */
  private sendState(seq = this.seqNr): void {
    this.unackedReceived = 0;
    this.ackTimer?.cancel();
    this.ackTimer = undefined;
    this.send(UTP_STATE, seq, new Uint8Array(0), this.deps.runtime.now());
  }

  private sendControl(type: typeof UTP_RESET): void {
    this.send(type, this.seqNr, new Uint8Array(0), this.deps.runtime.now());
  }

  /**
   * Sends one packet. `datagram` (a new DATA packet) already holds the payload after room for the
   * header, which is written in place; it carries no selective ack, which STATE packets do.
   */
  private send(type: UtpPacketType, seq: number, payload: Uint8Array, now: number, datagram?: Uint8Array): void {
    // Every packet carries the ack, so one sent now makes a pending ack unnecessary.
    if (type !== UTP_SYN) {
      this.unackedReceived = 0;
      this.ackTimer?.cancel();
      this.ackTimer = undefined;
    }
    this.lastSentAt = now;
    const header: UtpHeader = {
      type,
      connectionId: type === UTP_SYN ? this.recvId : this.sendId,
      timestamp: micros(now),
      timestampDiff: this.replyDelay,
      windowSize: this.received.window,
      seq,
      ack: type === UTP_SYN ? 0 : this.received.ack,
    };
    if (datagram) {
      writeUtpHeader(datagram, header);
      this.deps.send(datagram);
      return;
    }
    this.deps.send(encodeUtpPacket({ ...header, selectiveAck: type === UTP_SYN ? undefined : this.received.selectiveAck(), payload }));
  }

  // ---- timers ----

  /**
   * Keeps the resend timer running while packets are in flight; `restart` after progress. Moving
   * the deadline does not touch the timer (once per ack would cost a timer each): when it fires
   * early, it waits the rest.
   */
  private armResendTimer(restart: boolean): void {
    if (this.outgoing.size === 0) {
      this.resendTimer?.cancel();
      this.resendTimer = undefined;
      return;
    }
    if (this.resendTimer && !restart) return;
    this.resendDue = this.deps.runtime.now() + this.rto;
    this.resendTimer ??= this.waitForResend(this.rto);
  }

  private waitForResend(ms: number): Timer {
    return this.deps.runtime.setTimer(ms, () => {
      const early = this.resendDue - this.deps.runtime.now();
      this.resendTimer = early > 0 ? this.waitForResend(early) : undefined;
      if (early <= 0) this.onResendTimeout();
    });
  }

  private onResendTimeout(): void {
    if (this.state === 'closed' || this.outgoing.size === 0) return;
    this.timeouts++;
    if (this.state === 'syn-sent' && this.timeouts >= SYN_TRIES) return this.end('ETIMEDOUT', `uTP connect to ${formatHostPort(this.remote.host, this.remote.port)} timed out`);
    if (this.timeouts > MAX_TIMEOUTS) return this.end('ETIMEDOUT', 'uTP connection timed out: data not acked after repeated resends');
    this.rto = Math.min(MAX_RTO_MS, this.rto * 2);
    for (const packet of this.outgoing.values()) if (!packet.waiting) this.markLost(packet);
    this.ledbat.onTimeout();
    this.armResendTimer(true);
    if (this.state === 'syn-sent') this.sendWaiting();
    else this.flush();
  }

  private armKeepalive(): void {
    this.keepaliveTimer = this.deps.runtime.setTimer(KEEPALIVE_MS, () => {
      if (this.state === 'closed') return;
      const now = this.deps.runtime.now();
      if (now - this.lastReceivedAt >= IDLE_TIMEOUT_MS) return this.end('ETIMEDOUT', 'uTP connection timed out: nothing heard from the peer');
      if (this.state === 'connected' && now - this.lastSentAt >= KEEPALIVE_MS) this.sendState();
      this.armKeepalive();
    });
  }

  // ---- the end ----

  /** Ends the connection: cleanly (no code), or with an error. */
  private end(code?: UtpErrorCode, message?: string): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.resendTimer?.cancel();
    this.keepaliveTimer?.cancel();
    this.ackTimer?.cancel();
    const error = code ? new UtpError(code, message ?? code) : undefined;
    this.endError = error;
    const waiter = this.connectWaiter;
    this.connectWaiter = undefined;
    if (waiter) waiter.reject(error ?? new UtpError('ECONNABORTED', 'uTP connection closed before it opened'));
    this.writes.abort();
    if (!waiter) queueMicrotask(() => this.reportClose());
    // Closed cleanly before the peer sent its FIN: stay a while to ack it, so the peer's close
    // ends cleanly too instead of meeting a RESET.
    if (code === undefined && !this.received.ended) {
      this.lingerTimer = this.deps.runtime.setTimer(LINGER_MS, () => {
        this.lingerTimer = undefined;
        this.deps.forget();
      });
    } else this.deps.forget();
  }

  /** After a clean close: acks what the peer still sends (its data is dropped) until its FIN. */
  private lingerReceive(packet: UtpPacket): void {
    if (this.lingerTimer === undefined || (packet.type !== UTP_DATA && packet.type !== UTP_FIN)) return;
    if (seqDiff(packet.seq, this.received.ack) === 1) this.received.ack = packet.seq;
    this.sendState();
    if (packet.type === UTP_FIN && packet.seq === this.received.ack) {
      this.lingerTimer.cancel();
      this.lingerTimer = undefined;
      this.deps.forget();
    }
  }

  /** A method, not a comparison, so that TypeScript does not narrow `state` across calls that change it. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  private reportClose(): void {
    if (this.closeReported || this.closeHandler === undefined) return;
    this.closeReported = true;
    this.closeHandler(this.endError);
  }
}

/** The uTP clock: microseconds, modulo 2^32. */
function micros(nowMs: number): number {
  return Math.floor(nowMs * 1000) >>> 0;
}
