/**
 * Opening a peer connection: the 68-byte BitTorrent handshake in both directions, behind an MSE
 * handshake when the encryption policy asks for one (`mse-handshake.ts`). An outgoing connection
 * sends ours first and checks that the answer names the same torrent; an incoming one reads the
 * peer's handshake first so the session can find the torrent it asks for.
 */
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH, type Handshake } from '../codec/peer-wire.js';
import type { InfoHash } from '../dht/types.js';
import { idEquals } from '../kademlia/id.js';
import type { Endpoint, Runtime, TcpConnection } from '../runtime/interfaces.js';
import { SwarmError } from './errors.js';
import { HandshakeReader } from './handshake-reader.js';
import { isPlainHandshakeStart, mseAccept, mseConnect, type EncryptionPolicy } from './mse-handshake.js';

export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * What arrived after the remote handshake, until a `PeerConnection` takes the connection over:
 * the chunks that followed (in order) and whether the connection already closed.
 */
export interface AfterHandshake {
  chunks: Uint8Array[];
  closed?: { error?: Error };
}

/** How a peer connection is protected: not at all, an MSE handshake with plain payload, or RC4 throughout. */
export type WireProtection = 'plain' | 'mse' | 'rc4';

/** What a peer connection runs on. */
export type PeerTransport = 'tcp' | 'utp';

/** A connection whose handshakes are done. */
export interface OpenedConnection {
  conn: TcpConnection;
  remote: Handshake;
  after: AfterHandshake;
  protection: WireProtection;
}

/** Opens a stream to a peer within `timeoutMs`: TCP (`runtime.tcpConnect`) or uTP (`UtpSocket.connect`, which has its own). */
export type StreamDialer = (to: Endpoint, timeoutMs: number) => Promise<TcpConnection>;

/**
 * Reads the remote handshake from `conn`, after the bytes in `prefix` (already read from it);
 * rejects on timeout, close, or bytes that are not a handshake.
 */
export async function readHandshake(
  runtime: Pick<Runtime, 'setTimer'>,
  conn: TcpConnection,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
  prefix: Uint8Array = new Uint8Array(0),
): Promise<{ remote: Handshake; after: AfterHandshake }> {
  const reader = new HandshakeReader(runtime, conn, timeoutMs, 'HANDSHAKE');
  if (prefix.length > 0) reader.push(prefix);
  const remote = await reader.decode((bytes) => {
    try {
      return decodeHandshake(bytes);
    } catch (error) {
      throw reader.fail((error as Error).message);
    }
  }, HANDSHAKE_LENGTH);
  // Until the connection is taken over, keep what follows instead of losing it.
  const rest = reader.finish();
  const after: AfterHandshake = { chunks: rest.length > 0 ? [rest] : [] };
  conn.onData((more) => after.chunks.push(more));
  conn.onClose((error) => (after.closed = { error }));
  return { remote, after };
}

/**
 * Connects to a peer (over TCP unless another `dial` is given), exchanges handshakes (inside MSE
 * unless the policy is `allow`), and checks the peer serves `infoHash` and is not us. With
 * `prefer`, a peer that fails the MSE handshake is dialled again without it.
 */
export async function connectPeer(
  runtime: Runtime,
  to: Endpoint,
  ours: Handshake,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
  encryption: EncryptionPolicy = 'allow',
  dial: StreamDialer = (endpoint, ms) => runtime.tcpConnect(endpoint, ms),
): Promise<OpenedConnection> {
  let conn = await dial(to, timeoutMs);
  let prefix: Uint8Array | undefined;
  let protection: WireProtection = 'plain';
  if (encryption !== 'allow') {
    try {
      const mse = await mseConnect(runtime, conn, ours.infoHash, encodeHandshake(ours), { rc4Only: encryption === 'require', timeoutMs });
      ({ conn, initial: prefix } = mse);
      protection = mse.rc4 ? 'rc4' : 'mse';
    } catch (error) {
      if (encryption === 'require' || (error as SwarmError).code !== 'ENCRYPTION') throw error;
      conn = await dial(to, timeoutMs);
    }
  }
  if (!prefix) conn.write(encodeHandshake(ours));
  const { remote, after } = await readHandshake(runtime, conn, timeoutMs, prefix);
  checkRemote(conn, ours, remote);
  return { conn, remote, after, protection };
}

/**
 * Takes an incoming connection up to the peer's BitTorrent handshake: a plain one (refused under
 * `require`), or one inside MSE for a torrent among `infoHashes()`. The caller answers with its own
 * handshake through the returned `conn` (which encrypts if RC4 was agreed).
 */
export async function acceptPeer(
  runtime: Runtime,
  conn: TcpConnection,
  infoHashes: () => Iterable<InfoHash>,
  encryption: EncryptionPolicy,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<OpenedConnection> {
  const reader = new HandshakeReader(runtime, conn, timeoutMs, 'ENCRYPTION');
  const plain = isPlainHandshakeStart(await reader.peek(20));
  if (plain && encryption === 'require') {
    const refused = new SwarmError('ENCRYPTION', 'plain handshake refused: encryption is required');
    reader.abort(refused);
    throw refused;
  }
  let prefix: Uint8Array;
  let protection: WireProtection = 'plain';
  if (plain) {
    prefix = reader.finish();
  } else {
    const mse = await mseAccept(runtime, conn, reader, infoHashes, { rc4Only: encryption === 'require' });
    ({ conn, initial: prefix } = mse);
    protection = mse.rc4 ? 'rc4' : 'mse';
  }
  const { remote, after } = await readHandshake(runtime, conn, timeoutMs, prefix);
  return { conn, remote, after, protection };
}

/** Rejects (and closes) a handshake for another torrent, or one from ourselves. */
export function checkRemote(conn: TcpConnection, ours: Handshake, remote: Handshake): void {
  if (!idEquals(remote.infoHash, ours.infoHash)) {
    conn.close();
    throw new SwarmError('HANDSHAKE', 'peer answered for another torrent');
  }
  if (idEquals(remote.peerId, ours.peerId)) {
    conn.close();
    throw new SwarmError('SELF', 'connected to ourselves');
  }
}
