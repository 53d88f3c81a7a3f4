/**
 * A simulated IPv4 and IPv6 network for tests and simulations: many hosts in one process, one shared
 * `VirtualClock`, UDP with latency, loss and dead hosts, simple TCP streams, and an in-memory disk
 * per host. Everything random comes from PRNGs seeded from `seed`, so a simulation driven the same
 * way replays identically.
 *
 * Accounting: every `send` on an open socket counts in `datagramsSent`/`bytesSent`; it then ends
 * in exactly one of `datagramsDelivered` (a handler received it) or `datagramsLost` (random loss,
 * dead sender or receiver, unknown host, no socket or no handler on the port), or is still in
 * flight.
 */
import type { Endpoint, Runtime, TcpConnection, TcpServer, UdpSocket } from './interfaces.js';
import { deriveSeed, Mulberry32 } from './prng.js';
import { VirtualClock } from './virtual-clock.js';
import { isIpAddress, netError, VirtualHost, wildcardOf } from './virtual-host.js';
import { connectTcp, VirtualTcpServer, type TcpFabric } from './virtual-tcp.js';

/** How links behave between two endpoints. */
export interface LinkProfile {
  /** One-way delay in ms. */
  latencyMs(from: Endpoint, to: Endpoint): number;
  /** Probability in [0, 1] that a datagram is lost; default 0. */
  lossRate?: number;
}

/** Options of a `VirtualNetwork`. */
export interface VirtualNetworkOptions {
  /** Seeds every PRNG of the simulation (loss draws and each host's `random()`). */
  seed: number;
  /** One-way latency between two endpoints; default a constant 10 ms. */
  latency?: LinkProfile['latencyMs'];
  /** Datagram loss probability in [0, 1]; default 0. */
  lossRate?: number;
}

/** Datagram counters of a `VirtualNetwork`. */
export interface VirtualNetworkStats {
  datagramsSent: number;
  datagramsDelivered: number;
  datagramsLost: number;
  bytesSent: number;
}

/** A UDP socket on a simulated host; bound until `close()`. */
class VirtualUdpSocket implements UdpSocket {
  handler: ((data: Uint8Array, from: Endpoint) => void) | undefined;
  closed = false;

  constructor(
    readonly local: Endpoint,
    readonly host: VirtualHost,
    private readonly network: VirtualNetwork,
  ) {}

  send(data: Uint8Array, to: Endpoint): void {
    if (!this.closed) this.network.transmit(this, data, to);
  }

  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.handler = undefined;
    this.host.udpPorts.release(this.local.port, this);
  }
}

const DEFAULT_LATENCY = (): number => 10;

/**
 * The simulated network. Create hosts with `runtime(host)`, drive time with `clock`. Used by
 * engine tests and simulations in place of `createNodeRuntime()`.
 */
export class VirtualNetwork {
  readonly clock = new VirtualClock();
  readonly stats: VirtualNetworkStats = { datagramsSent: 0, datagramsDelivered: 0, datagramsLost: 0, bytesSent: 0 };
  private readonly hosts = new Map<string, VirtualHost>();
  private readonly names = new Map<string, string>();
  private readonly seed: number;
  private readonly latency: (from: Endpoint, to: Endpoint) => number;
  private readonly lossRate: number;
  private readonly lossPrng: Mulberry32;
  private readonly fabric: TcpFabric;

  constructor(options: VirtualNetworkOptions) {
    const loss = options.lossRate ?? 0;
    if (!(loss >= 0 && loss <= 1)) throw new RangeError(`lossRate must be in [0, 1], got ${loss}`);
    this.seed = options.seed;
    this.latency = options.latency ?? DEFAULT_LATENCY;
    this.lossRate = loss;
    this.lossPrng = new Mulberry32(deriveSeed(options.seed, '\u0000network-loss'));
    this.fabric = {
      clock: this.clock,
      findHost: (host) => this.hosts.get(host),
      delay: (from, to) => this.delay(from, to),
    };
  }

  /**
   * A `Runtime` for one simulated host (an IPv4 or IPv6 address): the shared clock, a deterministic
   * PRNG for that host, UDP/TCP over this network, and the host's in-memory disk. Calling it again
   * for the same host gives a fresh `Runtime` over the same host state (disk, PRNG stream, bound
   * ports), which is how restart tests model a process restart.
   */
  runtime(host: string): Runtime {
    const h = this.host(host);
    const clock = this.clock;
    return {
      now: () => clock.now(),
      setTimer: (ms, fn) => clock.setTimer(ms, fn),
      random: () => h.prng.next(),
      randomBytes: (n) => h.prng.bytes(n),
      udp: async (bind) => this.bindUdp(h, bind),
      tcpListen: async (bind) => this.listenTcp(h, bind),
      // A connect is answered or refused after one trip there and back: a timeout never fires.
      tcpConnect: (to, _timeoutMs, localAddress): Promise<TcpConnection> => {
        // A host has one address: a connection can leave from that one only.
        if (localAddress !== undefined && localAddress !== h.name) return Promise.reject(netError('EADDRNOTAVAIL', `cannot bind ${localAddress} on host ${h.name}`));
        return connectTcp(this.fabric, h, to);
      },
      fs: h.fs,
      resolveHost: async (name) => this.resolve(name),
      httpGet: async (url) => {
        throw netError('ECONNREFUSED', `the virtual network has no HTTP servers (GET ${url})`);
      },
    };
  }

  /** A dead host silently drops everything sent to it and sends nothing (a crashed or firewalled node). */
  setDead(host: string, dead: boolean): void {
    this.host(host).dead = dead;
  }

  /** Every datagram or TCP segment to or from this host gets `ms` extra one-way delay (a slow node). */
  setExtraLatency(host: string, ms: number): void {
    if (!(ms >= 0)) throw new RangeError(`extra latency must be >= 0, got ${ms}`);
    this.host(host).extraLatencyMs = ms;
  }

  /** Registers a DNS name for `resolveHost` (e.g. a bootstrap router's name) on every host. */
  setHostName(name: string, address: string): void {
    if (!isIpAddress(address)) throw new TypeError(`setHostName: '${address}' is not an IP address`);
    this.names.set(name.toLowerCase(), address);
  }

  /** @internal Sends one datagram from `socket`; called by `VirtualUdpSocket.send`. */
  transmit(socket: VirtualUdpSocket, data: Uint8Array, to: Endpoint): void {
    const stats = this.stats;
    stats.datagramsSent++;
    stats.bytesSent += data.length;
    // A datagram to the other family's address goes nowhere (a host has one address, of one family).
    const crossFamily = to.host.includes(':') !== socket.host.name.includes(':');
    if (socket.host.dead || crossFamily || (this.lossRate > 0 && this.lossPrng.next() < this.lossRate)) {
      stats.datagramsLost++;
      return;
    }
    // Buffer.from copies into Node's pooled slabs: several times cheaper than a fresh Uint8Array.
    const bytes: Uint8Array = Buffer.from(data);
    const from = socket.local;
    const target = this.hosts.get(to.host);
    const port = to.port;
    let delay = this.latency(from, to) + socket.host.extraLatencyMs;
    if (target !== undefined) delay += target.extraLatencyMs;
    this.clock.setTimer(delay, () => {
      const receiver = target?.dead === false ? target.udpPorts.get(port) : undefined;
      const handler = receiver instanceof VirtualUdpSocket ? receiver.handler : undefined;
      if (handler === undefined) {
        stats.datagramsLost++;
        return;
      }
      stats.datagramsDelivered++;
      handler(bytes, from);
    });
  }

  /** An IP address resolves to itself, a registered name to its address; else ENOTFOUND. */
  private resolve(name: string): string {
    if (isIpAddress(name)) return name;
    const address = this.names.get(name.toLowerCase());
    if (address === undefined) throw netError('ENOTFOUND', `getaddrinfo ENOTFOUND ${name}`);
    return address;
  }

  private delay(from: Endpoint, to: Endpoint): number {
    const a = this.hosts.get(from.host)?.extraLatencyMs ?? 0;
    const b = this.hosts.get(to.host)?.extraLatencyMs ?? 0;
    return this.latency(from, to) + a + b;
  }

  private host(name: string): VirtualHost {
    let h = this.hosts.get(name);
    if (h === undefined) {
      if (!isIpAddress(name)) throw new TypeError(`VirtualNetwork: host must be an IPv4 or IPv6 address, got '${name}'`);
      h = new VirtualHost(name, new Mulberry32(deriveSeed(this.seed, name)));
      this.hosts.set(name, h);
    }
    return h;
  }

  /**
   * Resolves the bind address: the wildcard of the host's family (0.0.0.0 or ::, or '') means the
   * host itself; another address, the other family's wildcard included, is refused (a host has one
   * address, of one family).
   */
  private checkBindHost(h: VirtualHost, bind: Endpoint): void {
    if (bind.host !== h.name && bind.host !== wildcardOf(h.name) && bind.host !== '') {
      throw netError('EADDRNOTAVAIL', `cannot bind ${bind.host} on host ${h.name}`);
    }
  }

  private bindUdp(h: VirtualHost, bind: Endpoint): UdpSocket {
    this.checkBindHost(h, bind);
    return h.udpPorts.take(bind.port, h.name, (port) => new VirtualUdpSocket(Object.freeze({ host: h.name, port }), h, this));
  }

  private listenTcp(h: VirtualHost, bind: Endpoint): TcpServer {
    this.checkBindHost(h, bind);
    return h.tcpPorts.take(bind.port, h.name, (port) => new VirtualTcpServer(Object.freeze({ host: h.name, port }), h));
  }
}
