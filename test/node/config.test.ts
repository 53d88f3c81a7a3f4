import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DEFAULT_BOOTSTRAP } from '../../src/dht/options.js';
import { loadConfig, parsePositiveNumber, type NodeConfig } from '../../src/node/config.js';
import { defaultDataDir, resolveDataDir } from '../../src/node/data-dir.js';
import { NodeError } from '../../src/node/errors.js';

async function withDir<T>(fn: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'warren-config-'));
  try {
    return await fn(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** The one-line message of the CONFIG error `fn` throws. */
function configError(fn: () => unknown): string {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof NodeError, String(error));
    assert.equal(error.code, 'CONFIG');
    assert.doesNotMatch(error.message, /\n/);
    return error.message;
  }
  assert.fail('expected a CONFIG error');
}

const writeConfig = (dir: string, value: unknown): Promise<void> =>
  writeFile(join(dir, 'config.json'), typeof value === 'string' ? value : JSON.stringify(value));

describe('loadConfig', () => {
  test('defaults', async () => {
    await withDir(async (dir) => {
      const expected: NodeConfig = {
        dataDir: dir,
        host: '0.0.0.0',
        port: 6881,
        dhtPort: 6881,
        api: { host: '127.0.0.1', port: 7070 },
        bootstrap: DEFAULT_BOOTSTRAP,
        dht: true,
        downloadDir: join(dir, 'downloads'),
        maxConnections: 200,
        uploadLimit: 0,
        downloadLimit: 0,
        portMap: false,
        seedRatio: undefined,
        seedTimeMinutes: undefined,
        encryption: 'prefer',
        utp: true,
        logLevel: 'info',
      };
      assert.deepEqual(loadConfig(dir, {}, {}), expected);
      assert.deepEqual(loadConfig(dir, { json: true, dataDir: dir, port: undefined }, { HOME: '/x', WARREN_PORT: '' }), expected, 'other flags, unset and empty values are ignored');
    });
  });

  test('precedence: flags over environment over config.json over defaults', async () => {
    await withDir(async (dir) => {
      await writeConfig(dir, { port: 1001, dhtPort: 2001, api: '127.0.0.1:3001', maxConnections: 11, uploadLimit: 1.5, logLevel: 'warn', downloadDir: 'dl', host: '127.0.0.5', encryption: 'allow' });
      const env = { WARREN_PORT: '1002', WARREN_DHT_PORT: '2002', WARREN_MAX_CONNECTIONS: '12', WARREN_DOWNLOAD_DIR: '/env/dl', WARREN_DHT: 'false', WARREN_ENCRYPTION: 'Require' };
      const flags = { port: '1003', api: 'localhost:0', logLevel: 'debug' };
      const config = loadConfig(dir, flags, env);
      assert.equal(config.port, 1003);
      assert.deepEqual(config.api, { host: 'localhost', port: 0 });
      assert.equal(config.logLevel, 'debug');
      assert.equal(config.dhtPort, 2002);
      assert.equal(config.maxConnections, 12);
      assert.equal(config.downloadDir, '/env/dl');
      assert.equal(config.dht, false);
      assert.equal(config.uploadLimit, 1536, 'KiB/s become bytes/s');
      assert.equal(loadConfig(dir, {}, { WARREN_DOWNLOAD_LIMIT: '2' }).downloadLimit, 2048);
      assert.equal(config.host, '127.0.0.5');
      assert.equal(config.encryption, 'require', 'the environment beats config.json; case does not matter');
      assert.equal(loadConfig(dir, { encryption: 'prefer' }, {}).encryption, 'prefer');
      assert.equal(loadConfig(dir, {}, {}).encryption, 'allow');
      assert.equal(loadConfig(dir, {}, { WARREN_UTP: '0' }).utp, false, 'WARREN_UTP=0 turns uTP off');
      assert.equal(loadConfig(dir, { utp: false }, {}).utp, false, '--no-utp turns uTP off');
      assert.equal(loadConfig(dir, {}, {}).downloadDir, join(dir, 'dl'), "config.json's relative paths are from the data directory");
      assert.equal(loadConfig(dir, { downloadDir: 'rel' }, {}).downloadDir, resolve('rel'), "a flag's relative path is from the current directory");
      assert.equal(loadConfig(dir, { dht: false, maxConnections: 5000, uploadLimit: 0 }, {}).dht, false);
    });
  });

  test('seed ratio and seeding time: from flags, the environment or config.json; fractions allowed', async () => {
    await withDir(async (dir) => {
      assert.equal(loadConfig(dir, { seedRatio: '1.5' }, {}).seedRatio, 1.5, '--seed-ratio');
      assert.equal(loadConfig(dir, { seedTime: '0.5' }, {}).seedTimeMinutes, 0.5, '--seed-time');
      assert.equal(loadConfig(dir, {}, { WARREN_SEED_RATIO: '2' }).seedRatio, 2);
      assert.equal(loadConfig(dir, {}, { WARREN_SEED_TIME: ' 90 ' }).seedTimeMinutes, 90);
      await writeConfig(dir, { seedRatio: 0.25, seedTime: 30 });
      const fromFile = loadConfig(dir, {}, {});
      assert.deepEqual([fromFile.seedRatio, fromFile.seedTimeMinutes], [0.25, 30]);
      const overridden = loadConfig(dir, { seedTime: '5' }, { WARREN_SEED_RATIO: '3', WARREN_SEED_TIME: '7' });
      assert.deepEqual([overridden.seedRatio, overridden.seedTimeMinutes], [3, 5], 'flags over environment over config.json');
    });
  });

  test('bootstrap and noBootstrap: the first source that names either decides', async () => {
    await withDir(async (dir) => {
      assert.equal(loadConfig(dir, { bootstrap: false }, {}).bootstrap, false, 'commander --no-bootstrap');
      assert.deepEqual(loadConfig(dir, { bootstrap: '127.0.0.1:1, example.org:2' }, {}).bootstrap, ['127.0.0.1:1', 'example.org:2']);
      assert.equal(loadConfig(dir, {}, { WARREN_NO_BOOTSTRAP: '1' }).bootstrap, false);
      assert.equal(loadConfig(dir, {}, { WARREN_NO_BOOTSTRAP: 'true', WARREN_BOOTSTRAP: '127.0.0.1:1' }).bootstrap, false);
      assert.deepEqual(loadConfig(dir, {}, { WARREN_BOOTSTRAP: '127.0.0.1:1,127.0.0.2:2' }).bootstrap, ['127.0.0.1:1', '127.0.0.2:2']);
      await writeConfig(dir, { noBootstrap: true });
      assert.equal(loadConfig(dir, {}, {}).bootstrap, false);
      assert.deepEqual(loadConfig(dir, { bootstrap: '127.0.0.9:9' }, {}).bootstrap, ['127.0.0.9:9'], 'a flag list beats the file');
      assert.deepEqual(loadConfig(dir, {}, { WARREN_NO_BOOTSTRAP: '0' }).bootstrap, DEFAULT_BOOTSTRAP, 'an explicit no beats the file');
      await writeConfig(dir, { bootstrap: ['127.0.0.3:3'] });
      assert.deepEqual(loadConfig(dir, {}, {}).bootstrap, ['127.0.0.3:3']);
      assert.equal(loadConfig(dir, { noBootstrap: true }, {}).bootstrap, false);
      await writeConfig(dir, { bootstrap: [] });
      assert.equal(loadConfig(dir, {}, {}).bootstrap, false, 'an empty list is no bootstrap');
    });
  });

  test('host may be IPv6 (BEP 7), from a flag, WARREN_HOST or config.json, spelled canonically', async () => {
    await withDir(async (dir) => {
      assert.equal(loadConfig(dir, {}, {}).host, '0.0.0.0', 'the default: both families');
      assert.equal(loadConfig(dir, { host: 'FD57:0::1' }, {}).host, 'fd57::1');
      assert.equal(loadConfig(dir, {}, { WARREN_HOST: ' :: ' }).host, '::');
      await writeConfig(dir, { host: '::1' });
      assert.equal(loadConfig(dir, {}, {}).host, '::1');
      assert.equal(loadConfig(dir, { host: '127.0.0.1' }, {}).host, '127.0.0.1', 'a flag beats the file');
    });
  });

  test('each kind of bad input is one line naming the source and key', async () => {
    await withDir(async (dir) => {
      const file = join(dir, 'config.json');
      assert.equal(configError(() => loadConfig(dir, { port: '70000' }, {})), '--port: must be an integer 0-65535');
      assert.equal(configError(() => loadConfig(dir, { dhtPort: 'abc' }, {})), '--dht-port: must be an integer 0-65535');
      assert.equal(configError(() => loadConfig(dir, { maxConnections: '0' }, {})), '--max-connections: must be an integer 1-5000');
      assert.equal(configError(() => loadConfig(dir, { noBootstrap: 'perhaps' }, {})), '--no-bootstrap: must be true or false');
      assert.equal(configError(() => loadConfig(dir, { host: 'example.org' }, {})), '--host: must be an IPv4 or IPv6 address, or localhost');
      assert.equal(configError(() => loadConfig(dir, { host: '[::1]' }, {})), '--host: must be an IPv4 or IPv6 address, or localhost');
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_HOST: 'fd57::1::2' })), 'WARREN_HOST: must be an IPv4 or IPv6 address, or localhost');
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_HOST: 'fe80::1%eth0' })), 'WARREN_HOST: must be an IPv4 or IPv6 address, or localhost');
      assert.match(configError(() => loadConfig(dir, {}, { WARREN_API: '127.0.0.1' })), /^WARREN_API: must be host:port/);
      assert.match(configError(() => loadConfig(dir, {}, { WARREN_API: 'example.org:80' })), /^WARREN_API: must be host:port/);
      assert.match(configError(() => loadConfig(dir, {}, { WARREN_API: '127.0.0.1:99999' })), /^WARREN_API: must be host:port/);
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_BOOTSTRAP: '127.0.0.1:1,nope' })), 'WARREN_BOOTSTRAP: must be a list of host:port or [ipv6]:port: bad entry "nope"');
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_BOOTSTRAP: 'fd57::1:6881' })), 'WARREN_BOOTSTRAP: must be a list of host:port or [ipv6]:port: bad entry "fd57::1:6881"');
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_BOOTSTRAP: '[fd57::g]:6881' })), 'WARREN_BOOTSTRAP: must be a list of host:port or [ipv6]:port: bad entry "[fd57::g]:6881"');
      assert.deepEqual(loadConfig(dir, {}, { WARREN_BOOTSTRAP: '[fd57::1]:6881, router.example:6881' }).bootstrap, ['[fd57::1]:6881', 'router.example:6881']);
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_UPLOAD_LIMIT: '-1' })), 'WARREN_UPLOAD_LIMIT: must be a number of KiB/s, 0 (unlimited) or more');
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_LOG_LEVEL: 'loud' })), 'WARREN_LOG_LEVEL: must be one of debug, info, warn, error');
      assert.equal(configError(() => loadConfig(dir, { encryption: 'always' }, {})), '--encryption: must be one of prefer, require, allow');
      assert.equal(configError(() => loadConfig(dir, { downloadLimit: 'fast' }, {})), '--download-limit: must be a number of KiB/s, 0 (unlimited) or more');
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_DHT: 'off-ish' })), 'WARREN_DHT: must be true or false');
      const RATIO = 'must be a number above 0, such as 1.5';
      const MINUTES = 'must be a number of minutes above 0, such as 30 or 0.5';
      assert.equal(configError(() => loadConfig(dir, { seedRatio: '0' }, {})), `--seed-ratio: ${RATIO}`);
      assert.equal(configError(() => loadConfig(dir, { seedRatio: 'lots' }, {})), `--seed-ratio: ${RATIO}`);
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_SEED_RATIO: '-1' })), `WARREN_SEED_RATIO: ${RATIO}`);
      assert.equal(configError(() => loadConfig(dir, { seedTime: '-5' }, {})), `--seed-time: ${MINUTES}`);
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_SEED_TIME: '0' })), `WARREN_SEED_TIME: ${MINUTES}`);
      assert.equal(configError(() => loadConfig(dir, {}, { WARREN_SEED_TIME: 'an hour' })), `WARREN_SEED_TIME: ${MINUTES}`);

      await writeConfig(dir, { port: 1.5 });
      assert.equal(configError(() => loadConfig(dir, {}, {})), `${file}: port: must be an integer 0-65535`);
      assert.equal(configError(() => loadConfig(dir, { port: 1 }, {})), `${file}: port: must be an integer 0-65535`, 'even when a flag overrides it');
      await writeConfig(dir, { prot: 1 });
      assert.match(configError(() => loadConfig(dir, {}, {})), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: unknown key "prot"`));
      await writeConfig(dir, '{"port": 1,');
      assert.match(configError(() => loadConfig(dir, {}, {})), new RegExp(`^${file.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}: not valid JSON: `));
      await writeConfig(dir, '[1]');
      assert.equal(configError(() => loadConfig(dir, {}, {})), `${file}: must be a JSON object`);
      const badFile: [string, unknown, string][] = [['seedRatio', 0, RATIO], ['seedRatio', -0.5, RATIO], ['seedRatio', '1.5x', RATIO], ['seedTime', 0, MINUTES], ['seedTime', -1, MINUTES], ['seedTime', 'soon', MINUTES]];
      for (const [key, bad, message] of badFile) {
        await writeConfig(dir, { [key]: bad });
        assert.equal(configError(() => loadConfig(dir, {}, {})), `${file}: ${key}: ${message}`);
      }
      await writeConfig(dir, { logLevel: 3 });
      assert.equal(configError(() => loadConfig(dir, {}, {})), `${file}: logLevel: must be one of debug, info, warn, error`);
      await rm(file);
      await mkdir(file);
      assert.match(configError(() => loadConfig(dir, {}, {})), /config\.json: cannot read: /);
    });
  });
});

describe('parsePositiveNumber (--seed-ratio, --seed-time of node and get)', () => {
  test('plain decimals above 0, blanks around allowed; nothing else', () => {
    const good: [string, number][] = [['2', 2], ['1.5', 1.5], ['.5', 0.5], ['1.', 1], [' 90 ', 90], ['0.02', 0.02]];
    for (const [text, value] of good) assert.equal(parsePositiveNumber(text), value, text);
    for (const text of ['0', '0.0', '-1', '+1', '1e3', '0x10', 'Infinity', '1.5x', '', ' ', '.', 'lots']) assert.equal(parsePositiveNumber(text), undefined, text);
  });
});

describe('data directory', () => {
  test('Linux and others: XDG_DATA_HOME when absolute, else ~/.local/share', () => {
    assert.equal(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'linux', '/home/u'), '/xdg/warren');
    assert.equal(defaultDataDir({ XDG_DATA_HOME: 'relative/xdg' }, 'linux', '/home/u'), '/home/u/.local/share/warren');
    assert.equal(defaultDataDir({ XDG_DATA_HOME: '' }, 'freebsd', '/home/u'), '/home/u/.local/share/warren');
    assert.equal(defaultDataDir({}, 'linux', '/home/u'), '/home/u/.local/share/warren');
  });

  test('macOS and Windows', () => {
    assert.equal(defaultDataDir({ XDG_DATA_HOME: '/xdg' }, 'darwin', '/Users/u'), '/Users/u/Library/Application Support/warren');
    assert.equal(defaultDataDir({ LOCALAPPDATA: 'C:\\Users\\u\\AppData\\Local' }, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\warren');
    assert.equal(defaultDataDir({}, 'win32', 'C:\\Users\\u'), 'C:\\Users\\u\\AppData\\Local\\warren');
  });

  test('flag, then WARREN_DATA_DIR, then the default; always absolute', () => {
    const env = { WARREN_DATA_DIR: '/from/env', XDG_DATA_HOME: '/xdg' };
    assert.equal(resolveDataDir('/from/flag', env), '/from/flag');
    assert.equal(resolveDataDir('rel', env), resolve('rel'));
    assert.equal(resolveDataDir(undefined, env), '/from/env');
    assert.equal(resolveDataDir('', { WARREN_DATA_DIR: 'envrel' }), resolve('envrel'));
    assert.equal(resolveDataDir(undefined, { XDG_DATA_HOME: '/xdg' }), process.platform === 'linux' ? '/xdg/warren' : defaultDataDir({ XDG_DATA_HOME: '/xdg' }));
  });
});
