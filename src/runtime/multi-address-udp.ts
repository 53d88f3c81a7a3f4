/**
 * One UDP port on every IPv6 address of the machine, answering each peer from the address that
 * peer reached.
 *
 * A socket bound to `[::]` alone sends from whichever address the kernel picks for the
 * destination. On a machine with several IPv6 addresses (a stable one and temporary privacy
 * addresses, a ULA, a VPN's) a uTP peer or DHT node that reached us at one address drops answers
 * that come from another: libtorrent does, and so do we. Node.js cannot tell at which address a
 * datagram arrived (it has no IPV6_PKTINFO), so, as libtorrent binds a socket per address, this
 * binds the port on each address besides `[::]`:
 *   - a datagram that arrived on an address's socket is answered through that socket;
 *   - the wildcard socket takes what arrived at an address not bound yet, and sends to peers not
 *     heard from on an address's socket (the kernel picks the source, as it did before).
 * With fewer than two addresses the kernel's pick is the right one, and nothing more is bound.
 * The addresses are listed again every `REFRESH_MS`, since temporary addresses come and go.
 */
import type { Endpoint, Timer, UdpSocket } from './interfaces.js';

/** How often the machine's addresses are listed again. */
export const REFRESH_MS = 60_000;
/** Peers whose answering socket is remembered; past this the oldest is forgotten (it gets the wildcard). */
export const MAX_REMEMBERED_PEERS = 65_536;

export interface MultiAddressUdpDeps {
  /** The socket on `[::]:port`, bound so that sockets on single addresses may share its port. */
  wildcard: UdpSocket;
  /** Binds the same port on one address, sharing it with the wildcard socket. */
  bindAt(host: string): Promise<UdpSocket>;
  /** The machine's IPv6 unicast addresses other than `::1` and link-local ones. */
  addresses(): string[];
  setTimer(ms: number, fn: () => void): Timer;
}

const keyOf = (peer: Endpoint): string => `${peer.host}]${peer.port}`;

/** The wildcard socket and one socket per address, as one `UdpSocket`; see the module comment. */
export class MultiAddressUdpSocket implements UdpSocket {
  readonly local: Endpoint;
  private handler: ((data: Uint8Array, from: Endpoint) => void) | undefined;
  private readonly byAddress = new Map<string, UdpSocket>();
  /** The socket each peer was last heard on, for peers heard on an address's socket (oldest first). */
  private readonly replyVia = new Map<string, UdpSocket>();
  private closed = false;
  private timer: Timer | undefined;

  /** Binds the sockets of the addresses there are now, and keeps them up to date until closed. */
  static async open(deps: MultiAddressUdpDeps): Promise<MultiAddressUdpSocket> {
    const socket = new MultiAddressUdpSocket(deps);
    await socket.refresh();
    return socket;
  }

  private constructor(private readonly deps: MultiAddressUdpDeps) {
    this.local = deps.wildcard.local;
    deps.wildcard.onMessage((data, from) => {
      if (this.replyVia.size > 0) this.replyVia.delete(keyOf(from));
      this.handler?.(data, from);
    });
  }

  /** The addresses that have a socket of their own now. */
  get boundAddresses(): string[] {
    return [...this.byAddress.keys()];
  }

  send(data: Uint8Array, to: Endpoint): void {
    const via = this.replyVia.size > 0 ? this.replyVia.get(keyOf(to)) : undefined;
    (via ?? this.deps.wildcard).send(data, to);
  }

  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.timer?.cancel();
    for (const socket of this.byAddress.values()) socket.close();
    this.byAddress.clear();
    this.replyVia.clear();
    this.deps.wildcard.close();
  }

  /** Binds new addresses and closes the sockets of vanished ones; then waits `REFRESH_MS` to do it again. */
  private async refresh(): Promise<void> {
    let listed: string[];
    try {
      listed = this.deps.addresses();
    } catch {
      listed = [...this.byAddress.keys()]; // the list could not be read: keep what there is
    }
    const wanted = new Set(listed.length >= 2 ? listed : []);
    for (const [host, socket] of this.byAddress) {
      if (wanted.has(host)) continue;
      this.byAddress.delete(host);
      socket.close();
      for (const [peer, via] of this.replyVia) if (via === socket) this.replyVia.delete(peer);
    }
    await Promise.all([...wanted].filter((host) => !this.byAddress.has(host)).map((host) => this.bind(host)));
    if (!this.closed) this.timer = this.deps.setTimer(REFRESH_MS, () => void this.refresh());
  }

  private async bind(host: string): Promise<void> {
    let socket: UdpSocket;
    try {
      socket = await this.deps.bindAt(host);
    } catch {
      return; // not bindable yet (a tentative address, say): the wildcard serves it; tried again next time
    }
    if (this.closed || this.byAddress.has(host)) {
      socket.close();
      return;
    }
    this.byAddress.set(host, socket);
    socket.onMessage((data, from) => {
      this.remember(from, socket);
      this.handler?.(data, from);
    });
  }

  private remember(peer: Endpoint, socket: UdpSocket): void {
    const key = keyOf(peer);
    if (this.replyVia.get(key) === socket) return;
    this.replyVia.delete(key);
    this.replyVia.set(key, socket);
    if (this.replyVia.size > MAX_REMEMBERED_PEERS) this.replyVia.delete(this.replyVia.keys().next().value!);
  }
}
