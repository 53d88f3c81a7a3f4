/**
 * IP address text: the checks and the one canonical spelling that `Endpoint.host` uses. An IPv4
 * host is a dotted quad; an IPv6 host is lowercase hex without brackets, spelled as Node.js (libuv's
 * `inet_ntop`) spells it, so an address decoded from the wire and one reported by a socket are the
 * same string: the longest run of two or more zero groups becomes `::` (the first such run on a
 * tie), and `::ffff:a.b.c.d` (IPv4-mapped) and `::a.b.c.d` (IPv4-compatible) end in a dotted quad.
 */

/** An address family, as BEP 7 and BEP 32 split peers and nodes: 4 or 6. */
export type IpFamily = 4 | 6;

/** True for a dotted-quad IPv4 string: four decimal octets 0..255, no leading zeros. */
export function isValidIpv4(host: string): boolean {
  // A hand-rolled scan: this runs for every datagram and every contact, so no split or regex.
  let octets = 0;
  let value = 0;
  let digits = 0;
  for (let i = 0; i <= host.length; i++) {
    const c = i < host.length ? host.charCodeAt(i) : 0x2e;
    if (c === 0x2e) {
      if (digits === 0 || value > 255) return false;
      octets++;
      value = 0;
      digits = 0;
    } else if (c >= 0x30 && c <= 0x39) {
      if (digits === 1 && value === 0) return false; // leading zero
      value = value * 10 + (c - 0x30);
      if (++digits > 3) return false;
    } else {
      return false;
    }
  }
  return octets === 4;
}

/** The 4 bytes of a dotted quad; `undefined` when `host` is not one. */
export function parseIpv4(host: string): Uint8Array | undefined {
  if (!isValidIpv4(host)) return undefined;
  return Uint8Array.from(host.split('.'), Number);
}

/**
 * The 16 bytes of an IPv6 address in any RFC 4291 text form (`::`, a dotted-quad tail, upper or
 * lower case hex, up to 4 digits a group); `undefined` for anything else, brackets and zone ids
 * (`%eth0`) included.
 */
export function parseIpv6(host: string): Uint8Array | undefined {
  if (host.length < 2 || host.length > 45) return undefined;
  const gap = host.indexOf('::');
  if (gap !== -1 && host.indexOf('::', gap + 1) !== -1) return undefined;
  const head = gap === -1 ? host : host.slice(0, gap);
  const tail = gap === -1 ? '' : host.slice(gap + 2);
  const front = head === '' ? [] : head.split(':');
  const back = tail === '' ? [] : tail.split(':');
  // A dotted quad may stand for the last two groups.
  const last = gap === -1 ? front : back;
  let quad: Uint8Array | undefined;
  if (last.length > 0 && last[last.length - 1]!.includes('.')) {
    quad = parseIpv4(last.pop()!);
    if (quad === undefined) return undefined;
  }
  const groups = front.length + back.length + (quad ? 2 : 0);
  if (gap === -1 ? groups !== 8 : groups > 7) return undefined;
  const out = new Uint8Array(16);
  const put = (parts: string[], at: number): boolean => {
    for (let i = 0; i < parts.length; i++) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(parts[i]!)) return false;
      const v = parseInt(parts[i]!, 16);
      out[at + 2 * i] = v >>> 8;
      out[at + 2 * i + 1] = v & 0xff;
    }
    return true;
  };
  if (!put(front, 0)) return undefined;
  const backBytes = 2 * back.length + (quad ? 4 : 0);
  if (!put(back, 16 - backBytes)) return undefined;
  if (quad) out.set(quad, 12);
  return out;
}

/** Whether 16 address bytes are an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`). */
export function isIpv4Mapped(b: Uint8Array): boolean {
  return b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

/** Whether 16 address bytes are a unique local (fc00::/7) or link-local (fe80::/10) IPv6 address. */
export function isLocalIpv6(b: Uint8Array): boolean {
  return (b[0]! & 0xfe) === 0xfc || (b[0] === 0xfe && (b[1]! & 0xc0) === 0x80);
}

/** True for an IPv6 address in text form (see `parseIpv6`). */
export function isValidIpv6(host: string): boolean {
  return parseIpv6(host) !== undefined;
}

/** 4 for a dotted quad, 6 for IPv6 text, `undefined` for anything else (a host name, say). */
export function ipFamily(host: string): IpFamily | undefined {
  if (isValidIpv4(host)) return 4;
  return host.includes(':') && isValidIpv6(host) ? 6 : undefined;
}

/** The canonical text of 16 address bytes (see the file comment). Throws `TypeError` for another length. */
export function formatIpv6(b: Uint8Array): string {
  if (b.length !== 16) throw new TypeError(`an IPv6 address is 16 bytes, got ${b.length}`);
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((b[i]! << 8) | b[i + 1]!);
  let bestAt = -1;
  let bestLength = 0;
  for (let i = 0; i < 8; ) {
    if (words[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && words[j] === 0) j++;
    if (j - i > bestLength) {
      bestAt = i;
      bestLength = j - i;
    }
    i = j;
  }
  if (bestLength < 2) bestAt = -1;
  const dotted = bestAt === 0 && (bestLength === 6 || (bestLength === 5 && words[5] === 0xffff));
  let text = '';
  for (let i = 0; i < 8; i++) {
    if (i === bestAt) {
      text += '::';
      i += bestLength - 1;
      continue;
    }
    if (dotted && i === 6) return `${text}${text.endsWith(':') ? '' : ':'}${b[12]}.${b[13]}.${b[14]}.${b[15]}`;
    if (text !== '' && !text.endsWith(':')) text += ':';
    text += words[i]!.toString(16);
  }
  return text;
}

/** The canonical spelling of an IPv6 address text; `undefined` when it is not one. */
export function canonicalIpv6(host: string): string | undefined {
  const bytes = parseIpv6(host);
  return bytes && formatIpv6(bytes);
}

/**
 * Splits `host:port` or `[v6]:port` into host and port text (the port not yet checked); the
 * brackets are removed. `undefined` when there is no port, or an IPv6 host without brackets.
 */
export function splitHostPort(text: string): { host: string; port: string } | undefined {
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close === -1 || text[close + 1] !== ':') return undefined;
    return { host: text.slice(1, close), port: text.slice(close + 2) };
  }
  const colon = text.lastIndexOf(':');
  if (colon === -1 || text.indexOf(':') !== colon) return undefined;
  return { host: text.slice(0, colon), port: text.slice(colon + 1) };
}

/** A host and port, as `tryParseHostPort` gives them. */
export interface HostPort {
  host: string;
  port: number;
}

/**
 * Parses `host:port` (an IPv4 address or a host name) or `[v6]:port` (BEP 7: an IPv6 host needs its
 * brackets), port 1-65535. An IP host comes back as `canonicalIp` spells it (so `[::ffff:a.b.c.d]`
 * is its dotted quad). For bad text, `reason` says what is wrong in a few words, without the text,
 * for the caller to put into its own one-line message (`bad --peer "x": <reason>`).
 */
export function tryParseHostPort(text: string): HostPort | { reason: string } {
  const parts = splitHostPort(text);
  if (parts === undefined || parts.host === '') return { reason: 'expected host:port, or [IPv6]:port such as [::1]:6881' };
  const port = Number(parts.port);
  if (!/^\d{1,5}$/.test(parts.port) || port < 1 || port > 65535) return { reason: 'port must be 1-65535' };
  if (!text.startsWith('[')) {
    // One colon at most (`splitHostPort`), so the host is a dotted quad or a name.
    if (!/^[A-Za-z0-9.-]+$/.test(parts.host)) return { reason: `"${parts.host}" is not an IPv4 address or host name` };
    return { host: parts.host, port };
  }
  const ip = parts.host.includes(':') ? canonicalIp(parts.host) : undefined;
  if (ip === undefined) return { reason: `"${parts.host}" is not an IPv6 address` };
  return { host: ip, port };
}

/** `host:port`, with brackets around an IPv6 host (`[::1]:6881`), as in URLs and magnet `x.pe`. */
export function formatHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Whether `host` is a wildcard bind address, any address of its family: `0.0.0.0` or `::`. */
export function isWildcardHost(host: string): boolean {
  return host === '0.0.0.0' || host === '::';
}

/**
 * The canonical host of an IP address text as peers are keyed and dialled: a dotted quad as is,
 * IPv6 in its canonical spelling, and an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`, as a BEP 7
 * `peers6` or BEP 11 `added6` entry may carry) as its dotted quad, so one peer has one key.
 * `undefined` for anything else (a host name, brackets, a zone id).
 */
export function canonicalIp(host: string): string | undefined {
  if (isValidIpv4(host)) return host;
  if (!host.includes(':')) return undefined;
  const bytes = parseIpv6(host);
  if (bytes === undefined) return undefined;
  return isIpv4Mapped(bytes) ? `${bytes[12]}.${bytes[13]}.${bytes[14]}.${bytes[15]}` : formatIpv6(bytes);
}
