/**
 * Announcing to trackers: HTTP(S) trackers (BEP 3, compact peer lists of BEP 23) and UDP trackers
 * (BEP 15: connect, then announce, each retried once on timeout). A tracker that fails is
 * reported with its reason; the caller decides when to try again.
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
import type { Runtime } from '../runtime/interfaces.js';

const UDP_TIMEOUT_MS = 4000;
const UDP_ATTEMPTS = 2;

export interface TrackerClientDeps {
  runtime: Runtime;
}

export async function announceToTracker(deps: TrackerClientDeps, url: string, params: AnnounceParams): Promise<AnnounceResponse> {
  if (url.startsWith('http://') || url.startsWith('https://')) {
    const body = await deps.runtime.httpGet(buildHttpAnnounceUrl(url, params), { timeoutMs: 15_000 });
    return parseHttpAnnounceResponse(body);
  }
  if (url.startsWith('udp://')) return announceUdp(deps.runtime, url, params);
  throw new TrackerError(`unsupported tracker URL ${url}`);
}

async function announceUdp(runtime: Runtime, url: string, params: AnnounceParams): Promise<AnnounceResponse> {
  const parsed = new URL(url);
  const port = Number(parsed.port);
  if (!parsed.hostname || !Number.isInteger(port) || port < 1 || port > 65535) throw new TrackerError(`bad UDP tracker URL ${url}`);
  const host = await runtime.resolveHost(parsed.hostname);
  const socket = await runtime.udp({ host: '0.0.0.0', port: 0 });
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
      const decoded = decodeUdpTrackerReply(reply);
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
