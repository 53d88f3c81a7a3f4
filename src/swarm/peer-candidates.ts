/**
 * The addresses a torrent may dial: every peer heard of from any source, IPv4 or IPv6 (keyed by
 * `peerKey`, hosts spelled canonically), minus banned hosts,
 * with exponential back-off for the ones that failed (30 s, doubling up to 16 minutes) and a
 * pause before dialling a good one again after it disconnected. At most `MAX_CANDIDATES` are kept
 * (libtorrent's default peer list size), so peers that flood us with PEX addresses cannot grow it
 * without bound: a full list makes room by forgetting the candidate that failed most often, and
 * refuses newcomers while none has failed.
 */
import { normalizePeer, peerKey } from './peer-address.js';
import type { Endpoint } from '../runtime/interfaces.js';

const RETRY_BASE_MS = 30_000;
const MAX_DIALS_IN_FLIGHT = 8;
/** The most candidates a torrent keeps. */
export const MAX_CANDIDATES = 3000;

interface Candidate {
  endpoint: Endpoint;
  retryAt: number;
  failures: number;
}

export class PeerCandidates {
  private readonly entries = new Map<string, Candidate>();
  private readonly banned = new Set<string>();
  private readonly dialing = new Set<string>();

  constructor(private readonly now: () => number) {}

  /** Adds an address of either family (its host canonicalized, see `normalizePeer`); a bad one is ignored. */
  add(given: Endpoint): void {
    const endpoint = normalizePeer(given);
    if (endpoint === undefined) return;
    const key = peerKey(endpoint);
    if (this.banned.has(endpoint.host) || this.entries.has(key)) return;
    if (this.entries.size >= MAX_CANDIDATES && !this.forgetWorst()) return;
    this.entries.set(key, { endpoint, retryAt: 0, failures: 0 });
  }

  get size(): number {
    return this.entries.size;
  }

  /** Forgets the candidate (not being dialled) that failed most often; false when none has failed. */
  private forgetWorst(): boolean {
    let worst: string | undefined;
    let failures = 0;
    for (const [key, entry] of this.entries) {
      if (entry.failures > failures && !this.dialing.has(key)) {
        worst = key;
        failures = entry.failures;
      }
    }
    if (worst !== undefined) this.entries.delete(worst);
    return worst !== undefined;
  }

  /** Bans a host: it is forgotten and never dialled or accepted again. */
  ban(host: string): void {
    this.banned.add(host);
    for (const [key, entry] of this.entries) if (entry.endpoint.host === host) this.entries.delete(key);
  }

  isBanned(host: string): boolean {
    return this.banned.has(host);
  }

  get dialingCount(): number {
    return this.dialing.size;
  }

  /**
   * Candidates to dial now (at most `room`, and never more than 8 dials in flight), skipping
   * those already connected; each is marked as being dialled until `dialed` is called.
   */
  takeDialable(room: number, isConnected: (key: string) => boolean): { key: string; endpoint: Endpoint }[] {
    const now = this.now();
    const out: { key: string; endpoint: Endpoint }[] = [];
    for (const [key, entry] of this.entries) {
      if (out.length >= room || this.dialing.size >= MAX_DIALS_IN_FLIGHT) break;
      if (isConnected(key) || this.dialing.has(key) || entry.retryAt > now) continue;
      this.dialing.add(key);
      out.push({ key, endpoint: entry.endpoint });
    }
    return out;
  }

  /** A dial finished: back off after a failure, or wait a little before dialling this peer again. */
  dialed(key: string, ok: boolean): void {
    this.dialing.delete(key);
    const entry = this.entries.get(key);
    if (!entry) return;
    entry.failures = ok ? 0 : entry.failures + 1;
    entry.retryAt = this.now() + RETRY_BASE_MS * 2 ** Math.min(entry.failures, 5);
  }

  /** Every candidate may be dialled again at once (after a pause or an error is cleared). */
  resetBackoff(): void {
    for (const entry of this.entries.values()) entry.retryAt = 0;
  }
}
