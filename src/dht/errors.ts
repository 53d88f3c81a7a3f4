/**
 * Errors of the DHT layer. Each has a stable `code`.
 */

/** A caller passed something that is not a valid infohash, id, endpoint or item. */
export class DhtInputError extends Error {
  readonly code = 'DHT_INPUT';
  constructor(message: string) {
    super(message);
    this.name = 'DhtInputError';
  }
}

/** The DHT was used before `start()` or after `close()`. */
export class DhtStateError extends Error {
  readonly code = 'DHT_STATE';
  constructor(message: string) {
    super(message);
    this.name = 'DhtStateError';
  }
}

/**
 * Raised by a query handler to answer with a KRPC error (BEP 5 201-204, BEP 44 205-302).
 * The handler's caller turns it into an `e` message; it never escapes the DHT.
 */
export class KrpcErrorReply extends Error {
  readonly code = 'KRPC_ERROR_REPLY';
  constructor(
    readonly krpcCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'KrpcErrorReply';
  }
}
