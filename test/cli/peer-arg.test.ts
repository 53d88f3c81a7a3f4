/** `--peer` and `--host` values (BEP 7): IPv6 in brackets for a peer, canonical spellings, one-line exit-2 errors. */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { CliError } from '../../src/cli/errors.js';
import { parseHost, parsePeerArg } from '../../src/cli/options.js';

test('--peer takes host:port and [IPv6]:port, IP hosts spelled canonically', () => {
  assert.deepEqual(parsePeerArg('10.0.0.5:6881'), { host: '10.0.0.5', port: 6881 });
  assert.deepEqual(parsePeerArg('[::1]:6881'), { host: '::1', port: 6881 });
  assert.deepEqual(parsePeerArg('[FD57:0:0::1]:1'), { host: 'fd57::1', port: 1 });
  assert.deepEqual(parsePeerArg('[::ffff:10.0.0.5]:65535'), { host: '10.0.0.5', port: 65535 });
  assert.deepEqual(parsePeerArg('seed.example.org:51413'), { host: 'seed.example.org', port: 51413 });
  const bad: [string, string][] = [
    ['fd57::1:6881', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
    ['[fd57::1]', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
    ['[fd57::1]x:1', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
    [':6881', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
    ['[fd57::1]:', 'port must be 1-65535'],
    ['[fd57::1]:0', 'port must be 1-65535'],
    ['[fd57::1]:070000', 'port must be 1-65535'],
    ['[1.2.3.4]:1', '"1.2.3.4" is not an IPv6 address'],
    ['[fd57::1%lo]:1', '"fd57::1%lo" is not an IPv6 address'],
    ['a b:1', '"a b" is not an IPv4 address or host name'],
  ];
  for (const [text, reason] of bad) {
    assert.throws(() => parsePeerArg(text), (e: unknown) => e instanceof CliError && e.exitCode === 2 && e.message === `bad --peer "${text}": ${reason}`, text);
  }
});

test('--host takes an IPv4 or IPv6 address without brackets', () => {
  assert.equal(parseHost('127.0.0.1'), '127.0.0.1');
  assert.equal(parseHost('FD57::0:2'), 'fd57::2');
  assert.equal(parseHost('::'), '::');
  for (const bad of ['[::1]', 'localhost6', '1.2.3', 'fd57::1::2']) assert.throws(() => parseHost(bad), CliError, bad);
});
