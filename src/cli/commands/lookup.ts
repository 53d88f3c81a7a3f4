/** `warren lookup <infohash>`: prints each peer of the swarm as the DHT reports it. */
import { formatHostPort } from '../../codec/ip.js';
import { CliError } from '../errors.js';
import { withEphemeralDht } from '../ephemeral-node.js';
import { parseInfoHashArg, type NetworkFlags } from '../options.js';
import { createOutput } from '../output.js';

export async function lookupCommand(infoHashText: string, flags: NetworkFlags): Promise<void> {
  const infoHash = parseInfoHashArg(infoHashText);
  const out = createOutput(flags.json === true);
  const found = await withEphemeralDht(flags, async (dht) => {
    let count = 0;
    for await (const peer of dht.lookup(infoHash)) {
      count++;
      out.event({ event: 'peer', host: peer.host, port: peer.port }, formatHostPort(peer.host, peer.port));
    }
    return count;
  });
  if (found === 0) throw new CliError('no peers found');
  out.event({ event: 'done', peers: found }, '');
}
