/**
 * Errors of the node layer. The code tells the API which status to answer with:
 * BAD_REQUEST 400, NOT_FOUND 404, CONFLICT 409, UNAVAILABLE 503; CONFIG and STORE are fatal at start.
 */
export type NodeErrorCode = 'BAD_REQUEST' | 'NOT_FOUND' | 'CONFLICT' | 'UNAVAILABLE' | 'CONFIG' | 'STORE';

export class NodeError extends Error {
  constructor(
    readonly code: NodeErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'NodeError';
  }
}
