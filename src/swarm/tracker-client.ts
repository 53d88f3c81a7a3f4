/**
 * Announcing to trackers: HTTP(S) trackers (BEP 3, compact peer lists of BEP 23, IPv6 `peers6` of
 * BEP 7) and UDP trackers (BEP 15: connect, then announce, each retried once on timeout; over
 * IPv6 when the tracker's address is IPv6, whose reply then carries IPv6 peers). A tracker that
 * fails is reported with its reason; the caller decides when to try again. A reply that cannot be
 * decoded is dropped, counted in `TrackerClientDeps.onBadReply`, and the request tried again.
 */
import {
  buildHttpAnnounceUrl,
  decodeUdpTrackerReply,
  encodeUdpAnnounce,
  encodeUdpConnect,
  parseHttpAnnounceResponse,
  TrackerError,
  type AnnounceParams,
  type AnnounceResponse,
} from '../codec/tracker.js';
import { canonicalIp, ipFamily } from '../codec/ip.js';
import { DecodeError } from '../codec/errors.js';
import type { Runtime } from '../runtime/interfaces.js';

const UDP_TIMEOUT_MS = 4000;
const UDP_ATTEMPTS = 2;

export interface TrackerClientDeps {
  runtime: Runtime;
  /** Called for each UDP tracker datagram that could not be decoded (it is dropped). */
  onBadReply?(error: DecodeError): void;
}

export async function announceToTracker(deps: TrackerClientDeps, url: string, params: AnnounceParams): Promise<AnnounceResponse> {
  if (url.startsWith('http://') || url.startsWith('https://')) {
    const body = await deps.runtime.httpGet(buildHttpAnnounceUrl(url, params), { timeoutMs: 15_000 });
    return parseHttpAnnounceResponse(body);
  }
  if (url.startsWith('udp://')) return announceUdp(deps, url, params);
  throw new TrackerError(`unsupported tracker URL ${url}`);
}

async function announceUdp(deps: TrackerClientDeps, url: string, params: AnnounceParams): Promise<AnnounceResponse> {
  const runtime = deps.runtime;
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    throw new TrackerError(`bad UDP tracker URL ${url}`);
  }
  const port = Number(parsed.port);
  // An IPv6 literal's hostname keeps its brackets: udp://[fd57::1]:6969 -> "[fd57::1]".
  const name = parsed.hostname.replace(/^\[(.*)\]$/, '$1');
  if (!name || !Number.isInteger(port) || port < 1 || port > 65535) throw new TrackerError(`bad UDP tracker URL ${url}`);
  const resolved = await runtime.resolveHost(name);
  const host = canonicalIp(resolved) ?? resolved;
  const family = ipFamily(host) ?? 4;
  const socket = await runtime.udp({ host: family === 6 ? '::' : '0.0.0.0', port: 0 });
  const replies: ((data: Uint8Array) => void)[] = [];
  socket.onMessage((data, from) => {
    if (from.host === host && from.port === port) for (const waiter of replies.splice(0)) waiter(data);
  });
  const exchange = async (build: (tid: number) => Uint8Array) => {
    for (let attempt = 0; attempt < UDP_ATTEMPTS; attempt++) {
      const tid = Math.floor(runtime.random() * 0x100000000) >>> 0;
      const reply = await new Promise<Uint8Array | undefined>((resolve) => {
        const timer = runtime.setTimer(UDP_TIMEOUT_MS * 2 ** attempt, () => resolve(undefined));
        replies.push((data) => {
          timer.cancel();
          resolve(data);
        });
        socket.send(build(tid), { host, port });
      });
      if (!reply) continue;
      let decoded;
      try {
        decoded = decodeUdpTrackerReply(reply, family);
      } catch (error) {
        if (!(error instanceof DecodeError)) throw error;
        deps.onBadReply?.(error);
        continue;
      }
      if (decoded.transactionId !== tid) continue;
      if (decoded.action === 'error') throw new TrackerError(decoded.message);
      return decoded;
    }
    throw new TrackerError(`UDP tracker ${url} did not answer`);
  };
  try {
    const connected = await exchange((tid) => encodeUdpConnect(tid));
    if (connected.action !== 'connect') throw new TrackerError('UDP tracker answered connect with another action');
    const announced = await exchange((tid) => encodeUdpAnnounce(connected.connectionId, tid, params));
    if (announced.action !== 'announce') throw new TrackerError('UDP tracker answered announce with another action');
    return { interval: announced.interval, peers: announced.peers, complete: announced.seeders, incomplete: announced.leechers };
  } finally {
    socket.close();
  }
}
