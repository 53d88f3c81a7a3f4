/**
 * The commands that manage a running node through its API: `warren add`, `ls`, `status`, `files`,
 * `pause`, `resume`, `verify` and `rm`. Each finds the node through its data directory
 * (`--data-dir`, else the default).
 */
import { readFile, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { resolveDataDir } from '../../node/data-dir.js';
import { isInfoHashText } from '../../node/torrent-input.js';
import type { NodeView, TorrentDetail, TorrentSummary } from '../../node/view-types.js';
import { CliError } from '../errors.js';
import { formatBytes, formatCount, formatDuration } from '../format.js';
import { connectToNode, type NodeClient } from '../node-client.js';
import { parseFileSelection } from '../options.js';
import { createOutput } from '../output.js';
import { portMappingText } from '../../node/port-mapping-text.js';

export interface ManageFlags {
  dataDir?: string;
  json?: boolean;
}

function client(flags: ManageFlags): Promise<NodeClient> {
  return connectToNode(resolveDataDir(flags.dataDir));
}

const rate = (n: number) => `${formatBytes(n)}/s`;
const percent = (t: TorrentSummary) => `${(t.progress * 100).toFixed(1)}%`;

/** What is to be downloaded: the whole torrent, or its chosen files ("1.2 MiB selected of 4.0 MiB"). */
function sizeOf(t: TorrentSummary): string {
  return t.wantedLength < t.totalLength ? `${formatBytes(t.wantedLength)} selected of ${formatBytes(t.totalLength)}` : formatBytes(t.totalLength);
}

/** The state, marked when the torrent is paused but still doing something (checking its data). */
function stateText(t: TorrentSummary): string {
  return t.paused && t.state !== 'paused' ? `${t.state} (paused)` : t.state;
}

/**
 * `warren add <magnet|infohash|file.torrent|path>`: a .torrent is uploaded, any other path is shared
 * in place. `--select-file 1,3-5` downloads only those files (numbered from 1).
 */
export async function addCommand(source: string, flags: ManageFlags & { dir?: string; paused?: boolean; selectFile?: string }): Promise<void> {
  const out = createOutput(flags.json === true);
  const files = flags.selectFile !== undefined ? parseFileSelection(flags.selectFile) : undefined;
  const node = await client(flags);
  const options = { ...(flags.dir ? { dir: resolve(flags.dir) } : {}), ...(flags.paused ? { paused: true } : {}), ...(files ? { files } : {}) };
  let result: TorrentSummary;
  if (source.startsWith('magnet:')) {
    result = await node.request('POST', '/api/torrents', { json: { magnet: source, ...options } });
  } else if (isInfoHashText(source)) {
    result = await node.request('POST', '/api/torrents', { json: { infoHash: source, ...options } });
  } else {
    const path = resolve(source);
    const found = await stat(path).catch(() => undefined);
    if (!found) throw new CliError(`${source}: no such file or folder (expected a magnet link, infohash, .torrent file or a path to share)`, 2);
    if (found.isFile() && path.endsWith('.torrent')) {
      const torrent = Buffer.from(await readFile(path)).toString('base64');
      result = await node.request('POST', '/api/torrents', { json: { torrent, ...options } });
    } else {
      result = await node.request('POST', '/api/torrents', { json: { path, ...options } });
    }
  }
  out.event({ event: 'added', torrent: result }, `${result.id}  ${result.name}  (${result.state})\n${result.magnet}`);
}

/** `warren ls`: one line per torrent. */
export async function lsCommand(flags: ManageFlags): Promise<void> {
  const out = createOutput(flags.json === true);
  const torrents = await (await client(flags)).request<TorrentSummary[]>('GET', '/api/torrents');
  if (out.json) {
    for (const t of torrents) out.event({ event: 'torrent', torrent: t }, '');
    return;
  }
  if (torrents.length === 0) {
    out.event({ event: 'empty' }, 'no torrents (add one with `warren add <magnet|file.torrent|path>`)');
    return;
  }
  const rows = torrents.map((t) => [
    t.id.slice(0, 8),
    stateText(t),
    percent(t),
    formatBytes(t.totalLength),
    rate(t.downloadRate),
    rate(t.uploadRate),
    String(t.peers),
    t.eta === null ? '-' : formatDuration(t.eta),
    t.name,
  ]);
  const header = ['ID', 'STATE', 'DONE', 'SIZE', 'DOWN', 'UP', 'PEERS', 'ETA', 'NAME'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i]!))).join('  ');
  process.stdout.write([line(header), ...rows.map(line)].join('\n') + '\n');
}

/** `warren status [id]`: the node, or one torrent in full. */
export async function statusCommand(id: string | undefined, flags: ManageFlags): Promise<void> {
  const out = createOutput(flags.json === true);
  const node = await client(flags);
  if (id === undefined) {
    const n = await node.request<NodeView>('GET', '/api/node');
    out.event(
      { event: 'node', node: n },
      [
        `warren ${n.version}, up ${formatDuration((Date.now() - n.startedAt) / 1000)}`,
        `  data dir   ${n.dataDir}`,
        `  peers on   ${n.swarmAddress} (TCP)${n.dhtAddress ? `, DHT on ${n.dhtAddress} (UDP), node id ${n.nodeId}` : ', no DHT'}`,
        `  torrents   ${n.torrents}, ${n.peers} peers, down ${rate(n.downloadRate)}, up ${rate(n.uploadRate)}`,
        `  total      ${formatBytes(n.downloaded)} down, ${formatBytes(n.uploaded)} up`,
        ...(n.portMapping ? [`  router     ${portMappingText(n.portMapping)}`] : []),
      ].join('\n'),
    );
    return;
  }
  const t = await node.request<TorrentDetail>('GET', `/api/torrents/${await node.resolveId(id)}`);
  out.event(
    { event: 'torrent', torrent: t },
    [
      `${t.name}  (${t.id})`,
      `  state      ${stateText(t)}${t.error ? `: ${t.error}` : ''}`,
      `  progress   ${percent(t)} of ${sizeOf(t)}, ${t.piecesHad}/${t.pieceCount} pieces${t.eta !== null ? `, ETA ${formatDuration(t.eta)}` : ''}`,
      `  rates      down ${rate(t.downloadRate)}, up ${rate(t.uploadRate)}; total ${formatBytes(t.downloaded)} down, ${formatBytes(t.uploaded)} up`,
      `  directory  ${t.dir}`,
      `  magnet     ${t.magnet}`,
      `  files`,
      ...t.files.map((f) => `    ${f.length > 0 ? ((100 * f.bytesHad) / f.length).toFixed(0).padStart(3) : '100'}%  ${formatBytes(f.length).padStart(10)}  ${f.path}${f.wanted ? '' : '  (skipped)'}`),
      `  peers (${t.peerList.length})`,
      ...t.peerList.map((p) => `    ${p.address.padEnd(21)}  ${p.flags.padEnd(6)}  down ${rate(p.downloadRate)}, up ${rate(p.uploadRate)}  ${p.client}`),
    ].join('\n'),
  );
}

/**
 * `warren files <id> [--select 1,3-5 | --all]`: the torrent's files numbered from 1 (as `--select`
 * and `warren info` count them), each with how much is verified and whether it is downloaded;
 * `--select` or `--all` first changes which files are.
 */
export async function filesCommand(id: string, flags: ManageFlags & { select?: string; all?: boolean }): Promise<void> {
  const out = createOutput(flags.json === true);
  if (flags.select !== undefined && flags.all) throw new CliError('give --select or --all, not both', 2);
  const choice = flags.select !== undefined ? parseFileSelection(flags.select, '--select') : flags.all ? null : undefined;
  const node = await client(flags);
  const path = `/api/torrents/${await node.resolveId(id)}`;
  const t = choice === undefined
    ? await node.request<TorrentDetail>('GET', path)
    : await node.request<TorrentDetail>('PUT', `${path}/files`, { json: { files: choice } });
  const files = t.files.map((f, i) => ({ number: i + 1, ...f }));
  const chosen = files.filter((f) => f.wanted).length;
  const lines = [`${t.name}  (${t.id})`];
  if (files.length === 0) {
    lines.push(`  no file list yet: the metadata has not arrived${choice !== undefined ? '; the choice applies once it does' : ''}`);
  } else {
    lines.push(`  ${chosen} of ${files.length} files selected: ${percent(t)} of ${sizeOf(t)}`);
    const rows = files.map((f) => [
      String(f.number),
      `${f.length > 0 ? Math.floor((100 * f.bytesHad) / f.length) : 100}%`,
      f.wanted ? 'yes' : 'skip',
      formatBytes(f.length),
      f.path,
    ]);
    const header = ['#', 'DONE', 'GET', 'SIZE', 'PATH'];
    const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
    const right = new Set([0, 1, 3]);
    const line = (cells: string[]) =>
      '  ' + cells.map((c, i) => (i === cells.length - 1 ? c : right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!))).join('  ');
    lines.push(line(header), ...rows.map(line));
  }
  out.event({ event: 'files', id: t.id, name: t.name, progress: t.progress, wantedLength: t.wantedLength, files }, lines.join('\n'));
}

/** `warren pause <id>` and `warren resume <id>`. */
export async function pauseCommand(action: 'pause' | 'resume', id: string, flags: ManageFlags): Promise<void> {
  const out = createOutput(flags.json === true);
  const node = await client(flags);
  const t = await node.request<TorrentSummary>('POST', `/api/torrents/${await node.resolveId(id)}/${action}`);
  out.event({ event: action === 'pause' ? 'paused' : 'resumed', torrent: t }, `${t.id.slice(0, 8)}  ${t.name}: ${t.state}`);
}

/** How often `warren verify` asks the node whether the check has ended. */
const VERIFY_POLL_MS = 500;

/**
 * `warren verify <id> [--no-wait]`: the node hashes every piece on disk again (damaged ones are then
 * downloaded again). Waits for the check to end and says how many pieces were good; a torrent the
 * check leaves in the error state is an error (exit 1). `--no-wait` answers once the check started.
 */
export async function verifyCommand(id: string, flags: ManageFlags & { wait?: boolean }): Promise<void> {
  const out = createOutput(flags.json === true);
  const node = await client(flags);
  const path = `/api/torrents/${await node.resolveId(id)}`;
  let t = await node.request<TorrentSummary>('POST', `${path}/verify`);
  if (flags.wait === false) {
    out.event({ event: 'verifying', torrent: t }, `${t.id.slice(0, 8)}  ${t.name}: ${stateText(t)}`);
    return;
  }
  while (t.state === 'checking') {
    await new Promise((resolve) => setTimeout(resolve, VERIFY_POLL_MS));
    t = await node.request<TorrentDetail>('GET', path);
  }
  if (t.state === 'error') throw new CliError(`${t.name} stopped with an error: ${t.error ?? 'unknown'}`);
  out.event({ event: 'verified', id: t.id, name: t.name, piecesHad: t.piecesHad, pieceCount: t.pieceCount, state: t.state }, verifiedText(t));
}

/** "checked: 1,023 of 1,024 pieces good; 1 to download again", or what is left of the chosen files. */
function verifiedText(t: TorrentSummary): string {
  const paused = t.paused ? ' (paused)' : '';
  if (t.piecesHad === t.pieceCount) return `checked: all ${formatCount(t.pieceCount)} pieces good${paused}`;
  const good = `checked: ${formatCount(t.piecesHad)} of ${formatCount(t.pieceCount)} pieces good`;
  if (t.bytesLeft === 0) return `${good}; the selected files are complete${paused}`;
  if (t.wantedLength < t.totalLength) return `${good}; ${formatBytes(t.bytesLeft)} of the selected files to download again${paused}`;
  return `${good}; ${formatCount(t.pieceCount - t.piecesHad)} to download again${paused}`;
}

/** `warren rm <id> [--delete-data]`. */
export async function rmCommand(id: string, flags: ManageFlags & { deleteData?: boolean }): Promise<void> {
  const out = createOutput(flags.json === true);
  const node = await client(flags);
  const full = await node.resolveId(id);
  await node.request('DELETE', `/api/torrents/${full}${flags.deleteData ? '?deleteData=1' : ''}`);
  out.event({ event: 'removed', id: full, deletedData: flags.deleteData === true }, `removed ${full}${flags.deleteData ? ' and its files' : ''}`);
}
