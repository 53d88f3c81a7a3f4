/**
 * Standalone commands (`lookup`, `announce`, `item`) run their own short-lived DHT node for their
 * duration: bind an ephemeral port, bootstrap, do the work, close.
 */
import { Dht } from '../dht/dht.js';
import { createNodeRuntime } from '../runtime/node-runtime.js';
import { CliError } from './errors.js';
import { parseBootstrap, parseHost, type NetworkFlags } from './options.js';

export async function withEphemeralDht<T>(flags: NetworkFlags, work: (dht: Dht) => Promise<T>): Promise<T> {
  const dht = new Dht(
    {
      host: flags.host === undefined ? '0.0.0.0' : parseHost(flags.host),
      port: 0,
      bootstrap: parseBootstrap(flags.bootstrap),
      log: (level, message) => {
        if (level === 'warn') process.stderr.write(`warren: ${message}\n`);
      },
    },
    createNodeRuntime(),
  );
  try {
    await dht.start();
    if (dht.stats().tableSize === 0) throw new CliError('could not join the DHT: no bootstrap node answered');
    return await work(dht);
  } finally {
    await dht.close();
  }
}
