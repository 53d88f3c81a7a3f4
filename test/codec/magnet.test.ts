import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { base32Decode, base32Encode } from '../../src/codec/base32.js';
import { DecodeError } from '../../src/codec/errors.js';
import { encodeMagnet, MagnetError, parseMagnet } from '../../src/codec/magnet.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

const HEX = 'c12fe1c06bba254a9dc9f519b335aa7c1367a88a';
/** The same hash in base32, computed independently (Python's base64.b32encode). */
const B32 = 'YEX6DQDLXISUVHOJ6UM3GNNKPQJWPKEK';
const HASH = Uint8Array.from(HEX.match(/../g) ?? [], (h) => parseInt(h, 16));

function assertMagnetError(uri: string, pattern: RegExp): void {
  assert.throws(
    () => parseMagnet(uri),
    (err: unknown) => {
      assert.ok(err instanceof MagnetError, `expected MagnetError, got ${String(err)}`);
      assert.ok(err instanceof DecodeError);
      assert.equal(err.code, 'MAGNET_ERROR');
      assert.match(err.message, pattern);
      return true;
    },
  );
}

describe('base32', () => {
  test('RFC 4648 test vectors', () => {
    const vectors: [string, string][] = [
      ['', ''],
      ['f', 'MY======'],
      ['fo', 'MZXQ===='],
      ['foo', 'MZXW6==='],
      ['foob', 'MZXW6YQ='],
      ['fooba', 'MZXW6YTB'],
      ['foobar', 'MZXW6YTBOI======'],
    ];
    const enc = new TextEncoder();
    for (const [plain, encoded] of vectors) {
      assert.equal(base32Encode(enc.encode(plain)), encoded);
      assert.deepEqual(base32Decode(encoded), enc.encode(plain));
      assert.deepEqual(base32Decode(encoded.toLowerCase().replace(/=+$/, '')), enc.encode(plain));
    }
    assert.equal(base32Encode(enc.encode('foobar'), { padding: false }), 'MZXW6YTBOI');
  });

  test('a 20-byte hash', () => {
    assert.equal(base32Encode(HASH), B32);
    assert.deepEqual(base32Decode(B32), HASH);
    assert.deepEqual(base32Decode(B32.toLowerCase()), HASH);
  });

  test('round trips every length 0..40', () => {
    const rng = new Mulberry32(7);
    for (let n = 0; n <= 40; n++) {
      const bytes = Uint8Array.from({ length: n }, () => rng.nextUint32() & 0xff);
      assert.deepEqual(base32Decode(base32Encode(bytes)), bytes);
    }
  });

  test('rejects bad input with DecodeError', () => {
    for (const bad of ['M1======', 'MZXW6YT!', 'M', 'MZX', 'MZXW6Y', 'MY=', 'MZ======', 'MY==MY==', 'É']) {
      assert.throws(() => base32Decode(bad), DecodeError, bad);
    }
  });
});

describe('parseMagnet', () => {
  test('hex btih with name, trackers, peers, web seeds', () => {
    const m = parseMagnet(
      `magnet:?xt=urn:btih:${HEX.toUpperCase()}&dn=My%20File+Name.iso` +
        '&tr=udp%3A%2F%2Ftracker.example%3A1337%2Fannounce&tr=http://t2.example/announce' +
        '&x.pe=10.0.0.1:6881&x.pe=[::1]:6881&x.pe=example.com:80&x.pe=1.2.3.4:0&x.pe=1.2.3.400:1&x.pe=127.0.0.1%3A51413' +
        '&ws=http%3A%2F%2Fseed.example%2Ff&so=0-3&unknown=1',
    );
    assert.deepEqual(m.infoHash, HASH);
    assert.equal(m.name, 'My File Name.iso');
    assert.deepEqual(m.trackers, ['udp://tracker.example:1337/announce', 'http://t2.example/announce']);
    assert.deepEqual(m.peers, [
      { host: '10.0.0.1', port: 6881 },
      { host: '127.0.0.1', port: 51413 },
    ]);
    assert.deepEqual(m.webSeeds, ['http://seed.example/f']);
  });

  test('base32 btih, upper and lower case', () => {
    assert.deepEqual(parseMagnet(`magnet:?xt=urn:btih:${B32}`).infoHash, HASH);
    assert.deepEqual(parseMagnet(`MAGNET:?XT=URN:BTIH:${B32.toLowerCase()}`).infoHash, HASH);
  });

  test('minimal link: no name, empty lists', () => {
    const m = parseMagnet(`magnet:?xt=urn:btih:${HEX}`);
    assert.equal(m.name, undefined);
    assert.deepEqual([m.trackers, m.peers, m.webSeeds], [[], [], []]);
  });

  test('numbered parameters, duplicate trackers, a fragment, surrounding whitespace', () => {
    const m = parseMagnet(
      `  magnet:?xt.1=urn:btmh:1220${'ab'.repeat(32)}&xt.2=urn:btih:${HEX}&tr.1=http://a/&tr.2=http://a/&tr.3=http://b/#frag  `,
    );
    assert.deepEqual(m.infoHash, HASH);
    assert.deepEqual(m.trackers, ['http://a/', 'http://b/']);
  });

  test('the first btih wins; UTF-8 names decode', () => {
    const other = '00'.repeat(20);
    const m = parseMagnet(`magnet:?dn=caf%C3%A9&xt=urn:btih:${HEX}&xt=urn:btih:${other}`);
    assert.deepEqual(m.infoHash, HASH);
    assert.equal(m.name, 'café');
  });

  test('errors name what is wrong', () => {
    assertMagnetError('magnet:?dn=foo&tr=http://t/', /^magnet: no xt=urn:btih: parameter$/);
    assertMagnetError('magnet:?xt=urn:sha1:abc', /no xt=urn:btih: parameter/);
    assertMagnetError('magnet:?', /no xt=urn:btih: parameter/);
    assertMagnetError(`magnet:?xt=urn:btmh:1220${'ab'.repeat(32)}`, /v2-only magnet links .* not supported yet/);
    assertMagnetError(`magnet:?xt=urn:btih:${HEX.slice(1)}`, /btih must be 40 hex or 32 base32 characters/);
    assertMagnetError(`magnet:?xt=urn:btih:${HEX}00`, /btih must be 40 hex or 32 base32/);
    assertMagnetError(`magnet:?xt=urn:btih:${B32.slice(1)}`, /btih must be/);
    assertMagnetError(`magnet:?xt=urn:btih:${B32.slice(1)}1`, /btih must be/);
    assertMagnetError(`magnet:?xt=urn:btih:${'g'.repeat(40)}`, /btih must be/);
    assertMagnetError('magnet:?xt=urn:btih:', /btih must be/);
    assertMagnetError(`magnet:?xt=urn:btih:${HEX}&dn=%E0%A4%A`, /bad percent-encoding in "dn"/);
    assertMagnetError(`magnet:?xt=urn:btih:${HEX}&tr=%ZZ`, /bad percent-encoding in "tr"/);
    assertMagnetError(`http://example.com/?xt=urn:btih:${HEX}`, /not a magnet link/);
    assertMagnetError('', /not a magnet link/);
    assertMagnetError('magnet:' + 'x'.repeat(300_000), /exceeds limit/);
  });

  test('garbage never throws anything but MagnetError', () => {
    const rng = new Mulberry32(99);
    const alphabet = `magnet:?xt=urn:btih:&%+.#0123456789abcdefABCXYZ\u00e9\ud800 `;
    for (let i = 0; i < 3000; i++) {
      const len = rng.nextUint32() % 80;
      let s = i % 2 === 0 ? `magnet:?xt=urn:btih:${HEX}&` : '';
      for (let j = 0; j < len; j++) s += alphabet[rng.nextUint32() % alphabet.length];
      try {
        const m = parseMagnet(s);
        assert.equal(m.infoHash.length, 20);
      } catch (err) {
        assert.ok(err instanceof MagnetError, `${JSON.stringify(s)}: ${String(err)}`);
      }
    }
  });
});

describe('encodeMagnet', () => {
  test('round trip with percent-encoding', () => {
    const input = {
      infoHash: HASH,
      name: 'a name & more/ü+%',
      trackers: ['udp://t.example:80/announce?x=1&y=2', 'http://b/'],
      peers: [{ host: '192.168.1.2', port: 6881 }],
      webSeeds: ['http://w.example/a b'],
    };
    const uri = encodeMagnet(input);
    assert.match(uri, new RegExp(`^magnet:\\?xt=urn:btih:${HEX}&dn=`));
    assert.ok(!uri.includes(' ') && !uri.includes('ü'));
    assert.equal(uri.split('&').length, 6);
    assert.deepEqual(parseMagnet(uri), input);
  });

  test('minimal', () => {
    assert.equal(encodeMagnet({ infoHash: HASH }), `magnet:?xt=urn:btih:${HEX}`);
  });

  test('rejects a bad hash or peer with TypeError', () => {
    assert.throws(() => encodeMagnet({ infoHash: new Uint8Array(19) }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: HASH, peers: [{ host: '::1', port: 1 }] }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: HASH, peers: [{ host: '1.2.3.4', port: 70000 }] }), TypeError);
  });
});
