/**
 * The `warren` command line end to end on 127.0.0.1: a `warren dht` node, and the standalone
 * commands talking to it; bad input gets a one-line error and a non-zero exit code.
 */
import { describe, test, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { warren, WARREN_MAIN } from './run-warren.js';

const INFO_HASH = 'c0ffee00c0ffee00c0ffee00c0ffee00c0ffee00';



/** Starts `warren dht` and resolves with its ready event once the first stdout line arrives. */
async function startNode(args: string[]): Promise<{ child: ChildProcess; ready: { nodeId: string; host: string; port: number; families: { family: number; host: string }[] }; lines: string[] }> {
  const child = spawn(process.execPath, [WARREN_MAIN, 'dht', '--json', ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const reader = createInterface({ input: child.stdout! });
  const first = await new Promise<string>((resolve, reject) => {
    reader.once('line', resolve);
    child.once('exit', (code) => reject(new Error(`warren dht exited with ${code}`)));
  });
  reader.on('line', (line) => lines.push(line));
  const ready = JSON.parse(first) as { event: string; nodeId: string; host: string; port: number; families: { family: number; host: string }[] };
  assert.equal(ready.event, 'ready');
  return { child, ready, lines };
}

function stopNode(child: ChildProcess): Promise<number | null> {
  return new Promise((resolve) => {
    child.once('exit', (code) => resolve(code));
    child.kill('SIGINT');
  });
}

describe('warren command line', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  test('bad input gets a one-line error and exit code 2', async () => {
    const cases: [string[], RegExp][] = [
      [['lookup', 'xyz', '--no-bootstrap'], /bad infohash/],
      [['lookup', INFO_HASH, '--bootstrap', 'nohost'], /bad --bootstrap entry "nohost": expected host:port, or \[IPv6\]:port/],
      [['lookup', INFO_HASH, '--bootstrap', '127.0.0.1:99999'], /bad --bootstrap entry "127\.0\.0\.1:99999": port must be 1-65535/],
      [['announce', INFO_HASH, '--port', '0', '--no-bootstrap'], /bad port/],
      [['announce', INFO_HASH, '--no-bootstrap'], /needs --port/],
      [['dht', '--host', '300.1.1.1', '--no-bootstrap'], /bad host/],
      [['dht', '--host', '1:2:3:4:5:6:7:8:9', '--no-bootstrap'], /bad host "1:2:3:4:5:6:7:8:9": expected an IP address such as 127\.0\.0\.1 or ::1/],
      [['dht', '--host', 'localhost6', '--no-bootstrap'], /bad host/],
      [['item', 'get', 'abc', '--no-bootstrap'], /bad item target/],
      [['create', '.', '--web-seed', 'ftp://example.org/x'], /bad --web-seed "ftp:\/\/example.org\/x": expected an http\(s\):\/\/ URL/],
      [['get', INFO_HASH, '--no-dht', '--download-limit', '0'], /bad --download-limit "0": expected KiB\/s/],
      [['get', INFO_HASH, '--no-dht', '--encryption', 'always'], /'always' is invalid\. Allowed choices are prefer, require, allow/],
      [['frobnicate'], /unknown command/],
    ];
    for (const [args, pattern] of cases) {
      const result = await warren(args);
      assert.equal(result.code, 2, `${args.join(' ')}: exit ${result.code}, stderr ${result.stderr}`);
      assert.match(result.stderr, pattern);
      assert.equal(result.stderr.trim().split('\n').length, 1, `${args.join(' ')}: ${result.stderr}`);
    }
  });

  test('the demo shares a file and downloads it through the DHT, verified', { timeout: 120_000 }, async () => {
    const result = await warren(['demo', '--nodes', '12', '--size', '2', '--once', '--json']);
    assert.equal(result.code, 0, result.stderr);
    const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line) as Record<string, unknown>);
    assert.equal(events.filter((e) => e.event === 'seeding').length, 3);
    assert.ok(events.some((e) => e.event === 'metadata'), 'metadata came from the seeds');
    assert.match(String(events.find((e) => e.event === 'node')?.ui), /^http:\/\/127\.0\.0\.1:\d+\/#token=/);
    assert.deepEqual(events.at(-1)?.verified, true);
  });

  test('a command that cannot join the DHT says so and exits 1', async () => {
    const result = await warren(['lookup', INFO_HASH, '--no-bootstrap', '--host', '127.0.0.1']);
    assert.equal(result.code, 1);
    assert.match(result.stderr, /could not join the DHT/);
  });

  test('dht node, announce, lookup, item put/get, and a restart from the saved table', { timeout: 120_000 }, async () => {
    const dir = await mkdtemp(join(tmpdir(), 'warren-cli-'));
    dirs.push(dir);
    const seed = await startNode(['--host', '127.0.0.1', '--port', '0', '--no-bootstrap', '--data-dir', join(dir, 'seed')]);
    assert.match(seed.ready.nodeId, /^[0-9a-f]{40}$/);
    assert.deepEqual(seed.ready.families.map((f) => [f.family, f.host]), [[4, '127.0.0.1']], 'an IPv4 host binds IPv4 only');
    const boot = ['--bootstrap', `127.0.0.1:${seed.ready.port}`, '--host', '127.0.0.1'];
    const node = await startNode(['--port', '0', '--data-dir', join(dir, 'node'), ...boot]);

    const announced = await warren(['announce', INFO_HASH, '--port', '4321', '--json', ...boot]);
    assert.equal(announced.code, 0, announced.stderr);
    assert.equal(JSON.parse(announced.stdout.trim()).nodes, 2);

    const lookup = await warren(['lookup', INFO_HASH, ...boot]);
    assert.equal(lookup.code, 0, lookup.stderr);
    assert.ok(lookup.stdout.split('\n').includes('127.0.0.1:4321'), lookup.stdout);

    const lookupJson = await warren(['lookup', INFO_HASH, '--json', ...boot]);
    const events = lookupJson.stdout.trim().split('\n').map((l) => JSON.parse(l));
    assert.deepEqual(events[0], { event: 'peer', host: '127.0.0.1', port: 4321 });

    const missing = await warren(['lookup', 'ffffffffffffffffffffffffffffffffffffffff', ...boot]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /no peers found/);

    const put = await warren(['item', 'put', 'hello warren', ...boot]);
    assert.equal(put.code, 0, put.stderr);
    const target = put.stdout.trim();
    assert.match(target, /^[0-9a-f]{40}$/);
    const get = await warren(['item', 'get', target, ...boot]);
    assert.equal(get.code, 0, get.stderr);
    assert.equal(get.stdout, 'hello warren\n');

    assert.equal(await stopNode(node.child), 0);
    assert.equal(JSON.parse(node.lines.at(-1)!).event, 'stopped');
    const saved = JSON.parse(await readFile(join(dir, 'node', 'dht-state.json'), 'utf8'));
    assert.equal(saved.nodeId, node.ready.nodeId);
    assert.ok(saved.contacts.length >= 1);

    // Restarted without any bootstrap node, it rejoins through its saved contacts.
    const again = await startNode(['--host', '127.0.0.1', '--port', '0', '--no-bootstrap', '--data-dir', join(dir, 'node')]);
    assert.equal(again.ready.nodeId, node.ready.nodeId);
    const viaRestarted = await warren(['lookup', INFO_HASH, '--bootstrap', `127.0.0.1:${again.ready.port}`, '--host', '127.0.0.1']);
    assert.equal(viaRestarted.code, 0, viaRestarted.stderr);
    assert.ok(viaRestarted.stdout.includes('127.0.0.1:4321'));
    assert.equal(await stopNode(again.child), 0);
    assert.equal(await stopNode(seed.child), 0);
  });
});
