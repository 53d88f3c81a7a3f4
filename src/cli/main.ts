#!/usr/bin/env node
/**
 * The `warren` command line. Every command exits 0 on success and non-zero with a one-line
 * reason on stderr on failure; `--json` switches output to JSON lines on stdout.
 */
import { Command, CommanderError, Option } from 'commander';
import { announceCommand } from './commands/announce.js';
import { createCommand } from './commands/create.js';
import { getCommand } from './commands/get.js';
import { infoCommand } from './commands/info.js';
import { seedCommand } from './commands/seed.js';
import { demoCommand } from './commands/demo.js';
import { dhtCommand } from './commands/dht.js';
import { itemGetCommand, itemPutCommand } from './commands/item.js';
import { lookupCommand } from './commands/lookup.js';
import { addCommand, filesCommand, lsCommand, pauseCommand, rmCommand, statusCommand, verifyCommand } from './commands/manage.js';
import { nodeCommand } from './commands/node.js';
import { CliError } from './errors.js';

const BOOTSTRAP_HELP = 'bootstrap nodes, host:port,... (default: the public mainline routers)';

function withNetworkOptions(command: Command): Command {
  return command
    .option('--bootstrap <list>', BOOTSTRAP_HELP)
    .option('--no-bootstrap', 'do not contact any bootstrap node')
    .option('--host <ip>', 'local address to bind, IPv4 or IPv6 (default: every address of both families)')
    .option('--json', 'JSON lines on stdout');
}

const program = new Command()
  .name('warren')
  .description('warren: a peer-to-peer file-sharing node (BitTorrent swarm and mainline DHT)')
  .exitOverride()
  .configureOutput({ outputError: (text, write) => write(text) });

withNetworkOptions(program.command('dht').description('run a DHT-only node in the foreground'))
  .option('--port <port>', 'UDP port (default 6881, 0 for any)')
  .option('--data-dir <dir>', 'where to keep the routing table (default: $XDG_DATA_HOME/warren)')
  .action(dhtCommand);

withNetworkOptions(program.command('lookup').description('find peers of a swarm through the DHT'))
  .argument('<infohash>', '40 hex characters')
  .action(lookupCommand);

withNetworkOptions(program.command('announce').description('announce that we serve a swarm'))
  .argument('<infohash>', '40 hex characters')
  .option('--port <port>', 'TCP port peers should connect to')
  .action(announceCommand);

const item = program.command('item').description('BEP 44 items stored in the DHT');
withNetworkOptions(item.command('put').description('store an immutable item; prints its target'))
  .argument('<value>', 'the string to store')
  .action(itemPutCommand);
withNetworkOptions(item.command('get').description("print an item's value"))
  .argument('<target>', '40 hex characters')
  .action(itemGetCommand);

const UTP_OFF_HELP = 'TCP only: no uTP with peers (by default uTP is accepted on UDP at the TCP port, and tried when TCP reaches no one)';

const PORT_MAP_HELP = 'open the ports on the router (NAT-PMP and UPnP), so peers outside can connect; deleted on exit';

const encryptionOption = () =>
  new Option(
    '--encryption <policy>',
    'protocol encryption (MSE/PE) with peers: prefer (encrypted handshake first, plain allowed), require (RC4 only), allow (plain first, encrypted accepted); default prefer',
  ).choices(['prefer', 'require', 'allow']);

function withSwarmOptions(command: Command): Command {
  return withNetworkOptions(command)
    .option('--port <port>', 'TCP port for peers (default 6881, 0 for any)')
    .option('--dht-port <port>', 'UDP port of the DHT (default 6881, 0 for any)')
    .option('--no-dht', 'do not use the DHT to find peers')
    .option('--data-dir <dir>', 'where to keep resume data and the DHT table (default: $XDG_DATA_HOME/warren)')
    .addOption(encryptionOption())
    .option('--no-utp', UTP_OFF_HELP)
    .option('--port-map', PORT_MAP_HELP);
}

const collect = (value: string, previous: string[] = []) => [...previous, value];

program
  .command('create')
  .description('make a .torrent file for a file or folder')
  .argument('<path>', 'file or folder to share')
  .option('-o, --output <file>', 'where to write the .torrent (default: <name>.torrent)')
  .option('--piece-length <bytes>', 'piece length, a power of two >= 16384 (default: chosen from the size)')
  .option('--tracker <url>', 'tracker URL (repeatable)', collect)
  .option('--web-seed <url>', 'HTTP URL where the files can also be downloaded (BEP 19; repeatable)', collect)
  .option('--private', 'private torrent (BEP 27: trackers only, no DHT or peer exchange)')
  .option('--comment <text>', 'comment stored in the torrent')
  .option('--format <v1|v2|hybrid>', 'BitTorrent v1 (BEP 3), v2 (BEP 52) or hybrid (both; readable by every client)', 'v1')
  .option('--json', 'JSON lines on stdout')
  .action(createCommand);

withSwarmOptions(program.command('seed').description('share a file, folder or .torrent until Ctrl-C'))
  .argument('<path>', 'file or folder to share, or a .torrent whose data is at --dir')
  .option('--dir <dir>', "where a .torrent's data is (default: the .torrent's folder)")
  .option('--format <v1|v2|hybrid>', 'the torrent made of a file or folder: BitTorrent v1, v2 (BEP 52) or hybrid', 'v1')
  .option('--upload-limit <KiB/s>', 'limit the upload rate')
  .action(seedCommand);

withSwarmOptions(program.command('get').description('download a torrent'))
  .argument('<torrent>', 'magnet link, infohash (40 hex, or 64 hex for v2) or .torrent file')
  .option('-o, --output <dir>', 'download directory (default: the current directory)')
  .option('--peer <host:port>', 'a peer to connect to, host:port or [IPv6]:port (repeatable)', collect)
  .option('--seed', 'keep seeding after the download completes, until Ctrl-C')
  .option('--seed-ratio <ratio>', 'then seed until this many times the downloaded size is uploaded (e.g. 1.5)')
  .option('--seed-time <minutes>', 'then seed for at most this long (with --seed-ratio: whichever comes first)')
  .option('--sequential', 'download pieces in order (for streaming)')
  .option('--select-file <list>', 'download only these files, numbered from 1 as `warren info` lists them: 1,3-5')
  .option('--stop-timeout <seconds>', 'give up (exit 1) after this long without receiving any data')
  .option('--download-limit <KiB/s>', 'limit the download rate')
  .option('--upload-limit <KiB/s>', 'limit the upload rate (while seeding with --seed, and to other leechers)')
  .action(getCommand);

program
  .command('info')
  .description('show what a .torrent file or magnet link describes')
  .argument('<torrent>', '.torrent file or magnet link')
  .option('--json', 'JSON lines on stdout')
  .action(infoCommand);

program
  .command('demo')
  .description('a local network on 127.0.0.1: seeds share a sample file, a node with the web UI finds them through the DHT')
  .option('--nodes <n>', 'number of DHT nodes', '30')
  .option('--size <MiB>', 'size of the sample file', '16')
  .option('--once', 'exit as soon as the download is verified (default: keep running until Ctrl-C)')
  .option('--json', 'JSON lines on stdout')
  .action(demoCommand);

program
  .command('node')
  .description('run the node until Ctrl-C: DHT, swarm, state store, HTTP API and web UI')
  .option('--data-dir <dir>', 'state, downloads and logs (default: $XDG_DATA_HOME/warren)')
  .option('--host <ip>', 'local address for peers and the DHT, IPv4 or IPv6 (default 0.0.0.0: every address of both families)')
  .option('--port <port>', 'TCP port for peers (default 6881, 0 for any)')
  .option('--dht-port <port>', 'UDP port of the DHT (default 6881, 0 for any)')
  .option('--api <host:port>', 'where the HTTP API and web UI listen (default 127.0.0.1:7070)')
  .option('--bootstrap <list>', BOOTSTRAP_HELP)
  .option('--no-bootstrap', 'do not contact any bootstrap node')
  .option('--no-dht', 'run without the DHT')
  .option('--download-dir <dir>', 'where downloads go (default: <data dir>/downloads)')
  .option('--max-connections <n>', 'peer connections over all torrents (default 200)')
  .option('--upload-limit <KiB/s>', 'upload limit per torrent (default: none)')
  .option('--download-limit <KiB/s>', 'download limit per torrent (default: none)')
  .option('--seed-ratio <ratio>', 'pause a torrent once it has uploaded this many times its size (e.g. 1.5; default: seed on)')
  .option('--seed-time <minutes>', 'pause a torrent after seeding this long (default: seed on)')
  .addOption(encryptionOption())
  .option('--no-utp', UTP_OFF_HELP)
  .option('--port-map', PORT_MAP_HELP)
  .option('--log-level <level>', 'terminal log level: debug, info, warn, error (default info)')
  .option('--json', 'JSON lines on stdout')
  .action(nodeCommand);

function withNodeClientOptions(command: Command): Command {
  return command.option('--data-dir <dir>', "the running node's data dir (default: $XDG_DATA_HOME/warren)").option('--json', 'JSON lines on stdout');
}

withNodeClientOptions(program.command('add').description('add a torrent to the running node'))
  .argument('<source>', 'magnet link, infohash, .torrent file, or a file or folder to share')
  .option('--dir <dir>', 'download directory (default: the node\'s)')
  .option('--paused', 'add without starting')
  .option('--select-file <list>', 'download only these files, numbered from 1 as `warren info` lists them: 1,3-5')
  .action(addCommand);
withNodeClientOptions(program.command('ls').description("list the running node's torrents")).action(lsCommand);
withNodeClientOptions(program.command('status').description('show the node, or one torrent in full'))
  .argument('[id]', 'torrent id (infohash or a unique prefix)')
  .action(statusCommand);
withNodeClientOptions(program.command('files').description("list a torrent's files, or choose which to download"))
  .argument('<id>', 'torrent id (infohash or a unique prefix)')
  .option('--select <list>', 'download only these files, numbered from 1 as listed: 1,3-5')
  .option('--all', 'download every file')
  .action(filesCommand);
withNodeClientOptions(program.command('pause').description('pause a torrent'))
  .argument('<id>', 'torrent id (infohash or a unique prefix)')
  .action((id: string, flags) => pauseCommand('pause', id, flags));
withNodeClientOptions(program.command('resume').description('resume a paused torrent'))
  .argument('<id>', 'torrent id (infohash or a unique prefix)')
  .action((id: string, flags) => pauseCommand('resume', id, flags));
withNodeClientOptions(program.command('verify').description("hash a torrent's data on disk again; damaged pieces are downloaded again"))
  .argument('<id>', 'torrent id (infohash or a unique prefix)')
  .option('--no-wait', 'return once the check has started')
  .action(verifyCommand);
withNodeClientOptions(program.command('rm').description('remove a torrent from the node'))
  .argument('<id>', 'torrent id (infohash or a unique prefix)')
  .option('--delete-data', 'also delete its downloaded files')
  .action(rmCommand);

// A reader that went away (`warren lookup ... | head`) is not an error.
process.stdout.on('error', (error: NodeJS.ErrnoException) => {
  if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  throw error;
});

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    process.exit(error.exitCode === 0 ? 0 : 2);
  }
  if (error instanceof CliError) {
    process.stderr.write(`warren: ${error.message}\n`);
    process.exit(error.exitCode);
  }
  process.stderr.write(`warren: ${(error as Error).message}\n`);
  process.exit(1);
}
process.exit(process.exitCode ?? 0);
