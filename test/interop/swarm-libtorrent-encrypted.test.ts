/**
 * Protocol encryption (MSE/PE) against libtorrent (Debian's python3-libtorrent) on 127.0.0.1:
 * libtorrent is set to accept and make only encrypted connections with RC4 payload, so every
 * transfer here crosses warren's MSE handshake and RC4 in both roles. A plain handshake is shown
 * to be refused first, so the other tests cannot pass over plain connections. Fails, never skips,
 * when libtorrent is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { makeReserved } from '../../src/codec/peer-wire.js';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { connectPeer } from '../../src/swarm/handshake.js';
import type { EncryptionPolicy } from '../../src/swarm/mse-handshake.js';
import type { SwarmSession } from '../../src/swarm/session.js';
import type { Torrent } from '../../src/swarm/torrent.js';
import { assertSameTree, infoHashOf, makeTempDir, peersAtFirstPiece, removeDir, startWarren, torrentComplete, writeRandomFolder } from './swarm-fixtures.js';
import { assertLibtorrentInstalled, LibtorrentDriver } from './lt-driver.js';

const NAME = 'payload';

describe('interop: encrypted connections (MSE, RC4) with libtorrent on 127.0.0.1', { timeout: 90_000 }, () => {
  let root: string | undefined;
  let srcDir = '';
  let driver: LibtorrentDriver | undefined;
  let ltPort = 0;
  let ltTorrent = '';
  let ltInfoHash = '';
  const sessions: SwarmSession[] = [];

  const lt = () => {
    assert.ok(driver, 'the libtorrent driver did not start');
    return driver;
  };
  const warren = async (encryption: EncryptionPolicy) => {
    const session = await startWarren({ encryption });
    sessions.push(session);
    return session;
  };
  /** The flags of the torrent's peers when its first piece arrives. */
  const flagsAtFirstPiece = async (torrent: Torrent) => (await peersAtFirstPiece(torrent)).map((p) => p.flags);
  const dir = async (name: string) => {
    assert.ok(root);
    const path = join(root, name);
    await mkdir(path, { recursive: true });
    return path;
  };

  before(async () => {
    assertLibtorrentInstalled();
    root = await makeTempDir('swarm-lt-mse');
    srcDir = await dir('src');
    await writeRandomFolder(join(srcDir, NAME));
    ({ driver, port: ltPort } = await LibtorrentDriver.startSwarm({ encryption: 'forced' }));
    ltTorrent = join(root, 'libtorrent-made.torrent');
    ltInfoHash = await lt().seedNew(join(srcDir, NAME), ltTorrent, srcDir, { pieceLength: 65536 });
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await driver?.stop();
    await removeDir(root);
  });

  test('libtorrent, forcing encryption, refuses a plain handshake', { timeout: 20_000 }, async () => {
    const handshake = { reserved: makeReserved({ extensions: true }), infoHash: toInfoHash(Buffer.from(ltInfoHash, 'hex')), peerId: new Uint8Array(20).fill(7) };
    await assert.rejects(connectPeer(createNodeRuntime(), { host: '127.0.0.1', port: ltPort }, handshake, 5000, 'allow'), /closed during handshake|timed out/);
    const opened = await connectPeer(createNodeRuntime(), { host: '127.0.0.1', port: ltPort }, handshake, 5000, 'require');
    assert.equal(toHex(toInfoHash(opened.remote.infoHash)), ltInfoHash, 'libtorrent answered an encrypted handshake for the torrent');
    opened.conn.close();
  });

  test('warren requiring encryption downloads from libtorrent, given the .torrent', { timeout: 30_000 }, async () => {
    const metainfo = parseMetainfo(await readFile(ltTorrent));
    const out = await dir('warren-from-torrent');
    const session = await warren('require');
    const torrent = await session.add({ infoHash: infoHashOf(metainfo.infoBytes), infoBytes: metainfo.infoBytes, dir: out, peers: [{ host: '127.0.0.1', port: ltPort }] });
    const flags = flagsAtFirstPiece(torrent);
    await torrentComplete(torrent);
    assert.match((await flags).join(' '), /E/, 'the peer list shows the connection as encrypted (RC4)');
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
  });

  test('warren with the default policy (prefer) downloads from libtorrent, given only a magnet link', { timeout: 30_000 }, async () => {
    const out = await dir('warren-from-magnet');
    const session = await warren('prefer');
    const torrent = await session.add({ infoHash: toInfoHash(Buffer.from(ltInfoHash, 'hex')), dir: out, peers: [{ host: '127.0.0.1', port: ltPort }] });
    assert.equal(torrent.state, 'metadata');
    const flags = flagsAtFirstPiece(torrent);
    await torrentComplete(torrent);
    assert.match((await flags).join(' '), /E/, 'libtorrent, offered both, chose RC4 (the only one it allows)');
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
  });

  test('libtorrent forcing encryption downloads from warren requiring it', { timeout: 30_000 }, async () => {
    const session = await warren('require');
    const created = await createTorrent(session.runtime.fs, join(srcDir, NAME), { pieceLength: 16384 });
    const infoHash = toInfoHash(created.infoHash);
    const hex = toHex(infoHash);
    await session.add({ infoHash, infoBytes: created.infoBytes, dir: srcDir, assumeComplete: true });
    const file = join(root!, 'warren-made.torrent');
    await writeFile(file, created.bytes);
    const out = await dir('libtorrent-from-warren');
    const finished = lt().forTorrent(hex, 'finished', (e) => e.event === 'finished');
    await lt().request({ cmd: 'add', torrent: file, savePath: out }, 'added');
    await lt().request({ cmd: 'connect', infohash: hex, host: '127.0.0.1', port: session.address.port }, 'connecting');
    await finished;
    await lt().request({ cmd: 'flush', infohash: hex }, 'flushed');
    await assertSameTree(join(srcDir, NAME), join(out, NAME));
  });
});
