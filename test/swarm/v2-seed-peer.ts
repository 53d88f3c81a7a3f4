/**
 * For tests of a seed's BEP 52 hash answers on the virtual network: a warren seed of a v2-only
 * torrent of one file, and a bare peer that handshakes with it and keeps (copies of) every
 * `hashes` and `hash-reject` it receives.
 */
import { encodeHandshake, HANDSHAKE_LENGTH, makeReserved, WireFramer, type PeerMessage } from '../../src/codec/peer-wire.js';
import { toInfoHash, type InfoHash } from '../../src/dht/types.js';
import type { TcpConnection } from '../../src/runtime/interfaces.js';
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

/** A bare peer on 10.0.9.9 connected to `seed`, its handshake sent; `answers` fills as hash answers arrive. */
export async function hashPeer(net: VirtualNetwork, seed: SwarmSession, infoHash: InfoHash): Promise<{ conn: TcpConnection; answers: PeerMessage[] }> {
  const conn = await net.clock.run(net.runtime('10.0.9.9').tcpConnect(seed.address));
  const framer = new WireFramer();
  const answers: PeerMessage[] = [];
  let handshake = true;
  conn.onData((bytes) => {
    framer.push(handshake ? bytes.subarray(HANDSHAKE_LENGTH) : bytes);
    handshake = false;
    for (let m = framer.next(); m; m = framer.next()) {
      if (m.type === 'hashes') answers.push({ ...m, piecesRoot: m.piecesRoot.slice(), hashes: m.hashes.slice() });
      if (m.type === 'hash-reject') answers.push({ ...m, piecesRoot: m.piecesRoot.slice() });
    }
  });
  conn.write(encodeHandshake({ reserved: makeReserved({ fast: true, v2: true }), infoHash, peerId: new Uint8Array(20).fill(9) }));
  return { conn, answers };
}
