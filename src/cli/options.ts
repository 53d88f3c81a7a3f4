/**
 * Parsing and checking of the options every command shares. Bad values raise `CliError` with
 * exit code 2 and a one-line reason.
 */
import { canonicalIp, tryParseHostPort, type HostPort } from '../codec/ip.js';
import { DEFAULT_BOOTSTRAP } from '../dht/options.js';
import { toInfoHash, toItemTarget, type InfoHash, type ItemTarget } from '../dht/types.js';
import type { TorrentFormat } from '../swarm/create-torrent.js';
import { CliError } from './errors.js';

/** The options of every networked command, as commander hands them over. */
export interface NetworkFlags {
  bootstrap?: string | false;
  host?: string;
  json?: boolean;
}

export function parsePort(text: string, { allowZero = false } = {}): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port > 65535 || (port === 0 && !allowZero)) {
    throw new CliError(`bad port "${text}": expected ${allowZero ? 0 : 1}-65535`, 2);
  }
  return port;
}

/** `--host`: an IPv4 or IPv6 address (without brackets), returned in its canonical spelling. */
export function parseHost(text: string): string {
  const host = canonicalIp(text);
  if (host === undefined) throw new CliError(`bad host "${text}": expected an IP address such as 127.0.0.1 or ::1`, 2);
  return host;
}

/**
 * A peer given by hand (`--peer`): `1.2.3.4:6881`, `[fd57::1]:6881` (BEP 7; an IPv6 host needs its
 * brackets) or `host.name:6881`, port 1-65535 (see `tryParseHostPort`). An IP host comes back in its
 * canonical spelling. Throws `CliError` (exit 2) naming what is wrong.
 */
export function parsePeerArg(text: string): HostPort {
  const parsed = tryParseHostPort(text);
  if ('reason' in parsed) throw new CliError(`bad --peer "${text}": ${parsed.reason}`, 2);
  return parsed;
}

/** `--bootstrap a:1,b:2` → list; `--no-bootstrap` → false; absent → the public routers. */
export function parseBootstrap(value: string | false | undefined): string[] | false {
  if (value === false) return false;
  if (value === undefined) return DEFAULT_BOOTSTRAP;
  const list = value
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  if (list.length === 0) throw new CliError('--bootstrap needs at least one host:port', 2);
  for (const entry of list) {
    const parsed = tryParseHostPort(entry);
    if ('reason' in parsed) throw new CliError(`bad --bootstrap entry "${entry}": ${parsed.reason}`, 2);
  }
  return list;
}

export function parseInfoHashArg(text: string): InfoHash {
  try {
    return toInfoHash(text);
  } catch (error) {
    throw new CliError(`bad infohash: ${(error as Error).message}`, 2);
  }
}

export function parseTargetArg(text: string): ItemTarget {
  try {
    return toItemTarget(text);
  } catch (error) {
    throw new CliError(`bad item target: ${(error as Error).message}`, 2);
  }
}

/** A rate limit flag (`--upload-limit`, `--download-limit`) in KiB/s, as Transmission's `-u`/`-d`: bytes/s, or undefined when not given. */
export function parseRateLimit(flag: string, text: string | undefined): number | undefined {
  if (text === undefined) return undefined;
  const kib = Number(text);
  if (!/^\d+$/.test(text) || kib < 1) throw new CliError(`bad ${flag} "${text}": expected KiB/s, a whole number >= 1`, 2);
  return kib * 1024;
}

/** `--format` of `create` and `seed <path>`: the torrent to make (v1 when not given). */
export function parseTorrentFormat(text: string | undefined): TorrentFormat {
  const format = text ?? 'v1';
  if (format !== 'v1' && format !== 'v2' && format !== 'hybrid') throw new CliError(`bad --format "${format}": expected v1, v2 or hybrid`, 2);
  return format;
}

/** Files at most `--select-file` may name: far more than any torrent has, and a bound on a range's size. */
const MAX_FILE_NUMBER = 1_000_000;

/**
 * `--select-file 1,3-5` (as aria2c takes it: file numbers from 1, as `warren info` lists them,
 * and inclusive ranges) → the 0-based file indices, sorted, without repeats. Whether each number
 * names a file is known only with the metadata; the engine checks that.
 */
export function parseFileSelection(text: string, flag = '--select-file'): number[] {
  const chosen = new Set<number>();
  for (const part of text.split(',').map((s) => s.trim())) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    const first = m ? Number(m[1]) : NaN;
    const last = m?.[2] !== undefined ? Number(m[2]) : first;
    if (!m || first < 1 || last < first || last > MAX_FILE_NUMBER) {
      throw new CliError(`bad ${flag} "${text}": expected file numbers from 1 and ranges, such as 1,3-5`, 2);
    }
    for (let n = first; n <= last; n++) chosen.add(n - 1);
  }
  return [...chosen].sort((a, b) => a - b);
}
