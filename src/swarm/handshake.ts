/**
 * Opening a peer connection: the 68-byte BitTorrent handshake in both directions. An outgoing
 * connection sends ours first and checks that the answer names the same torrent; an incoming one
 * reads the peer's handshake first so the session can find the torrent it asks for.
 */
import { decodeHandshake, encodeHandshake, HANDSHAKE_LENGTH, type Handshake } from '../codec/peer-wire.js';
import { idEquals } from '../kademlia/id.js';
import type { Endpoint, Runtime, TcpConnection } from '../runtime/interfaces.js';
import { SwarmError } from './errors.js';

export const HANDSHAKE_TIMEOUT_MS = 10_000;

/**
 * What arrived after the remote handshake, until a `PeerConnection` takes the connection over:
 * the chunks that followed (in order) and whether the connection already closed.
 */
export interface AfterHandshake {
  chunks: Uint8Array[];
  closed?: { error?: Error };
}

/** A connection whose handshakes are done. */
export interface OpenedConnection {
  conn: TcpConnection;
  remote: Handshake;
  after: AfterHandshake;
}

/** Reads the remote handshake from `conn`; rejects on timeout, close, or bytes that are not a handshake. */
export function readHandshake(
  runtime: Pick<Runtime, 'setTimer'>,
  conn: TcpConnection,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<{ remote: Handshake; after: AfterHandshake }> {
  return new Promise((resolve, reject) => {
    let buffered = new Uint8Array(0);
    const timer = runtime.setTimer(timeoutMs, () => fail(new SwarmError('HANDSHAKE', 'handshake timed out')));
    const fail = (error: Error) => {
      timer.cancel();
      conn.onData(() => undefined);
      conn.onClose(() => undefined);
      conn.close();
      reject(error);
    };
    conn.onClose((error) => fail(new SwarmError('HANDSHAKE', `connection closed during handshake${error ? `: ${error.message}` : ''}`)));
    conn.onData((chunk) => {
      const joined = new Uint8Array(buffered.length + chunk.length);
      joined.set(buffered);
      joined.set(chunk, buffered.length);
      buffered = joined;
      let remote: Handshake | 'need-more';
      try {
        remote = decodeHandshake(buffered);
      } catch (error) {
        fail(new SwarmError('HANDSHAKE', (error as Error).message));
        return;
      }
      if (remote === 'need-more') return;
      timer.cancel();
      // Until the connection is taken over, keep what follows instead of losing it.
      const after: AfterHandshake = { chunks: buffered.length > HANDSHAKE_LENGTH ? [buffered.subarray(HANDSHAKE_LENGTH)] : [] };
      conn.onData((more) => after.chunks.push(more));
      conn.onClose((error) => (after.closed = { error }));
      resolve({ remote, after });
    });
  });
}

/** Connects to a peer, exchanges handshakes, and checks the peer serves `infoHash` and is not us. */
export async function connectPeer(
  runtime: Runtime,
  to: Endpoint,
  ours: Handshake,
  timeoutMs = HANDSHAKE_TIMEOUT_MS,
): Promise<OpenedConnection> {
  const conn = await runtime.tcpConnect(to);
  conn.write(encodeHandshake(ours));
  const { remote, after } = await readHandshake(runtime, conn, timeoutMs);
  checkRemote(conn, ours, remote);
  return { conn, remote, after };
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
