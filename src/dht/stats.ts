/**
 * Counters kept by a DHT node. Every dropped datagram is counted under the reason it was dropped.
 */
export interface DhtCounters {
  datagramsIn: number;
  datagramsOut: number;
  bytesIn: number;
  bytesOut: number;
  /** Not bencode, wrong types, wrong lengths, too deep or too large. */
  malformed: number;
  /** Dropped by the per-source rate limiter. */
  rateLimited: number;
  /** Responses or errors matching no outstanding query (late, spoofed or duplicated). */
  unexpected: number;
  queriesIn: Record<string, number>;
  queriesOut: number;
  responsesIn: number;
  errorsIn: number;
  errorsOut: number;
  timeouts: number;
}

export function newCounters(): DhtCounters {
  return {
    datagramsIn: 0,
    datagramsOut: 0,
    bytesIn: 0,
    bytesOut: 0,
    malformed: 0,
    rateLimited: 0,
    unexpected: 0,
    queriesIn: {},
    queriesOut: 0,
    responsesIn: 0,
    errorsIn: 0,
    errorsOut: 0,
    timeouts: 0,
  };
}
