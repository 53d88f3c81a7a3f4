/**
 * The receiving side of a uTP connection's sequence: which packet comes next, the packets that
 * arrived past a gap (waiting for it to fill), and the selective ack that tells the sender about
 * them. Holds at most `RECEIVE_WINDOW` bytes and `REORDER_LIMIT` packets ahead; more is dropped,
 * as the advertised window says it would be.
 */
import { UTP_FIN, UTP_MAX_SACK_BYTES, type UtpPacket } from '../codec/utp.js';
import { seqDiff, SEQ_MASK } from './sequence.js';

/** The receive window we advertise, in bytes. */
export const RECEIVE_WINDOW = 1024 * 1024;
/** How far ahead of the next expected packet one is kept (the bytes kept are limited too). */
const REORDER_LIMIT = 1024;

/** What became of a DATA or FIN packet. */
export type Arrival =
  /** Already had (our ack was lost): ack again. */
  | 'duplicate'
  /** Past a gap: kept (or dropped, when too far or too much): ack at once, with the selective ack. */
  | 'ahead'
  /** In order: it and the packets that waited for it, in order, ending at the FIN if one came. */
  | UtpPacket[];

export class UtpReceiveBuffer {
  /** Packets past the gap, by sequence number, and their payload bytes. */
  private readonly waiting = new Map<number, UtpPacket>();
  private waitingBytes = 0;
  /** The FIN was delivered: nothing more comes. */
  ended = false;

  /** `ack`: the last sequence number received in order. */
  constructor(public ack: number) {}

  /** The window to advertise: what the packets past the gap leave of `RECEIVE_WINDOW`. */
  get window(): number {
    return RECEIVE_WINDOW - this.waitingBytes;
  }

  accept(packet: UtpPacket): Arrival {
    const ahead = seqDiff(packet.seq, this.ack);
    if (this.ended || ahead <= 0) return 'duplicate';
    if (ahead > 1) {
      const fits = ahead <= REORDER_LIMIT && this.waitingBytes + packet.payload.length <= RECEIVE_WINDOW;
      if (fits && !this.waiting.has(packet.seq)) {
        this.waiting.set(packet.seq, packet);
        this.waitingBytes += packet.payload.length;
      }
      return 'ahead';
    }
    const inOrder: UtpPacket[] = [];
    for (let next: UtpPacket | undefined = packet; next; next = this.waiting.get((this.ack + 1) & SEQ_MASK)) {
      if (next !== packet) {
        this.waiting.delete(next.seq);
        this.waitingBytes -= next.payload.length;
      }
      inOrder.push(next);
      this.ack = next.seq;
      if (next.type === UTP_FIN) {
        this.ended = true;
        this.waiting.clear();
        this.waitingBytes = 0;
        break;
      }
    }
    return inOrder;
  }

  /** The selective ack for the packets waiting past the gap (bit 0: `ack + 2`), if any. */
  selectiveAck(): Uint8Array | undefined {
    if (this.waiting.size === 0) return undefined;
    const mask = new Uint8Array(UTP_MAX_SACK_BYTES);
    let used = 0;
    for (const seq of this.waiting.keys()) {
      const bit = seqDiff(seq, this.ack) - 2;
      if (bit < 0 || bit >= mask.length * 8) continue;
      mask[bit >> 3] |= 1 << (bit & 7);
      used = Math.max(used, (bit >> 5) + 1);
    }
    return used === 0 ? undefined : mask.subarray(0, used * 4);
  }
}
