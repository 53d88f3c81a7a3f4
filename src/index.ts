/**
 * warren's library entry point: `import { Dht } from 'warren'`.
 */
export { Dht } from './dht/dht.js';
export { DEFAULT_BOOTSTRAP, type DhtOptions, type DhtStats, type LogLevel } from './dht/options.js';
export type { AnnounceOptions, AnnounceResult } from './dht/peer-lookup.js';
export type { DhtItem, ImmutableItem, MutableItem, PutRequest, PutResult } from './dht/item-lookup.js';
export { generateEd25519KeyPair, type Ed25519KeyPair } from './dht/bep44.js';
export { toInfoHash, toNodeId, toItemTarget, toHex, type InfoHash, type NodeId, type ItemTarget } from './dht/types.js';
export { DhtInputError, DhtStateError } from './dht/errors.js';
export type { DhtCounters } from './dht/stats.js';
export type { Endpoint, Runtime } from './runtime/interfaces.js';
export { createNodeRuntime } from './runtime/node-runtime.js';
export { VirtualNetwork } from './runtime/virtual-network.js';
export { createTestnet, type Testnet } from './dht/testnet.js';
