/**
 * uTP (BEP 29) against libtorrent (Debian's python3-libtorrent) on 127.0.0.1: libtorrent is set to
 * make and accept uTP connections only (TCP off both ways), so every transfer here crosses warren's
 * uTP engine, in both roles. That libtorrent refuses TCP is shown first, so the other tests cannot
 * pass over TCP. Both sides must also say the connection is uTP: warren's peer list flags it 'P',
 * libtorrent's (the driver's `peers`) reports utp. Fails, never skips, when libtorrent is missing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parseMagnet } from '../../src/codec/magnet.js';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { makeReserved } from '../../src/codec/peer-wire.js';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { connectPeer } from '../../src/swarm/handshake.js';
import type { PeerStats, Torrent } from '../../src/swarm/torrent.js';
import { assertSameTree, infoHashOf, peersAtFirstPiece, torrentComplete } from './swarm-fixtures.js';
import type { LibtorrentPeer } from './lt-driver.js';
import { NAME, useLibtorrentSeed } from './libtorrent-seed-setup.js';

/** How often libtorrent's peer list is sampled during a transfer (the driver answers within ~50 ms). */
const POLL_MS = 50;

/**
 * The whole file must end within the driver's own lifetime (LIFETIME_S = 120 s in
 * lt_jsonlines.py), after which it exits by itself.
 */
describe('interop: uTP (BEP 29) with libtorrent on 127.0.0.1, TCP off', { timeout: 110_000 }, () => {
  /**
   * `seed.ltPort` is libtorrent's UDP port for uTP (its TCP listen socket has the same number but
   * closes every connection). `warren()` sessions have the default options: uTP on (the engine's
   * `utp` option defaults to true).
   */
  const seed = useLibtorrentSeed('swarm-lt-utp', { transport: 'utp' });
  const { lt, warren, dir, warrenSeed, ltDownload } = seed;

  /**
   * Samples libtorrent's connections of `infohash` (and, given `torrent`, warren's peer list) every
   * POLL_MS until `until` settles: a download between two clients can be over in well under a
   * second, and the connection is closed as soon as both are seeds, so a single look may miss it.
   * Stops as well when `signal` (the test's) aborts, so a timed-out test leaves no poller behind.
   */
  const watchPeers = async (infohash: string, until: Promise<unknown>, signal: AbortSignal, torrent?: Torrent) => {
    let settled = false;
    void until.then(
      () => (settled = true),
      () => (settled = true),
    );
    const libtorrent: LibtorrentPeer[] = [];
    const warrenSide: PeerStats[] = [];
    while (!settled && !signal.aborted) {
      libtorrent.push(...(await lt().peers(infohash)));
      if (torrent) warrenSide.push(...torrent.stats().peers);
      await sleep(POLL_MS);
    }
    return { libtorrent, warren: warrenSide };
  };
  /** Asserts that libtorrent saw at least one connection and that every one it saw ran over uTP. */
  const assertLibtorrentSawUtp = (seen: LibtorrentPeer[]) => {
    assert.ok(seen.length > 0, 'libtorrent never listed a connection of the torrent while it was transferring');
    assert.ok(
      seen.every((p) => p.utp),
      `libtorrent lists a connection that is not uTP: ${JSON.stringify(seen.filter((p) => !p.utp))}`,
    );
  };
  /** The libtorrent peer of warren's peer list (warren connected to it, so at its listen port). */
  const libtorrentIn = (peers: PeerStats[]) => {
    const peer = peers.find((p) => p.address === `127.0.0.1:${seed.ltPort}`);
    assert.ok(peer, `libtorrent (127.0.0.1:${seed.ltPort}) is not in warren's peer list: ${JSON.stringify(peers)}`);
    return peer;
  };

  test('libtorrent, uTP only, refuses a BitTorrent handshake over TCP', { timeout: 20_000 }, async () => {
    // libtorrent keeps a TCP listen socket at the same port even with TCP off, but drops every
    // connection it accepts there (peer_blocked_alert tcp_disabled) before any handshake.
    const handshake = { reserved: makeReserved({ extensions: true }), infoHash: toInfoHash(Buffer.from(seed.ltInfoHash, 'hex')), peerId: new Uint8Array(20).fill(7) };
    await assert.rejects(connectPeer(createNodeRuntime(), { host: '127.0.0.1', port: seed.ltPort }, handshake, 5000, 'allow'), /ECONNREFUSED|ECONNRESET|closed during handshake/);
  });

  test('warren downloads from libtorrent over uTP, given the .torrent', { timeout: 30_000 }, async (t) => {
    const metainfo = parseMetainfo(await readFile(seed.ltTorrent));
    const infoHash = infoHashOf(metainfo.infoBytes);
    assert.equal(toHex(infoHash), seed.ltInfoHash, 'warren and libtorrent disagree on the infohash');
    const out = await dir('warren-from-torrent');
    const session = await warren();
    const torrent = await session.add({ infoHash, infoBytes: metainfo.infoBytes, dir: out });
    const firstPeers = peersAtFirstPiece(torrent);
    const complete = torrentComplete(torrent);
    const watching = watchPeers(seed.ltInfoHash, complete, t.signal);
    torrent.addPeers([{ host: '127.0.0.1', port: seed.ltPort }]);
    const [, seen] = await Promise.all([complete, watching]);
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
    const peer = libtorrentIn(await firstPeers);
    assert.match(peer.flags, /P/, `warren's peer list should flag the libtorrent connection as uTP ('P'), flags: "${peer.flags}"`);
    assertLibtorrentSawUtp(seen.libtorrent);
  });

  test('warren downloads from libtorrent over uTP, given only a magnet link (metadata over BEP 9)', { timeout: 30_000 }, async () => {
    const magnet = parseMagnet(`magnet:?xt=urn:btih:${seed.ltInfoHash}&dn=${NAME}`);
    const out = await dir('warren-from-magnet');
    const session = await warren();
    const torrent = await session.add({ infoHash: toInfoHash(magnet.infoHash), dir: out });
    assert.equal(torrent.state, 'metadata', 'warren should start without the metadata');
    const firstPeers = peersAtFirstPiece(torrent);
    const complete = torrentComplete(torrent);
    torrent.addPeers([{ host: '127.0.0.1', port: seed.ltPort }]);
    await complete;
    const expected = parseMetainfo(await readFile(seed.ltTorrent)).infoBytes;
    assert.ok(torrent.infoBytes && Buffer.from(torrent.infoBytes).equals(Buffer.from(expected)), 'the metadata warren fetched differs from the .torrent');
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
    const peer = libtorrentIn(await firstPeers);
    assert.match(peer.flags, /P/, `warren's peer list should flag the libtorrent connection as uTP ('P'), flags: "${peer.flags}"`);
  });

  test('libtorrent, uTP only, downloads from warren, given the .torrent', { timeout: 30_000 }, async (t) => {
    const { session, torrent: seeding, created, hex } = await warrenSeed(16384);
    const file = join(seed.root, 'warren-made.torrent');
    await writeFile(file, created.bytes);
    const out = await dir('libtorrent-from-warren');
    const finished = lt().forTorrent(hex, 'finished', (e) => e.event === 'finished');
    const added = await lt().request({ cmd: 'add', torrent: file, savePath: out }, 'added');
    assert.equal(added.infohash, hex);
    // warren listens for uTP on UDP at the port number of its TCP listener.
    await lt().request({ cmd: 'connect', infohash: hex, host: '127.0.0.1', port: session.address.port }, 'connecting');
    const seen = await watchPeers(hex, finished, t.signal, seeding);
    await finished;
    await lt().request({ cmd: 'flush', infohash: hex }, 'flushed');
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
    assertLibtorrentSawUtp(seen.libtorrent);
    assert.ok(seen.warren.length > 0, 'warren never listed the libtorrent connection while seeding to it');
    assert.ok(
      seen.warren.every((p) => p.flags.includes('P')),
      `warren's peer list should flag every connection as uTP ('P'): ${JSON.stringify(seen.warren)}`,
    );
  });

  // With libtorrent's default socket buffers a fast sender overflows its receive buffer: datagrams
  // are lost, and libtorrent's acks carry selective acks of the length it needs (not a multiple of
  // 4). warren must recover from the loss through them, not stall.
  test('libtorrent, uTP only, downloads 48 MiB from warren, through the datagrams its socket drops', { timeout: 60_000 }, async () => {
    const big = await dir('big');
    await writeFile(join(big, 'big.bin'), new Mulberry32(48).bytes(48 * 1024 * 1024));
    const { session, created, hex } = await warrenSeed(262144, join(big, 'big.bin'));
    const file = join(seed.root, 'big.torrent');
    await writeFile(file, created.bytes);
    const out = await dir('libtorrent-big');
    await ltDownload(hex, { torrent: file, savePath: out }, session.address.port);
    assert.ok((await readFile(join(out, 'big.bin'))).equals(await readFile(join(big, 'big.bin'))), 'libtorrent has the same 48 MiB');
  });
});
