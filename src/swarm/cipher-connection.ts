/**
 * A peer connection seen through MSE's RC4 (`mse-handshake.ts`): what is written is encrypted on
 * its way out, what arrives is decrypted before any handler sees it. The caller's buffers are never
 * changed (blocks sent from the upload cache are shared), so each write costs one copy.
 */
import type { Rc4 } from '../codec/mse.js';
import type { TcpConnection } from '../runtime/interfaces.js';

export class CipherConnection implements TcpConnection {
  readonly onTransientData?: (handler: (data: Uint8Array) => void) => void;

  constructor(
    private readonly inner: TcpConnection,
    private readonly encrypt: Rc4,
    private readonly decrypt: Rc4,
  ) {
    if (inner.onTransientData) {
      // The runtime's read buffer is only valid during the call and is ours to overwrite: decrypt in place.
      this.onTransientData = (handler) => inner.onTransientData!((data) => handler(this.decrypt.apply(data)));
    }
  }

  get local() {
    return this.inner.local;
  }

  get remote() {
    return this.inner.remote;
  }

  write(data: Uint8Array): void {
    this.inner.write(this.encrypt.apply(data.slice()));
  }

  writev(chunks: readonly Uint8Array[], done?: () => void): void {
    let length = 0;
    for (const chunk of chunks) length += chunk.length;
    const out = new Uint8Array(length);
    let at = 0;
    for (const chunk of chunks) {
      out.set(chunk, at);
      at += chunk.length;
    }
    // `chunks` were copied above, so `done` could run now; the runtime calls it back asynchronously.
    this.inner.writev([this.encrypt.apply(out)], done);
  }

  onData(handler: (data: Uint8Array) => void): void {
    // A chunk from `onData` may be kept by whoever wrote it (the virtual runtime): decrypt a copy.
    this.inner.onData((data) => handler(this.decrypt.apply(data.slice())));
  }

  onClose(handler: (error?: Error) => void): void {
    this.inner.onClose(handler);
  }

  close(): void {
    this.inner.close();
  }
}
