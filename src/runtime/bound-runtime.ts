/**
 * A runtime whose outgoing traffic leaves from one local address, as libtorrent's
 * `outgoing_interfaces` does: what a user who binds warren to one address (a VPN's, say) expects of
 * every connection, not only of the listening sockets. TCP connects and HTTP requests leave from
 * `address`; a UDP socket asked for on a wildcard (0.0.0.0, ::) is bound to `address` instead. A
 * destination of the other address family cannot be reached from it, so a connect to one, or a
 * wildcard socket of that family, is refused at once with code EAFNOSUPPORT rather than sent
 * out by another route.
 */
import type { Endpoint, Runtime } from './interfaces.js';
import { netError } from './virtual-host.js';

const isV6 = (host: string): boolean => host.includes(':');

export function boundToAddress(runtime: Runtime, address: string): Runtime {
  const otherFamily = (host: string): boolean => isV6(host) !== isV6(address);
  const refuse = (what: string) => Promise.reject(netError('EAFNOSUPPORT', `${what}: warren is bound to ${address}, of the other address family`));
  return {
    ...runtime,
    udp: (bind: Endpoint) => {
      if (bind.host !== '0.0.0.0' && bind.host !== '::') return runtime.udp(bind);
      return otherFamily(bind.host) ? refuse(`a UDP socket on ${bind.host}`) : runtime.udp({ host: address, port: bind.port });
    },
    tcpConnect: (to, timeoutMs, localAddress) => {
      // A host name (only IP addresses are dialled) is left to the connect.
      if (/^[0-9.]+$|:/.test(to.host) && otherFamily(to.host)) return refuse(`connect to ${to.host}`);
      return runtime.tcpConnect(to, timeoutMs, localAddress ?? address);
    },
    httpGet: (url, options) => runtime.httpGet(url, { ...options, localAddress: options.localAddress ?? address }),
  };
}
