/**
 * BEP 44 `get`: answers with a write token, the k closest contacts and, when stored, the item.
 * A mutable item's value is left out when the asker's `seq` shows it already has it.
 */
import type { BEncodable } from '../../codec/bencode.js';
import { parseGetArgs } from '../../codec/dht-messages.js';
import type { ItemTarget } from '../types.js';
import { closestNodes, type QueryHandler } from './context.js';

export const handleGet: QueryHandler = (ctx, query, from) => {
  const args = parseGetArgs(query.args);
  const values: Record<string, BEncodable | undefined> = {
    token: ctx.tokens.issue(from.host),
    ...closestNodes(ctx, args.target, query.senderId, args.want),
  };
  const item = ctx.items.get(args.target as ItemTarget);
  if (!item) return values;
  if (item.k) {
    values.k = item.k;
    values.sig = item.sig;
    values.seq = item.seq;
    if (args.seq !== undefined && item.seq! <= args.seq) return values;
  }
  values.v = item.v;
  return values;
};
