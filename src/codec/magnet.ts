/**
 * Magnet links (BEP 9): `magnet:?xt=urn:btih:<hash>&dn=..&tr=..&x.pe=..&ws=..`, with BEP 52 v2
 * infohashes as `xt=urn:btmh:1220<64 hex>` (a sha2-256 multihash), alone (v2-only) or after the
 * btih (hybrid).
 *
 * The v1 infohash may be 40 hex or 32 base32 characters. Numbered parameters (`xt.1`, `tr.2`)
 * are read like plain ones. Only the first `urn:btih:` and the first `urn:btmh:` count. Unknown
 * parameters are ignored.
 */
import { base32Decode } from './base32.js';
import { canonicalIpv6, formatHostPort, isValidIpv4, splitHostPort } from './ip.js';
import { DecodeError } from './errors.js';
import { toHex } from './hex.js';

/** A parsed magnet link. */
export interface MagnetLink {
  /**
   * 20 bytes, the swarm id: the v1 infohash (btih) when the link has one, otherwise (v2-only) the
   * first 20 bytes of `infoHashV2`, as BEP 52 truncates v2 infohashes for trackers, DHT and handshakes.
   */
  infoHash: Uint8Array;
  /** BEP 52: the 32-byte SHA-256 v2 infohash (from `urn:btmh:`), for v2-only and hybrid torrents. */
  infoHashV2?: Uint8Array;
  /** `dn`: display name, a hint only (the info dictionary's name is authoritative). */
  name?: string;
  /** `tr` tracker URLs, in order, without duplicates. */
  trackers: string[];
  /** `x.pe` peers: IPv4 `host:port` and IPv6 `[host]:port` (canonicalized); others (host names) are skipped. */
  peers: { host: string; port: number }[];
  /** `ws` web seed URLs. */
  webSeeds: string[];
}

/** A magnet link that cannot be used; the message says what is wrong. */
export class MagnetError extends DecodeError {
  override readonly code: string = 'MAGNET_ERROR';
  constructor(message: string) {
    super(message);
    this.name = 'MagnetError';
  }
}

/** Longest magnet URI that is parsed at all. */
export const MAGNET_MAX_LENGTH = 256 * 1024;

function fail(message: string): never {
  throw new MagnetError(`magnet: ${message}`);
}

/** Percent-decodes a parameter value; with `form`, `+` means a space first. */
function decodeValue(raw: string, key: string, form: boolean): string {
  try {
    return decodeURIComponent(form ? raw.replace(/\+/g, ' ') : raw);
  } catch (err) {
    if (err instanceof URIError) fail(`bad percent-encoding in "${key}"`);
    throw err;
  }
}

function parseBtih(text: string): Uint8Array {
  if (/^[0-9a-fA-F]{40}$/.test(text)) {
    const out = new Uint8Array(20);
    for (let i = 0; i < 20; i++) out[i] = parseInt(text.slice(2 * i, 2 * i + 2), 16);
    return out;
  }
  // 32 base32 characters are exactly 160 bits, so base32Decode cannot fail on them.
  if (/^[A-Za-z2-7]{32}$/.test(text)) return base32Decode(text);
  return fail('btih must be 40 hex or 32 base32 characters');
}

/** Multihash prefix of a sha2-256 digest: function code 0x12, digest length 0x20. */
const SHA256_MULTIHASH = '1220';

function parseBtmh(text: string): Uint8Array {
  const shown = JSON.stringify(text.length > 80 ? `${text.slice(0, 80)}...` : text);
  if (!/^(?:[0-9a-fA-F]{2})+$/.test(text)) fail(`unsupported multihash ${shown} in urn:btmh: (not hex)`);
  if (text.slice(0, 2) !== '12') fail(`unsupported multihash ${shown} in urn:btmh: function 0x${text.slice(0, 2)} (only 0x12, sha2-256)`);
  if (text.slice(2, 4).toLowerCase() !== '20') fail(`unsupported multihash ${shown} in urn:btmh: sha2-256 digest length must be 0x20`);
  if (text.length !== 68) fail(`unsupported multihash ${shown} in urn:btmh: sha2-256 digest of ${(text.length - 4) / 2} bytes (must be 32)`);
  return Uint8Array.from(text.slice(4).match(/../g) ?? [], (h) => parseInt(h, 16));
}

/**
 * Parses an `x.pe` peer: `a.b.c.d:port` or `[IPv6]:port` (the host canonicalized), port 1..65535;
 * undefined for anything else (a host name, IPv6 without brackets).
 */
function parsePeer(text: string): { host: string; port: number } | undefined {
  const split = splitHostPort(text);
  if (split === undefined || !/^[0-9]{1,5}$/.test(split.port)) return undefined;
  const bracketed = text.startsWith('[');
  const host = bracketed ? canonicalIpv6(split.host) : isValidIpv4(split.host) ? split.host : undefined;
  const port = Number(split.port);
  return host !== undefined && port >= 1 && port <= 65535 ? { host, port } : undefined;
}

/**
 * Parses a magnet URI. Throws `MagnetError` (a `DecodeError`) naming what is wrong: not a
 * magnet URI, neither `xt=urn:btih:` nor `xt=urn:btmh:`, a hash of the wrong length or alphabet,
 * a multihash other than sha2-256, bad percent-encoding. Unparsable `x.pe` peers are skipped.
 */
export function parseMagnet(uri: string): MagnetLink {
  if (uri.length > MAGNET_MAX_LENGTH) fail(`URI of ${uri.length} characters exceeds limit of ${MAGNET_MAX_LENGTH}`);
  const text = uri.trim();
  if (!/^magnet:\?/i.test(text)) fail('not a magnet link (must start with "magnet:?")');
  const hashAt = text.indexOf('#');
  const query = text.slice('magnet:?'.length, hashAt < 0 ? undefined : hashAt);

  let infoHash: Uint8Array | undefined;
  let infoHashV2: Uint8Array | undefined;
  const link: MagnetLink = { infoHash: new Uint8Array(0), trackers: [], peers: [], webSeeds: [] };
  for (const part of query.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const rawKey = (eq < 0 ? part : part.slice(0, eq)).toLowerCase();
    const key = rawKey.replace(/\.[0-9]+$/, ''); // xt.1 -> xt
    const value = decodeValue(eq < 0 ? '' : part.slice(eq + 1), rawKey, key === 'dn');
    switch (key) {
      case 'xt':
        if (/^urn:btih:/i.test(value)) infoHash ??= parseBtih(value.slice('urn:btih:'.length));
        else if (/^urn:btmh:/i.test(value)) infoHashV2 ??= parseBtmh(value.slice('urn:btmh:'.length));
        break;
      case 'dn':
        if (link.name === undefined && value !== '') link.name = value;
        break;
      case 'tr':
        if (value !== '' && !link.trackers.includes(value)) link.trackers.push(value);
        break;
      case 'x.pe': {
        const peer = parsePeer(value);
        if (peer !== undefined) link.peers.push(peer);
        break;
      }
      case 'ws':
        if (value !== '' && !link.webSeeds.includes(value)) link.webSeeds.push(value);
        break;
      default:
        break;
    }
  }
  if (infoHash === undefined && infoHashV2 === undefined) fail('no xt=urn:btih: or xt=urn:btmh: parameter');
  link.infoHash = infoHash ?? (infoHashV2 as Uint8Array).slice(0, 20);
  if (infoHashV2 !== undefined) link.infoHashV2 = infoHashV2;
  return link;
}

/**
 * Builds a magnet URI with lowercase hex hashes and percent-encoded parameters, in the order
 * xt, dn, tr..., x.pe..., ws.... With `infoHashV2` the link carries `xt=urn:btmh:1220<hex>`:
 * alone when `infoHash` is its first 20 bytes (a v2-only torrent), else after the btih (hybrid).
 * Throws `TypeError` for an infohash that is not 20 bytes (32 for v2) or a peer that is not an IP
 * address with a port 1..65535; an IPv6 peer is written in brackets (`x.pe=[fd57::1]:6881`).
 */
export function encodeMagnet(m: {
  infoHash: Uint8Array;
  infoHashV2?: Uint8Array;
  name?: string;
  trackers?: string[];
  peers?: { host: string; port: number }[];
  webSeeds?: string[];
}): string {
  if (m.infoHash.length !== 20) throw new TypeError(`magnet: infohash must be 20 bytes, got ${m.infoHash.length}`);
  const parts: string[] = [];
  const v2 = m.infoHashV2;
  if (v2 !== undefined && v2.length !== 32) throw new TypeError(`magnet: v2 infohash must be 32 bytes, got ${v2.length}`);
  const v2Only = v2 !== undefined && m.infoHash.every((b, i) => b === v2[i]);
  if (!v2Only) parts.push(`xt=urn:btih:${toHex(m.infoHash)}`);
  if (v2 !== undefined) parts.push(`xt=urn:btmh:${SHA256_MULTIHASH}${toHex(v2)}`);
  if (m.name !== undefined && m.name !== '') parts.push(`dn=${encodeURIComponent(m.name)}`);
  for (const tr of m.trackers ?? []) parts.push(`tr=${encodeURIComponent(tr)}`);
  for (const p of m.peers ?? []) {
    const text = formatHostPort(p.host, p.port);
    if (parsePeer(text) === undefined) throw new TypeError(`magnet: peer ${text} is not an IP address with a port 1..65535`);
    parts.push(`x.pe=${text}`);
  }
  for (const ws of m.webSeeds ?? []) parts.push(`ws=${encodeURIComponent(ws)}`);
  return `magnet:?${parts.join('&')}`;
}
