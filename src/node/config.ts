/**
 * The settings of a long-running node (`warren node`), resolved once at start by the CLI with
 * `loadConfig`. Each setting comes from the first source that gives it:
 *   1. command-line flags (the object commander parsed: only options the user gave; strings,
 *      numbers or booleans),
 *   2. environment variables (`WARREN_PORT`, …; an empty variable counts as not set),
 *   3. `<dataDir>/config.json` (a JSON object with the keys of `ConfigKey`; unknown keys are an
 *      error; a relative `downloadDir` there is taken from the data directory),
 *   4. the defaults.
 * `bootstrap` and `noBootstrap` are one setting: the first source that names either decides, so a
 * `--bootstrap` flag overrides `noBootstrap: true` in config.json and the other way round.
 * Any bad value throws `NodeError('CONFIG', …)` with one line naming the source and key, e.g.
 * `/home/u/.local/share/warren/config.json: port: must be an integer 0-65535`, `WARREN_API: must be
 * host:port …`, `--max-connections: must be an integer 1-5000`.
 */
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { z } from 'zod';
import { canonicalIp, isValidIpv4, tryParseHostPort } from '../codec/ip.js';
import { DEFAULT_BOOTSTRAP } from '../dht/options.js';
import type { EncryptionPolicy } from '../swarm/mse-handshake.js';
import { NodeError } from './errors.js';

export type LogLevelName = 'debug' | 'info' | 'warn' | 'error';

/** A node's settings, fully resolved and checked. */
export interface NodeConfig {
  /** The data directory the config was loaded for (absolute). */
  dataDir: string;
  /** IPv4 address (or `localhost`) that the peer listener and the DHT bind to. */
  host: string;
  /** TCP port for peers; 0 for any. */
  port: number;
  /** UDP port of the DHT; 0 for any. */
  dhtPort: number;
  /** Where the HTTP API listens; port 0 for any. */
  api: { host: string; port: number };
  /** `host:port` bootstrap nodes, or `false` for none. */
  bootstrap: string[] | false;
  /** Whether to run the DHT at all. */
  dht: boolean;
  /** Absolute directory new torrents download into. */
  downloadDir: string;
  maxConnections: number;
  /** Global upload limit in bytes/s; 0 for unlimited. */
  uploadLimit: number;
  /** Download limit per torrent in bytes/s; 0 for unlimited. */
  downloadLimit: number;
  /** Stop seeding a torrent once it has uploaded this many times its wanted size; undefined for never. */
  seedRatio: number | undefined;
  /** Stop seeding a torrent after this many minutes of seeding; undefined for never. */
  seedTimeMinutes: number | undefined;
  /** Protocol encryption with peers (MSE/PE). */
  encryption: EncryptionPolicy;
  /** uTP with peers, beside TCP. */
  utp: boolean;
  /** Open the ports on the router with NAT-PMP and UPnP. */
  portMap: boolean;
  /** Lowest level shown on the terminal (the log file always gets debug). */
  logLevel: LogLevelName;
}

const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
const ENCRYPTION_POLICIES = ['prefer', 'require', 'allow'] as const satisfies readonly EncryptionPolicy[];

const toInt = (v: unknown): unknown => (typeof v === 'string' && /^\s*[+-]?\d+\s*$/.test(v) ? Number(v) : v);
const toNumber = (v: unknown): unknown => (typeof v === 'string' && v.trim() !== '' && Number.isFinite(Number(v)) ? Number(v) : v);

/**
 * A number above 0 in plain decimal (`2`, `1.5`, `.5`; blanks around it allowed), as `--seed-ratio`
 * and `--seed-time` take it in `warren node` and `warren get` alike; `undefined` for anything else
 * (`0`, `-1`, `1e3`, `0x10`, `lots`).
 */
export function parsePositiveNumber(text: string): number | undefined {
  if (!/^\s*(\d+(\.\d*)?|\.\d+)\s*$/.test(text)) return undefined;
  const value = Number(text);
  return value > 0 && Number.isFinite(value) ? value : undefined;
}

const BOOL_WORDS: Record<string, boolean> = { true: true, '1': true, yes: true, false: false, '0': false, no: false };
const toBool = (v: unknown): unknown => (typeof v === 'string' ? (BOOL_WORDS[v.trim().toLowerCase()] ?? v) : v);

function integer(min: number, max: number) {
  const error = `must be an integer ${min}-${max}`;
  return z.preprocess(toInt, z.number({ error }).int({ error }).min(min, { error }).max(max, { error }));
}

const isHost = (h: string): boolean => h === 'localhost' || isValidIpv4(h);
const HOST_ERROR = 'must be an IPv4 or IPv6 address, or localhost';
/** The swarm's and DHT's bind address: IPv4, IPv6 (spelled canonically) or localhost. */
const host = z
  .string({ error: HOST_ERROR })
  .trim()
  .transform((text, ctx) => {
    const ip = text === 'localhost' ? text : canonicalIp(text);
    if (ip === undefined) {
      ctx.addIssue({ code: 'custom', message: HOST_ERROR });
      return z.NEVER;
    }
    return ip;
  });

const API_ERROR = 'must be host:port (an IPv4 address or localhost, port 0-65535)';
const api = z.string({ error: API_ERROR }).transform((text, ctx) => {
  const match = /^\s*([^:\s]+):(\d{1,5})\s*$/.exec(text);
  const port = match ? Number(match[2]) : NaN;
  if (!match || !isHost(match[1]!) || port > 65535) {
    ctx.addIssue({ code: 'custom', message: API_ERROR });
    return z.NEVER;
  }
  return { host: match[1]!, port };
});

const BOOTSTRAP_ERROR = 'must be a list of host:port or [ipv6]:port';
const bootstrap = z
  .union([z.literal(false), z.string(), z.array(z.string())], { error: BOOTSTRAP_ERROR })
  .transform((value, ctx): string[] | false => {
    if (value === false) return false;
    const entries = (typeof value === 'string' ? value.split(',') : value).map((e) => e.trim()).filter((e) => e !== '');
    const bad = entries.find((entry) => 'reason' in tryParseHostPort(entry));
    if (bad !== undefined) {
      ctx.addIssue({ code: 'custom', message: `${BOOTSTRAP_ERROR}: bad entry ${JSON.stringify(bad)}` });
      return z.NEVER;
    }
    return entries.length === 0 ? false : entries;
  });

const bool = z.preprocess(toBool, z.boolean({ error: 'must be true or false' }));
const RATE_ERROR = 'must be a number of KiB/s, 0 (unlimited) or more';
const rateLimit = z.preprocess(toNumber, z.number({ error: RATE_ERROR }).min(0, { error: RATE_ERROR }).max(1e9, { error: RATE_ERROR }));
const positive = (error: string) => z.preprocess((v) => (typeof v === 'string' ? (parsePositiveNumber(v) ?? v) : v), z.number({ error }).gt(0, { error }));

const SCHEMAS = {
  host,
  port: integer(0, 65535),
  dhtPort: integer(0, 65535),
  api,
  bootstrap,
  noBootstrap: bool,
  dht: bool,
  downloadDir: z.string({ error: 'must be a directory path' }).min(1, { error: 'must be a directory path' }),
  maxConnections: integer(1, 5000),
  uploadLimit: rateLimit,
  downloadLimit: rateLimit,
  seedRatio: positive('must be a number above 0, such as 1.5'),
  seedTime: positive('must be a number of minutes above 0, such as 30 or 0.5'),
  utp: bool,
  portMap: bool,
  encryption: z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
    z.enum(ENCRYPTION_POLICIES, { error: `must be one of ${ENCRYPTION_POLICIES.join(', ')}` }),
  ),
  logLevel: z.preprocess(
    (v) => (typeof v === 'string' ? v.trim().toLowerCase() : v),
    z.enum(LOG_LEVELS, { error: `must be one of ${LOG_LEVELS.join(', ')}` }),
  ),
};

/** The settings a source may give (the keys of config.json and of the flags object). */
export type ConfigKey = keyof typeof SCHEMAS;
type Given = { [K in ConfigKey]?: z.output<(typeof SCHEMAS)[K]> };
const KEYS = Object.keys(SCHEMAS) as ConfigKey[];

/** The environment variable of each setting. */
export const CONFIG_ENV: Record<ConfigKey, string> = {
  host: 'WARREN_HOST',
  port: 'WARREN_PORT',
  dhtPort: 'WARREN_DHT_PORT',
  api: 'WARREN_API',
  bootstrap: 'WARREN_BOOTSTRAP',
  noBootstrap: 'WARREN_NO_BOOTSTRAP',
  dht: 'WARREN_DHT',
  downloadDir: 'WARREN_DOWNLOAD_DIR',
  maxConnections: 'WARREN_MAX_CONNECTIONS',
  uploadLimit: 'WARREN_UPLOAD_LIMIT',
  downloadLimit: 'WARREN_DOWNLOAD_LIMIT',
  seedRatio: 'WARREN_SEED_RATIO',
  seedTime: 'WARREN_SEED_TIME',
  utp: 'WARREN_UTP',
  portMap: 'WARREN_PORT_MAP',
  encryption: 'WARREN_ENCRYPTION',
  logLevel: 'WARREN_LOG_LEVEL',
};

const flagName = (key: ConfigKey): string => `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;

/** Checks the values one source gives; `label` names a key in error messages. */
function parseSource(values: Record<string, unknown>, label: (key: ConfigKey) => string, base: string): Given {
  const given: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value = values[key];
    if (value === undefined || value === null) continue;
    const result = SCHEMAS[key].safeParse(value);
    if (!result.success) throw new NodeError('CONFIG', `${label(key)}: ${result.error.issues[0]?.message ?? 'invalid value'}`);
    given[key] = key === 'downloadDir' ? resolve(base, result.data as string) : result.data;
  }
  return given as Given;
}

/** The object in `<dataDir>/config.json`; `{}` when there is no file. */
function readConfigFile(path: string): Record<string, unknown> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return {};
    throw new NodeError('CONFIG', `${path}: cannot read: ${(error as Error).message}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    throw new NodeError('CONFIG', `${path}: not valid JSON: ${(error as Error).message}`);
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new NodeError('CONFIG', `${path}: must be a JSON object`);
  const unknown = Object.keys(value).filter((k) => !(KEYS as string[]).includes(k));
  if (unknown.length > 0) throw new NodeError('CONFIG', `${path}: unknown key ${JSON.stringify(unknown[0])} (known: ${KEYS.join(', ')})`);
  return value as Record<string, unknown>;
}

/** The bootstrap setting from sources in precedence order (see the module comment). */
function resolveBootstrap(sources: Given[]): string[] | false {
  let forcedOn = false;
  for (const source of sources) {
    if ((source.noBootstrap === true || source.bootstrap === false) && !forcedOn) return false;
    if (Array.isArray(source.bootstrap)) return source.bootstrap;
    if (source.noBootstrap === false) forcedOn = true;
  }
  return [...DEFAULT_BOOTSTRAP];
}

/**
 * Resolves the node's settings for `dataDir` (see the module comment for the sources). `flags`
 * may hold other keys (they are ignored); pass only options the user gave, not commander's
 * defaults (a `--no-dht` option makes commander default `dht` to true). Synchronous; throws
 * `NodeError('CONFIG', …)` on the first bad value.
 */
export function loadConfig(dataDir: string, flags: Record<string, unknown>, env: NodeJS.ProcessEnv = process.env): NodeConfig {
  const root = resolve(dataDir);
  const fromFlags = parseSource(flags, flagName, process.cwd());
  const envValues: Record<string, unknown> = {};
  for (const key of KEYS) {
    const value = env[CONFIG_ENV[key]];
    if (value !== undefined && value !== '') envValues[key] = value;
  }
  const fromEnv = parseSource(envValues, (key) => CONFIG_ENV[key], process.cwd());
  const file = join(root, 'config.json');
  const fromFile = parseSource(readConfigFile(file), (key) => `${file}: ${key}`, root);
  const sources = [fromFlags, fromEnv, fromFile];
  const pick = <K extends ConfigKey>(key: K): Given[K] => sources.find((s) => s[key] !== undefined)?.[key];
  return {
    dataDir: root,
    host: pick('host') ?? '0.0.0.0',
    port: pick('port') ?? 6881,
    dhtPort: pick('dhtPort') ?? 6881,
    api: pick('api') ?? { host: '127.0.0.1', port: 7070 },
    bootstrap: resolveBootstrap(sources),
    dht: pick('dht') ?? true,
    downloadDir: pick('downloadDir') ?? join(root, 'downloads'),
    maxConnections: pick('maxConnections') ?? 200,
    uploadLimit: Math.round((pick('uploadLimit') ?? 0) * 1024),
    downloadLimit: Math.round((pick('downloadLimit') ?? 0) * 1024),
    seedRatio: pick('seedRatio'),
    seedTimeMinutes: pick('seedTime'),
    encryption: pick('encryption') ?? 'prefer',
    utp: pick('utp') ?? true,
    portMap: pick('portMap') ?? false,
    logLevel: pick('logLevel') ?? 'info',
  };
}
