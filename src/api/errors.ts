/**
 * Errors of the API layer and how every failure becomes a JSON error answer. An `ApiError` carries
 * its HTTP status; a `NodeError` maps by code; anything else is an internal error (500, logged).
 */
import { NodeError, type NodeErrorCode } from '../node/errors.js';

/** A failure the API answers with a given status and a one-line message. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    /** Extra response headers, e.g. `Allow` for 405. */
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

const NODE_STATUS: Partial<Record<NodeErrorCode, number>> = {
  BAD_REQUEST: 400,
  NOT_FOUND: 404,
  CONFLICT: 409,
  UNAVAILABLE: 503,
};

/** What an error answer consists of. */
export interface ErrorAnswer {
  status: number;
  message: string;
  headers: Record<string, string>;
  /** True when the error was unexpected (the caller logs it). */
  internal: boolean;
}

/** Maps any thrown value to the answer the client gets. Messages are one line. */
export function errorAnswer(error: unknown): ErrorAnswer {
  if (error instanceof ApiError) {
    return { status: error.status, message: oneLine(error.message), headers: error.headers, internal: false };
  }
  if (error instanceof NodeError) {
    const status = NODE_STATUS[error.code];
    if (status !== undefined) return { status, message: oneLine(error.message), headers: {}, internal: false };
  }
  return { status: 500, message: 'internal error', headers: {}, internal: true };
}

function oneLine(message: string): string {
  const line = message.replace(/\s+/g, ' ').trim();
  return line === '' ? 'error' : line;
}
