/**
 * Errors raised by the shared Kademlia core. Every error has a stable `code`.
 */

/** An identifier that is malformed (bad hex, wrong length, prefix out of range). Thrown by `id.ts`. */
export class InvalidIdError extends Error {
  readonly code: string = 'INVALID_ID';
  constructor(message: string) {
    super(message);
    this.name = 'InvalidIdError';
  }
}
