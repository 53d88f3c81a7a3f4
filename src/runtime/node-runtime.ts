/**
 * The real `Runtime` on Node.js: `performance.now()`, `setTimeout`, `node:crypto` randomness,
 * `node:dgram` UDP (see `multi-address-udp.ts` for `[::]`), `node:net` TCP and `node:fs/promises`. The CLI and end-to-end tests
 * build engines on it; unit tests use `VirtualNetwork` instead.
 */
import { randomBytes as cryptoRandomBytes } from 'node:crypto';
import dgram from 'node:dgram';
import { lookup } from 'node:dns/promises';
import { constants as fsConstants } from 'node:fs';
import { open, mkdir, readdir, readFile, rename, stat, truncate, unlink } from 'node:fs/promises';
import type { FileHandle as NodeFsHandle } from 'node:fs/promises';
import net, { isIPv4, isIPv6 } from 'node:net';
import { networkInterfaces } from 'node:os';
import { performance } from 'node:perf_hooks';
import { httpGet } from './http-get.js';
import { MultiAddressUdpSocket } from './multi-address-udp.js';
import type { Endpoint, FileHandle, FileStat, FileStore, Runtime, TcpConnection, TcpServer, Timer, UdpSocket } from './interfaces.js';

/** Largest delay `setTimeout` accepts; longer timers are chained. */
const MAX_TIMEOUT = 0x7fffffff;
/** Receive buffer asked for each UDP socket: benchmarks run hundreds of nodes on one host. */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024;

function setNodeTimer(ms: number, fn: () => void): Timer {
  let handle: NodeJS.Timeout | undefined;
  const arm = (remaining: number): void => {
    const step = Math.min(remaining, MAX_TIMEOUT);
    handle = setTimeout(() => {
      if (remaining > MAX_TIMEOUT) arm(remaining - MAX_TIMEOUT);
      else fn();
    }, step);
  };
  arm(ms > 0 ? ms : 0);
  return { cancel: () => clearTimeout(handle) };
}

/** `random()` from a pooled crypto buffer: 53 random bits per call, refilled 4 KiB at a time. */
function pooledRandom(): () => number {
  let pool = cryptoRandomBytes(4096);
  let offset = 0;
  return () => {
    if (offset + 8 > pool.length) {
      pool = cryptoRandomBytes(4096);
      offset = 0;
    }
    const hi = pool.readUInt32BE(offset) >>> 11; // 21 bits
    const lo = pool.readUInt32BE(offset + 4);
    offset += 8;
    return (hi * 0x100000000 + lo) / 0x20000000000000;
  };
}

/** Node reports IPv4-mapped IPv6 addresses on dual-stack sockets; `Endpoint.host` is plain IPv4. */
function plainHost(address: string | undefined): string {
  if (address === undefined) return '0.0.0.0';
  return address.startsWith('::ffff:') ? address.slice(7) : address;
}

/** A `node:dgram` socket (udp4, or IPv6-only udp6). Send failures are counted in `sendErrors`, never thrown. */
export class NodeUdpSocket implements UdpSocket {
  /** Datagrams that could not be sent (bad port, closed socket, kernel error). */
  sendErrors = 0;
  /** The last synchronous send failure, for diagnostics. */
  lastSendError: Error | undefined;
  /** Errors the socket emitted after binding. */
  socketErrors = 0;
  /** Receive buffer size actually in effect (0 when it could not be set). */
  recvBufferSize = 0;
  /** Why the larger receive buffer could not be set, if it could not. */
  recvBufferError: Error | undefined;
  private handler: ((data: Uint8Array, from: Endpoint) => void) | undefined;
  private closed = false;
  private readonly onSent = (error: Error | null): void => {
    if (error) this.sendErrors++;
  };

  constructor(
    private readonly socket: dgram.Socket,
    readonly local: Endpoint,
  ) {
    socket.on('message', (msg, rinfo) => {
      this.handler?.(msg, { host: plainHost(rinfo.address), port: rinfo.port });
    });
    socket.on('error', () => {
      this.socketErrors++;
    });
    try {
      socket.setRecvBufferSize(RECV_BUFFER_BYTES);
      this.recvBufferSize = socket.getRecvBufferSize();
    } catch (error) {
      // The kernel may refuse (limits); the default buffer still works, only with more drops.
      this.recvBufferError = error as Error;
    }
  }

  send(data: Uint8Array, to: Endpoint): void {
    if (this.closed) {
      this.sendErrors++;
      return;
    }
    try {
      this.socket.send(data, to.port, to.host, this.onSent);
    } catch (error) {
      // Synchronous failures (ERR_SOCKET_BAD_PORT, bad address): the datagram is simply lost.
      this.sendErrors++;
      this.lastSendError = error as Error;
    }
  }

  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void {
    this.handler = handler;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.socket.close();
  }
}

/** Binds a `node:dgram` socket; `shared`: with SO_REUSEADDR, so sockets of this process can share the port. */
function bindDgram(bind: Endpoint, shared = false): Promise<NodeUdpSocket> {
  return new Promise((resolve, reject) => {
    // One socket per family, as libtorrent binds them: an IPv6 socket takes IPv6 only, so the same
    // port can also be bound for IPv4.
    const socket = dgram.createSocket(isIPv6(bind.host) ? { type: 'udp6', ipv6Only: true, reuseAddr: shared } : { type: 'udp4', reuseAddr: shared });
    const onError = (error: Error): void => {
      socket.close();
      reject(error);
    };
    socket.once('error', onError);
    socket.bind(bind.port, bind.host, () => {
      socket.off('error', onError);
      const address = socket.address();
      resolve(new NodeUdpSocket(socket, Object.freeze({ host: plainHost(address.address), port: address.port })));
    });
  });
}

/** The machine's IPv6 unicast addresses worth a socket of their own: not `::1`, not link-local. */
function machineIpv6Addresses(): string[] {
  const found = new Set<string>();
  for (const list of Object.values(networkInterfaces())) {
    for (const entry of list ?? []) {
      if (entry.family !== 'IPv6' || entry.address === '::1' || /^fe[89ab]/i.test(entry.address)) continue;
      found.add(entry.address);
    }
  }
  return [...found];
}

/**
 * Binds UDP. `[::]` binds the port on every IPv6 address too, so that each peer is answered from
 * the address it reached (`multi-address-udp.ts`). Those sockets share the port (SO_REUSEADDR),
 * which another program asking the same could share too; so the port is first bound alone, which
 * fails with EADDRINUSE if anyone holds it, and then bound again shared.
 */
async function bindUdp(bind: Endpoint): Promise<UdpSocket> {
  if (bind.host !== '::') return bindDgram(bind);
  const alone = await bindDgram(bind);
  const port = alone.local.port;
  alone.close();
  const wildcard = await bindDgram({ host: '::', port }, true);
  return MultiAddressUdpSocket.open({
    wildcard,
    bindAt: (host) => bindDgram({ host, port }, true),
    addresses: machineIpv6Addresses,
    setTimer: setNodeTimer,
  });
}

/** Size of the reused read buffer of an outgoing connection (Node's own reads are 64 KiB too). */
const READ_BUFFER_BYTES = 64 * 1024;

/**
 * A `node:net` socket as a `TcpConnection`; `onClose` fires exactly once.
 *
 * Sockets we connect read into one reused buffer (`onread`; Node 20 offers it for outgoing sockets
 * only) instead of a fresh 64 KiB buffer per read, which costs an allocation, external-memory
 * accounting and garbage collection for every read. `onTransientData` handlers get views of that
 * buffer; `onData` handlers get copies. Reads that arrive before any handler are kept as copies.
 */
class NodeTcpConnection implements TcpConnection {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  private closeHandler: ((error?: Error) => void) | undefined;
  private closed = false;
  private closeReported = false;
  private error: Error | undefined;
  /** `onread` mode only: the data handler, whether it accepts views of the read buffer, and early reads. */
  private readHandler: ((data: Uint8Array) => void) | undefined;
  private readTransient = false;
  private early: Uint8Array[] = [];

  /** `userBuffer`: the socket was created with `onread` and calls `userRead` for each read. */
  constructor(
    private readonly socket: net.Socket,
    private readonly userBuffer = false,
  ) {
    this.local = Object.freeze({ host: plainHost(socket.localAddress), port: socket.localPort ?? 0 });
    this.remote = Object.freeze({ host: plainHost(socket.remoteAddress), port: socket.remotePort ?? 0 });
    socket.setNoDelay(true);
    socket.on('error', (error) => {
      this.error ??= error;
    });
    socket.on('close', () => {
      this.closed = true;
      this.reportClose();
    });
  }

  write(data: Uint8Array): void {
    if (this.socket.destroyed || this.socket.writableEnded) return;
    this.socket.write(data);
  }

  writev(chunks: readonly Uint8Array[], done?: () => void): void {
    if (this.socket.destroyed || this.socket.writableEnded || chunks.length === 0) {
      if (done) queueMicrotask(done);
      return;
    }
    this.socket.cork();
    const last = chunks.length - 1;
    for (let i = 0; i < last; i++) this.socket.write(chunks[i]);
    // Writes complete in order, and a destroyed socket calls back every pending write (with an error).
    if (done) this.socket.write(chunks[last], () => done());
    else this.socket.write(chunks[last]);
    this.socket.uncork();
  }

  onData(handler: (data: Uint8Array) => void): void {
    if (this.userBuffer) return this.setReadHandler(handler, false);
    this.socket.removeAllListeners('data');
    this.socket.on('data', handler);
  }

  onTransientData(handler: (data: Uint8Array) => void): void {
    if (this.userBuffer) return this.setReadHandler(handler, true);
    // Stream mode: every chunk is a fresh buffer, which is also valid beyond the call.
    this.onData(handler);
  }

  /** @internal The `onread` callback: `n` bytes were read into the reused `buffer`. */
  userRead(n: number, buffer: Uint8Array): void {
    const view = new Uint8Array(buffer.buffer, buffer.byteOffset, n);
    const handler = this.readHandler;
    if (handler === undefined || this.early.length > 0) {
      this.early.push(Buffer.from(view));
      return;
    }
    handler(this.readTransient ? view : Buffer.from(view));
  }

  private setReadHandler(handler: (data: Uint8Array) => void, transient: boolean): void {
    this.readHandler = handler;
    this.readTransient = transient;
    if (this.early.length === 0) return;
    // As a stream does when a 'data' listener is added: deliver what waited, asynchronously and in order.
    queueMicrotask(() => {
      while (this.early.length > 0 && this.readHandler !== undefined) this.readHandler(this.early.shift()!);
    });
  }

  onClose(handler: (error?: Error) => void): void {
    this.closeHandler = handler;
    if (this.closed) queueMicrotask(() => this.reportClose());
  }

  close(): void {
    if (this.socket.destroyed) return;
    if (this.socket.writableEnded) {
      this.socket.destroy();
      return;
    }
    // Flush what was written, send FIN, then release the descriptor.
    this.socket.end(() => this.socket.destroy());
  }

  private reportClose(): void {
    if (this.closeReported || this.closeHandler === undefined) return;
    this.closeReported = true;
    this.closeHandler(this.error);
  }
}

/** A `node:net` server as a `TcpServer`. */
class NodeTcpServer implements TcpServer {
  private handler: ((conn: TcpConnection) => void) | undefined;
  private backlog: TcpConnection[] = [];
  /** Errors the server emitted after listening. */
  errors = 0;

  constructor(
    private readonly server: net.Server,
    readonly local: Endpoint,
  ) {
    server.on('connection', (socket) => {
      const conn = new NodeTcpConnection(socket);
      if (this.handler) this.handler(conn);
      else this.backlog.push(conn);
    });
    server.on('error', () => {
      this.errors++;
    });
  }

  onConnection(handler: (conn: TcpConnection) => void): void {
    this.handler = handler;
    const waiting = this.backlog;
    this.backlog = [];
    for (const conn of waiting) handler(conn);
  }

  close(): void {
    if (this.server.listening) this.server.close();
  }
}

function listenTcp(bind: Endpoint): Promise<TcpServer> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    const onError = (error: Error): void => reject(error);
    server.once('error', onError);
    server.listen({ host: bind.host, port: bind.port, ipv6Only: isIPv6(bind.host) }, () => {
      server.off('error', onError);
      const address = server.address() as net.AddressInfo;
      resolve(new NodeTcpServer(server, Object.freeze({ host: plainHost(address.address), port: address.port })));
    });
  });
}

function connectTcp(to: Endpoint, timeoutMs?: number, localAddress?: string): Promise<TcpConnection> {
  return new Promise((resolve, reject) => {
    let conn: NodeTcpConnection | undefined;
    // Reading starts after 'connect', by which time `conn` exists.
    const socket = net.connect({
      host: to.host,
      port: to.port,
      ...(localAddress === undefined ? {} : { localAddress }),
      onread: {
        buffer: Buffer.allocUnsafeSlow(READ_BUFFER_BYTES),
        callback: (n, buffer) => {
          conn?.userRead(n, buffer);
          return true;
        },
      },
    });
    const onError = (error: Error): void => {
      clearTimeout(timer);
      socket.destroy();
      reject(error);
    };
    const timer =
      timeoutMs === undefined
        ? undefined
        : setTimeout(() => onError(Object.assign(new Error(`connect ETIMEDOUT ${to.host}:${to.port} (no answer within ${timeoutMs} ms)`), { code: 'ETIMEDOUT' })), timeoutMs);
    socket.once('error', onError);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.off('error', onError);
      conn = new NodeTcpConnection(socket, true);
      resolve(conn);
    });
  });
}

/** A `node:fs/promises` handle as a `FileHandle`: positional reads and writes, looped until complete. */
class NodeFileHandle implements FileHandle {
  private closed = false;

  constructor(private readonly handle: NodeFsHandle) {}

  async read(position: number, length: number): Promise<Uint8Array> {
    const buffer = Buffer.allocUnsafe(length);
    const filled = await this.readInto(buffer, position);
    return filled === length ? buffer : buffer.subarray(0, filled);
  }

  async readInto(buffer: Uint8Array, position: number): Promise<number> {
    const length = buffer.length;
    let filled = 0;
    while (filled < length) {
      const { bytesRead } = await this.handle.read(buffer, filled, length - filled, position + filled);
      if (bytesRead === 0) break; // end of file
      filled += bytesRead;
    }
    return filled;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.length) {
      const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
      done += bytesWritten;
    }
  }

  async sync(): Promise<void> {
    await this.handle.sync();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.handle.close();
  }
}

function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** `node:fs/promises` with atomic writes (temp file, fsync, rename). */
const nodeFileStore: FileStore = {
  async readFile(path: string): Promise<Uint8Array | undefined> {
    try {
      return await readFile(path);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  },

  async writeFile(path: string, data: Uint8Array): Promise<void> {
    const tmp = `${path}.tmp-${cryptoRandomBytes(6).toString('hex')}`;
    const handle = await open(tmp, 'w');
    try {
      try {
        await handle.writeFile(data);
        await handle.sync();
      } finally {
        await handle.close();
      }
      await rename(tmp, path);
    } catch (error) {
      // Best-effort cleanup; the write failure is the error worth reporting.
      await unlink(tmp).catch((cleanupError: unknown) => cleanupError);
      throw error;
    }
  },

  async mkdir(path: string): Promise<void> {
    await mkdir(path, { recursive: true });
  },

  async open(path: string, mode: 'r' | 'rw'): Promise<FileHandle> {
    // O_RDWR|O_CREAT rather than 'a+': with O_APPEND Linux ignores the position of writes.
    const flags = mode === 'r' ? fsConstants.O_RDONLY : fsConstants.O_RDWR | fsConstants.O_CREAT;
    return new NodeFileHandle(await open(path, flags, 0o666));
  },

  async stat(path: string): Promise<FileStat | undefined> {
    try {
      const s = await stat(path);
      return { size: s.size, mtimeMs: s.mtimeMs, isDirectory: s.isDirectory(), isFile: s.isFile() };
    } catch (error) {
      if (isMissing(error)) return undefined;
      throw error;
    }
  },

  async list(path: string): Promise<string[]> {
    return (await readdir(path)).sort();
  },

  async remove(path: string): Promise<void> {
    try {
      await unlink(path);
    } catch (error) {
      if (!isMissing(error)) throw error;
    }
  },

  async truncate(path: string, length: number): Promise<void> {
    await truncate(path, length);
  },
};

/** Resolves a name to an IPv4 address with the system resolver; an IP address returns itself. */
async function resolveHost(name: string): Promise<string> {
  if (isIPv4(name) || isIPv6(name)) return name;
  const { address } = await lookup(name, { family: 4 });
  return address;
}

/**
 * The IPv4 default gateway from Linux's routing table (`/proc/net/route`: a destination of 0 with
 * the gateway flag, addresses in hex, least significant byte first); undefined elsewhere or when
 * there is none.
 */
async function defaultGateway(): Promise<string | undefined> {
  let table: string;
  try {
    table = await readFile('/proc/net/route', 'latin1');
  } catch {
    return undefined;
  }
  return parseRouteTable(table);
}

/** The default gateway in the text of `/proc/net/route` (exported for tests). */
export function parseRouteTable(table: string): string | undefined {
  const RTF_UP = 1;
  const RTF_GATEWAY = 2;
  for (const line of table.split('\n').slice(1)) {
    const [, destination, gateway, flags] = line.trim().split(/\s+/);
    if (destination !== '00000000' || !gateway || !/^[0-9A-Fa-f]{8}$/.test(gateway)) continue;
    if ((parseInt(flags ?? '0', 16) & (RTF_UP | RTF_GATEWAY)) !== (RTF_UP | RTF_GATEWAY)) continue;
    const n = parseInt(gateway, 16);
    return [n & 0xff, (n >>> 8) & 0xff, (n >>> 16) & 0xff, n >>> 24].join('.');
  }
  return undefined;
}

/** Creates the real runtime. Timers are ref'd: a node with live timers keeps the process alive until closed. */
export function createNodeRuntime(): Runtime {
  return {
    now: () => performance.now(),
    setTimer: setNodeTimer,
    random: pooledRandom(),
    randomBytes: (n) => cryptoRandomBytes(n),
    udp: bindUdp,
    tcpListen: listenTcp,
    tcpConnect: connectTcp,
    fs: nodeFileStore,
    resolveHost,
    httpGet,
    defaultGateway,
  };
}
