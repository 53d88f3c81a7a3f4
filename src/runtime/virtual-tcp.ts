/**
 * Simulated TCP for the virtual runtime: listeners and in-memory stream pairs. Data arrives in
 * order, one one-way latency after it was written; `close()` reaches the peer the same way.
 * Anything written by or to a dead host is dropped (the peer just hears nothing, as with a crashed
 * or firewalled machine). Data and close events that arrive before a handler is installed are
 * buffered and handed over (in a microtask) once it is.
 */
import type { Endpoint, TcpConnection, TcpServer } from './interfaces.js';
import type { VirtualClock } from './virtual-clock.js';
import { netError, type VirtualHost } from './virtual-host.js';
import { TurnFlush } from './turn-flush.js';

/** What the TCP simulation needs from the network that hosts it. */
export interface TcpFabric {
  readonly clock: VirtualClock;
  /** The host with this address, if it exists. */
  findHost(host: string): VirtualHost | undefined;
  /** One-way delay in ms from `from` to `to`, extra per-host latency included. */
  delay(from: Endpoint, to: Endpoint): number;
}

/** A listening socket; connections that arrive before `onConnection` wait in a queue. */
export class VirtualTcpServer implements TcpServer {
  private handler: ((conn: TcpConnection) => void) | undefined;
  private backlog: TcpConnection[] = [];
  closed = false;

  constructor(
    readonly local: Endpoint,
    private readonly host: VirtualHost,
  ) {}

  onConnection(handler: (conn: TcpConnection) => void): void {
    this.handler = handler;
    const waiting = this.backlog;
    this.backlog = [];
    for (const conn of waiting) handler(conn);
  }

  /** @internal Hands an accepted connection to the application. */
  accept(conn: TcpConnection): void {
    if (this.handler) this.handler(conn);
    else this.backlog.push(conn);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.host.tcpPorts.release(this.local.port, this);
  }
}

/** One end of a simulated TCP stream. */
class VirtualTcpConnection implements TcpConnection {
  peer!: VirtualTcpConnection;
  private dataHandler: ((data: Uint8Array) => void) | undefined;
  /** Set by `onTransientData`: chunks are delivered in `readBuffer`, which is poisoned after each call. */
  private transient = false;
  private readBuffer: Uint8Array | undefined;
  private closeHandler: ((error?: Error) => void) | undefined;
  private inbox: Uint8Array[] = [];
  private readonly flushes = new TurnFlush(() => this.flush());
  /** No more data flows in or out of this end. */
  private ended = false;
  private closeReported = false;
  /** Arrival time of the last chunk sent from this end, so later chunks never overtake it. */
  private lastArrival = 0;

  constructor(
    private readonly fabric: TcpFabric,
    private readonly host: VirtualHost,
    readonly local: Endpoint,
    readonly remote: Endpoint,
    /** Port to give back to the host's table when this end closes (client side only). */
    private readonly ownedPort: boolean,
  ) {}

  write(data: Uint8Array): void {
    if (this.ended || data.length === 0) return;
    const chunk: Uint8Array = Buffer.from(data); // a pooled copy: the writer may reuse its buffer
    this.transmit(() => this.peer.receive(chunk));
  }

  writev(chunks: readonly Uint8Array[], done?: () => void): void {
    this.write(Buffer.concat(chunks)); // copied: the chunks are free at once
    if (done) queueMicrotask(done);
  }

  onData(handler: (data: Uint8Array) => void): void {
    this.dataHandler = handler;
    this.transient = false;
    if (this.inbox.length > 0) this.flushes.schedule();
  }

  /**
   * Like a runtime that reads into one reused buffer: each chunk is a view of this end's read
   * buffer, overwritten with 0xEE as soon as the handler returns, so a handler that keeps a view
   * instead of copying sees garbage (and tests catch it).
   */
  onTransientData(handler: (data: Uint8Array) => void): void {
    this.onData(handler);
    this.transient = true;
  }

  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
    if (this.ended) this.flushes.schedule();
  }

  close(): void {
    if (this.ended) return;
    this.end();
    this.inbox = [];
    this.transmit(() => this.peer.remoteClosed());
  }

  /** Sends an event to the peer after the link delay, keeping order with earlier events. */
  private transmit(event: () => void): void {
    if (this.host.dead) return;
    const clock = this.fabric.clock;
    const now = clock.now();
    const arrival = Math.max(now + this.fabric.delay(this.local, this.remote), this.lastArrival);
    this.lastArrival = arrival;
    clock.setTimer(arrival - now, () => {
      if (this.fabric.findHost(this.remote.host)?.dead) return;
      event();
    });
  }

  private receive(chunk: Uint8Array): void {
    if (this.ended) return;
    if (this.dataHandler !== undefined && this.inbox.length === 0 && !this.flushes.pending) {
      this.deliver(this.dataHandler, chunk);
    } else {
      this.inbox.push(chunk);
      this.flushes.schedule();
    }
  }

  private deliver(handler: (data: Uint8Array) => void, chunk: Uint8Array): void {
    if (!this.transient) {
      handler(chunk);
      return;
    }
    if (this.readBuffer === undefined || this.readBuffer.length < chunk.length) this.readBuffer = new Uint8Array(Math.max(chunk.length, 64 * 1024));
    const view = this.readBuffer.subarray(0, chunk.length);
    view.set(chunk);
    handler(view);
    view.fill(0xee);
  }

  private remoteClosed(): void {
    if (this.ended) return;
    this.end();
  }

  private end(): void {
    this.ended = true;
    if (this.ownedPort) this.host.tcpPorts.release(this.local.port, this);
    this.flushes.schedule();
  }

  /** Delivers buffered data, then the close once the buffer is empty (or nobody reads it). */
  private flush(): void {
    const handler = this.dataHandler;
    if (handler !== undefined) {
      while (this.inbox.length > 0) this.deliver(handler, this.inbox.shift() as Uint8Array);
    }
    if (this.ended && !this.closeReported && this.closeHandler !== undefined) {
      this.closeReported = true;
      this.closeHandler(undefined);
    }
  }

  /** @internal Links two ends into a stream pair. */
  static pair(
    fabric: TcpFabric,
    client: { host: VirtualHost; local: Endpoint },
    server: { host: VirtualHost; local: Endpoint },
  ): [VirtualTcpConnection, VirtualTcpConnection] {
    const a = new VirtualTcpConnection(fabric, client.host, client.local, server.local, true);
    const b = new VirtualTcpConnection(fabric, server.host, server.local, client.local, false);
    a.peer = b;
    b.peer = a;
    return [a, b];
  }
}

/**
 * Opens a connection from `from` to `to`. The listener sees it one latency later; the caller's
 * promise resolves one more latency later (the SYN-ACK). Rejects with code 'ECONNREFUSED' one
 * latency later when nothing listens there, the target host is dead or unknown, or the caller is
 * itself dead; at once with 'ENETUNREACH' for an address of the other family (IPv4 to IPv6 or back).
 */
export function connectTcp(fabric: TcpFabric, from: VirtualHost, to: Endpoint): Promise<TcpConnection> {
  return new Promise((resolve, reject) => {
    if (to.host.includes(':') !== from.name.includes(':')) {
      reject(netError('ENETUNREACH', `connect ENETUNREACH ${to.host}:${to.port} (from ${from.name}, of the other family)`));
      return;
    }
    const owner = from.tcpPorts.take(0, from.name, (port) => ({ port }));
    const port = owner.port;
    const local: Endpoint = Object.freeze({ host: from.name, port });
    fabric.clock.setTimer(fabric.delay(local, to), () => {
      const target = fabric.findHost(to.host);
      const server = target?.tcpPorts.get(to.port);
      if (from.dead || target === undefined || target.dead || !(server instanceof VirtualTcpServer) || server.closed) {
        from.tcpPorts.release(port, owner);
        reject(netError('ECONNREFUSED', `connect ECONNREFUSED ${to.host}:${to.port}`));
        return;
      }
      const [client, accepted] = VirtualTcpConnection.pair(
        fabric,
        { host: from, local },
        { host: target, local: server.local },
      );
      from.tcpPorts.transfer(port, owner, client);
      server.accept(accepted);
      fabric.clock.setTimer(fabric.delay(server.local, local), () => resolve(client));
    });
  });
}
