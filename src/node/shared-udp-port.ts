/**
 * One UDP port for the DHT and uTP, as libtorrent has it: `warren node` and the CLI use the same
 * port number (6881) for both by default. The port is bound once, by whichever asks first, and
 * each side gets its own view of it: datagrams that start with 'd' (a bencoded dictionary, which
 * every KRPC message is) go to the DHT, all others (uTP packets start with 0x01-0x41) to the
 * swarm. The port is released when both views are closed. Other ports are bound as usual.
 */
import type { Endpoint, Runtime, UdpSocket } from '../runtime/interfaces.js';

const BENCODED_DICT = 0x64; // 'd'

type Side = 'dht' | 'swarm';

/** Runtimes for the DHT and for the swarm whose `udp()` share `port` (0: nothing is shared). */
export function shareUdpPort(runtime: Runtime, port: number): { dht: Runtime; swarm: Runtime } {
  let bound: Promise<UdpSocket> | undefined;
  let open = 0;
  const handlers: Partial<Record<Side, (data: Uint8Array, from: Endpoint) => void>> = {};

  const bindOnce = (bind: Endpoint): Promise<UdpSocket> => {
    bound ??= runtime.udp(bind).then(
      (socket) => {
        socket.onMessage((data, from) => handlers[data[0] === BENCODED_DICT ? 'dht' : 'swarm']?.(data, from));
        return socket;
      },
      (error: unknown) => {
        bound = undefined;
        throw error;
      },
    );
    return bound;
  };

  const udpFor =
    (side: Side) =>
    async (bind: Endpoint): Promise<UdpSocket> => {
      if (port === 0 || bind.port !== port) return runtime.udp(bind);
      // Counted before the wait, so the other side closing meanwhile does not release the port.
      open++;
      let socket: UdpSocket;
      try {
        socket = await bindOnce(bind);
      } catch (error) {
        open--;
        throw error;
      }
      let closed = false;
      return {
        local: socket.local,
        send: (data, to) => {
          if (!closed) socket.send(data, to);
        },
        onMessage: (handler) => (handlers[side] = handler),
        close: () => {
          if (closed) return;
          closed = true;
          handlers[side] = undefined;
          if (--open > 0) return;
          bound = undefined;
          socket.close();
        },
      };
    };

  return { dht: { ...runtime, udp: udpFor('dht') }, swarm: { ...runtime, udp: udpFor('swarm') } };
}
