/** The runtime layer: the `Runtime` contract, its real implementation and its simulated one. */
export type { Endpoint, FileStore, Runtime, TcpConnection, TcpServer, Timer, UdpSocket } from './interfaces.js';
export { createNodeRuntime, NodeUdpSocket } from './node-runtime.js';
export { VirtualClock } from './virtual-clock.js';
export { VirtualNetwork } from './virtual-network.js';
export type { LinkProfile, VirtualNetworkOptions, VirtualNetworkStats } from './virtual-network.js';
export { MemoryFileStore } from './memory-file-store.js';
