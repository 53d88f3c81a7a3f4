/**
 * Errors of uTP connections. Codes follow Node's for TCP sockets, so a peer connection reads the
 * same whichever transport it runs on.
 */

/** `ECONNRESET`: the peer sent RESET; `ETIMEDOUT`: no answer to a SYN, or to data after repeated resends; `ECONNABORTED`: the local socket closed. */
export type UtpErrorCode = 'ECONNRESET' | 'ETIMEDOUT' | 'ECONNABORTED';

export class UtpError extends Error {
  constructor(
    readonly code: UtpErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'UtpError';
  }
}
