/** The web UI's entry point (served by the node at `/`). */
import type { NodeView } from '../node/view-types.js';

export function title(node: NodeView): string {
  return `warren ${node.version}`;
}
