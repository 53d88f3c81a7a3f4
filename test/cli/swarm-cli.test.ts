/**
 * The swarm commands end to end on 127.0.0.1: create and info, bad input, a download killed
 * with SIGKILL mid-way that, restarted, finishes without fetching its verified pieces again, a
 * seed that requires protocol encryption, uTP on and off, and a BitTorrent v2 torrent shared by its
 * `urn:btmh:` magnet link.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { createNodeRuntime } from '../../src/runtime/node-runtime.js';
import { UtpSocket } from '../../src/utp/utp-socket.js';
import { TestTracker } from '../interop/swarm-tracker.js';
import { warren, WARREN_MAIN } from './run-warren.js';



/** Spawns warren with --json and hands each stdout JSON line to `onLine`. */
function spawnJson(args: string[], onLine: (event: Record<string, unknown>, child: ChildProcess) => void): { child: ChildProcess; exited: Promise<number | null> } {
  const child = spawn(process.execPath, [WARREN_MAIN, ...args, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
  createInterface({ input: child.stdout! }).on('line', (line) => onLine(JSON.parse(line) as Record<string, unknown>, child));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return { child, exited };
}

const sha = (d: Uint8Array) => createHash('sha1').update(d).digest('hex');

describe('warren swarm commands', () => {
  const dirs: string[] = [];
  const children: ChildProcess[] = [];
  const tempDir = async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-swarm-cli-'));
    dirs.push(dir);
    return dir;
  };
  after(async () => {
    for (const child of children) child.kill('SIGKILL');
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('create and info describe the same torrent', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'song.ogg'), randomBytes(100_000));
    const created = await warren(['create', join(dir, 'song.ogg'), '-o', join(dir, 'song.torrent'), '--tracker', 'udp://127.0.0.1:6969/announce', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const c = JSON.parse(created.stdout);
    const info = await warren(['info', join(dir, 'song.torrent'), '--json']);
    assert.equal(info.code, 0, info.stderr);
    const i = JSON.parse(info.stdout);
    assert.equal(i.infoHash, c.infoHash);
    assert.equal(i.name, 'song.ogg');
    assert.equal(i.totalLength, 100_000);
    assert.equal(i.pieceCount, c.pieceCount);
    assert.deepEqual(i.trackers, ['udp://127.0.0.1:6969/announce']);
    const fromMagnet = await warren(['info', c.magnet, '--json']);
    assert.equal(JSON.parse(fromMagnet.stdout).infoHash, c.infoHash);
  });

  test('bad files, links and flags get a one-line reason and a non-zero exit', async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'junk.torrent'), 'd4:infoi3ee');
    const cases: [string[], number, RegExp][] = [
      [['create', join(dir, 'missing')], 1, /does not exist/],
      [['create', dir, '--piece-length', '1000'], 2, /piece-length/],
      [['create', dir, '--format', 'v3'], 2, /--format/],
      [['seed', dir, '--format', 'v0'], 2, /--format/],
      [['info', join(dir, 'junk.torrent')], 2, /not a valid \.torrent/],
      [['info', 'magnet:?dn=x'], 2, /xt=urn:btih/],
      [['get', 'magnet:?xt=urn:btih:1234'], 2, /btih/],
      [['get', '0123456789012345678901234567890123456789', '--no-dht'], 2, /no way to find peers/],
      [['get', '0123456789012345678901234567890123456789', '--peer', 'nohost'], 2, /bad --peer/],
      [['get', '0123456789012345678901234567890123456789', '--peer', 'fd57::1:6881'], 2, /bad --peer "fd57::1:6881": expected host:port, or \[IPv6\]:port/],
      [['get', '0123456789012345678901234567890123456789', '--peer', '[fd57::1]'], 2, /bad --peer "\[fd57::1\]"/],
      [['get', '0123456789012345678901234567890123456789', '--peer', '[fd57::1]:0'], 2, /bad --peer "\[fd57::1\]:0": port must be 1-65535/],
      [['get', '0123456789012345678901234567890123456789', '--peer', '[fd57::1]:65536'], 2, /port must be 1-65535/],
      [['get', '0123456789012345678901234567890123456789', '--peer', '[1.2.3.4]:1'], 2, /"1\.2\.3\.4" is not an IPv6 address/],
      [['get', '0123456789012345678901234567890123456789', '--peer', '[fd57:::1]:1'], 2, /is not an IPv6 address/],
      [['get', '0123456789012345678901234567890123456789', '--peer', '[fe80::1%eth0]:1'], 2, /is not an IPv6 address/],
      [['get', '0123456789012345678901234567890123456789', '--host', 'fd57::zz', '--peer', '[::1]:1'], 2, /bad host "fd57::zz": expected an IP address/],
      [['get', '0123456789012345678901234567890123456789', '--host', '[::1]', '--peer', '[::1]:1'], 2, /bad host "\[::1\]"/],
      [['seed', join(dir, 'missing')], 2, /no such file/],
      [['get', '0123456789012345678901234567890123456789', '--stop-timeout', 'soon'], 2, /stop-timeout/],
      [['get', '0123456789012345678901234567890123456789', '--seed-ratio', '0'], 2, /bad --seed-ratio "0"/],
      [['get', '0123456789012345678901234567890123456789', '--seed-ratio', 'lots'], 2, /bad --seed-ratio/],
      [['get', '0123456789012345678901234567890123456789', '--seed-time', '-1'], 2, /bad --seed-time/],
    ];
    for (const [args, code, pattern] of cases) {
      const result = await warren(args);
      assert.equal(result.code, code, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }
  });

  test('v2 (BEP 52): create --format v2, info, seed the .torrent, get by the urn:btmh: magnet alone', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const data = randomBytes(3 * 1024 * 1024 + 777);
    await writeFile(join(dir, 'v2.bin'), data);
    const created = await warren(['create', join(dir, 'v2.bin'), '-o', join(dir, 'v2.torrent'), '--format', 'v2', '--piece-length', '32768', '--json']);
    assert.equal(created.code, 0, created.stderr);
    const c = JSON.parse(created.stdout);
    assert.equal(c.format, 'v2');
    assert.match(c.infoHashV2, /^[0-9a-f]{64}$/);
    assert.equal(c.infoHash, c.infoHashV2.slice(0, 40), 'a v2-only torrent is known by its truncated v2 hash');
    assert.equal(c.magnet, `magnet:?xt=urn:btmh:1220${c.infoHashV2}&dn=v2.bin`);
    const info = JSON.parse((await warren(['info', join(dir, 'v2.torrent'), '--json'])).stdout);
    assert.equal(info.format, 'v2');
    assert.equal(info.infoHashV2, c.infoHashV2);
    assert.equal(info.magnet, c.magnet);

    let seedPort = 0;
    await new Promise<void>((resolve) => {
      const seed = spawnJson(['seed', join(dir, 'v2.torrent'), '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'seed-state')], (event) => {
        if (event.event !== 'ready') return;
        assert.equal(event.magnet, c.magnet);
        seedPort = event.port as number;
        resolve();
      });
      children.push(seed.child);
    });
    const got = await warren(['get', c.magnet, '-o', join(dir, 'out'), '--peer', `127.0.0.1:${seedPort}`, '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'state'), '--json']);
    assert.equal(got.code, 0, got.stderr);
    assert.equal(sha(await readFile(join(dir, 'out', 'v2.bin'))), sha(data));

    // `seed <path> --format v2` makes the v2 torrent itself and prints its btmh magnet.
    const ready = await new Promise<Record<string, unknown>>((resolve) => {
      const seed = spawnJson(['seed', join(dir, 'v2.bin'), '--format', 'v2', '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'seed2-state')], (event, child) => {
        if (event.event !== 'ready') return;
        child.kill('SIGTERM');
        resolve(event);
      });
      children.push(seed.child);
    });
    assert.match(ready.magnet as string, /^magnet:\?xt=urn:btmh:1220[0-9a-f]{64}&dn=v2\.bin$/);
    assert.equal(ready.infoHash, (ready.magnet as string).slice(24, 64));
  });

  test('get --select-file: only the chosen files, numbered as info lists them; bad choices exit 2', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const files: [string, Buffer][] = [
      ['one.bin', randomBytes(200_000)],
      ['two.bin', randomBytes(300_000)],
      ['three.bin', randomBytes(250_000)],
    ];
    await mkdir(join(dir, 'folder'));
    for (const [name, data] of files) await writeFile(join(dir, 'folder', name), data);
    const torrentFile = join(dir, 'folder.torrent');
    assert.equal((await warren(['create', join(dir, 'folder'), '-o', torrentFile, '--piece-length', '16384'])).code, 0);
    const info = await warren(['info', torrentFile]);
    const listed = info.stdout.split('\n').filter((l) => /^\s+\d+\s/.test(l)).map((l) => l.trim().split(/\s+/).slice(0, 2));
    assert.equal(listed.length, 3, info.stdout);
    const number = (name: string) => listed.find(([, path]) => path === name)![0]!;

    for (const [args, pattern] of [
      [['--select-file', '0'], /bad --select-file "0"/],
      [['--select-file', '2-1'], /bad --select-file/],
      [['--select-file', 'two'], /bad --select-file/],
      [['--select-file', '4'], /no file number 4: the torrent has 3 files/],
    ] as [string[], RegExp][]) {
      const result = await warren(['get', torrentFile, '--peer', '127.0.0.1:9', '--no-dht', '-o', join(dir, 'never'), ...args]);
      assert.equal(result.code, 2, `${args.join(' ')}: ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, result.stderr);
    }

    let seedPort = 0;
    let magnet = '';
    await new Promise<void>((resolve) => {
      const seed = spawnJson(['seed', torrentFile, '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'seed-state')], (event) => {
        if (event.event !== 'ready') return;
        seedPort = event.port as number;
        magnet = event.magnet as string;
        resolve();
      });
      children.push(seed.child);
    });
    // With a magnet the file count is known only once the metadata came: the same refusal, then.
    const late = await warren(['get', magnet, '--select-file', '4', '-o', join(dir, 'never'), '--peer', `127.0.0.1:${seedPort}`, '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'state-late')]);
    assert.equal(late.code, 2, late.stderr);
    assert.equal(late.stderr.trim(), 'warren: bad --select-file: no file number 4: the torrent has 3 files');
    const got = await warren(['get', torrentFile, '--select-file', number('two.bin'), '-o', join(dir, 'out'), '--peer', `127.0.0.1:${seedPort}`, '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'state'), '--json']);
    assert.equal(got.code, 0, got.stderr);
    const done = got.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>).find((e) => e.event === 'complete')!;
    assert.deepEqual(done.files, [Number(number('two.bin'))]);
    assert.ok((done.wantedBytes as number) >= 300_000 && (done.wantedBytes as number) < 750_000, `wanted ${done.wantedBytes}`);
    assert.equal(sha(await readFile(join(dir, 'out', 'folder', 'two.bin'))), sha(files[1]![1]));
  });

  test('get --seed-ratio seeds until it has uploaded that much, then exits 0; --seed-time ends seeding after its minutes', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const data = randomBytes(600_000);
    await writeFile(join(dir, 'share.bin'), data);
    const torrentFile = join(dir, 'share.torrent');
    assert.equal((await warren(['create', join(dir, 'share.bin'), '-o', torrentFile, '--piece-length', '16384'])).code, 0);
    const common = ['--no-dht', '--host', '127.0.0.1', '--port', '0'];
    const readyPort = (args: string[]) =>
      new Promise<number>((resolve) => {
        const child = spawnJson(args, (event) => {
          if (event.event === 'ready') resolve(event.port as number);
        });
        children.push(child.child);
      });
    const seedPort = await readyPort(['seed', torrentFile, ...common, '--data-dir', join(dir, 'a')]);

    // B downloads from the seed, then seeds until it has uploaded half the file; C fetches from B alone.
    const events: Record<string, unknown>[] = [];
    // B listens where C can find it: its own loopback address, and a port below the ephemeral range.
    const bArgs = ['--no-dht', '--host', '127.0.0.2', '--port', '28213', '--data-dir', join(dir, 'b-state'), '--seed-ratio', '0.5'];
    const b = spawnJson(['get', torrentFile, '-o', join(dir, 'b'), '--peer', `127.0.0.1:${seedPort}`, ...bArgs], (event) => events.push(event));
    children.push(b.child);
    const deadline = Date.now() + 20_000;
    while (!events.some((e) => e.event === 'complete') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    assert.ok(events.some((e) => e.event === 'complete'), 'B finished its download');
    const c = spawnJson(['get', torrentFile, '-o', join(dir, 'c'), '--peer', '127.0.0.2:28213', ...common, '--data-dir', join(dir, 'c-state')], () => undefined);
    children.push(c.child);
    assert.equal(await b.exited, 0, 'B exits 0 once the ratio is reached');
    const seeded = events.find((e) => e.event === 'seeded')!;
    assert.equal(seeded.reached, 'ratio');
    assert.ok((seeded.ratio as number) >= 0.5 && (seeded.uploaded as number) >= 300_000, JSON.stringify(seeded));
    c.child.kill('SIGKILL');

    const timed = await warren(['get', torrentFile, '-o', join(dir, 'd'), '--peer', `127.0.0.1:${seedPort}`, ...common, '--data-dir', join(dir, 'd-state'), '--seed-time', '0.02', '--json']);
    assert.equal(timed.code, 0, timed.stderr);
    const last = JSON.parse(timed.stdout.trim().split('\n').at(-1)!) as Record<string, unknown>;
    assert.equal(last.event, 'seeded');
    assert.equal(last.reached, 'time');
    assert.equal(sha(await readFile(join(dir, 'd', 'share.bin'))), sha(data));
  });

  test('a download killed with SIGKILL resumes without fetching verified pieces again', { timeout: 120_000 }, async () => {
    const dir = await tempDir();
    const data = randomBytes(6 * 1024 * 1024);
    await writeFile(join(dir, 'data.bin'), data);
    const created = await warren(['create', join(dir, 'data.bin'), '-o', join(dir, 'data.torrent'), '--piece-length', '65536']);
    assert.equal(created.code, 0, created.stderr);

    let seedPort = 0;
    const seedReady = new Promise<void>((resolve) => {
      const seed = spawnJson(['seed', join(dir, 'data.torrent'), '--no-dht', '--host', '127.0.0.1', '--port', '0', '--upload-limit', '1024', '--data-dir', join(dir, 'seed-state')], (event) => {
        if (event.event === 'ready') {
          seedPort = event.port as number;
          resolve();
        }
      });
      children.push(seed.child);
    });
    await seedReady;
    const getArgs = ['get', join(dir, 'data.torrent'), '-o', join(dir, 'out'), '--peer', `127.0.0.1:${seedPort}`, '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'state')];

    let bytesAtKill = 0;
    const first = spawnJson(getArgs, (event, child) => {
      if (event.event === 'progress' && (event.percent as number) >= 30 && bytesAtKill === 0) {
        bytesAtKill = event.bytes as number;
        child.kill('SIGKILL');
      }
    });
    children.push(first.child);
    assert.equal(await first.exited, null, 'killed by the signal');
    assert.ok(bytesAtKill >= 0.3 * data.length);

    let complete: Record<string, unknown> | undefined;
    let firstProgress: Record<string, unknown> | undefined;
    const second = spawnJson(getArgs, (event) => {
      if (event.event === 'progress' && !firstProgress) firstProgress = event;
      if (event.event === 'complete') complete = event;
    });
    children.push(second.child);
    assert.equal(await second.exited, 0);
    assert.ok(complete, 'the restarted download completed');
    const downloaded = complete.downloaded as number;
    assert.ok(downloaded <= data.length - bytesAtKill + 2 * 65536, `fetched ${downloaded} bytes again after ${bytesAtKill} were verified`);
    assert.equal(sha(await readFile(join(dir, 'out', 'data.bin'))), sha(data), 'the result is identical to the source');
  });

  test('--encryption: a seed that requires it refuses a plain download and serves an encrypted one', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const data = randomBytes(300_000);
    await writeFile(join(dir, 'secret.bin'), data);
    let seedPort = 0;
    await new Promise<void>((resolve) => {
      const seed = spawnJson(['seed', join(dir, 'secret.bin'), '--no-dht', '--host', '127.0.0.1', '--port', '0', '--encryption', 'require', '--data-dir', join(dir, 'seed-state')], (event) => {
        if (event.event !== 'ready') return;
        seedPort = event.port as number;
        resolve();
      });
      children.push(seed.child);
    });
    const torrent = join(dir, 'secret.bin.torrent');
    assert.equal((await warren(['create', join(dir, 'secret.bin'), '-o', torrent])).code, 0);
    const get = (encryption: string, out: string, extra: string[] = []) =>
      warren(['get', torrent, '-o', join(dir, out), '--peer', `127.0.0.1:${seedPort}`, '--no-dht', '--host', '127.0.0.1', '--port', '0', '--encryption', encryption, '--data-dir', join(dir, `${out}-state`), ...extra]);
    const plain = await get('allow', 'plain', ['--stop-timeout', '3']);
    assert.equal(plain.code, 1, 'a plain connection got data from a seed that requires encryption');
    assert.match(plain.stderr, /no data for 3 s/);
    const encrypted = await get('require', 'encrypted');
    assert.equal(encrypted.code, 0, encrypted.stderr);
    assert.equal(sha(await readFile(join(dir, 'encrypted', 'secret.bin'))), sha(data));
  });

  test('--host with one address: the download announces to the tracker and dials peers from that address', { timeout: 60_000 }, async () => {
    const tracker = await TestTracker.start('127.0.0.1');
    try {
      const dir = await tempDir();
      const data = randomBytes(200_000);
      await writeFile(join(dir, 'bound.bin'), data);
      const torrent = join(dir, 'bound.torrent');
      assert.equal((await warren(['create', join(dir, 'bound.bin'), '-o', torrent, '--tracker', tracker.url])).code, 0);
      await new Promise<void>((resolve) => {
        const seed = spawnJson(['seed', torrent, '--dir', dir, '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, 'seed-state')], (event) => {
          if (event.event === 'ready') resolve();
        });
        children.push(seed.child);
      });
      await tracker.nextAnnounce(() => tracker.announces.length > 0);
      // The tracker is the leecher's only way to the seed; 127.0.0.3 is not the address the kernel
      // would pick to reach 127.0.0.1 (that is 127.0.0.1 itself).
      const got = await warren(['get', torrent, '-o', join(dir, 'out'), '--no-dht', '--host', '127.0.0.3', '--port', '0', '--data-dir', join(dir, 'get-state')]);
      assert.equal(got.code, 0, got.stderr);
      assert.equal(sha(await readFile(join(dir, 'out', 'bound.bin'))), sha(data));
      const fromLeecher = tracker.announces.filter((a) => a.left > 0 || a.event === 'completed');
      assert.ok(fromLeecher.length > 0, JSON.stringify(tracker.announces));
      for (const a of fromLeecher) assert.equal(a.host, '127.0.0.3', `an announce left from ${a.host}`);
    } finally {
      await tracker.close();
    }
  });

  test('--no-utp: a seed takes uTP connections on its port by default, and none with --no-utp', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    await writeFile(join(dir, 'x.bin'), randomBytes(50_000));
    const seedPort = (extra: string[], name: string) =>
      new Promise<number>((resolve) => {
        const seed = spawnJson(['seed', join(dir, 'x.bin'), '--no-dht', '--host', '127.0.0.1', '--port', '0', '--data-dir', join(dir, name), ...extra], (event) => {
          if (event.event === 'ready') resolve(event.port as number);
        });
        children.push(seed.child);
      });
    const [withUtp, withoutUtp] = await Promise.all([seedPort([], 'utp-state'), seedPort(['--no-utp'], 'tcp-state')]);
    const utp = await UtpSocket.bind(createNodeRuntime(), { host: '127.0.0.1', port: 0 });
    try {
      const conn = await utp.connect({ host: '127.0.0.1', port: withUtp });
      conn.close();
      await assert.rejects(utp.connect({ host: '127.0.0.1', port: withoutUtp }), (e: Error & { code?: string }) => e.code === 'ETIMEDOUT');
    } finally {
      utp.close();
    }
  });

  test('--stop-timeout gives up with a reason when no data arrives', { timeout: 60_000 }, async () => {
    const dir = await tempDir();
    const result = await warren([
      'get', 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00', '--no-dht', '--peer', '127.0.0.1:9', '--stop-timeout', '2',
      '--host', '127.0.0.1', '--port', '0', '-o', join(dir, 'out'), '--data-dir', join(dir, 'state'),
    ]);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /no data for 2 s \(0 peers connected/);
  });
});
