/**
 * Test helper: a bare KRPC endpoint on a virtual host that sends hand-made queries (or raw bytes)
 * to a node and collects what comes back.
 */
import { bdecode, type BDict, type BEncodable } from '../../src/codec/bencode.js';
import { encodeQuery } from '../../src/codec/krpc.js';
import type { Endpoint, UdpSocket } from '../../src/runtime/interfaces.js';
import type { VirtualNetwork } from '../../src/runtime/virtual-network.js';

export class KrpcProbe {
  readonly id = new Uint8Array(20).fill(0xab);
  private tid = 0;
  private constructor(
    private readonly net: VirtualNetwork,
    readonly socket: UdpSocket,
    private readonly received: { data: Uint8Array; from: Endpoint }[],
  ) {}

  static async open(net: VirtualNetwork, host: string): Promise<KrpcProbe> {
    const socket = await net.runtime(host).udp({ host, port: 7000 });
    const received: { data: Uint8Array; from: Endpoint }[] = [];
    socket.onMessage((data, from) => received.push({ data: Uint8Array.from(data), from }));
    return new KrpcProbe(net, socket, received);
  }

  /** Sends raw bytes and returns the decoded reply, or undefined when none came within 1 s. */
  async raw(to: Endpoint, bytes: Uint8Array): Promise<{ dict: BDict; size: number } | undefined> {
    const before = this.received.length;
    this.socket.send(bytes, to);
    await this.net.clock.runUntil(() => this.received.length > before, 1000);
    const reply = this.received[before];
    return reply && { dict: bdecode(reply.data) as BDict, size: reply.data.length };
  }

  /** Sends a query with `args` and returns the reply dict (`r` or `e` inside). */
  async query(to: Endpoint, method: string, args: Record<string, BEncodable | undefined>, id = this.id) {
    const transactionId = Uint8Array.of(0x70, this.tid++ & 0xff);
    return this.raw(to, encodeQuery({ transactionId, method, args, senderId: id }));
  }

  close(): void {
    this.socket.close();
  }
}

/** The `[code, message]` of an error reply, or undefined for a response. */
export function errorOf(reply: { dict: BDict } | undefined): [number, string] | undefined {
  const e = reply?.dict.e;
  if (!Array.isArray(e)) return undefined;
  return [e[0] as number, new TextDecoder().decode(e[1] as Uint8Array)];
}

export function responseOf(reply: { dict: BDict } | undefined): BDict | undefined {
  return reply?.dict.r as BDict | undefined;
}
