/** `ping`: any node answers with just its id (added by the transport). */
import type { QueryHandler } from './context.js';

export const handlePing: QueryHandler = () => ({});
