/**
 * Protocol encryption (MSE/PE) against libtorrent (Debian's python3-libtorrent) on 127.0.0.1:
 * libtorrent is set to accept and make only encrypted connections with RC4 payload, so every
 * transfer here crosses warren's MSE handshake and RC4 in both roles. A plain handshake is shown
 * to be refused first, so the other tests cannot pass over plain connections. Fails, never skips,
 * when libtorrent is missing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { makeReserved } from '../../src/codec/peer-wire.js';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { connectPeer } from '../../src/swarm/handshake.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { assertSameTree, infoHashOf, peersAtFirstPiece, torrentComplete } from './swarm-fixtures.js';
import { NAME, useLibtorrentSeed } from './libtorrent-seed-setup.js';

describe('interop: encrypted connections (MSE, RC4) with libtorrent on 127.0.0.1', { timeout: 90_000 }, () => {
  const seed = useLibtorrentSeed('swarm-lt-mse', { encryption: 'forced' });
  const { warren, dir, warrenSeed, ltDownload } = seed;
  /** The flags of the torrent's peers when its first piece arrives. */
  const flagsAtFirstPiece = async (torrent: Torrent) => (await peersAtFirstPiece(torrent)).map((p) => p.flags);

  test('libtorrent, forcing encryption, refuses a plain handshake', { timeout: 20_000 }, async () => {
    const handshake = { reserved: makeReserved({ extensions: true }), infoHash: toInfoHash(Buffer.from(seed.ltInfoHash, 'hex')), peerId: new Uint8Array(20).fill(7) };
    await assert.rejects(connectPeer(createNodeRuntime(), { host: '127.0.0.1', port: seed.ltPort }, handshake, 5000, 'allow'), /closed during handshake|timed out/);
    const opened = await connectPeer(createNodeRuntime(), { host: '127.0.0.1', port: seed.ltPort }, handshake, 5000, 'require');
    assert.equal(toHex(toInfoHash(opened.remote.infoHash)), seed.ltInfoHash, 'libtorrent answered an encrypted handshake for the torrent');
    opened.conn.close();
  });

  test('warren requiring encryption downloads from libtorrent, given the .torrent', { timeout: 30_000 }, async () => {
    const metainfo = parseMetainfo(await readFile(seed.ltTorrent));
    const out = await dir('warren-from-torrent');
    const session = await warren({ encryption: 'require' });
    const torrent = await session.add({ infoHash: infoHashOf(metainfo.infoBytes), infoBytes: metainfo.infoBytes, dir: out, peers: [{ host: '127.0.0.1', port: seed.ltPort }] });
    const flags = flagsAtFirstPiece(torrent);
    await torrentComplete(torrent);
    assert.match((await flags).join(' '), /E/, 'the peer list shows the connection as encrypted (RC4)');
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
  });

  test('warren with the default policy (prefer) downloads from libtorrent, given only a magnet link', { timeout: 30_000 }, async () => {
    const out = await dir('warren-from-magnet');
    const session = await warren({ encryption: 'prefer' });
    const torrent = await session.add({ infoHash: toInfoHash(Buffer.from(seed.ltInfoHash, 'hex')), dir: out, peers: [{ host: '127.0.0.1', port: seed.ltPort }] });
    assert.equal(torrent.state, 'metadata');
    const flags = flagsAtFirstPiece(torrent);
    await torrentComplete(torrent);
    assert.match((await flags).join(' '), /E/, 'libtorrent, offered both, chose RC4 (the only one it allows)');
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
  });

  test('libtorrent forcing encryption downloads from warren requiring it', { timeout: 30_000 }, async () => {
    const { session, created, hex } = await warrenSeed(16384, undefined, { encryption: 'require' });
    const file = join(seed.root, 'warren-made.torrent');
    await writeFile(file, created.bytes);
    const out = await dir('libtorrent-from-warren');
    await ltDownload(hex, { torrent: file, savePath: out }, session.address.port);
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
  });
});
