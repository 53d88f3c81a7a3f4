/**
 * uTP over one UDP socket (BEP 29): it dials uTP connections and accepts them, and routes each
 * datagram to its connection by the sender's address and the connection id in the header. Peers
 * find it at the port number of the TCP listener, as libtorrent, Transmission and µTorrent do.
 *
 * Connection ids: the side that dials picks a random id R to receive on and sends on R + 1; its
 * SYN carries R, so the answering side receives on R + 1 and sends on R. A datagram that is not
 * uTP is dropped and counted; one for no known connection is answered with RESET (unless it is
 * one); a SYN beyond `maxConnections` is refused with RESET.
 */
import { decodeUtpPacket, encodeUtpPacket, UTP_RESET, UTP_SYN, type UtpPacket } from '../codec/utp.js';
import type { Endpoint, Runtime, TcpConnection, UdpSocket } from '../runtime/interfaces.js';
import { UtpConnection } from './utp-connection.js';

export interface UtpSocketOptions {
  /** Most connections at once, dialled and accepted (default 1000). */
  maxConnections?: number;
}

/** Counters of a `UtpSocket`. */
export interface UtpSocketStats {
  /** Datagrams that were not uTP packets. */
  malformed: number;
  /** Packets for no known connection (answered with RESET unless they were one). */
  unknown: number;
  /** SYNs refused because no handler takes connections or the socket is full. */
  refused: number;
}

export class UtpSocket {
  readonly stats: UtpSocketStats = { malformed: 0, unknown: 0, refused: 0 };
  private readonly connections = new Map<string, UtpConnection>();
  private handler: ((conn: TcpConnection) => void) | undefined;
  private closed = false;
  private readonly maxConnections: number;

  private constructor(
    private readonly runtime: Runtime,
    private readonly udp: UdpSocket,
    options: UtpSocketOptions,
  ) {
    this.maxConnections = options.maxConnections ?? 1000;
    udp.onMessage((data, from) => this.receive(data, from));
  }

  /** Binds the UDP socket (rejects as `runtime.udp` does, e.g. EADDRINUSE). */
  static async bind(runtime: Runtime, bind: Endpoint, options: UtpSocketOptions = {}): Promise<UtpSocket> {
    return new UtpSocket(runtime, await runtime.udp(bind), options);
  }

  get local(): Endpoint {
    return this.udp.local;
  }

  /** Open connections (dialled, accepted, and closing ones waiting for the ack of their FIN). */
  get connectionCount(): number {
    return this.connections.size;
  }

  /** Takes accepted connections; without a handler, SYNs are refused. */
  onConnection(handler: (conn: TcpConnection) => void): void {
    this.handler = handler;
  }

  /** Dials `to`; resolves once it answers the SYN, rejects with ETIMEDOUT or ECONNRESET. */
  async connect(to: Endpoint): Promise<TcpConnection> {
    if (this.closed) throw new Error('uTP socket is closed');
    if (this.connections.size >= this.maxConnections) throw new Error('uTP socket has no room for another connection');
    let recvId: number;
    do recvId = Math.floor(this.runtime.random() * 0x10000);
    while (this.connections.has(keyOf(to, recvId)) || this.connections.has(keyOf(to, (recvId + 1) & 0xffff)));
    const conn = this.add(to, { recvId, sendId: (recvId + 1) & 0xffff, seq: this.randomSeq() });
    await conn.open();
    return conn;
  }

  /** Closes the socket: every connection ends at once (with RESET to its peer). */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const conn of [...this.connections.values()]) conn.destroy();
    this.udp.close();
  }

  private receive(data: Uint8Array, from: Endpoint): void {
    if (this.closed) return;
    let packet: UtpPacket;
    try {
      packet = decodeUtpPacket(data);
    } catch {
      this.stats.malformed++;
      return;
    }
    if (packet.type === UTP_SYN) return this.receiveSyn(packet, from);
    const conn = this.connections.get(keyOf(from, packet.connectionId)) ?? (packet.type === UTP_RESET ? this.resetTarget(packet, from) : undefined);
    if (conn) return conn.receive(packet);
    this.stats.unknown++;
    if (packet.type !== UTP_RESET) this.sendReset(packet, from);
  }

  private receiveSyn(syn: UtpPacket, from: Endpoint): void {
    const recvId = (syn.connectionId + 1) & 0xffff;
    const existing = this.connections.get(keyOf(from, recvId));
    if (existing) return existing.receive(syn);
    if (!this.handler || this.connections.size >= this.maxConnections) {
      this.stats.refused++;
      return this.sendReset(syn, from);
    }
    const conn = this.add(from, { recvId, sendId: syn.connectionId, seq: this.randomSeq(), ack: syn.seq });
    conn.acceptSyn();
    this.handler(conn);
  }

  /** A RESET names either id of the connection (peers differ): ours to receive on, or ours to send on. */
  private resetTarget(reset: UtpPacket, from: Endpoint): UtpConnection | undefined {
    for (const recvId of [(reset.connectionId + 1) & 0xffff, (reset.connectionId - 1) & 0xffff]) {
      const conn = this.connections.get(keyOf(from, recvId));
      if (conn?.sendId === reset.connectionId) return conn;
    }
    return undefined;
  }

  private add(remote: Endpoint, ids: { recvId: number; sendId: number; seq: number; ack?: number }): UtpConnection {
    const key = keyOf(remote, ids.recvId);
    const conn = new UtpConnection(
      {
        runtime: this.runtime,
        send: (datagram) => this.udp.send(datagram, remote),
        forget: () => {
          if (this.connections.get(key) === conn) this.connections.delete(key);
        },
      },
      { local: this.udp.local, remote: { host: remote.host, port: remote.port }, ...ids },
    );
    this.connections.set(key, conn);
    return conn;
  }

  private sendReset(packet: UtpPacket, to: Endpoint): void {
    const reset = encodeUtpPacket({
      type: UTP_RESET,
      connectionId: packet.connectionId,
      timestamp: Math.floor(this.runtime.now() * 1000) >>> 0,
      timestampDiff: 0,
      windowSize: 0,
      seq: this.randomSeq(),
      ack: packet.seq,
      payload: new Uint8Array(0),
    });
    this.udp.send(reset, to);
  }

  private randomSeq(): number {
    return Math.floor(this.runtime.random() * 0x10000);
  }
}

function keyOf(remote: Endpoint, recvId: number): string {
  return `${remote.host}:${remote.port}/${recvId}`;
}
