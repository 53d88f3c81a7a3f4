/** `find_node`: answers with the k closest contacts to `target` in compact form (`nodes`, `nodes6`). */
import { parseFindNodeArgs } from '../../codec/dht-messages.js';
import { closestNodes, type QueryHandler } from './context.js';

export const handleFindNode: QueryHandler = (ctx, query) => {
  const { target, want } = parseFindNodeArgs(query.args);
  return closestNodes(ctx, target, query.senderId, want);
};
