/**
 * The one door to the outside world. Protocol engines receive a `Runtime` and never touch
 * sockets, clocks, `Math.random` or the file system directly; this is what lets the same engine
 * run on real sockets (`createNodeRuntime`) and on a simulated network (`VirtualNetwork`).
 */

/**
 * A UDP/TCP endpoint. `host` is a dotted IPv4 string or an IPv6 address without brackets, spelled
 * as Node.js reports it (see `codec/ip.ts`). A socket bound to an IPv6 address takes IPv6 only.
 */
export interface Endpoint {
  readonly host: string;
  readonly port: number;
}

/**
 * Error codes of a bind that fails because the machine (or virtual host) does not have that
 * address family: a listener of the other family can still be bound.
 */
export const NO_ADDRESS_FAMILY_CODES: ReadonlySet<string> = new Set(['EAFNOSUPPORT', 'EADDRNOTAVAIL', 'EPROTONOSUPPORT']);

/** A scheduled callback; `cancel()` is idempotent. */
export interface Timer {
  cancel(): void;
}

/** A bound UDP socket. Datagrams are delivered whole or not at all. */
export interface UdpSocket {
  /** The address actually bound (port resolved when 0 was asked for). */
  readonly local: Endpoint;
  /** Sends one datagram. Never throws for an unreachable peer; the datagram is simply lost. */
  send(data: Uint8Array, to: Endpoint): void;
  /** Installs the (single) receive handler. */
  onMessage(handler: (data: Uint8Array, from: Endpoint) => void): void;
  close(): void;
}

/** A connected TCP stream. */
export interface TcpConnection {
  readonly local: Endpoint;
  readonly remote: Endpoint;
  write(data: Uint8Array): void;
  /**
   * Writes several buffers as one batch (one system call where possible), in order. `done`, if
   * given, is called once (asynchronously) when the runtime no longer reads any of `chunks`: they
   * were handed to the operating system or copied, or dropped because the connection is closed.
   */
  writev(chunks: readonly Uint8Array[], done?: () => void): void;
  onData(handler: (data: Uint8Array) => void): void;
  /**
   * Optional: like `onData` (and replacing its handler), but `data` may be a view of a buffer the
   * runtime reuses for its next read: it is valid only during the call, so the handler must copy
   * whatever it keeps. Saves an allocation per read; runtimes without it deliver through `onData`.
   */
  onTransientData?(handler: (data: Uint8Array) => void): void;
  /** Called once, when the connection ends for any reason (`error` set when it failed). */
  onClose(handler: (error?: Error) => void): void;
  close(): void;
}

/** A listening TCP socket. */
export interface TcpServer {
  readonly local: Endpoint;
  onConnection(handler: (conn: TcpConnection) => void): void;
  close(): void;
}

/**
 * An open file for positional I/O (torrent storage). Errors carry Node's `code` (ENOENT, EACCES,
 * ENOSPC, EISDIR...). Not safe to use after `close()`.
 */
export interface FileHandle {
  /** Reads `length` bytes at `position` (fewer only at end of file). */
  read(position: number, length: number): Promise<Uint8Array>;
  /**
   * Optional: reads into `buffer` (all of it, fewer bytes only at end of file) at `position`, and
   * resolves with the number of bytes read. Lets callers reuse their buffers.
   */
  readInto?(buffer: Uint8Array, position: number): Promise<number>;
  /** Writes all of `data` at `position`, extending the file as needed (a gap reads as zeros). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** fsync: once it resolves, what was written survives a crash. */
  sync(): Promise<void>;
  /** Releases the handle; idempotent. */
  close(): Promise<void>;
}

/** What `FileStore.stat` reports about an existing path. */
export interface FileStat {
  size: number;
  mtimeMs: number;
  isDirectory: boolean;
  /** A regular file (not a folder, FIFO, socket or device). */
  isFile: boolean;
}

/**
 * The file access engines need: whole small files written atomically (state, resume data), and
 * positional I/O on large files (torrent data). Errors keep Node's `code`.
 */
export interface FileStore {
  /** Returns the file's bytes, or `undefined` when it does not exist. */
  readFile(path: string): Promise<Uint8Array | undefined>;
  /** Writes the whole file atomically (a crash leaves either the old or the new content). */
  writeFile(path: string, data: Uint8Array): Promise<void>;
  /** Creates the directory and any missing parents; no error when it exists. */
  mkdir(path: string): Promise<void>;
  /** 'r' read-only (ENOENT if missing); 'rw' read-write, created if missing (parent dirs must exist). */
  open(path: string, mode: 'r' | 'rw'): Promise<FileHandle>;
  /** `undefined` when the path does not exist. */
  stat(path: string): Promise<FileStat | undefined>;
  /** Directory entries (names only, sorted); ENOENT when missing, ENOTDIR for a file. */
  list(path: string): Promise<string[]>;
  /** Removes a file; no error when it is missing. */
  remove(path: string): Promise<void>;
  /** Sets a file's length (zero-filled when it grows); ENOENT when missing. */
  truncate(path: string, length: number): Promise<void>;
}

export interface Runtime {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  setTimer(ms: number, fn: () => void): Timer;
  /** Uniform in [0, 1). */
  random(): number;
  randomBytes(n: number): Uint8Array;
  udp(bind: Endpoint): Promise<UdpSocket>;
  tcpListen(bind: Endpoint): Promise<TcpServer>;
  /**
   * Opens a TCP connection. With `timeoutMs`, a connect that has not succeeded by then (a host
   * that drops the SYN, say) is abandoned and rejects with code ETIMEDOUT. With `localAddress`,
   * the connection leaves from that local address (of `to`'s family).
   */
  tcpConnect(to: Endpoint, timeoutMs?: number, localAddress?: string): Promise<TcpConnection>;
  readonly fs: FileStore;
  /** Resolves a host name to an IPv4 address (an IP address resolves to itself). */
  resolveHost(name: string): Promise<string>;
  /** The IPv4 default gateway (NAT-PMP's router), where the runtime can tell; undefined when there is none. */
  defaultGateway?(): Promise<string | undefined>;
  /**
   * GETs a URL (HTTP trackers, web seeds); resolves with the body of a 2xx answer, rejects
   * otherwise. With `range` (inclusive byte offsets) only those bytes are asked for, and the
   * answer must be exactly them: a server that ignores the range is an error, not a download of
   * the whole file. `signal` aborts the request (it then rejects). `localAddress`: the request
   * leaves from that local address.
   */
  httpGet(url: string, options: { timeoutMs: number; range?: { first: number; last: number }; signal?: AbortSignal; localAddress?: string }): Promise<Uint8Array>;
}
