/**
 * Errors raised by the pure codecs. Every error has a stable `code`.
 */

/** Bytes that can never become a valid message (as opposed to "need more bytes"). */
export class DecodeError extends Error {
  readonly code: string = 'DECODE_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'DecodeError';
  }
}
