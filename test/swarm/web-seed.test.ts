/**
 * BEP 19 web seeds with the real runtime on 127.0.0.1: where a file lives on a web seed
 * (`webSeedFileUrl`), then warren sessions (no peers, no DHT) downloading from local HTTP servers:
 * a static server (`send`, with Range support) alone, for a multi-file and a single-file torrent;
 * one good server beside a bad one (corrupt bytes, Range ignored, 404), where the download must
 * still be exact and the bad server harmless; and a server that fails once (503) and is used
 * again after the backoff.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { copyFile, cp, mkdir, open, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { InfoDict } from '../../src/codec/metainfo.js';
import { toInfoHash } from '../../src/dht/types.js';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { createTorrent, type CreatedTorrent } from '../../src/swarm/create-torrent.js';
import type { SwarmSession } from '../../src/swarm/session.js';
import type { PeerStats, Torrent } from '../../src/swarm/torrent.js';
import { webSeedFileUrl } from '../../src/swarm/web-seed.js';
import { assertSameTree, makeTempDir, peersAtFirstPiece, removeDir, startWarren, torrentComplete, writeRandomFolder, type FixtureFile } from '../interop/swarm-fixtures.js';
import { gated, sendFrom, startServer, type Handler, type TestServer } from '../interop/web-seed-server.js';

// ---------------------------------------------------------------------------------------------
// webSeedFileUrl

/** An info dictionary with just what `webSeedFileUrl` reads (hashes are irrelevant here). */
function infoOf(name: string, paths: string[][] | undefined): InfoDict {
  const files = (paths ?? [[name]]).map((path, i) => ({ path, length: 10, offset: 10 * i }));
  return { name, pieceLength: 16384, pieceCount: 1, totalLength: 10 * files.length, pieces: new Uint8Array(20), files, multiFile: paths !== undefined, private: false, metaVersion: 1 };
}

describe('webSeedFileUrl (BEP 19 URL layout)', () => {
  test('single-file: a URL naming a file is used as it is', () => {
    const info = infoOf('movie.mkv', undefined);
    assert.equal(webSeedFileUrl('http://example.com/mirror/other-name.mkv', info, 0), 'http://example.com/mirror/other-name.mkv');
  });

  test('single-file: a URL ending in / is a folder, and the torrent name is added', () => {
    const info = infoOf('movie.mkv', undefined);
    assert.equal(webSeedFileUrl('http://example.com/mirror/', info, 0), 'http://example.com/mirror/movie.mkv');
  });

  test('multi-file: <url>/<name>/<path...>, with or without a trailing slash', () => {
    const info = infoOf('album', [['cd1', 'track01.flac'], ['cover.jpg']]);
    assert.equal(webSeedFileUrl('http://example.com/pub', info, 0), 'http://example.com/pub/album/cd1/track01.flac');
    assert.equal(webSeedFileUrl('http://example.com/pub/', info, 0), 'http://example.com/pub/album/cd1/track01.flac');
    assert.equal(webSeedFileUrl('http://example.com/pub', info, 1), 'http://example.com/pub/album/cover.jpg');
    assert.equal(webSeedFileUrl('http://example.com/', info, 1), 'http://example.com/album/cover.jpg');
  });

  test('names and path parts are percent-encoded one by one (spaces, unicode, #, ?, %, /)', () => {
    const single = infoOf('my file #1?.txt', undefined);
    assert.equal(webSeedFileUrl('http://h/d/', single, 0), 'http://h/d/my%20file%20%231%3F.txt');
    const multi = infoOf('Ünï cödé', [['dir ?', 'a#b%c.bin'], ['ファイル.txt']]);
    assert.equal(webSeedFileUrl('http://h/d', multi, 0), 'http://h/d/%C3%9Cn%C3%AF%20c%C3%B6d%C3%A9/dir%20%3F/a%23b%25c.bin');
    assert.equal(webSeedFileUrl('http://h/d', multi, 1), 'http://h/d/%C3%9Cn%C3%AF%20c%C3%B6d%C3%A9/%E3%83%95%E3%82%A1%E3%82%A4%E3%83%AB.txt');
    // A "/" inside one component (never in a valid torrent) must not become a folder.
    assert.equal(webSeedFileUrl('http://h/d', infoOf('n', [['a/b']]), 0), 'http://h/d/n/a%2Fb');
  });
});

// ---------------------------------------------------------------------------------------------
// Misbehaving servers (good ones: `sendFrom`)

/**
 * Serves the folder `root` with a hand-written single-range implementation, flipping every 997th
 * byte (counted from the file's start) of the files whose URL path `corrupt` accepts.
 */
function corruptingFrom(root: string, corrupt: (pathname: string) => boolean): Handler {
  const answer = async (req: IncomingMessage, res: ServerResponse, pathname: string) => {
    const file = await open(join(root, decodeURIComponent(pathname)), 'r').catch(() => undefined);
    if (!file) return void res.writeHead(404).end();
    try {
      const size = (await file.stat()).size;
      const match = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
      const first = match ? Number(match[1]) : 0;
      const last = match ? Math.min(Number(match[2]), size - 1) : size - 1;
      if (first > last) return void res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
      const body = Buffer.alloc(last - first + 1);
      await file.read(body, 0, body.length, first);
      if (corrupt(pathname)) for (let at = (997 - (first % 997)) % 997; at < body.length; at += 997) body[at]! ^= 0xff;
      const headers = { 'content-length': String(body.length), 'content-type': 'application/octet-stream', 'accept-ranges': 'bytes' };
      if (match) res.writeHead(206, { ...headers, 'content-range': `bytes ${first}-${last}/${size}` }).end(body);
      else res.writeHead(200, headers).end(body);
    } finally {
      await file.close();
    }
  };
  return (req, res, pathname) => void answer(req, res, pathname).catch(() => res.destroy());
}

/** Answers every request with `status` and a short body. */
function always(status: number): Handler {
  return (_req, res) => void res.writeHead(status, { 'content-type': 'text/plain' }).end(`status ${status}\n`);
}

// ---------------------------------------------------------------------------------------------
// Downloads

/**
 * Files of different sizes (none a multiple of the piece length, so pieces span files), with names
 * that need percent-encoding, a one-byte and an empty file.
 */
const FILES: readonly FixtureFile[] = [
  { path: 'alpha.bin', size: 1_100_003 },
  { path: 'nested/beta.bin', size: 1_234_567 },
  { path: 'nested/with space #1?.bin', size: 300_007 },
  { path: 'ünï/ファイル.txt', size: 65_537 },
  { path: 'nested/one-byte', size: 1 },
  { path: 'nested/empty', size: 0 },
  { path: 'omega.txt', size: 33_333 },
];
const PIECE_LENGTH = 32 * 1024;

describe('web seeds: warren downloads from local HTTP servers', { timeout: 60_000 }, () => {
  let root: string | undefined;
  const sessions: SwarmSession[] = [];
  const servers: TestServer[] = [];
  const rejections: unknown[] = [];
  const onRejection = (reason: unknown) => void rejections.push(reason);

  const dir = async (...parts: string[]) => {
    assert.ok(root);
    const path = join(root, ...parts);
    await mkdir(path, { recursive: true });
    return path;
  };
  const server = async (handler: Handler) => {
    const s = await startServer(handler);
    servers.push(s);
    return s;
  };
  /**
   * A random folder `name` below a fresh `<root>/<label>` (or a single random file `name` of
   * `files` bytes) and its torrent (32 KiB pieces).
   */
  const source = async (label: string, name: string, files: readonly FixtureFile[] | number = FILES) => {
    const parent = await dir(label);
    if (typeof files === 'number') await writeFile(join(parent, name), randomBytes(files));
    else await writeRandomFolder(join(parent, name), files);
    const created = await createTorrent(createNodeRuntime().fs, join(parent, name), { pieceLength: PIECE_LENGTH });
    return { parent, created };
  };
  /** A warren session downloading `created` into a fresh folder from `webSeeds` only. */
  const download = async (label: string, created: CreatedTorrent, webSeeds: string[]) => {
    const session = await startWarren();
    sessions.push(session);
    const out = await dir(label);
    const torrent = await session.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: out, webSeeds });
    assert.equal(torrent.state, 'downloading');
    return { out, torrent };
  };
  /** The torrent's peer list at every verified piece (web seeds are listed only while downloading). */
  const peerSamples = (torrent: Torrent) => {
    const samples: PeerStats[][] = [];
    torrent.on((event) => {
      if (event.type === 'piece' && torrent.state === 'downloading') samples.push(torrent.stats().peers);
    });
    return samples;
  };
  const bans = (torrent: Torrent) => {
    const banned: { peer: string; reason: string }[] = [];
    torrent.on((event) => {
      if (event.type === 'banned') banned.push({ peer: event.peer, reason: event.reason });
    });
    return banned;
  };

  before(async () => {
    root = await makeTempDir('web-seed');
    process.on('unhandledRejection', onRejection);
  });

  after(async () => {
    process.off('unhandledRejection', onRejection);
    await Promise.all(sessions.map((s) => s.close()));
    await Promise.all(servers.map((s) => s.close()));
    await removeDir(root);
    assert.deepEqual(rejections, [], 'unhandled promise rejections');
  });

  test('a multi-file torrent from one static web seed alone (folder URL), ranged GETs only', async () => {
    const { parent, created } = await source('multi-src', 'pay load');
    assert.ok(created.info.multiFile && created.info.files.length === FILES.length);
    const http = await server(sendFrom(parent));
    const url = `${http.base}/`;
    const { out, torrent } = await download('multi-out', created, [url]);
    const atFirstPiece = peersAtFirstPiece(torrent);
    await torrentComplete(torrent);
    await assertSameTree(join(parent, 'pay load'), join(out, 'pay load'));
    const firstPeers = await Promise.race([atFirstPiece, Promise.resolve(undefined)]); // settled by now if a piece came
    assert.ok(firstPeers, 'no piece event');
    assert.equal(firstPeers.length, 1, `expected only the web seed, got ${JSON.stringify(firstPeers)}`);
    assert.equal(firstPeers[0]!.address, url);
    assert.match(firstPeers[0]!.flags, /^W/);
    assert.equal(firstPeers[0]!.client, 'web seed');
    assert.ok(torrent.stats().downloaded >= created.info.totalLength, 'downloaded less than the whole torrent');
    // Every byte came in ranged GETs (206) below <url>/<name>/; the empty file was never asked for.
    assert.ok(http.requests.length > 0);
    for (const r of http.requests) {
      assert.equal(r.status, 206, `${r.path} (${r.range}) answered ${r.status}`);
      assert.match(r.range ?? '', /^bytes=\d+-\d+$/);
      assert.ok(r.path.startsWith('/pay%20load/'), r.path);
    }
    assert.ok(http.requests.some((r) => r.path === '/pay%20load/nested/with%20space%20%231%3F.bin'), 'the file with #, ? and spaces was not fetched');
    assert.ok(!http.requests.some((r) => r.path.endsWith('/empty')), 'the empty file was fetched');
    assert.equal(torrent.stats().peers.length, 0, 'web seeds are listed only while downloading');
  });

  test("a single-file torrent whose web seed URL is the file's own URL (any name)", async () => {
    const { parent, created } = await source('single-src', 'lone.bin', 777_777);
    assert.equal(created.info.multiFile, false);
    // The server holds the file under another name: the URL is used as it is, nothing appended.
    const mirror = await dir('single-mirror', 'files');
    await copyFile(join(parent, 'lone.bin'), join(mirror, 'renamed copy.bin'));
    const http = await server(sendFrom(join(root!, 'single-mirror')));
    const { out, torrent } = await download('single-out', created, [`${http.base}/files/renamed%20copy.bin`]);
    await torrentComplete(torrent);
    assert.deepEqual(await readFile(join(out, 'lone.bin')), await readFile(join(parent, 'lone.bin')));
    assert.ok(http.requests.length > 0 && http.requests.every((r) => r.path === '/files/renamed%20copy.bin' && r.status === 206));
  });

  test('a single-file torrent from a web seed folder URL (ending in /): the name is added', async () => {
    const { parent, created } = await source('single-dir-src', 'lone file.bin', 200_003);
    const http = await server(sendFrom(parent));
    const { out, torrent } = await download('single-dir-out', created, [`${http.base}/`]);
    await torrentComplete(torrent);
    assert.deepEqual(await readFile(join(out, 'lone file.bin')), await readFile(join(parent, 'lone file.bin')));
    assert.ok(http.requests.length > 0 && http.requests.every((r) => r.path === '/lone%20file.bin'));
  });

  test('a web seed with corrupt bytes in one file is banned; the good one completes the download', async () => {
    const { parent, created } = await source('corrupt-src', 'payload');
    const corrupt = await server(corruptingFrom(parent, (p) => p === '/payload/nested/beta.bin'));
    // The good server holds its answers until the ban (5 s at most): else it could win every race
    // for the corrupt server's blocks (endgame) and leave nothing to ban.
    let release = () => {};
    const ban = new Promise<void>((resolve) => (release = resolve));
    const fallback = setTimeout(release, 5000);
    const good = await server(gated(sendFrom(parent), ban));
    const badUrl = `${corrupt.base}/`;
    const { out, torrent } = await download('corrupt-out', created, [badUrl, good.base]);
    const banned = bans(torrent);
    let clientWhenBanned: string | undefined;
    let requestsAtBan = 0;
    torrent.on((event) => {
      if (event.type !== 'banned') return;
      clientWhenBanned ??= torrent.stats().peers.find((p) => p.address === badUrl)?.client;
      requestsAtBan = corrupt.requests.length;
      release();
    });
    try {
      await torrentComplete(torrent);
    } finally {
      clearTimeout(fallback);
    }
    await assertSameTree(join(parent, 'payload'), join(out, 'payload'));
    assert.deepEqual(banned.map((b) => b.peer), [`web ${badUrl}`], `expected one ban of the corrupt seed: ${JSON.stringify(banned)}`);
    // Only the requests in flight at the ban (two at most) end after it; none starts.
    assert.ok(corrupt.requests.length <= requestsAtBan + 2, `${corrupt.requests.length - requestsAtBan} requests to the banned seed ended after the ban`);
    assert.match(banned[0]!.reason, /hash check|bad data/);
    assert.equal(clientWhenBanned, 'web seed (banned)');
    assert.ok(corrupt.requests.some((r) => r.path === '/payload/nested/beta.bin'), 'the corrupt file was never fetched from the corrupt server');
  });

  test('closing the session aborts a web seed request that hangs', async () => {
    const { created } = await source('hang-src', 'hang.bin', 300_000);
    let aborted!: () => void;
    const gone = new Promise<void>((resolve) => (aborted = resolve));
    let seen!: () => void;
    const asked = new Promise<void>((resolve) => (seen = resolve));
    // Takes the request and never answers; notes when the client drops it.
    const http = await server((req) => {
      req.socket.once('close', aborted);
      seen();
    });
    const session = await startWarren();
    sessions.push(session);
    const out = await dir('hang-out');
    await session.add({ infoHash: toInfoHash(created.infoHash), infoBytes: created.infoBytes, dir: out, webSeeds: [`${http.base}/`] });
    await asked;
    await session.close();
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<string>((resolve) => (timer = setTimeout(() => resolve('still open'), 3000)));
    assert.equal(await Promise.race([gone.then(() => 'aborted'), late]), 'aborted', 'the request outlived the session');
    clearTimeout(timer);
  });

  test('a web seed that ignores Range (200, whole file) is never used for data', async () => {
    // Every file is larger than one request can ask for (64 blocks, 1 MiB), so no range is ever a
    // whole file: every 200 must be refused. The server's copy is corrupt, so taking any of its
    // bytes would fail a hash check and ban it.
    const files = [
      { path: 'first.bin', size: 1_300_001 },
      { path: 'sub/second.bin', size: 1_100_007 },
    ];
    const { parent, created } = await source('norange-src', 'payload', files);
    const bad = await dir('norange-bad');
    await writeRandomFolder(join(bad, 'payload'), files);
    const ignoring = await server(sendFrom(bad, { acceptRanges: false }));
    // The good server waits for the bad one's first answer, so the download is still running when it is refused.
    const good = await server(gated(sendFrom(parent), ignoring.answered()));
    const { out, torrent } = await download('norange-out', created, [ignoring.base, good.base]);
    const banned = bans(torrent);
    const samples = peerSamples(torrent);
    await torrentComplete(torrent);
    await assertSameTree(join(parent, 'payload'), join(out, 'payload'));
    assert.deepEqual(banned, [], 'data of the server that ignores Range was used');
    assert.ok(ignoring.requests.length > 0, 'the server that ignores Range was never asked');
    for (const r of ignoring.requests) assert.ok(r.status === 200 && r.range !== undefined, `${r.path}: ${r.status} ${r.range}`);
    const clients = samples.flat().filter((p) => p.address === ignoring.base).map((p) => p.client);
    assert.ok(
      clients.some((c) => /^web seed \(retrying: .*did not answer with bytes/.test(c)),
      `the server that ignores Range should show as retrying, got ${[...new Set(clients)].join(' | ')}`,
    );
  });

  test('a web seed that redirects (as archive.org does to its storage hosts) is followed, ranges and all', async () => {
    const { parent, created } = await source('redirect-src', 'payload');
    const storage = await server(sendFrom(parent));
    const front = await server((_req, res, pathname) => {
      res.writeHead(302, { location: `${storage.base}/stored${pathname}` });
      res.end();
    });
    const mirror = await dir('redirect-src', 'stored');
    await cp(join(parent, 'payload'), join(mirror, 'payload'), { recursive: true });
    const { out, torrent } = await download('redirect-out', created, [`${front.base}/`]);
    await torrentComplete(torrent);
    await assertSameTree(join(parent, 'payload'), join(out, 'payload'));
    assert.ok(front.requests.length > 0 && front.requests.every((r) => r.status === 302));
    assert.ok(storage.requests.length > 0 && storage.requests.every((r) => r.status === 206 && /^bytes=\d+-\d+$/.test(r.range ?? '')), 'the range was not kept across the redirect');
  });

  test('a web seed answering 404 is harmless: the good one completes the download', async () => {
    const { parent, created } = await source('404-src', 'payload');
    const missing = await server(always(404));
    const good = await server(gated(sendFrom(parent), missing.answered()));
    const { out, torrent } = await download('404-out', created, [`${missing.base}/nothing/here`, good.base]);
    const samples = peerSamples(torrent);
    const banned = bans(torrent);
    await torrentComplete(torrent);
    await assertSameTree(join(parent, 'payload'), join(out, 'payload'));
    assert.ok(missing.requests.length > 0 && missing.requests.every((r) => r.status === 404));
    assert.ok(missing.requests.every((r) => r.path.startsWith('/nothing/here/payload/')), 'wrong URL layout');
    assert.deepEqual(banned, []);
    const clients = samples.flat().filter((p) => p.address === `${missing.base}/nothing/here`).map((p) => p.client);
    assert.ok(clients.some((c) => c.startsWith('web seed (retrying: HTTP 404')), `expected the 404 seed retrying, got ${[...new Set(clients)].join(' | ')}`);
    assert.equal(torrent.state, 'seeding');
  });

  test('a web seed that answers 503 once is retried after the backoff (5 s) and completes the download', async () => {
    const { parent, created } = await source('503-src', 'payload');
    const serve = sendFrom(parent);
    let failed = 0;
    let failedAt = 0;
    const flaky = await server((req, res, pathname) => {
      if (failed++ === 0) {
        failedAt = performance.now();
        res.writeHead(503, { 'retry-after': '1' }).end('busy\n');
      } else serve(req, res, pathname);
    });
    const url = `${flaky.base}/`;
    const { out, torrent } = await download('503-out', created, [url]);
    // Poll the peer list: the seed must show as retrying, with the server's answer, during the pause.
    let retrying: string | undefined;
    const poll = setInterval(() => {
      const client = torrent.stats().peers.find((p) => p.address === url)?.client;
      if (client?.startsWith('web seed (retrying')) retrying ??= client;
    }, 25);
    try {
      await torrentComplete(torrent);
    } finally {
      clearInterval(poll);
    }
    const doneAt = performance.now();
    await assertSameTree(join(parent, 'payload'), join(out, 'payload'));
    assert.equal(flaky.requests[0]?.status, 503);
    assert.ok(flaky.requests.slice(1).every((r) => r.status === 206));
    assert.match(retrying ?? '', /^web seed \(retrying: HTTP 503 from 127\.0\.0\.1:\d+\)$/);
    // The torrent (3.1 MiB) is more than the one request still in flight at the 503 could fetch
    // (1 MiB), so the rest had to wait for the backoff.
    assert.ok(doneAt - failedAt >= 4_500, `finished ${Math.round(doneAt - failedAt)} ms after the 503: the backoff was not kept`);
  });
});

