/**
 * One open peer connection after the handshake: frames incoming bytes into messages, tracks the
 * four choke/interest flags of BEP 3, meters both directions, and sends messages. A peer whose
 * bytes can never be valid, or that stays silent for 2 minutes, is disconnected with a reason.
 * What the messages mean for the torrent is decided by the torrent, through `handlers`.
 */
import { encodeBlockMessages, encodeMessage, encodePieceHeader, WireFramer, type Handshake, type PeerMessage } from '../codec/peer-wire.js';
import type { Endpoint, TcpConnection, Timer } from '../runtime/interfaces.js';
import type { AfterHandshake, PeerTransport, WireProtection } from './handshake.js';
import { RateMeter } from './rate-meter.js';
import type { BlockOwner } from './upload-cache.js';

const IDLE_TIMEOUT_MS = 120_000;
const KEEPALIVE_MS = 60_000;
const TICK_MS = 15_000;

export interface PeerConnectionHandlers {
  onMessage(message: PeerMessage): void;
  /** Called once when the connection ends, with the reason (ours or the peer's). */
  onClose(reason: string): void;
}

export interface PeerConnectionDeps {
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
}

export class PeerConnection {
  amChoking = true;
  amInterested = false;
  peerChoking = true;
  peerInterested = false;
  readonly download: RateMeter;
  readonly upload: RateMeter;
  readonly connectedAt: number;
  private lastReceived: number;
  private lastSent: number;
  private readonly framer: WireFramer;
  /** Received chunks are views of a buffer the runtime reuses (`onTransientData`): copy what is kept. */
  private readonly transient: boolean;
  private handlers?: PeerConnectionHandlers;
  private pending: PeerMessage[] = [];
  /** Writes of this turn of the event loop, sent together (one system call instead of one per message). */
  private outbox: Uint8Array[] = [];
  /** Owners of blocks in `outbox`, released once the runtime is done with the batch. */
  private outboxOwners: BlockOwner[] = [];
  private closed = false;
  private tick?: Timer;

  constructor(
    private readonly conn: TcpConnection,
    private readonly deps: PeerConnectionDeps,
    readonly remote: Handshake,
    readonly outgoing: boolean,
    after: AfterHandshake,
    /** How the connection is protected (shown in the peer's flags). */
    readonly protection: WireProtection = 'plain',
    /** What it runs on (shown in the peer's flags). */
    readonly transport: PeerTransport = 'tcp',
  ) {
    this.download = new RateMeter(deps.now);
    this.upload = new RateMeter(deps.now);
    this.connectedAt = this.lastReceived = this.lastSent = deps.now();
    this.transient = conn.onTransientData !== undefined;
    this.framer = new WireFramer({ transient: this.transient });
    if (conn.onTransientData) conn.onTransientData((chunk) => this.receive(chunk));
    else conn.onData((chunk) => this.receive(chunk));
    conn.onClose((error) => this.ended(error ? `connection error: ${error.message}` : 'closed by peer'));
    for (const chunk of after.chunks) this.receive(chunk);
    if (after.closed) this.ended(after.closed.error ? `connection error: ${after.closed.error.message}` : 'closed by peer');
    else this.scheduleTick();
  }

  get address(): Endpoint {
    return this.conn.remote;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Starts delivering messages (those that arrived before are delivered first). */
  attach(handlers: PeerConnectionHandlers): void {
    this.handlers = handlers;
    const early = this.pending;
    this.pending = [];
    for (const message of early) if (!this.closed) handlers.onMessage(message);
  }

  send(message: PeerMessage): void {
    if (this.closed) return;
    if (message.type === 'choke') this.amChoking = true;
    else if (message.type === 'unchoke') this.amChoking = false;
    else if (message.type === 'interested') this.amInterested = true;
    else if (message.type === 'not-interested') this.amInterested = false;
    this.write(encodeMessage(message));
  }

  /** Sends a `request` for each block, all in one buffer. */
  sendRequests(blocks: readonly { index: number; begin: number; length: number }[]): void {
    if (this.closed || blocks.length === 0) return;
    this.write(encodeBlockMessages('request', blocks));
  }

  /**
   * Sends a block without copying it into a new message buffer. `owner.release()` is called once
   * the runtime no longer reads `block` (at once if the connection is closed).
   */
  sendPiece(index: number, begin: number, block: Uint8Array, owner?: BlockOwner): void {
    if (this.closed) {
      owner?.release();
      return;
    }
    this.write(encodePieceHeader(index, begin, block.length));
    this.write(block);
    if (owner) this.outboxOwners.push(owner);
    this.upload.add(block.length);
  }

  /** Disconnects, saying why (reported once through `onClose`). Queued messages go out first. */
  close(reason: string): void {
    if (this.closed) return;
    this.flush();
    this.conn.close();
    this.ended(reason);
  }

  private write(bytes: Uint8Array): void {
    this.lastSent = this.deps.now();
    if (this.outbox.length === 0) queueMicrotask(() => this.flush());
    this.outbox.push(bytes);
  }

  private flush(): void {
    if (this.outbox.length === 0) return;
    const batch = this.outbox;
    const owners = this.outboxOwners;
    this.outbox = [];
    if (owners.length > 0) this.outboxOwners = [];
    if (this.closed) {
      for (const owner of owners) owner.release();
      return;
    }
    if (owners.length === 0) this.conn.writev(batch);
    else this.conn.writev(batch, () => releaseAll(owners));
  }

  private receive(chunk: Uint8Array): void {
    if (this.closed) return;
    this.lastReceived = this.deps.now();
    this.framer.push(chunk);
    for (;;) {
      let message: PeerMessage | undefined;
      try {
        message = this.framer.next();
      } catch (error) {
        this.close(`protocol violation: ${(error as Error).message}`);
        return;
      }
      if (!message) break;
      if (this.transient) message = this.owned(message);
      this.track(message);
      if (this.handlers) this.handlers.onMessage(message);
      else this.pending.push(message);
      if (this.closed) return;
    }
    this.framer.keepRest();
  }

  /**
   * A transient message with copies of the bytes a handler may keep. Blocks and BEP 52 hashes are
   * not copied once handlers are attached: the torrent copies what it keeps before returning.
   */
  private owned(message: PeerMessage): PeerMessage {
    switch (message.type) {
      case 'bitfield':
        return { type: 'bitfield', bitfield: message.bitfield.slice() };
      case 'extended':
        return { type: 'extended', id: message.id, payload: message.payload.slice() };
      case 'piece':
        return this.handlers ? message : { type: 'piece', index: message.index, begin: message.begin, block: message.block.slice() };
      case 'hashes':
        return this.handlers ? message : { ...message, piecesRoot: message.piecesRoot.slice(), hashes: message.hashes.slice() };
      case 'hash-request':
      case 'hash-reject':
        return this.handlers ? message : { ...message, piecesRoot: message.piecesRoot.slice() };
      default:
        return message;
    }
  }

  private track(message: PeerMessage): void {
    switch (message.type) {
      case 'choke':
        this.peerChoking = true;
        break;
      case 'unchoke':
        this.peerChoking = false;
        break;
      case 'interested':
        this.peerInterested = true;
        break;
      case 'not-interested':
        this.peerInterested = false;
        break;
      case 'piece':
        this.download.add(message.block.length);
        break;
    }
  }

  private scheduleTick(): void {
    this.tick = this.deps.setTimer(TICK_MS, () => {
      if (this.closed) return;
      const now = this.deps.now();
      if (now - this.lastReceived >= IDLE_TIMEOUT_MS) {
        this.close('idle for 2 minutes');
        return;
      }
      if (now - this.lastSent >= KEEPALIVE_MS) this.send({ type: 'keep-alive' });
      this.scheduleTick();
    });
  }

  private ended(reason: string): void {
    if (this.closed) return;
    this.closed = true;
    this.tick?.cancel();
    this.handlers?.onClose(reason);
  }
}

function releaseAll(owners: readonly BlockOwner[]): void {
  for (const owner of owners) owner.release();
}
