/**
 * The little HTTP/1.1 a UPnP client speaks to a router: a request with a body, and the parsing of
 * an answer read until the router closes the connection (`Connection: close`) or its declared
 * length arrived. Also the header block of an SSDP datagram, which is HTTP over UDP.
 *
 * The router is on the LAN but is not trusted: heads and bodies are bounded, and every malformed
 * answer is a `DecodeError` naming what is wrong.
 */
import { indexOfBytes } from './bytes.js';
import { DecodeError } from './errors.js';

/** Largest header block accepted, in bytes. */
export const MAX_HEAD_BYTES = 16 * 1024;
/** Largest body accepted (a device description or a SOAP answer), in bytes. */
export const MAX_BODY_BYTES = 256 * 1024;

export interface HttpAnswer {
  status: number;
  /** Header names in lower case; a repeated header keeps its first value. */
  headers: ReadonlyMap<string, string>;
  body: Uint8Array;
}

const CRLF = new Uint8Array([13, 10]);
const CRLF2 = new Uint8Array([13, 10, 13, 10]);
/** Longest chunk-size line accepted (size and extensions). */
const MAX_CHUNK_LINE = 64;

/**
 * Whether the blank line that ends a head of at most `MAX_HEAD_BYTES` may still come: the bytes
 * from some offset up to `MAX_HEAD_BYTES` on are the start of it.
 */
function mayEndHead(bytes: Uint8Array): boolean {
  for (let start = Math.max(0, bytes.length - 3); start <= MAX_HEAD_BYTES; start++) {
    if (bytes.subarray(start).every((b, i) => b === CRLF2[i])) return true;
  }
  return false;
}

/** Encodes a request; `headers` are sent as given, then Content-Length when there is a body. */
export function encodeHttpRequest(method: string, path: string, headers: Readonly<Record<string, string>>, body?: Uint8Array): Uint8Array {
  const lines = [`${method} ${path} HTTP/1.1`];
  for (const [name, value] of Object.entries(headers)) {
    if (/[\r\n]/.test(name + value)) throw new RangeError(`header ${name} holds a line break`);
    lines.push(`${name}: ${value}`);
  }
  if (body) lines.push(`Content-Length: ${body.length}`);
  const head = new TextEncoder().encode(`${lines.join('\r\n')}\r\n\r\n`);
  if (!body) return head;
  const out = new Uint8Array(head.length + body.length);
  out.set(head);
  out.set(body, head.length);
  return out;
}

/**
 * Parses a status line and headers (the block before the blank line, without it). Throws
 * `DecodeError` for a block that is not HTTP/1.x or has a malformed line.
 */
export function parseHttpHead(text: string): { status: number; headers: Map<string, string> } {
  const [statusLine = '', ...lines] = text.split('\r\n');
  const match = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!match) throw new DecodeError(`not an HTTP/1.x status line: ${JSON.stringify(statusLine.slice(0, 60))}`);
  const headers = new Map<string, string>();
  for (const line of lines) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new DecodeError(`malformed HTTP header line: ${JSON.stringify(line.slice(0, 60))}`);
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { status: Number(match[1]), headers };
}

/**
 * Parses an answer from the bytes read so far. `ended`: the connection is closed, so a body
 * without a declared length ends here. Returns `undefined` while more bytes are needed.
 */
export function parseHttpAnswer(bytes: Uint8Array, ended: boolean): HttpAnswer | undefined {
  const headEnd = indexOfBytes(bytes, CRLF2, 0, MAX_HEAD_BYTES);
  if (headEnd < 0) {
    if (bytes.length > MAX_HEAD_BYTES && !mayEndHead(bytes)) throw new DecodeError(`HTTP header block longer than ${MAX_HEAD_BYTES} bytes`);
    if (ended) throw new DecodeError(`connection closed in the HTTP header block (${bytes.length} bytes)`);
    return undefined;
  }
  const { status, headers } = parseHttpHead(new TextDecoder('latin1').decode(bytes.subarray(0, headEnd)));
  const rest = bytes.subarray(headEnd + 4);
  if ((headers.get('transfer-encoding') ?? '').toLowerCase() === 'chunked') {
    const body = dechunk(rest, ended);
    return body && { status, headers, body };
  }
  const declared = headers.get('content-length');
  if (declared !== undefined) {
    if (!/^\d{1,9}$/.test(declared)) throw new DecodeError(`bad Content-Length ${JSON.stringify(declared.slice(0, 20))}`);
    const length = Number(declared);
    if (length > MAX_BODY_BYTES) throw new DecodeError(`HTTP body of ${length} bytes, more than ${MAX_BODY_BYTES}`);
    if (rest.length >= length) return { status, headers, body: rest.slice(0, length) };
    if (ended) throw new DecodeError(`connection closed after ${rest.length} of ${length} body bytes`);
    return undefined;
  }
  if (rest.length > MAX_BODY_BYTES) throw new DecodeError(`HTTP body longer than ${MAX_BODY_BYTES} bytes`);
  return ended ? { status, headers, body: rest.slice() } : undefined;
}

/** Joins a chunked body; `undefined` while incomplete. */
function dechunk(bytes: Uint8Array, ended: boolean): Uint8Array | undefined {
  const parts: Uint8Array[] = [];
  let total = 0;
  let at = 0;
  for (;;) {
    const lineEnd = indexOfBytes(bytes, CRLF, at);
    if (lineEnd < 0) {
      if (bytes.length - at > MAX_CHUNK_LINE) throw new DecodeError('malformed chunk size line');
      if (ended) throw new DecodeError('connection closed in a chunked body');
      return undefined;
    }
    if (lineEnd - at > MAX_CHUNK_LINE) throw new DecodeError('malformed chunk size line');
    const sizeText = new TextDecoder('latin1').decode(bytes.subarray(at, lineEnd)).split(';')[0]!.trim();
    if (!/^[0-9a-fA-F]{1,8}$/.test(sizeText)) throw new DecodeError(`malformed chunk size ${JSON.stringify(sizeText.slice(0, 20))}`);
    const size = parseInt(sizeText, 16);
    if (size === 0) break; // trailers, if any, are not needed
    total += size;
    if (total > MAX_BODY_BYTES) throw new DecodeError(`HTTP body longer than ${MAX_BODY_BYTES} bytes`);
    const start = lineEnd + 2;
    if (bytes.length < start + size + 2) {
      if (ended) throw new DecodeError('connection closed in a chunked body');
      return undefined;
    }
    if (bytes[start + size] !== 13 || bytes[start + size + 1] !== 10) throw new DecodeError(`chunk of ${size} bytes not followed by CRLF`);
    parts.push(bytes.subarray(start, start + size));
    at = start + size + 2;
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.length;
  }
  return body;
}
