/**
 * A home router of the test's own for port-mapping tests: Debian's miniupnpd (UPnP IGD v2 and
 * NAT-PMP/PCP, by others) runs inside three network namespaces the harness makes and deletes:
 *
 *   lan (eth0 10.77.1.2/24, default route via 10.77.1.1)
 *     ── veth ── router (lan0 10.77.1.1/24 | wan0 10.77.2.1/24; forwards, masquerades lan→wan, miniupnpd)
 *     ── veth ── wan (eth0 10.77.2.2/24, "the internet": no route anywhere else)
 *
 * The program under test runs in `lan` (wrapLan); `wan` can check that a mapped port on the router's
 * external address 10.77.2.1 reaches it (wrapWan). The namespaces have no link to the host's network,
 * so nothing sent in them can leave; the host sees none of these addresses. Every router has its own
 * three namespaces, so routers that exist at once (parallel test files) do not clash even though
 * they all use the same addresses.
 *
 * miniupnpd 2.3.1 refuses to forward ports when its external address is private (as 10.77.2.1 is)
 * and refuses a private `ext_ip=`; it accepts an address learnt by STUN, so the harness runs a tiny
 * STUN server (node) in `wan` at 10.77.2.2:3478 that reports the router its own address, 10.77.2.1,
 * with the ports unchanged (so miniupnpd concludes "full-cone NAT 1:1" and enables forwarding).
 *
 * The router's firewall (nftables, table `inet filter`) drops forwarded traffic from wan to lan
 * except what miniupnpd opens in its `miniupnpd` chain, as a real router's does.
 * Root, iproute2, nftables and miniupnpd-nftables are needed (see upnpRouterUnavailable()).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { closeSync, existsSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { netnsUnavailable } from './netns.js';

const LAN_SUBNET = '10.77.1.0/24';
const GATEWAY = '10.77.1.1';
const CLIENT = '10.77.1.2';
const EXTERNAL = '10.77.2.1';
const WAN_HOST = '10.77.2.2';
/** Interface names; each lives in its own namespace, so they never clash with the host's or another router's. */
const LAN_IF = 'eth0';
const ROUTER_LAN_IF = 'lan0';
const ROUTER_WAN_IF = 'wan0';
const WAN_IF = 'eth0';
const START_TIMEOUT_MS = 15_000;

function findExecutable(name: string): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(':').filter(Boolean), '/usr/sbin', '/sbin', '/usr/local/sbin'];
  return dirs.map((dir) => join(dir, name)).find((path) => existsSync(path));
}

/** Why the router harness cannot run here (no root, no ip, no miniupnpd), or undefined. */
export function upnpRouterUnavailable(): string | undefined {
  const netns = netnsUnavailable();
  if (netns) return netns;
  const miniupnpd = findExecutable('miniupnpd');
  if (!miniupnpd) return 'miniupnpd is missing (Debian: apt-get install miniupnpd-nftables nftables)';
  const version = spawnSync(miniupnpd, ['--version'], { encoding: 'utf8' });
  const said = `${version.stdout ?? ''}${version.stderr ?? ''}`;
  if (version.error) return `miniupnpd --version failed: ${version.error.message}`;
  if (!/nftables/.test(said)) return `miniupnpd is not the nftables build (Debian: apt-get install miniupnpd-nftables): ${said.trim()}`;
  if (!findExecutable('nft')) return 'nft is missing (Debian: apt-get install nftables)';
  return undefined;
}

function run(command: string, args: readonly string[], input?: string): void {
  const r = spawnSync(command, args, { encoding: 'utf8', input });
  if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} failed: ${r.stderr?.trim() || r.error?.message || `exit ${r.status}`}`);
}

/** The router's nftables ruleset: NAT and a default-drop forward filter, with the chains miniupnpd fills. */
function ruleset(): string {
  return `table inet filter {
  chain forward {
    type filter hook forward priority 0; policy drop;
    ct state established,related accept
    iifname "${ROUTER_LAN_IF}" oifname "${ROUTER_WAN_IF}" accept
    jump miniupnpd
  }
  chain miniupnpd {
  }
  chain prerouting {
    type nat hook prerouting priority -100; policy accept;
    jump prerouting_miniupnpd
  }
  chain postrouting {
    type nat hook postrouting priority 100; policy accept;
    jump postrouting_miniupnpd
    oifname "${ROUTER_WAN_IF}" masquerade
  }
  chain prerouting_miniupnpd {
  }
  chain postrouting_miniupnpd {
  }
}
`;
}

function config(dir: string): string {
  return [
    `ext_ifname=${ROUTER_WAN_IF}`,
    `listening_ip=${ROUTER_LAN_IF}`,
    // 10.77.2.1 is private, which miniupnpd 2.3.1 takes for "behind another NAT" unless STUN says otherwise.
    'ext_perform_stun=yes',
    `ext_stun_host=${WAN_HOST}`,
    'ext_stun_port=3478',
    'enable_natpmp=yes',
    'enable_upnp=yes',
    'secure_mode=yes',
    'system_uptime=yes',
    `lease_file=${join(dir, 'leases')}`,
    `uuid=${randomUUID()}`,
    'upnp_table_name=filter',
    'upnp_nat_table_name=filter',
    'upnp_forward_chain=miniupnpd',
    'upnp_nat_chain=prerouting_miniupnpd',
    'upnp_nat_postrouting_chain=postrouting_miniupnpd',
    `allow 1024-65535 ${LAN_SUBNET} 1024-65535`,
    'deny 0-65535 0.0.0.0/0 0-65535',
    '',
  ].join('\n');
}

/** A STUN (RFC 5389) binding server that answers every request from its own address with XOR-MAPPED-ADDRESS = the sender. */
const STUN_SERVER = `
const dgram = require('node:dgram');
const socket = dgram.createSocket('udp4');
socket.on('message', (m, from) => {
  if (m.length < 20 || m.readUInt16BE(0) !== 0x0001) return;
  const out = Buffer.alloc(32);
  out.writeUInt16BE(0x0101, 0);
  out.writeUInt16BE(12, 2);
  m.copy(out, 4, 4, 20);
  out.writeUInt16BE(0x0020, 20);
  out.writeUInt16BE(8, 22);
  out[25] = 1;
  out.writeUInt16BE(from.port ^ 0x2112, 26);
  from.address.split('.').forEach((b, i) => { out[28 + i] = Number(b) ^ out[4 + i]; });
  socket.send(out, from.port, from.address);
});
socket.bind(Number(process.argv[2]), process.argv[1], () => process.stdout.write('ready\\n'));
`;

/** One port mapping miniupnpd holds. */
export type RouterMapping = { protocol: 'TCP' | 'UDP'; externalPort: number; internalHost: string; internalPort: number; description: string };

/** A lan/router/wan trio of namespaces with miniupnpd on the router; see the file's comment. */
export class TestRouter {
  readonly gateway = GATEWAY;
  readonly clientAddress = CLIENT;
  readonly externalAddress = EXTERNAL;
  readonly wanAddress = WAN_HOST;
  private readonly processes: ChildProcess[] = [];
  private closing: Promise<void> | undefined;
  private readonly onExit = () => this.destroySync();

  private constructor(
    private readonly lan: string,
    private readonly router: string,
    private readonly wan: string,
    private readonly dir: string,
  ) {}

  /** Makes three namespaces: `lan` (where the program under test runs), `router` (runs miniupnpd, NATs lan→wan), `wan` (the outside). */
  static async create(): Promise<TestRouter> {
    const unavailable = upnpRouterUnavailable();
    if (unavailable) throw new Error(`the UPnP test router cannot run here: ${unavailable}`);
    const base = `warren-upnp-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
    const dir = mkdtempSync(join(tmpdir(), 'warren-upnp-'));
    const r = new TestRouter(`${base}-lan`, `${base}-rtr`, `${base}-wan`, dir);
    process.once('exit', r.onExit);
    try {
      r.setUpNetwork();
      await r.startStun();
      await r.startMiniupnpd();
    } catch (error) {
      await r.close();
      throw error;
    }
    return r;
  }

  /** miniupnpd's output so far (it runs with -d, so this is its debug log), for failure messages. */
  get log(): string {
    return readLog(join(this.dir, 'miniupnpd.log'));
  }

  /** Command and args that run `command args…` in the lan namespace (like TestNamespace.wrap). */
  wrapLan(command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.lan, command, ...args] };
  }

  /** Same for the wan namespace (to test that a mapped port is reachable from outside). */
  wrapWan(command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.wan, command, ...args] };
  }

  /**
   * The port mappings miniupnpd holds now, UPnP and NAT-PMP/PCP alike, read from its lease file
   * (miniupnpd rewrites it before it answers each add or delete, and when a lease expires).
   */
  async mappings(): Promise<RouterMapping[]> {
    let text: string;
    try {
      text = readFileSync(join(this.dir, 'leases'), 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return [];
      throw error;
    }
    const out: RouterMapping[] = [];
    for (const line of text.split('\n')) {
      // PROTO:eport:iaddr:iport:expiry(unix seconds, 0 = none):description (which may hold colons)
      const m = /^(TCP|UDP):(\d+):([\d.]+):(\d+):(\d+):(.*)$/.exec(line);
      if (!m) continue;
      out.push({ protocol: m[1] as 'TCP' | 'UDP', externalPort: Number(m[2]), internalHost: m[3]!, internalPort: Number(m[4]), description: m[6]! });
    }
    return out;
  }

  /** Stops miniupnpd and deletes the namespaces (idempotent; also done at process exit). */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.all(this.processes.map((p) => stop(p)));
      this.destroySync();
    })();
    return this.closing;
  }

  private destroySync(): void {
    process.off('exit', this.onExit);
    for (const p of this.processes) if (p.exitCode === null && p.signalCode === null) p.kill('SIGKILL');
    for (const ns of [this.lan, this.router, this.wan]) spawnSync('ip', ['netns', 'delete', ns], { stdio: 'ignore' });
    rmSync(this.dir, { recursive: true, force: true });
  }

  private setUpNetwork(): void {
    for (const ns of [this.lan, this.router, this.wan]) {
      run('ip', ['netns', 'add', ns]);
      run('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    }
    // Both ends of each veth are made straight inside their namespaces: nothing appears on the host.
    run('ip', ['link', 'add', LAN_IF, 'netns', this.lan, 'type', 'veth', 'peer', 'name', ROUTER_LAN_IF, 'netns', this.router]);
    run('ip', ['link', 'add', WAN_IF, 'netns', this.wan, 'type', 'veth', 'peer', 'name', ROUTER_WAN_IF, 'netns', this.router]);
    const address = (ns: string, dev: string, cidr: string) => {
      run('ip', ['-n', ns, 'addr', 'add', cidr, 'dev', dev]);
      run('ip', ['-n', ns, 'link', 'set', dev, 'multicast', 'on', 'up']);
    };
    address(this.router, ROUTER_LAN_IF, `${GATEWAY}/24`);
    address(this.router, ROUTER_WAN_IF, `${EXTERNAL}/24`);
    address(this.lan, LAN_IF, `${CLIENT}/24`);
    address(this.wan, WAN_IF, `${WAN_HOST}/24`);
    // The default route also carries SSDP's multicast (239.255.255.250) to the router.
    run('ip', ['-n', this.lan, 'route', 'add', 'default', 'via', GATEWAY]);
    run('ip', ['netns', 'exec', this.router, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward']);
    const rules = join(this.dir, 'router.nft');
    writeFileSync(rules, ruleset());
    run('ip', ['netns', 'exec', this.router, findExecutable('nft') ?? 'nft', '-f', rules]);
  }

  private async startStun(): Promise<void> {
    await this.startDaemon('the STUN server', 'stun.log', this.wan, process.execPath, ['-e', STUN_SERVER, WAN_HOST, '3478'], /^ready$/m);
  }

  private async startMiniupnpd(): Promise<void> {
    const conf = join(this.dir, 'miniupnpd.conf');
    writeFileSync(conf, config(this.dir));
    const miniupnpd = findExecutable('miniupnpd') ?? 'miniupnpd';
    // It logs this once its HTTP, SSDP and NAT-PMP sockets are all bound; STUN comes before.
    const ready = /Listening for NAT-PMP\/PCP traffic on port/;
    await this.startDaemon('miniupnpd', 'miniupnpd.log', this.router, miniupnpd, ['-f', conf, '-d', '-P', join(this.dir, 'miniupnpd.pid')], ready);
    if (!/Port forwarding is now enabled/.test(this.log) || /Port forwarding is (impossible|now disabled)/.test(this.log)) {
      throw new Error(`miniupnpd started with port forwarding disabled:\n${this.log.slice(-4000)}`);
    }
  }

  /**
   * Runs `command args…` in namespace `ns` with its output to `logName` in the temp dir (a file, not a
   * pipe, so that miniupnpd's chatty -d log never blocks on a test that is busy), and waits until the
   * log matches `ready`. The child is unref'd: a test that forgets close() still exits, and the exit
   * handler then cleans up.
   */
  private async startDaemon(what: string, logName: string, ns: string, command: string, args: string[], ready: RegExp): Promise<void> {
    const logFile = join(this.dir, logName);
    const fd = openSync(logFile, 'a');
    let p: ChildProcess;
    try {
      p = spawn('ip', ['netns', 'exec', ns, command, ...args], { stdio: ['ignore', fd, fd] });
    } finally {
      closeSync(fd);
    }
    p.unref();
    this.processes.push(p);
    let spawnError: Error | undefined;
    p.once('error', (error) => (spawnError = error));
    const said = () => readLog(logFile).slice(-4000);
    const deadline = Date.now() + START_TIMEOUT_MS;
    while (!ready.test(readLog(logFile))) {
      if (spawnError) throw new Error(`${what} could not be started: ${spawnError.message}`);
      if (p.exitCode !== null || p.signalCode !== null) throw new Error(`${what} exited (${p.signalCode ?? p.exitCode}) before it was ready:\n${said()}`);
      if (Date.now() > deadline) throw new Error(`${what} did not start within ${START_TIMEOUT_MS} ms:\n${said()}`);
      await delay(25);
    }
  }
}

function readLog(file: string): string {
  try {
    return readFileSync(file, 'utf8');
  } catch {
    return '';
  }
}

/** SIGTERM (miniupnpd then removes its rules), SIGKILL after two seconds; resolves once `p` has exited. */
function stop(p: ChildProcess): Promise<void> {
  if (p.exitCode !== null || p.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => p.kill('SIGKILL'), 2000);
    p.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    p.kill('SIGTERM');
  });
}
