/**
 * warren's library entry point: `import { Dht, WarrenNode } from 'warren'`: the DHT alone, the swarm
 * session, or a whole node (state store, DHT, swarm) with the HTTP API in front of it.
 */
export { Dht, type DhtFamilyInfo } from './dht/dht.js';
export { DEFAULT_BOOTSTRAP, type DhtFamilyStats, type DhtOptions, type DhtStats, type LogLevel } from './dht/options.js';
export type { AnnounceOptions, AnnounceResult } from './dht/peer-lookup.js';
export type { DhtItem, ImmutableItem, MutableItem, PutRequest, PutResult } from './dht/item-lookup.js';
export { generateEd25519KeyPair, type Ed25519KeyPair } from './dht/bep44.js';
export { toInfoHash, toNodeId, toItemTarget, toHex, type InfoHash, type NodeId, type ItemTarget } from './dht/types.js';
export { DhtInputError, DhtStateError } from './dht/errors.js';
export type { DhtCounters } from './dht/stats.js';
export type { Endpoint, Runtime } from './runtime/interfaces.js';
export { createNodeRuntime } from './runtime/node-runtime.js';
export { VirtualNetwork } from './runtime/virtual-network.js';
export { createTestnet, testnetHost, testnetHost6, type Testnet } from './dht/testnet.js';
export { SwarmSession, type SwarmSessionOptions, type AddTorrentOptions } from './swarm/session.js';
export type { EncryptionPolicy } from './swarm/mse-handshake.js';
export { UtpSocket, type UtpSocketOptions, type UtpSocketStats } from './utp/utp-socket.js';
export { UtpError, type UtpErrorCode } from './utp/errors.js';
export { WarrenNode, type WarrenNodeOptions } from './node/warren-node.js';
export { NodeError } from './node/errors.js';
export type { NodeControl } from './node/node-control.js';
export type * from './node/view-types.js';
export { startApiServer, type ApiServer, type ApiServerOptions } from './api/server.js';
