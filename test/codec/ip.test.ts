import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { isIPv6 } from 'node:net';
import { canonicalIp, canonicalIpv6, formatHostPort, formatIpv6, ipFamily, isValidIpv4, isValidIpv6, isWildcardHost, parseIpv6, splitHostPort, tryParseHostPort } from '../../src/codec/ip.js';

describe('isValidIpv4', () => {
  test('accepts dotted quads', () => {
    for (const h of ['0.0.0.0', '127.0.0.1', '255.255.255.255', '10.20.30.40']) assert.ok(isValidIpv4(h), h);
  });
  test('rejects everything else', () => {
    for (const h of ['', '1.2.3', '1.2.3.4.5', '256.1.1.1', '01.2.3.4', '00.1.1.1', '1.2.3.-4', 'a.b.c.d', '::1', ' 1.2.3.4', '1.2.3.4 ', '1..3.4', '1.2.3.', '.1.2.3', '1.2.3.1000', '1234.1.1.1']) {
      assert.equal(isValidIpv4(h), false, h);
    }
  });
});

describe('IPv6 text', () => {
  test('parses every RFC 4291 form', () => {
    assert.deepEqual(parseIpv6('::'), new Uint8Array(16));
    assert.deepEqual(parseIpv6('::1'), Uint8Array.from([...new Array<number>(15).fill(0), 1]));
    assert.deepEqual(parseIpv6('1::'), Uint8Array.from([0, 1, ...new Array<number>(14).fill(0)]));
    assert.deepEqual(parseIpv6('2001:DB8:0:0:0:0:0:FFFF'), parseIpv6('2001:db8::ffff'));
    assert.deepEqual(parseIpv6('::ffff:1.2.3.4'), Uint8Array.from([...new Array<number>(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]));
    assert.deepEqual(parseIpv6('1:2:3:4:5:6:1.2.3.4'), parseIpv6('1:2:3:4:5:6:102:304'));
    assert.deepEqual(parseIpv6('1:2:3:4:5:6:7::'), parseIpv6('1:2:3:4:5:6:7:0'));
  });
  test('refuses what is not an address', () => {
    const bad = ['', ':', ':::', '1:::2', '1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'g::1', '[::1]', '::1%eth0', ' ::1', '::1 ',
      ':1::', '1::2:', '1.2.3.4', '::1.2.3', '::1.2.3.4:5', '1.2.3.4::', '1:2:3:4:5:6:7:8::', '::256.1.1.1', 'a'.repeat(46)];
    for (const h of bad) {
      assert.equal(parseIpv6(h), undefined, h);
      assert.equal(isValidIpv6(h), false, h);
    }
  });
  test('agrees with node:net on a few thousand random and edge addresses', () => {
    let seed = 7;
    const next = (): number => (seed = (seed * 1103515245 + 12345) >>> 0) >>> 16;
    for (let n = 0; n < 3000; n++) {
      const groups = Array.from({ length: 8 }, () => (next() % 3 === 0 ? 0 : next() % 0x10000).toString(16));
      const text = groups.join(':');
      assert.equal(isValidIpv6(text), isIPv6(text), text);
      const bytes = parseIpv6(text)!;
      // Spelled canonically, it parses to the same bytes and is a fixed point.
      const canonical = formatIpv6(bytes);
      assert.deepEqual(parseIpv6(canonical), bytes, canonical);
      assert.equal(canonicalIpv6(canonical), canonical);
      assert.ok(isIPv6(canonical), canonical);
    }
  });
  test('spells addresses as Node.js reports them (libuv inet_ntop)', () => {
    const cases: Array<[string, string]> = [
      ['0:0:0:0:0:0:0:0', '::'],
      ['0:0:0:0:0:0:0:1', '::1'],
      ['FD57:0:0:0:0:0:0:1', 'fd57::1'],
      ['2001:db8:0:1:0:0:0:1', '2001:db8:0:1::1'],
      ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'],
      ['2001:db8:1:2:3:4:5:0', '2001:db8:1:2:3:4:5:0'],
      ['0:0:0:0:0:ffff:0102:0304', '::ffff:1.2.3.4'],
      ['0:0:0:0:0:0:0102:0304', '::1.2.3.4'],
      ['1:0:1:0:1:0:1:0', '1:0:1:0:1:0:1:0'],
      ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
    ];
    for (const [input, want] of cases) assert.equal(canonicalIpv6(input), want, input);
  });
  test('formatIpv6 refuses a wrong length', () => {
    assert.throws(() => formatIpv6(new Uint8Array(4)), TypeError);
  });
});

describe('ipFamily, splitHostPort, formatHostPort', () => {
  test('ipFamily', () => {
    assert.equal(ipFamily('127.0.0.1'), 4);
    assert.equal(ipFamily('::1'), 6);
    assert.equal(ipFamily('localhost'), undefined);
    assert.equal(ipFamily('[::1]'), undefined);
  });
  test('splitHostPort takes brackets off IPv6 and refuses a bare IPv6 host', () => {
    assert.deepEqual(splitHostPort('127.0.0.1:6881'), { host: '127.0.0.1', port: '6881' });
    assert.deepEqual(splitHostPort('[::1]:6881'), { host: '::1', port: '6881' });
    assert.deepEqual(splitHostPort('router.example:1'), { host: 'router.example', port: '1' });
    for (const t of ['::1:6881', '[::1]6881', '[::1', 'nocolon']) assert.equal(splitHostPort(t), undefined, t);
  });
  test('tryParseHostPort: IPv4, host names and [IPv6] with a port 1-65535, IP hosts canonical, or why not', () => {
    assert.deepEqual(tryParseHostPort('10.0.0.5:6881'), { host: '10.0.0.5', port: 6881 });
    assert.deepEqual(tryParseHostPort('seed.example.org:51413'), { host: 'seed.example.org', port: 51413 });
    assert.deepEqual(tryParseHostPort('[FD57:0:0::1]:1'), { host: 'fd57::1', port: 1 });
    assert.deepEqual(tryParseHostPort('[::ffff:10.0.0.5]:65535'), { host: '10.0.0.5', port: 65535 });
    const bad: [string, string][] = [
      ['fd57::1:6881', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
      ['nocolon', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
      [':1', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
      ['1.2.3.4:0', 'port must be 1-65535'],
      ['1.2.3.4:65536', 'port must be 1-65535'],
      ['1.2.3.4:+1', 'port must be 1-65535'],
      ['[]:1', 'expected host:port, or [IPv6]:port such as [::1]:6881'],
      ['[1.2.3.4]:1', '"1.2.3.4" is not an IPv6 address'],
      ['[fe80::1%eth0]:1', '"fe80::1%eth0" is not an IPv6 address'],
      ['a_b:1', '"a_b" is not an IPv4 address or host name'],
    ];
    for (const [text, reason] of bad) assert.deepEqual(tryParseHostPort(text), { reason }, text);
  });
  test('isWildcardHost: 0.0.0.0 and :: only', () => {
    for (const host of ['0.0.0.0', '::']) assert.ok(isWildcardHost(host), host);
    for (const host of ['', '127.0.0.1', '::1', '[::]', 'localhost']) assert.ok(!isWildcardHost(host), host);
  });
  test('formatHostPort brackets IPv6', () => {
    assert.equal(formatHostPort('::1', 1), '[::1]:1');
    assert.equal(formatHostPort('1.2.3.4', 1), '1.2.3.4:1');
  });
});

describe('canonicalIp (how the swarm keys a peer)', () => {
  test('IPv4 as is, IPv6 canonical, IPv4-mapped IPv6 as its dotted quad, anything else undefined', () => {
    const cases: [string, string | undefined][] = [
      ['1.2.3.4', '1.2.3.4'],
      ['FD57:0:0::1', 'fd57::1'],
      ['::1', '::1'],
      ['::ffff:1.2.3.4', '1.2.3.4'],
      ['::FFFF:0102:0304', '1.2.3.4'],
      ['::1.2.3.4', '::1.2.3.4'],
      ['::fffe:1.2.3.4', '::fffe:102:304'],
      ['[::1]', undefined],
      ['fe80::1%eth0', undefined],
      ['example.com', undefined],
      ['01.2.3.4', undefined],
      ['', undefined],
      [':', undefined],
      ['1:2:3:4:5:6:7:8:9', undefined],
    ];
    for (const [text, expected] of cases) assert.equal(canonicalIp(text), expected, text);
  });
});
