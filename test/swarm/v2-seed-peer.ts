/**
 * For tests of a seed's BEP 52 hash answers on the virtual network: a warren seed of a v2-only
 * torrent of one file, and a bare peer that handshakes with it and keeps (copies of) every
 * `hashes` and `hash-reject` it receives.
 */
import { encodeHandshake, HANDSHAKE_LENGTH, makeReserved, WireFramer, type PeerMessage } from '../../src/codec/peer-wire.js';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import type { Endpoint, TcpConnection } from '../../src/runtime/interfaces.js';
import type { VirtualNetwork } from '../../src/runtime/virtual-network.js';
import { createTorrent, type CreatedTorrent } from '../../src/swarm/create-torrent.js';
import { SwarmSession } from '../../src/swarm/session.js';
import { writeFile } from './memory-files.js';

/** A seed on 10.0.0.1 of `data` as the v2 torrent `/s/big.bin` in pieces of `pieceLength`. */
export async function startV2Seed(net: VirtualNetwork, data: Uint8Array, pieceLength: number): Promise<{ seed: SwarmSession; created: CreatedTorrent; infoHash: InfoHash }> {
  const rt = net.runtime('10.0.0.1');
  await writeFile(rt, '/s/big.bin', data);
  const created = await net.clock.run(createTorrent(rt.fs, '/s/big.bin', { pieceLength, format: 'v2' }));
  const seed = new SwarmSession({ host: '10.0.0.1', port: 6881 }, rt);
  await net.clock.run(seed.start());
  const infoHash = toInfoHash(created.infoHash);
  await net.clock.run(seed.add({ infoHash, infoBytes: created.infoBytes, pieceLayers: created.pieceLayers, dir: '/s', assumeComplete: true }));
  return { seed, created, infoHash };
}

/**
 * A bare peer on `host` connected to `to`, its handshake sent: every message `to` sends after its
 * handshake goes to `onMessage` (views of the read buffer: copy what you keep).
 */
export async function barePeer(
  net: VirtualNetwork,
  host: string,
  to: Endpoint,
  handshake: Parameters<typeof encodeHandshake>[0],
  onMessage: (m: PeerMessage) => void,
): Promise<TcpConnection> {
  const conn = await net.clock.run(net.runtime(host).tcpConnect(to));
  const framer = new WireFramer();
  let first = true;
  conn.onData((bytes) => {
    // The virtual network delivers the peer's handshake whole, in the first read.
    framer.push(first ? bytes.subarray(HANDSHAKE_LENGTH) : bytes);
    first = false;
    for (let m = framer.next(); m; m = framer.next()) onMessage(m);
  });
  conn.write(encodeHandshake(handshake));
  return conn;
}

/** A bare peer on 10.0.9.9 connected to `seed`, its handshake sent; `answers` fills as hash answers arrive. */
export async function hashPeer(net: VirtualNetwork, seed: SwarmSession, infoHash: InfoHash): Promise<{ conn: TcpConnection; answers: PeerMessage[] }> {
  const answers: PeerMessage[] = [];
  const conn = await barePeer(net, '10.0.9.9', seed.address, { reserved: makeReserved({ fast: true, v2: true }), infoHash, peerId: new Uint8Array(20).fill(9) }, (m) => {
    if (m.type === 'hashes') answers.push({ ...m, piecesRoot: m.piecesRoot.slice(), hashes: m.hashes.slice() });
    if (m.type === 'hash-reject') answers.push({ ...m, piecesRoot: m.piecesRoot.slice() });
  });
  return { conn, answers };
}
