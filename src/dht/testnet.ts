/**
 * `createTestnet(n)`: n DHT nodes on a `VirtualNetwork`, each on its own simulated host
 * (10.0.x.y, or fd57::x with `family: 6`), all bootstrapped through the first. For tests and
 * simulations of anything built on the DHT: deterministic for a given seed, and fast (virtual time).
 */
import { canonicalIpv6, formatHostPort, type IpFamily } from '../codec/ip.js';
import { VirtualNetwork, type VirtualNetworkOptions } from '../runtime/virtual-network.js';
import { Dht } from './dht.js';
import type { DhtOptions } from './options.js';

export interface Testnet {
  net: VirtualNetwork;
  nodes: Dht[];
  /** Drives the virtual clock until `p` settles (limit: one virtual hour). */
  run<T>(p: Promise<T>): Promise<T>;
  /** Adds one more node bootstrapped through the first. */
  addNode(options?: DhtOptions): Promise<Dht>;
  close(): Promise<void>;
}

export const TESTNET_PORT = 6881;

/** The simulated host of the i-th node. */
export function testnetHost(i: number): string {
  return `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${(i & 255) + 1}`;
}

/** The simulated IPv6 host of the i-th node (fd57::1, fd57::2, ...). */
export function testnetHost6(i: number): string {
  return canonicalIpv6(`fd57::${(i >>> 16).toString(16)}:${((i & 0xffff) + 1).toString(16)}`)!;
}

export async function createTestnet(
  n: number,
  options: { seed?: number; network?: Partial<VirtualNetworkOptions>; dht?: DhtOptions; family?: IpFamily } = {},
): Promise<Testnet> {
  const net = new VirtualNetwork({ seed: options.seed ?? 1, ...options.network });
  const nodes: Dht[] = [];
  const run = <T>(p: Promise<T>) => net.clock.run(p, 3_600_000);
  const hostOf = options.family === 6 ? testnetHost6 : testnetHost;
  const addNode = async (extra: DhtOptions = {}): Promise<Dht> => {
    const host = hostOf(nodes.length);
    const bootstrap = nodes.length === 0 ? false : [formatHostPort(hostOf(0), TESTNET_PORT)];
    const dht = new Dht({ host, port: TESTNET_PORT, bootstrap, ...options.dht, ...extra }, net.runtime(host));
    await run(dht.start());
    nodes.push(dht);
    return dht;
  };
  for (let i = 0; i < n; i++) await addNode();
  return {
    net,
    nodes,
    run,
    addNode,
    close: async () => {
      await run(Promise.all(nodes.map((node) => node.close())));
    },
  };
}
