/** `WarrenNode` options for tests: 127.0.0.1, ports picked by the OS, no DHT unless asked, quiet. */
import { join } from 'node:path';
import type { WarrenNodeOptions } from '../../src/node/warren-node.js';

export function testNodeOptions(dataDir: string, overrides: Partial<WarrenNodeOptions> = {}): WarrenNodeOptions {
  return {
    dataDir,
    host: '127.0.0.1',
    port: 0,
    dhtPort: 0,
    dht: false,
    bootstrap: false,
    downloadDir: join(dataDir, 'downloads'),
    maxConnections: 50,
    uploadLimit: 0,
    version: 'test',
    log: () => undefined,
    ...overrides,
  };
}
