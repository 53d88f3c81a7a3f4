/**
 * Binding the DHT's sockets, one per address family (BEP 32; libtorrent runs one DHT node per
 * listen socket):
 *   - `host` 0.0.0.0 (the default) binds IPv4 there and IPv6 on `::` too, unless `host6` is false;
 *   - another IPv4 address (or a host name) binds IPv4 only, unless `host6` names an IPv6 address;
 *   - an IPv6 address binds IPv6 only.
 * The IPv6 socket takes `port6`, else the IPv4 socket's port (so both families share one port
 * number, as libtorrent's are). An IPv6 socket that was not asked for by name (the wildcard's) and
 * cannot be bound, because the machine has no IPv6 or its port is taken, is reported once and
 * skipped: the node runs on IPv4 only. Any other failure rejects.
 */
import { ipFamily, type IpFamily } from '../codec/ip.js';
import { NO_ADDRESS_FAMILY_CODES, type Runtime, type UdpSocket } from '../runtime/interfaces.js';
import { DhtInputError } from './errors.js';
import type { DhtOptions } from './options.js';


export async function bindSockets(
  config: Pick<DhtOptions, 'host' | 'port' | 'host6' | 'port6'>,
  runtime: Runtime,
  runtime6: Runtime,
  warn: (message: string) => void,
): Promise<Map<IpFamily, UdpSocket>> {
  const host = config.host ?? '0.0.0.0';
  const port = config.port ?? 6881;
  const sockets = new Map<IpFamily, UdpSocket>();
  if (ipFamily(host) === 6) {
    if (typeof config.host6 === 'string') throw new DhtInputError(`host ${host} is IPv6 already: leave host6 out`);
    sockets.set(6, await runtime6.udp({ host, port: config.port6 ?? port }));
    return sockets;
  }
  const named = typeof config.host6 === 'string';
  if (named && ipFamily(config.host6 as string) !== 6) throw new DhtInputError(`host6 must be an IPv6 address, got "${String(config.host6)}"`);
  const v4 = await runtime.udp({ host, port });
  sockets.set(4, v4);
  if (!named && (config.host6 === false || host !== '0.0.0.0')) return sockets;
  const host6 = named ? (config.host6 as string) : '::';
  const port6 = config.port6 ?? v4.local.port;
  try {
    sockets.set(6, await runtime6.udp({ host: host6, port: port6 }));
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? '';
    if (named) {
      v4.close();
      throw error;
    }
    if (code === 'EADDRINUSE' && config.port6 === undefined && port === 0) {
      // Any port was asked for: the IPv4 socket's number is taken on IPv6; take another.
      const other = await runtime6.udp({ host: host6, port: 0 }).catch((again: unknown) => {
        v4.close();
        throw again;
      });
      sockets.set(6, other);
    } else if (NO_ADDRESS_FAMILY_CODES.has(code) || code === 'EINVAL' || code === 'EADDRINUSE') {
      // (An IPv6 bind may also fail with EINVAL where IPv6 is missing.)
      warn(`DHT: no IPv6 socket on [${host6}]:${port6} (${(error as Error).message}); running on IPv4 only`);
    } else {
      v4.close();
      throw error;
    }
  }
  return sockets;
}
