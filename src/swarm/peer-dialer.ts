/**
 * Dialling a peer over the transports it may speak. TCP goes first: on loopback and fast links it
 * costs least. uTP follows when TCP finds nobody (refused, unreachable, timed out) or the peer
 * closes the TCP connection without a word, as a client set to uTP only does. A peer that
 * answered on TCP and then failed the handshake in another way (another torrent, ourselves, a
 * timeout) is not tried again over uTP.
 */
import type { Handshake } from '../codec/peer-wire.js';
import type { Endpoint, Runtime } from '../runtime/interfaces.js';
import type { UtpSocket } from '../utp/utp-socket.js';
import { SwarmError } from './errors.js';
import { connectPeer, type OpenedConnection, type PeerTransport } from './handshake.js';
import type { EncryptionPolicy } from './mse-handshake.js';

/** A connection whose handshakes are done, and the transport it runs on. */
export interface DialedPeer extends OpenedConnection {
  transport: PeerTransport;
}

/** Connects to `to` over TCP, or over `utp` (when given) if TCP reached no one who would talk. */
export async function dialPeer(
  runtime: Runtime,
  utp: UtpSocket | undefined,
  to: Endpoint,
  ours: Handshake,
  timeoutMs: number,
  encryption: EncryptionPolicy,
): Promise<DialedPeer> {
  try {
    return { ...(await connectPeer(runtime, to, ours, timeoutMs, encryption)), transport: 'tcp' };
  } catch (error) {
    const nobodyOnTcp = !(error instanceof SwarmError) || error.peerClosed;
    if (!utp || !nobodyOnTcp) throw error;
    const opened = await connectPeer(runtime, to, ours, timeoutMs, encryption, (endpoint) => utp.connect(endpoint));
    return { ...opened, transport: 'utp' };
  }
}
