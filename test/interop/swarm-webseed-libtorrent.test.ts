/**
 * BEP 19 web seed interop with libtorrent (Debian's python3-libtorrent, driven by
 * libtorrent-swarm.py) on 127.0.0.1: an HTTP server (`send`) holds a random multi-file folder with
 * names that need percent-encoding, and the only source of data is that server, no peer at all.
 * libtorrent downloads a warren-made torrent through its `url-list` (warren writes url-list, and
 * the URL layout warren assumes is the one libtorrent uses); warren downloads libtorrent-made
 * torrents through theirs (v1, and hybrid v1+v2 with BEP 47 padding files, which are never
 * fetched). Every download must match the source byte for byte. Fails, never skips, when
 * libtorrent is missing.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseMetainfo } from '../../src/codec/metainfo.js';
import { toHex, toInfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import type { SwarmSession } from '../../src/swarm/session.js';
import { assertSameTree, FOLDER_FILES, infoHashOf, makeTempDir, peersAtFirstPiece, removeDir, startWarren, torrentComplete, writeRandomFolder } from './swarm-fixtures.js';
import { assertLibtorrentInstalled, LibtorrentDriver } from './lt-driver.js';
import { sendFrom, startServer, type TestServer } from './web-seed-server.js';

/** The shared folder's name (the torrent's name): a space, to be percent-encoded in every URL. */
const NAME = 'web payload';
/** The folder (below the server's root) that holds `NAME`. */
const MIRROR = 'mirror';
/** The fixtures' files, and names with a space, `#`, `?` and non-ASCII letters. */
const FILES = [...FOLDER_FILES, { path: 'odd names/with space #1?.bin', size: 123_457 }, { path: 'ünï/ファイル.txt', size: 45_678 }];

test('python3-libtorrent is importable by /usr/bin/python3 (web seed interop)', () => assertLibtorrentInstalled());

describe('interop: BEP 19 web seeds with libtorrent on 127.0.0.1', { timeout: 90_000 }, () => {
  let root: string | undefined;
  /** The server's root folder: it holds `MIRROR/NAME`. */
  let www = '';
  let driver: LibtorrentDriver | undefined;
  let http: TestServer | undefined;
  const sessions: SwarmSession[] = [];

  const lt = () => {
    assert.ok(driver, 'the libtorrent driver did not start');
    return driver;
  };
  const server = () => {
    assert.ok(http, 'the HTTP server did not start');
    return http;
  };
  const dir = async (name: string) => {
    assert.ok(root);
    const path = join(root, name);
    await mkdir(path, { recursive: true });
    return path;
  };
  /** The requests the server answered since `from` (an index into its log). */
  const requestsSince = (from: number) => server().requests.slice(from);
  /**
   * Asserts that every request since `from` was a ranged GET (206), and that the files asked for,
   * percent-decoded (libtorrent writes lower-case hex, warren upper-case), are exactly the
   * non-empty files at `/<mirror>/<name>/<path>`.
   */
  const assertServedRanges = (from: number) => {
    const requests = requestsSince(from);
    assert.ok(requests.length > 0, 'the web seed was never asked');
    for (const r of requests) assert.equal(r.status, 206, `${r.path} (${r.range}) answered ${r.status}`);
    const asked = new Set(requests.map((r) => decodeURIComponent(r.path)));
    const expected = new Set(FILES.filter((f) => f.size > 0).map((f) => `/${MIRROR}/${NAME}/${f.path}`));
    assert.deepEqual(asked, expected, 'the web seed was asked for other URLs than the files');
  };

  before(async () => {
    assertLibtorrentInstalled();
    root = await makeTempDir('webseed-lt');
    www = await dir('www');
    await writeRandomFolder(join(www, MIRROR, NAME), FILES);
    http = await startServer(sendFrom(www));
    ({ driver } = await LibtorrentDriver.startSwarm());
  });

  after(async () => {
    await Promise.all(sessions.map((s) => s.close()));
    await driver?.stop();
    await http?.close();
    await removeDir(root);
  });

  test('libtorrent downloads a warren-made torrent from its url-list web seed alone', { timeout: 30_000 }, async () => {
    const url = `${server().base}/${MIRROR}`; // no trailing slash: a folder all the same (multi-file)
    const created = await createTorrent(createNodeRuntime().fs, join(www, MIRROR, NAME), { pieceLength: 32768, webSeeds: [url] });
    assert.deepEqual(parseMetainfo(created.bytes).urlList, [url], 'warren wrote another url-list');
    const file = join(root!, 'warren-made.torrent');
    await writeFile(file, created.bytes);
    const hex = toHex(toInfoHash(created.infoHash));
    const out = await dir('libtorrent-out');
    const from = server().requests.length;
    const d = lt();
    const finished = d.forTorrent(hex, 'finished', (e) => e.event === 'finished');
    const added = await d.request({ cmd: 'add', torrent: file, savePath: out }, 'added');
    assert.equal(added.infohash, hex);
    await finished;
    await d.request({ cmd: 'flush', infohash: hex }, 'flushed');
    await assertSameTree(join(www, MIRROR, NAME), join(out, NAME));
    assertServedRanges(from);
  });

  /** Has libtorrent make a torrent of the folder with `url` in its url-list; warren downloads it from there alone. */
  const warrenDownloads = async (label: string, url: string, hybrid: boolean) => {
    const file = join(root!, `${label}.torrent`);
    const created = await lt().request({ cmd: 'create', path: join(www, MIRROR, NAME), out: file, pieceLength: 32768, hybrid, webSeeds: [url] }, 'created');
    const metainfo = parseMetainfo(await readFile(file));
    assert.deepEqual(metainfo.urlList, [url], 'warren read another url-list than libtorrent wrote');
    assert.equal(metainfo.info.multiFile, true);
    const infoHash = infoHashOf(metainfo.infoBytes);
    assert.equal(toHex(infoHash), created.infohash, 'warren and libtorrent disagree on the infohash');
    const session = await startWarren();
    sessions.push(session);
    const out = await dir(label);
    const from = server().requests.length;
    const torrent = await session.add({ infoHash, infoBytes: metainfo.infoBytes, dir: out, webSeeds: metainfo.urlList });
    const firstPeers = peersAtFirstPiece(torrent);
    await torrentComplete(torrent);
    await assertSameTree(join(www, MIRROR, NAME), join(out, NAME));
    const webSeedListed = (await firstPeers).some((p) => p.address === url && p.flags.startsWith('W'));
    assert.ok(webSeedListed, 'the web seed was not in the peer list at the first piece');
    assertServedRanges(from);
    return { metainfo, requests: requestsSince(from) };
  };

  test('warren downloads a libtorrent-made torrent (v1) from its url-list web seed alone', { timeout: 30_000 }, async () => {
    await warrenDownloads('warren-out-v1', `${server().base}/${MIRROR}/`, false);
  });

  test('warren downloads a libtorrent-made hybrid torrent from its web seed, never asking for padding files', { timeout: 30_000 }, async () => {
    const { metainfo, requests } = await warrenDownloads('warren-out-hybrid', `${server().base}/${MIRROR}`, true);
    const padding = metainfo.info.files.filter((f) => f.padding);
    assert.ok(padding.length > 0, 'expected libtorrent to add padding files');
    assert.ok(!requests.some((r) => r.path.includes('.pad')), 'a padding file was fetched');
  });
});
