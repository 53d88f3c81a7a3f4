/**
 * The reading side of a peer connection's handshakes (BitTorrent's, and MSE's before it): bytes
 * are buffered as they arrive and handed out on demand, under one timeout for the whole handshake.
 */
import { indexOfBytes } from '../codec/bytes.js';
import type { Runtime, TcpConnection } from '../runtime/interfaces.js';
import { SwarmError } from './errors.js';

/**
 * Reads a connection's bytes on demand during a handshake: exact lengths, a scan for a marker
 * after unknown padding, or whatever a decoder finds. Rejects every wait on close, on timeout, or
 * after `abort`, with a `SwarmError` of the reader's code.
 */
export class HandshakeReader {
  private buffered = new Uint8Array(0);
  private waiter?: { test(): boolean; resolve(): void; reject(e: Error): void };
  private error?: Error;
  private readonly timer;

  constructor(
    runtime: Pick<Runtime, 'setTimer'>,
    private readonly conn: TcpConnection,
    timeoutMs: number,
    /** The code of the errors it rejects with ('HANDSHAKE', 'ENCRYPTION'). */
    private readonly code: string,
  ) {
    this.timer = runtime.setTimer(timeoutMs, () => this.abort(this.fail('handshake timed out')));
    conn.onData((chunk) => this.push(chunk));
    conn.onClose((error) => this.abort(new SwarmError(this.code, `connection closed during handshake${error ? `: ${error.message}` : ''}`, true)));
  }

  /** An error of this reader's code. */
  fail(message: string): SwarmError {
    return new SwarmError(this.code, message);
  }

  /** Adds bytes as if they had arrived (what was read from the connection before). */
  push(chunk: Uint8Array): void {
    const joined = new Uint8Array(this.buffered.length + chunk.length);
    joined.set(this.buffered);
    joined.set(chunk, this.buffered.length);
    this.buffered = joined;
    this.check();
  }

  /**
   * What `decode` finds at the start of the buffer, consumed with the `length` bytes it took. It is
   * asked again as bytes arrive: it answers 'need-more', or throws to fail the handshake at once.
   */
  async decode<T>(decode: (bytes: Uint8Array) => T | 'need-more', length: number): Promise<T> {
    let found: T | 'need-more' = 'need-more';
    await this.until(() => (found = decode(this.buffered)) !== 'need-more');
    this.buffered = this.buffered.subarray(length);
    return found as T;
  }

  /** The next `n` bytes, once they are there (consumed). */
  async read(n: number): Promise<Uint8Array> {
    await this.until(() => this.buffered.length >= n);
    const out = this.buffered.slice(0, n);
    this.buffered = this.buffered.subarray(n);
    return out;
  }

  /** The first `n` bytes, once they are there (not consumed). */
  async peek(n: number): Promise<Uint8Array> {
    await this.until(() => this.buffered.length >= n);
    return this.buffered.subarray(0, n);
  }

  /** Skips up to `maxSkip` bytes to just past `marker`; rejects when it is not found within them. */
  async skipPast(marker: Uint8Array, maxSkip: number, what: string): Promise<void> {
    let at = -1;
    await this.until(() => {
      at = indexOfBytes(this.buffered, marker, 0, maxSkip);
      if (at < 0 && this.buffered.length >= maxSkip + marker.length) throw this.fail(`${what} not found in the first ${maxSkip} bytes of padding`);
      return at >= 0;
    });
    this.buffered = this.buffered.subarray(at + marker.length);
  }

  /** Stops reading: returns what is buffered and leaves the connection's handlers to the caller. */
  finish(): Uint8Array {
    this.timer.cancel();
    this.conn.onData(() => undefined);
    this.conn.onClose(() => undefined);
    const rest = this.buffered;
    this.buffered = new Uint8Array(0);
    return rest;
  }

  /** Fails the handshake: the pending wait rejects and the connection is closed. */
  abort(error: Error): void {
    if (this.error) return;
    this.error = error;
    this.finish();
    this.conn.close();
    this.waiter?.reject(error);
    this.waiter = undefined;
  }

  private until(test: () => boolean): Promise<void> {
    if (this.error) return Promise.reject(this.error);
    return new Promise<void>((resolve, reject) => {
      this.waiter = { test, resolve, reject };
      this.check();
    });
  }

  private check(): void {
    const waiter = this.waiter;
    if (!waiter) return;
    let ready: boolean;
    try {
      ready = waiter.test();
    } catch (error) {
      this.abort(error as Error);
      return;
    }
    if (ready) {
      this.waiter = undefined;
      waiter.resolve();
    }
  }
}
