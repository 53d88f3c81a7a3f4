/**
 * Swarm interop with libtorrent (Debian's python3-libtorrent, driven by libtorrent-swarm.py) on
 * 127.0.0.1, peers given by hand, no DHT: libtorrent seeds a random multi-file folder to warren
 * (from a .torrent, and from a magnet link alone, the metadata over BEP 9), and warren seeds to
 * libtorrent (the same two ways). Every download must match the source byte for byte. Fails, never
 * skips, when libtorrent is missing.
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMagnet } from '../../src/codec/magnet.js';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { assertSameTree, infoHashOf, peersAtFirstPiece, torrentComplete, writeRandomFolder } from './swarm-fixtures.js';
import { assertLibtorrentInstalled, LibtorrentDriver } from './lt-driver.js';
import { selectableFiles, wantedPieceMask } from '../../src/swarm/file-selection.js';
import { NAME, useLibtorrentSeed } from './libtorrent-seed-setup.js';

test('python3-libtorrent is importable by /usr/bin/python3 (swarm driver)', () => assertLibtorrentInstalled());

describe('interop: libtorrent swarm on 127.0.0.1', { timeout: 90_000 }, () => {
  const seed = useLibtorrentSeed('swarm-lt');
  const { lt, warren, dir, warrenSeed, ltDownload } = seed;

  test('warren downloads from libtorrent, given the .torrent', { timeout: 30_000 }, async () => {
    const metainfo = parseMetainfo(await readFile(seed.ltTorrent));
    const infoHash = infoHashOf(metainfo.infoBytes);
    assert.equal(toHex(infoHash), seed.ltInfoHash, 'warren and libtorrent disagree on the infohash');
    const out = await dir('warren-from-torrent');
    const session = await warren();
    const torrent = await session.add({ infoHash, infoBytes: metainfo.infoBytes, dir: out, peers: [{ host: '127.0.0.1', port: seed.ltPort }] });
    const firstPeers = peersAtFirstPiece(torrent);
    await torrentComplete(torrent);
    const flags = (await firstPeers).map((p) => p.flags);
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
    assert.ok(torrent.stats().downloaded >= metainfo.info.totalLength, 'warren says it downloaded less than the whole torrent');
    // warren's default (prefer) opens with MSE offering RC4 and plain payload; libtorrent's default picks plain.
    assert.match(flags.join(' '), /e/, `expected an MSE handshake with plain payload, flags: ${flags.join(' ')}`);
  });

  test('warren downloads from libtorrent, given only a magnet link (metadata over BEP 9)', { timeout: 30_000 }, async () => {
    const magnet = parseMagnet(`magnet:?xt=urn:btih:${seed.ltInfoHash}&dn=${NAME}`);
    const out = await dir('warren-from-magnet');
    const session = await warren();
    const torrent = await session.add({ infoHash: toInfoHash(magnet.infoHash), dir: out, peers: [{ host: '127.0.0.1', port: seed.ltPort }] });
    assert.equal(torrent.state, 'metadata', 'warren should start without the metadata');
    await torrentComplete(torrent);
    const expected = parseMetainfo(await readFile(seed.ltTorrent)).infoBytes;
    assert.ok(torrent.infoBytes && Buffer.from(torrent.infoBytes).equals(Buffer.from(expected)), 'the metadata warren fetched differs from the .torrent');
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
  });

  test('warren downloads a single-file torrent from libtorrent, given only a magnet link', { timeout: 30_000 }, async () => {
    // A single-file torrent lays its one file out as `dir/name`, not `dir/name/...`.
    const single = await dir('single-src');
    await writeRandomFolder(single, [{ path: 'lone.bin', size: 777_777 }]);
    const file = join(seed.root, 'single.torrent');
    const hex = await lt().seedNew(join(single, 'lone.bin'), file, single, { pieceLength: 16384 });
    const out = await dir('warren-single');
    const session = await warren();
    const torrent = await session.add({ infoHash: toInfoHash(hex), dir: out, peers: [{ host: '127.0.0.1', port: seed.ltPort }] });
    await torrentComplete(torrent);
    assert.equal(torrent.info?.files.length, 1);
    await assertSameTree(single, out);
  });

  test('warren downloads a hybrid v1+v2 torrent (BEP 47 padding files) from libtorrent, by its v1 infohash', { timeout: 30_000 }, async () => {
    // libtorrent 2.0 makes hybrid torrents by default: files aligned to pieces by padding files,
    // which no one writes to disk. warren speaks v1 only, over the v1 infohash.
    const file = join(seed.root, 'hybrid.torrent');
    const hex = await lt().seedNew(join(seed.srcDir, NAME), file, seed.srcDir, { pieceLength: 32768, hybrid: true });
    const metainfo = parseMetainfo(await readFile(file));
    assert.ok(metainfo.info.files.some((f) => f.padding), 'expected libtorrent to add padding files');
    assert.equal(toHex(infoHashOf(metainfo.infoBytes)), hex);
    const out = await dir('warren-hybrid');
    const session = await warren();
    const torrent = await session.add({ infoHash: infoHashOf(metainfo.infoBytes), infoBytes: metainfo.infoBytes, dir: out, peers: [{ host: '127.0.0.1', port: seed.ltPort }] });
    await torrentComplete(torrent);
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
  });

  test('warren downloads only the files it chose from libtorrent, then seeds them to a libtorrent that wants the same', { timeout: 40_000 }, async () => {
    // Chosen: alpha.bin and the one-byte file. The magnet carries no file list: the choice is
    // applied when the metadata arrives, before any block is asked for.
    const info = parseMetainfo(await readFile(seed.ltTorrent)).info;
    const files = selectableFiles(info).map((f) => [NAME, ...f.path].join('/'));
    const chosenPaths = [`${NAME}/alpha.bin`, `${NAME}/nested/one-byte`];
    const chosen = chosenPaths.map((p) => files.indexOf(p));
    assert.ok(chosen.every((i) => i >= 0), `files: ${files.join(', ')}`);
    const mask = wantedPieceMask(info, chosen);
    const out = await dir('warren-chosen-files');
    const session = await warren();
    const torrent = await session.add({ infoHash: toInfoHash(seed.ltInfoHash), dir: out, peers: [{ host: '127.0.0.1', port: seed.ltPort }], wantedFiles: chosen });
    await torrentComplete(torrent);
    for (let i = 0; i < info.pieceCount; i++) assert.equal(torrent.picker!.has(i), mask[i] === 1, `piece ${i}`);
    const stats = torrent.stats();
    assert.ok(stats.wantedLength < info.totalLength / 2, `wanted ${stats.wantedLength} of ${info.totalLength}`);
    assert.ok(stats.downloaded <= stats.wantedLength, `downloaded ${stats.downloaded}, wanted ${stats.wantedLength}`);
    for (const path of chosenPaths) {
      assert.ok((await readFile(join(out, path))).equals(await readFile(join(seed.srcDir, path))), `${path} differs`);
    }
    // A file with no byte in a wanted piece is never made.
    let untouched = 0;
    for (const [i, file] of selectableFiles(info).entries()) {
      if (file.length === 0 || chosen.includes(i)) continue;
      const first = Math.floor(file.offset / info.pieceLength);
      const last = Math.floor((file.offset + file.length - 1) / info.pieceLength);
      if (mask.subarray(first, last + 1).some((b) => b === 1)) continue;
      untouched++;
      await assert.rejects(stat(join(out, files[i]!)), { code: 'ENOENT' }, `${files[i]} was made`);
    }
    assert.ok(untouched > 0, 'the test needs a file that shares no piece with the chosen ones');

    // A second libtorrent wants only alpha.bin and has only warren, a partial seed, to get it from.
    const { driver: lt2 } = await LibtorrentDriver.startSwarm();
    try {
      const ltOut = await dir('libtorrent-from-partial-seed');
      const finished = lt2.forTorrent(seed.ltInfoHash, 'finished', (e) => e.event === 'finished');
      await lt2.request({ cmd: 'add', torrent: seed.ltTorrent, savePath: ltOut, wantedPaths: [`${NAME}/alpha.bin`] }, 'added');
      await lt2.request({ cmd: 'connect', infohash: seed.ltInfoHash, host: '127.0.0.1', port: session.address.port }, 'connecting');
      await finished;
      await lt2.request({ cmd: 'flush', infohash: seed.ltInfoHash }, 'flushed');
      assert.ok((await readFile(join(ltOut, NAME, 'alpha.bin'))).equals(await readFile(join(seed.srcDir, NAME, 'alpha.bin'))), 'libtorrent got a different alpha.bin');
    } finally {
      await lt2.stop();
    }
  });

  test('libtorrent downloads from warren, given the .torrent', { timeout: 30_000 }, async () => {
    const { session, created, hex } = await warrenSeed(16384);
    const file = join(seed.root, 'warren-made.torrent');
    await writeFile(file, created.bytes);
    const out = await dir('libtorrent-from-torrent');
    await ltDownload(hex, { torrent: file, savePath: out }, session.address.port, false);
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
  });

  test('libtorrent downloads from warren, given only a magnet link (BEP 9 served by warren)', { timeout: 30_000 }, async () => {
    // Another piece length than the test above, so another infohash: libtorrent holds each once.
    const { session, hex } = await warrenSeed(131072);
    const out = await dir('libtorrent-from-magnet');
    await ltDownload(hex, { magnet: `magnet:?xt=urn:btih:${hex}&dn=${NAME}`, savePath: out }, session.address.port, true);
    await assertSameTree(join(seed.srcDir, NAME), join(out, NAME));
  });
});
