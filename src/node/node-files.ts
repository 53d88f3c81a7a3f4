/**
 * The small files a running node keeps in its data directory for the commands that talk to it:
 * `api-token` (the API's secret, created once, mode 0600) and `api.json` (where the API listens
 * and the node's pid, written at start and removed at a clean stop).
 */
import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { connect } from 'node:net';
import { join } from 'node:path';
import { NodeError } from './errors.js';

export interface ApiInfo {
  /** `http://host:port` */
  api: string;
  pid: number;
}

/** The API token, created on first use. Only the owner may read it. */
export async function loadOrCreateApiToken(dataDir: string): Promise<string> {
  const existing = await readApiToken(dataDir);
  if (existing !== undefined && /^[A-Za-z0-9_-]{20,200}$/.test(existing)) return existing;
  const path = join(dataDir, 'api-token');
  const token = randomBytes(24).toString('base64url');
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, `${token}\n`, { mode: 0o600 });
  await rename(tmp, path);
  return token;
}

/** The token, or `undefined` when there is none. */
export async function readApiToken(dataDir: string): Promise<string | undefined> {
  const text = await readFile(join(dataDir, 'api-token'), 'utf8').catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return undefined;
    throw error;
  });
  return text?.trim() || undefined;
}

/** What `api.json` says, or `undefined` when it is missing or unreadable. */
export async function readApiInfo(dataDir: string): Promise<ApiInfo | undefined> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(join(dataDir, 'api.json'), 'utf8'));
  } catch {
    return undefined; // missing or half-written: no node to talk to
  }
  const v = value as Partial<ApiInfo>;
  if (typeof v?.api !== 'string' || !/^http:\/\/[^/]+$/.test(v.api) || !Number.isInteger(v.pid)) return undefined;
  return { api: v.api, pid: v.pid! };
}

export async function writeApiInfo(dataDir: string, info: ApiInfo): Promise<void> {
  const path = join(dataDir, 'api.json');
  await writeFile(`${path}.tmp`, JSON.stringify(info));
  await rename(`${path}.tmp`, path);
}

export async function removeApiInfo(dataDir: string): Promise<void> {
  await rm(join(dataDir, 'api.json'), { force: true });
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Whether something accepts TCP connections where `api` (http://host:port) says the API is. */
function apiAnswers(api: string): Promise<boolean> {
  const { hostname, port } = new URL(api);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    const done = (answers: boolean) => {
      socket.destroy();
      resolve(answers);
    };
    socket.setTimeout(1000, () => done(false));
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
  });
}

/**
 * Refuses to start a second node on a data directory whose node is still running: its `api.json`
 * names a live process and its API answers. A file left by a killed node is ignored, even when
 * its pid now belongs to another process (the state store's lock is the last word either way).
 */
export async function checkNoRunningNode(dataDir: string): Promise<void> {
  const info = await readApiInfo(dataDir);
  if (info && info.pid !== process.pid && isAlive(info.pid) && (await apiAnswers(info.api))) {
    throw new NodeError('CONFLICT', `a warren node (pid ${info.pid}, ${info.api}) is already running with data dir ${dataDir}`);
  }
}
