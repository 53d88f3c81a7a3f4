/**
 * `warren node`: the long-running node. Runs the DHT and the swarm with the SQLite state store
 * (`WarrenNode`), serves the HTTP API and the web UI, and prints the UI's login link; until
 * SIGINT/SIGTERM, then saves everything and exits 0. With `--json` the first stdout line is
 * `{"event":"ready","api":...,"ui":...}`.
 */
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { startApiServer } from '../../api/server.js';
import { loadConfig, type NodeConfig } from '../../node/config.js';
import { resolveDataDir } from '../../node/data-dir.js';
import { NodeError } from '../../node/errors.js';
import { createLogger } from '../../node/logger.js';
import { checkNoRunningNode, loadOrCreateApiToken, removeApiInfo, writeApiInfo } from '../../node/node-files.js';
import { WarrenNode } from '../../node/warren-node.js';
import { CliError } from '../errors.js';
import { createOutput } from '../output.js';
import { untilSignal } from '../swarm-flags.js';
import { VERSION } from '../version.js';

/** The web UI's files, next to this build's `cli/` directory. */
export const WEB_DIR = fileURLToPath(new URL('../../web/', import.meta.url));

/** Settings as the user gave them on the command line (commander's defaults left out). */
function givenFlags(command: Command): Record<string, unknown> {
  const given: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(command.opts())) {
    if (command.getOptionValueSource(key) === 'cli') given[key] = value;
  }
  return given;
}

function configError(error: unknown): never {
  if (error instanceof NodeError && error.code === 'CONFIG') throw new CliError(error.message, 2);
  if (error instanceof NodeError) throw new CliError(error.message, 1);
  throw error;
}

export async function nodeCommand(flags: { dataDir?: string; json?: boolean }, command: Command): Promise<void> {
  const out = createOutput(flags.json === true);
  const dataDir = resolveDataDir(flags.dataDir);
  let config: NodeConfig;
  try {
    config = loadConfig(dataDir, givenFlags(command));
  } catch (error) {
    configError(error);
  }
  await mkdir(dataDir, { recursive: true });
  await checkNoRunningNode(dataDir).catch(configError);
  const logger = createLogger({ file: join(dataDir, 'logs', 'warren.log'), terminalLevel: flags.json ? 'warn' : config.logLevel });
  const node = await WarrenNode.start({
    dataDir,
    host: config.host,
    port: config.port,
    dhtPort: config.dhtPort,
    dht: config.dht,
    bootstrap: config.bootstrap,
    downloadDir: config.downloadDir,
    maxConnections: config.maxConnections,
    uploadLimit: config.uploadLimit,
    downloadLimit: config.downloadLimit,
    seedRatio: config.seedRatio,
    seedTimeMinutes: config.seedTimeMinutes,
    encryption: config.encryption,
    utp: config.utp,
    portMap: config.portMap,
    version: VERSION,
    log: logger.log,
  }).catch(async (error: unknown) => {
    await logger.close();
    configError(error);
  });
  try {
    const token = await loadOrCreateApiToken(dataDir);
    const api = await startApiServer(node, { host: config.api.host, port: config.api.port, token, staticDir: WEB_DIR, log: logger.log }).catch((error: Error) => {
      throw new CliError(`cannot serve the API on ${config.api.host}:${config.api.port}: ${error.message}`);
    });
    try {
      await writeApiInfo(dataDir, { api: api.url, pid: process.pid });
      const view = node.node();
      const ui = `${api.url}/#token=${token}`;
      logger.logger.info({ api: api.url, swarm: view.swarmAddress, dht: view.dhtAddress }, 'node started');
      out.event(
        { event: 'ready', api: api.url, ui, dataDir, swarm: view.swarmAddress, dht: view.dhtAddress ?? null, nodeId: view.nodeId ?? null },
        [
          `warren node ${VERSION} is running (Ctrl-C to stop)`,
          `  web UI     ${ui}`,
          `  peers on   ${view.swarmAddress} (TCP)${view.dhtAddress ? `, DHT on ${view.dhtAddress} (UDP)` : ''}`,
          `  data dir   ${dataDir}`,
        ].join('\n'),
      );
      await untilSignal();
      out.note('stopping: saving state...');
    } finally {
      await api.close();
    }
  } finally {
    await node.close();
    await removeApiInfo(dataDir);
    await logger.close();
  }
  out.event({ event: 'stopped' }, 'stopped');
}
