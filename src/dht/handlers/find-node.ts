/** `find_node`: answers with the k closest contacts to `target` in compact form. */
import { parseFindNodeArgs } from '../../codec/dht-messages.js';
import { closestNodes, type QueryHandler } from './context.js';

export const handleFindNode: QueryHandler = (ctx, query) => {
  const { target } = parseFindNodeArgs(query.args);
  return { nodes: closestNodes(ctx, target, query.senderId) };
};
