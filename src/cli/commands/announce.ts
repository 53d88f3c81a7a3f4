/** `warren announce <infohash> --port P`: tells the DHT that we serve the swarm on port P. */
import { CliError } from '../errors.js';
import { withEphemeralDht } from '../ephemeral-node.js';
import { parseInfoHashArg, parsePort, type NetworkFlags } from '../options.js';
import { createOutput } from '../output.js';
import { toHex } from '../../dht/types.js';

export async function announceCommand(infoHashText: string, flags: NetworkFlags & { port?: string }): Promise<void> {
  const infoHash = parseInfoHashArg(infoHashText);
  if (flags.port === undefined) throw new CliError('announce needs --port P (the port peers should connect to)', 2);
  const port = parsePort(flags.port);
  const out = createOutput(flags.json === true);
  const result = await withEphemeralDht(flags, (dht) => dht.announce(infoHash, port));
  if (result.announcedTo === 0) throw new CliError('no DHT node accepted the announcement');
  out.event(
    { event: 'announced', infoHash: toHex(infoHash), port, nodes: result.announcedTo },
    `announced ${toHex(infoHash)} port ${port} to ${result.announcedTo} nodes`,
  );
}
