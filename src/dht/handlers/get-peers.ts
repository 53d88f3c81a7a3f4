/**
 * `get_peers`: answers with a write token for the asker, the k closest contacts, and the stored
 * peers for the infohash of the family the query arrived on (IPv4 peers over IPv4, IPv6 peers over
 * IPv6, as BEP 32 keeps the two DHTs apart), randomly sampled so that the whole reply fits in one
 * datagram of at most MAX_REPLY_BYTES.
 */
import { compactPeerLength, encodeCompactPeer } from '../../codec/compact.js';
import { parseGetPeersArgs } from '../../codec/dht-messages.js';
import { encodeResponse } from '../../codec/krpc.js';
import type { InfoHash } from '../types.js';
import { closestNodes, type QueryHandler } from './context.js';

export const MAX_REPLY_BYTES = 1400;
/** `6:values` plus the list's `l` and `e`. */
const VALUES_OVERHEAD = 10;

export const handleGetPeers: QueryHandler = (ctx, query, from) => {
  const args = parseGetPeersArgs(query.args);
  const values: Record<string, Uint8Array | Uint8Array[]> = {
    token: ctx.tokens.issue(from.host),
    ...closestNodes(ctx, args.infoHash, query.senderId, args.want),
  };
  const base = encodeResponse({
    transactionId: query.transactionId,
    values,
    senderId: ctx.localId,
    ip: from,
    version: ctx.version,
  }).length;
  // Each value is its length prefix (`6:` or `18:`) and a compact peer.
  const perPeer = compactPeerLength(ctx.family) + (ctx.family === 4 ? 2 : 3);
  const room = Math.floor((MAX_REPLY_BYTES - base - VALUES_OVERHEAD) / perPeer);
  if (room > 0) {
    const peers = ctx.peers.get(args.infoHash as InfoHash, room, ctx.random, { noSeed: args.noSeed === true, family: ctx.family });
    if (peers.length > 0) values.values = peers.map(encodeCompactPeer);
  }
  return values;
};
