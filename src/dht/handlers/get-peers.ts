/**
 * `get_peers`: answers with a write token for the asker, the k closest contacts, and the stored
 * peers for the infohash, randomly sampled so that the whole reply fits in one datagram of at most
 * MAX_REPLY_BYTES.
 */
import { encodeCompactPeer } from '../../codec/compact.js';
import { parseGetPeersArgs } from '../../codec/dht-messages.js';
import { encodeResponse } from '../../codec/krpc.js';
import type { InfoHash } from '../types.js';
import { closestNodes, type QueryHandler } from './context.js';

export const MAX_REPLY_BYTES = 1400;
/** `6:values` plus the list's `l` and `e`. */
const VALUES_OVERHEAD = 10;
/** `6:` plus a compact IPv4 peer. */
const BYTES_PER_PEER = 8;

export const handleGetPeers: QueryHandler = (ctx, query, from) => {
  const args = parseGetPeersArgs(query.args);
  const values: Record<string, Uint8Array | Uint8Array[]> = {
    token: ctx.tokens.issue(from.host),
    nodes: closestNodes(ctx, args.infoHash, query.senderId),
  };
  const base = encodeResponse({
    transactionId: query.transactionId,
    values,
    senderId: ctx.localId,
    ip: from,
    version: ctx.version,
  }).length;
  const room = Math.floor((MAX_REPLY_BYTES - base - VALUES_OVERHEAD) / BYTES_PER_PEER);
  if (room > 0) {
    const peers = ctx.peers.get(args.infoHash as InfoHash, room, ctx.random, args.noSeed === true);
    if (peers.length > 0) values.values = peers.map(encodeCompactPeer);
  }
  return values;
};
