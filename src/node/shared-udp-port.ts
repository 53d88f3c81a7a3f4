/**
 * One UDP port for the DHT and uTP, as libtorrent has it: `warren node` and the CLI use the same
 * port number (6881) for both by default. The port is bound once per address family (an IPv4 and
 * an IPv6 socket, as the DHT binds both: BEP 32), by whichever side asks first, and each side gets
 * its own view of it: datagrams that start with 'd' (a bencoded dictionary, which every KRPC
 * message is) go to the DHT, all others (uTP packets start with 0x01-0x41) to the swarm. A
 * family's socket is released when both of its views are closed. Other ports are bound as usual.
 */
import { ipFamily, type IpFamily } from '../codec/ip.js';
import type { Endpoint, Runtime, UdpSocket } from '../runtime/interfaces.js';

const BENCODED_DICT = 0x64; // 'd'

type Side = 'dht' | 'swarm';

/** The shared socket of one family. */
interface Shared {
  bound?: Promise<UdpSocket>;
  open: number;
  handlers: Partial<Record<Side, (data: Uint8Array, from: Endpoint) => void>>;
}

/** Runtimes for the DHT and for the swarm whose `udp()` share `port` (0: nothing is shared). */
export function shareUdpPort(runtime: Runtime, port: number): { dht: Runtime; swarm: Runtime } {
  const families = new Map<IpFamily, Shared>();

  const bindOnce = (shared: Shared, bind: Endpoint): Promise<UdpSocket> => {
    shared.bound ??= runtime.udp(bind).then(
      (socket) => {
        socket.onMessage((data, from) => shared.handlers[data[0] === BENCODED_DICT ? 'dht' : 'swarm']?.(data, from));
        return socket;
      },
      (error: unknown) => {
        shared.bound = undefined;
        throw error;
      },
    );
    return shared.bound;
  };

  const udpFor =
    (side: Side) =>
    async (bind: Endpoint): Promise<UdpSocket> => {
      if (port === 0 || bind.port !== port) return runtime.udp(bind);
      // A host name binds IPv4, as the runtime does.
      const family = ipFamily(bind.host) ?? 4;
      let shared = families.get(family);
      if (!shared) {
        shared = { open: 0, handlers: {} };
        families.set(family, shared);
      }
      const mine = shared;
      // Counted before the wait, so the other side closing meanwhile does not release the port.
      mine.open++;
      let socket: UdpSocket;
      try {
        socket = await bindOnce(mine, bind);
      } catch (error) {
        mine.open--;
        throw error;
      }
      let closed = false;
      return {
        local: socket.local,
        send: (data, to) => {
          if (!closed) socket.send(data, to);
        },
        onMessage: (handler) => (mine.handlers[side] = handler),
        close: () => {
          if (closed) return;
          closed = true;
          mine.handlers[side] = undefined;
          if (--mine.open > 0) return;
          mine.bound = undefined;
          socket.close();
        },
      };
    };

  return { dht: { ...runtime, udp: udpFor('dht') }, swarm: { ...runtime, udp: udpFor('swarm') } };
}
