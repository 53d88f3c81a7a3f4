/**
 * A network namespace of the test's own, for what 127.0.0.0/8 cannot show (IPv6): its loopback is
 * up with 127.0.0.1, ::1 and the private addresses fd57::1 … fd57::N, and nothing else, so no packet
 * can leave the machine. Processes run in it through `ip netns exec` (root and iproute2 needed; CI
 * runs as root). The test process itself stays outside and talks to them over stdin and stdout.
 */
import { spawnSync } from 'node:child_process';

/** The private IPv6 address number `n` (1-based) on the namespace's loopback: `fd57::n`. */
export function namespaceIpv6(n: number): string {
  return `fd57::${n.toString(16)}`;
}

/** Why namespaces cannot be made here, or `undefined` when they can. */
export function netnsUnavailable(): string | undefined {
  const probe = spawnSync('ip', ['netns', 'list'], { encoding: 'utf8' });
  if (probe.error) return `ip (iproute2) is missing: ${probe.error.message}`;
  if (process.getuid?.() !== 0) return 'network namespaces need root';
  return undefined;
}

function ip(args: string[]): void {
  const r = spawnSync('ip', args, { encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`ip ${args.join(' ')} failed: ${r.stderr.trim() || r.error?.message}`);
}

/** A namespace made by `TestNamespace.create`; `close()` deletes it (and it is deleted at exit). */
export class TestNamespace {
  private closed = false;

  private constructor(readonly name: string) {}

  /** Makes a namespace with `addresses` extra IPv6 addresses (fd57::1 …) on its loopback. */
  static create(addresses = 4): TestNamespace {
    const name = `warren-test-${process.pid}-${Math.floor(Math.random() * 1e9).toString(36)}`;
    ip(['netns', 'add', name]);
    const ns = new TestNamespace(name);
    process.once('exit', () => ns.close());
    try {
      ip(['-n', name, 'link', 'set', 'lo', 'up']);
      for (let n = 1; n <= addresses; n++) ip(['-n', name, '-6', 'addr', 'add', `${namespaceIpv6(n)}/128`, 'dev', 'lo', 'nodad']);
    } catch (error) {
      ns.close();
      throw error;
    }
    return ns;
  }

  /** The command and arguments that run `command args…` inside the namespace. */
  wrap(command: string, args: readonly string[]): { command: string; args: string[] } {
    return { command: 'ip', args: ['netns', 'exec', this.name, command, ...args] };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    spawnSync('ip', ['netns', 'delete', this.name]);
  }
}
