/**
 * Access checks: the `Host` header (against DNS rebinding), the `Origin` header (same origin only)
 * and the API token (`Authorization: Bearer <token>` or `?token=`). Each check throws an `ApiError`.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage } from 'node:http';
import { isWildcardHost } from '../codec/ip.js';
import { ApiError } from './errors.js';

/** What the Host check needs to know about the server. */
export interface HostPolicy {
  /** The port the server listens on. */
  port: number;
  /** The address the server was bound to; also accepted as a Host name unless it is a wildcard. */
  boundHost: string;
}

/** Splits a Host header into lowercase name (IPv6 without brackets) and port; `undefined` if malformed. */
export function parseHostHeader(value: string): { name: string; port: number } | undefined {
  const match = /^(?:\[([0-9a-f:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/i.exec(value);
  if (match === null) return undefined;
  const name = (match[1] ?? match[2] ?? '').toLowerCase();
  const port = match[3] === undefined ? 80 : Number(match[3]);
  if (name === '' || port > 65535) return undefined;
  return { name, port };
}

/** True for a dotted-quad IPv4 address in 127.0.0.0/8. */
export function isLoopbackV4(name: string): boolean {
  const parts = name.split('.');
  if (parts.length !== 4) return false;
  if (!parts.every((part) => /^(0|[1-9]\d{0,2})$/.test(part) && Number(part) <= 255)) return false;
  return parts[0] === '127';
}

function normalizeHostName(host: string): string {
  return host.toLowerCase().replace(/^\[(.*)\]$/, '$1');
}

/**
 * Throws 403 unless the Host header names a loopback address (127.0.0.0/8 or `[::1]`), `localhost`,
 * or the bound address, with the server's port. Returns the Host header as sent.
 */
export function checkHost(req: IncomingMessage, policy: HostPolicy): string {
  const header = req.headers.host;
  if (header === undefined) throw new ApiError(403, 'missing Host header');
  const host = parseHostHeader(header);
  if (host === undefined) throw new ApiError(403, 'malformed Host header');
  const bound = normalizeHostName(policy.boundHost);
  const nameOk =
    host.name === 'localhost' ||
    host.name === '::1' ||
    isLoopbackV4(host.name) ||
    (bound !== '' && !isWildcardHost(bound) && host.name === bound);
  if (!nameOk || host.port !== policy.port) throw new ApiError(403, 'forbidden Host header');
  return header;
}

/** Throws 403 when an `Origin` header is present and is not `http://<Host header>`. */
export function checkOrigin(req: IncomingMessage, hostHeader: string): void {
  const origin = req.headers.origin;
  if (origin === undefined) return;
  if (origin.toLowerCase() !== `http://${hostHeader.toLowerCase()}`) throw new ApiError(403, 'cross-origin request refused');
}

/** Compares tokens in constant time (hashing first, so lengths need not match). */
export function tokensEqual(given: string, expected: string): boolean {
  const a = createHash('sha256').update(given).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * Throws 401 unless the request carries the token: as `Authorization: Bearer <token>` or, when
 * there is no Bearer header, as the `token` query parameter.
 */
export function checkToken(req: IncomingMessage, url: URL, expected: string): void {
  const header = req.headers.authorization;
  const bearer = header === undefined ? undefined : /^Bearer[ \t]+(\S+)[ \t]*$/i.exec(header)?.[1];
  const given = bearer ?? url.searchParams.get('token');
  if (given === null || given === '') {
    throw new ApiError(401, 'missing API token', { 'WWW-Authenticate': 'Bearer' });
  }
  if (!tokensEqual(given, expected)) throw new ApiError(401, 'wrong API token', { 'WWW-Authenticate': 'Bearer' });
}
