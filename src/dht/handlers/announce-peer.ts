/**
 * `announce_peer`: stores the sender as a peer of the infohash. Rejected with 203 unless the token
 * was issued to the sender's IP by a recent `get_peers`. With `implied_port` the UDP source port is
 * stored instead of `port` (for peers behind NAT, and uTP).
 */
import { parseAnnouncePeerArgs } from '../../codec/dht-messages.js';
import { KRPC_ERROR } from '../../codec/krpc.js';
import { KrpcErrorReply } from '../errors.js';
import type { InfoHash } from '../types.js';
import type { QueryHandler } from './context.js';

export const handleAnnouncePeer: QueryHandler = (ctx, query, from) => {
  const args = parseAnnouncePeerArgs(query.args);
  if (!ctx.tokens.verify(from.host, args.token)) throw new KrpcErrorReply(KRPC_ERROR.PROTOCOL, 'bad token');
  const port = args.impliedPort ? from.port : args.port;
  if (port < 1 || port > 65535) throw new KrpcErrorReply(KRPC_ERROR.PROTOCOL, 'bad port');
  ctx.peers.add(args.infoHash as InfoHash, { host: from.host, port }, args.seed === true);
  return {};
};
