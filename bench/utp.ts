/**
 * The uTP benchmark (`npm run bench -- utp`), all on 127.0.0.1 with one file of random bytes
 * (default 256 MiB; `--quick` 64 MiB; `--size=512M` to choose, K/M/G are powers of 1024). In the
 * same run, one seed → one leecher, each peer in its own process, the leecher dialling the seed:
 *
 * 1. libtorrent → libtorrent, both uTP only (the reference: uTP in C++);
 * 2. libtorrent (uTP only) → warren: warren dials TCP, is closed at once, then dials uTP;
 * 3. warren → libtorrent (uTP only): libtorrent connects to warren's port over uTP.
 *
 * libtorrent peers are `lib/libtorrent-utp-peer.py` (Debian's python3-libtorrent,
 * high_performance_seed settings, TCP off both ways, socket buffers of 4 MiB: the receive buffer
 * warren asks for its own UDP socket; `--lt-socket-buffer=0` leaves the OS default, with which
 * libtorrent's uTP loses datagrams on loopback). warren peers are the swarm benchmark's
 * `lib/swarm-warren-child.js` (a SwarmSession with its defaults: uTP on).
 *
 * For each transfer: MB/s (10^6 bytes per second) from `go` to the leecher's completion, CPU
 * seconds per GiB of each process, peak RSS, the leecher's rate over each ~1 s, which transport
 * the leecher's peer list shows, the host's UDP datagrams and receive-buffer drops
 * (/proc/net/snmp, so other traffic on the host counts too), and libtorrent's uTP counters
 * (resends, losses, timeouts, duplicates received). The leecher's file is checked against the
 * source's SHA-1 after its process has exited. A transfer in which the leecher receives nothing
 * for 30 s fails with where it stood; the others still run, then the benchmark fails naming it.
 * The SHA-1 and plain TCP copy rates of the swarm benchmark's helpers are printed for context.
 */
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream, readFileSync } from 'node:fs';
import { mkdir, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fmt, ratio, withTimeout } from './lib/stats.js';
import { freeBytes, makeBenchData, makeWorkDir, type BenchData } from './lib/swarm-data.js';
import { benchScript, JsonChild, snapshotBuild, type ChildEvent } from './lib/swarm-proc.js';
import { sha1FileMs, tcpCopy } from './lib/swarm-physical.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
/** A transfer whose leecher has received nothing new for this long fails. */
const STALL_MS = 30_000;
const READY_MS = 120_000;
const LT_PEER = fileURLToPath(new URL('../../bench/lib/libtorrent-utp-peer.py', import.meta.url));
const PYTHON = '/usr/bin/python3';
/** libtorrent's uTP counters worth printing (session_stats_metrics `utp.*`). */
const LT_COUNTERS = ['utp_payload_pkts_out', 'utp_payload_pkts_in', 'utp_packet_resend', 'utp_fast_retransmit', 'utp_packet_loss', 'utp_timeout', 'utp_redundant_pkts_in', 'utp_invalid_pkts_in'];

type Kind = 'warren' | 'libtorrent';

function parseSize(text: string): number {
  const m = /^(\d+(?:\.\d+)?)([KMG]?)i?B?$/i.exec(text);
  if (!m) throw new Error(`bad --size '${text}' (e.g. 64M, 256M, 1G)`);
  const unit = { '': 1, K: 1024, M: MiB, G: GiB }[m[2]!.toUpperCase() as '' | 'K' | 'M' | 'G'];
  return Math.round(Number(m[1]) * unit);
}

function mbps(bytes: number, ms: number): number {
  return bytes / 1e6 / (ms / 1000);
}

async function sha1Hex(path: string): Promise<string> {
  const hash = createHash('sha1');
  for await (const chunk of createReadStream(path, { highWaterMark: 4 * MiB })) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

/** Send and receive buffer of libtorrent's sockets, bytes (0: the OS default). */
let ltSocketBuffer = 4 * MiB;

function spawnPeer(kind: Kind, mode: 'seed' | 'leech', data: BenchData, dir: string): JsonChild {
  return kind === 'warren'
    ? new JsonChild(`warren ${mode}`, process.execPath, [benchScript('swarm-warren-child.js'), mode, data.torrentPath, dir])
    : new JsonChild(`libtorrent ${mode}`, PYTHON, [LT_PEER, mode, data.torrentPath, dir, String(ltSocketBuffer)]);
}

/** Whether a leecher's peer-list entry is a uTP connection: warren flags it 'P', the libtorrent peer writes 'utp'. */
function isUtp(kind: Kind, entry: string): boolean {
  const [, flags] = entry.split(' ');
  return kind === 'warren' ? (flags ?? '').includes('P') : flags === 'utp';
}

interface Transfer {
  label: string;
  seed: Kind;
  leech: Kind;
  ms: number;
  seedCpu: number;
  leechCpu: number;
  seedRss: number;
  leechRss: number;
  /** The leecher's receive rate over each interval between its progress reports (~1 s), MB/s. */
  timeline: number[];
  /** Every entry of the leecher's peer list seen during the transfer. */
  peers: string[];
  /** libtorrent's uTP counters, by side ('seed' / 'leech'), for the libtorrent processes. */
  counters: Partial<Record<'seed' | 'leech', Record<string, number>>>;
  /** The host's UDP counters over the transfer. */
  udp: UdpCounters;
  ltReady?: ChildEvent;
}

/** One seed → one leecher; the leecher's file is checked against `sourceSha1` once both have exited. */
async function transfer(data: BenchData, label: string, seedKind: Kind, leechKind: Kind, sourceSha1: string): Promise<Transfer> {
  const leechDir = join(data.dir, 'leech');
  await rm(leechDir, { recursive: true, force: true });
  await mkdir(leechDir);
  const seed = spawnPeer(seedKind, 'seed', data, data.sourceDir);
  const leech = spawnPeer(leechKind, 'leech', data, leechDir);
  let done = false;
  let watchdog: NodeJS.Timeout | undefined;
  try {
    const [seedReady, leechReady] = await withTimeout(Promise.all([seed.next('ready'), leech.next('ready')]), READY_MS, `${label}: peers starting`);
    let fail!: (error: Error) => void;
    const failed = new Promise<never>((_, reject) => (fail = reject));
    // The seed must neither exit nor report an error while the transfer runs.
    seed.next('never sent').catch((error: Error) => done || fail(new Error(`${label}: the seed failed during the transfer: ${error.message}`)));

    const udp0 = udpCounters();
    const t0 = performance.now();
    const samples: { at: number; downloaded: number }[] = [{ at: t0, downloaded: 0 }];
    const peers: string[] = [];
    let lastAdvance = t0;
    const describe = () => {
      const p = leech.latest.get('progress');
      const last = samples[samples.length - 1]!;
      return p
        ? `state ${String(p.state)}, ${String(p.piecesHad)}/${String(p.pieceCount)} pieces, ${fmt(last.downloaded / 1e6, 1)} MB received, peers [${(p.peers as string[]).join('; ')}]`
        : 'no progress report yet';
    };
    void (async () => {
      try {
        for (;;) {
          const p = await leech.next('progress');
          const downloaded = Number(p.downloaded);
          const at = performance.now();
          if (downloaded > samples[samples.length - 1]!.downloaded) lastAdvance = at;
          samples.push({ at, downloaded });
          peers.push(...(p.peers as string[]));
        }
      } catch (error) {
        if (!done) fail(new Error(`${label}: ${(error as Error).message}`));
      }
    })();
    watchdog = setInterval(() => {
      const now = performance.now();
      if (now - lastAdvance > STALL_MS) {
        const rates = timelineOf(samples).map((r) => fmt(r, 0)).join(' ');
        fail(new Error(`${label}: stalled: the leecher received nothing for ${fmt((now - lastAdvance) / 1000, 0)} s (${fmt((now - t0) / 1000, 1)} s after go): ${describe()}; MB/s each ~1 s: ${rates || '(none)'}`));
      }
    }, 1000);
    leech.send(`go ${JSON.stringify([{ host: '127.0.0.1', port: seedReady.port }])}`);
    let complete: ChildEvent;
    try {
      complete = await Promise.race([leech.next('complete'), failed]);
    } catch (error) {
      throw new Error(`${(error as Error).message}${await diagnose(seed, leech, seedKind, leechKind, udp0)}`);
    }
    const udp = udpSince(udp0);
    done = true;
    clearInterval(watchdog);
    samples.push({ at: t0 + Number(complete.ms), downloaded: Number(complete.downloaded) });
    peers.push(...(complete.peers as string[]));
    const [seedStats, leechStats] = await withTimeout(
      Promise.all([seed, leech].map((c) => (c.send('stats'), c.next('stats')))),
      10_000,
      `${label}: stats`,
    );
    const counters: Transfer['counters'] = {};
    if (seedKind === 'libtorrent') counters.seed = seedStats!.utp as Record<string, number>;
    if (leechKind === 'libtorrent') counters.leech = leechStats!.utp as Record<string, number>;
    const result: Transfer = {
      label,
      seed: seedKind,
      leech: leechKind,
      ms: Number(complete.ms),
      seedCpu: Number(seedStats!.cpu),
      leechCpu: Number(leechStats!.cpu),
      seedRss: Number(seedStats!.peakRss),
      leechRss: Number(leechStats!.peakRss),
      timeline: timelineOf(samples),
      peers,
      counters,
      udp,
      ltReady: seedKind === 'libtorrent' ? seedReady : leechKind === 'libtorrent' ? leechReady : undefined,
    };
    await stopBoth(seed, leech);
    const file = join(leechDir, data.torrent.info.name);
    const size = (await stat(file).catch(() => undefined))?.size;
    if (size !== data.size) throw new Error(`${label}: the leecher's file ${file} has ${size ?? 'no'} bytes, not ${data.size}`);
    const sha1 = await sha1Hex(file);
    if (sha1 !== sourceSha1) throw new Error(`${label}: the leecher's file differs from the source (SHA-1 ${sha1}, source ${sourceSha1})`);
    return result;
  } finally {
    done = true;
    clearInterval(watchdog);
    await stopBoth(seed, leech);
    await rm(leechDir, { recursive: true, force: true });
  }
}

/** After a failure: the host's UDP counters since `go`, and libtorrent's uTP counters if its process still answers. */
async function diagnose(seed: JsonChild, leech: JsonChild, seedKind: Kind, leechKind: Kind, udp0: UdpCounters): Promise<string> {
  let text = `\n    UDP (kernel, whole host) since go: ${udpLine(udpSince(udp0))}`;
  for (const [side, child, kind] of [['seed', seed, seedKind], ['leecher', leech, leechKind]] as const) {
    if (kind !== 'libtorrent' || child.proc.exitCode !== null) continue;
    child.send('stats');
    const stats = await withTimeout(child.next('stats'), 5000, `libtorrent ${side} stats`).catch((error: Error) => ({ utp: undefined, error: error.message }));
    text += `\n    libtorrent ${side} uTP counters: ${stats.utp ? countersLine(stats.utp as Record<string, number>) : `unavailable (${String((stats as { error?: string }).error)})`}`;
  }
  return text;
}

/** Asks both children to stop (so they close their sessions and files), then makes sure they are gone. */
async function stopBoth(...children: JsonChild[]): Promise<void> {
  for (const c of children) if (c.proc.exitCode === null && c.proc.signalCode === null) c.send('stop');
  await Promise.race([Promise.all(children.map((c) => c.exit)), new Promise((r) => setTimeout(r, 10_000))]);
  await Promise.all(children.map((c) => c.stop()));
}

function timelineOf(samples: { at: number; downloaded: number }[]): number[] {
  const rates: number[] = [];
  for (let i = 1; i < samples.length; i++) {
    const dt = samples[i]!.at - samples[i - 1]!.at;
    if (dt > 0) rates.push(mbps(samples[i]!.downloaded - samples[i - 1]!.downloaded, dt));
  }
  return rates;
}

function mb(bytes: number): string {
  return `${fmt(bytes / 1e6, 0)} MB`;
}

function printTransfer(t: Transfer, size: number): void {
  const gib = size / GiB;
  console.log(
    `  ${t.label.padEnd(34)} ${fmt(mbps(size, t.ms), 1).padStart(8)} MB/s  ${fmt(t.ms / 1000, 2).padStart(7)} s  ` +
      `CPU s/GiB: seed (${t.seed}) ${fmt(t.seedCpu / gib, 2)}, leecher (${t.leech}) ${fmt(t.leechCpu / gib, 2)}  peak RSS: seed ${mb(t.seedRss)}, leecher ${mb(t.leechRss)}`,
  );
  console.log(`    leecher MB/s each ~1 s: ${t.timeline.map((r) => fmt(r, 0)).join(' ')}`);
  const utp = t.peers.filter((p) => isUtp(t.leech, p)).length;
  const transport =
    t.peers.length === 0
      ? 'the leecher never listed its peer (transfer faster than its 1 s reports)'
      : utp === t.peers.length
        ? `uTP in all ${t.peers.length} peer-list samples of the leecher`
        : `NOT uTP in ${t.peers.length - utp} of ${t.peers.length} peer-list samples: ${[...new Set(t.peers.filter((p) => !isUtp(t.leech, p)))].join('; ')}`;
  console.log(`    transport: ${transport}; leecher's file matches the source's SHA-1`);
  console.log(`    UDP (kernel, whole host): ${udpLine(t.udp, size)}`);
  for (const side of ['seed', 'leech'] as const) {
    const c = t.counters[side];
    if (c) console.log(`    libtorrent ${side === 'seed' ? 'seed' : 'leecher'} uTP counters: ${countersLine(c)}`);
  }
}

function countersLine(c: Record<string, number>): string {
  return LT_COUNTERS.map((k) => `${k.replace(/^utp_/, '')} ${c[k] ?? '?'}`).join(', ');
}

/** `size`: the file's, when it was all transferred (for bytes per datagram). */
function udpLine(u: UdpCounters, size?: number): string {
  const per = size === undefined ? '' : ` (file size / datagrams = ${fmt(size / u.InDatagrams, 0)} B)`;
  return `${u.InDatagrams} datagrams received, both directions${per}, ${u.RcvbufErrors} dropped for a full receive buffer`;
}

/** The kernel's UDP counters (/proc/net/snmp), for the whole host: deltas over a transfer show datagrams dropped on loopback. */
type UdpCounters = Record<'InDatagrams' | 'RcvbufErrors', number>;

function udpCounters(): UdpCounters {
  const lines = readFileSync('/proc/net/snmp', 'latin1').split('\n').filter((l) => l.startsWith('Udp: '));
  const names = lines[0]!.split(/\s+/).slice(1);
  const values = lines[1]!.split(/\s+/).slice(1).map(Number);
  const get = (name: string) => values[names.indexOf(name)] ?? NaN;
  return { InDatagrams: get('InDatagrams'), RcvbufErrors: get('RcvbufErrors') };
}

function udpSince(before: UdpCounters): UdpCounters {
  const now = udpCounters();
  return { InDatagrams: now.InDatagrams - before.InDatagrams, RcvbufErrors: now.RcvbufErrors - before.RcvbufErrors };
}

/** Runs the uTP benchmark, prints its figures, returns the headline. */
export async function runUtpBench(flags: string[]): Promise<string> {
  const sizeFlag = flags.find((f) => f.startsWith('--size='))?.slice('--size='.length);
  const size = sizeFlag !== undefined ? parseSize(sizeFlag) : flags.includes('--quick') ? 64 * MiB : 256 * MiB;
  const bufferFlag = flags.find((f) => f.startsWith('--lt-socket-buffer='))?.slice('--lt-socket-buffer='.length);
  ltSocketBuffer = bufferFlag !== undefined ? parseSize(bufferFlag) : 4 * MiB;
  console.log(
    `# uTP benchmark — node ${process.version}, ${os.cpus().length} cores (${os.cpus()[0]?.model ?? '?'}), load average ${os.loadavg().map((l) => l.toFixed(1)).join(' ')}, ${new Date().toISOString()}`,
  );
  const work = await makeWorkDir();
  try {
    const free = await freeBytes(work);
    const needed = size * 3 + GiB;
    if (free < needed) throw new Error(`not enough free disk under ${work}: ${mb(free)} free, ${mb(needed)} needed for --size=${size}`);
    await snapshotBuild(work);
    const data = await makeBenchData(work, 'payload.bin', size);
    const sourceSha1 = await sha1Hex(data.sourcePath);
    console.log(`## data: ${mb(size)} (${fmt(size / MiB, 0)} MiB) of random bytes, ${data.torrent.info.pieceCount} pieces of ${data.torrent.info.pieceLength / 1024} KiB, SHA-1 ${sourceSha1}`);
    const sha = mbps(size, await sha1FileMs(data.sourcePath));
    const copyPath = join(work, 'tcp-copy.bin');
    const copy = await tcpCopy(data.sourcePath, copyPath);
    await rm(copyPath, { force: true });
    execFileSync('sync');
    console.log(`  for context: SHA-1 of the file on one core ${fmt(sha, 0)} MB/s; plain TCP copy file → socket → file ${fmt(mbps(copy.bytes, copy.ms), 0)} MB/s`);

    console.log('## 1 seed → 1 leecher over uTP (the leecher dials)');
    const runs: [string, Kind, Kind][] = [
      ['libtorrent → libtorrent', 'libtorrent', 'libtorrent'],
      ['libtorrent → warren', 'libtorrent', 'warren'],
      ['warren → libtorrent', 'warren', 'libtorrent'],
    ];
    const results = new Map<string, Transfer>();
    const failures: string[] = [];
    let settingsShown = false;
    for (const [label, seedKind, leechKind] of runs) {
      try {
        const t = await transfer(data, label, seedKind, leechKind, sourceSha1);
        results.set(label, t);
        if (!settingsShown && t.ltReady) {
          console.log(`  libtorrent ${String(t.ltReady.version)}: high_performance_seed + ${JSON.stringify(t.ltReady.settings)}`);
          settingsShown = true;
        }
        printTransfer(t, size);
      } catch (error) {
        failures.push((error as Error).message);
        console.log(`  ${label.padEnd(34)} FAILED: ${(error as Error).message}`);
      }
      execFileSync('sync');
    }

    const gib = size / GiB;
    const ll = results.get(runs[0]![0]);
    const lw = results.get(runs[1]![0]);
    const wl = results.get(runs[2]![0]);
    const rate = (t: Transfer | undefined) => (t ? mbps(size, t.ms) : NaN);
    const cpu = (t: Transfer | undefined, side: 'seedCpu' | 'leechCpu') => (t ? t[side] / gib : NaN);
    console.log(
      `  ratios to libtorrent ↔ libtorrent: MB/s libtorrent → warren ${ratio(rate(lw), rate(ll))}, warren → libtorrent ${ratio(rate(wl), rate(ll))}; ` +
        `CPU s/GiB warren leecher / libtorrent leecher ${ratio(cpu(lw, 'leechCpu'), cpu(ll, 'leechCpu'))}, warren seed / libtorrent seed ${ratio(cpu(wl, 'seedCpu'), cpu(ll, 'seedCpu'))}`,
    );
    if (failures.length > 0) throw new Error(`${failures.length} uTP transfer(s) failed:\n  ${failures.join('\n  ')}`);
    return (
      `${fmt(size / MiB, 0)} MiB over uTP: libtorrent↔libtorrent ${fmt(rate(ll), 0)} MB/s; libtorrent→warren ${fmt(rate(lw), 0)} MB/s (×${ratio(rate(lw), rate(ll))}); ` +
      `warren→libtorrent ${fmt(rate(wl), 0)} MB/s (×${ratio(rate(wl), rate(ll))}); CPU s/GiB leecher warren ${fmt(cpu(lw, 'leechCpu'), 2)} vs libtorrent ${fmt(cpu(ll, 'leechCpu'), 2)}, ` +
      `seed warren ${fmt(cpu(wl, 'seedCpu'), 2)} vs libtorrent ${fmt(cpu(ll, 'seedCpu'), 2)}`
    );
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}
