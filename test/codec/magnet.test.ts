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
      { host: '::1', port: 6881 },
      { host: '127.0.0.1', port: 51413 },
    ]);
    assert.deepEqual(m.webSeeds, ['http://seed.example/f']);
  });

  test('IPv6 x.pe peers (BEP 7): bracketed, canonicalized, percent-encoded or not; anything else skipped', () => {
    const good = [
      ['[FD57:0:0:0:0:0:0:1]:6881', 'fd57::1', 6881],
      ['%5B2001%3Adb8%3A%3A2%5D%3A51413', '2001:db8::2', 51413],
      ['[::ffff:1.2.3.4]:1', '::ffff:1.2.3.4', 1],
      ['[::]:65535', '::', 65535],
    ] as const;
    const bad = [
      'fd57::1:6881', '[fd57::1]', '[fd57::1]:', '[fd57::1]:0', '[fd57::1]:65536', '[fd57::1]:123456', '[fd57::1]6881',
      '[fd57::1%25eth0]:1', '[fd57:::1]:1', '[1.2.3.4]:1', '[fd57::1]:+1', '[fd57::1]:1:2', '[[fd57::1]]:1', '[]:1', '[' + 'a'.repeat(5000) + ']:1',
    ];
    const uri = `magnet:?xt=urn:btih:${HEX}` + [...good.map(([t]) => t), ...bad].map((t) => `&x.pe=${t}`).join('');
    assert.deepEqual(parseMagnet(uri).peers, good.map(([, host, port]) => ({ host, port })));
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
    assert.deepEqual(m.infoHashV2, new Uint8Array(32).fill(0xab));
    assert.deepEqual(m.trackers, ['http://a/', 'http://b/']);
  });

  test('the first btih wins; UTF-8 names decode', () => {
    const other = '00'.repeat(20);
    const m = parseMagnet(`magnet:?dn=caf%C3%A9&xt=urn:btih:${HEX}&xt=urn:btih:${other}`);
    assert.deepEqual(m.infoHash, HASH);
    assert.equal(m.name, 'café');
  });

  test('errors name what is wrong', () => {
    assertMagnetError('magnet:?dn=foo&tr=http://t/', /^magnet: no xt=urn:btih: or xt=urn:btmh: parameter$/);
    assertMagnetError('magnet:?xt=urn:sha1:abc', /no xt=urn:btih: or xt=urn:btmh: parameter/);
    assertMagnetError('magnet:?', /no xt=urn:btih: or xt=urn:btmh: parameter/);
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

/** libtorrent 2.0.8's `make_magnet_uri` for a v2-only and a hybrid torrent of one file, b.bin. */
const LT_V2_HEX = 'c75111a19952474333a727fbb39b903ebaf1be0a15443d01724ad41db55bee86';
const LT_V2_MAGNET = `magnet:?xt=urn:btmh:1220${LT_V2_HEX}&dn=b.bin`;
const LT_HYBRID_V1_HEX = '49907f481d878ada1cc812cb444e8075c2d4d9b1';
const LT_HYBRID_V2_HEX = '8302d6fd1831975a7f1aa4ee0c8aab43d02e63f9e7d0181cab35a367d0f179b0';
const LT_HYBRID_MAGNET = `magnet:?xt=urn:btih:${LT_HYBRID_V1_HEX}&xt=urn:btmh:1220${LT_HYBRID_V2_HEX}&dn=b.bin`;
const fromHex = (h: string): Uint8Array => Uint8Array.from(h.match(/../g) ?? [], (b) => parseInt(b, 16));

describe('BEP 52 v2 infohashes (urn:btmh:)', () => {
  test('v2-only: infoHash is the first 20 bytes of the v2 hash', () => {
    const m = parseMagnet(LT_V2_MAGNET);
    assert.deepEqual(m.infoHashV2, fromHex(LT_V2_HEX));
    assert.deepEqual(m.infoHash, fromHex(LT_V2_HEX.slice(0, 40)));
    assert.equal(m.name, 'b.bin');
    assert.notEqual(m.infoHash.buffer, m.infoHashV2?.buffer, 'infoHash is its own copy');
  });

  test('hybrid: infoHash is the btih, infoHashV2 the btmh, in either order', () => {
    for (const uri of [LT_HYBRID_MAGNET, `magnet:?xt.1=urn:btmh:1220${LT_HYBRID_V2_HEX.toUpperCase()}&xt.2=urn:btih:${LT_HYBRID_V1_HEX}`]) {
      const m = parseMagnet(uri);
      assert.deepEqual(m.infoHash, fromHex(LT_HYBRID_V1_HEX));
      assert.deepEqual(m.infoHashV2, fromHex(LT_HYBRID_V2_HEX));
    }
  });

  test('v1 links have no infoHashV2', () => {
    assert.equal('infoHashV2' in parseMagnet(`magnet:?xt=urn:btih:${HEX}`), false);
  });

  test('the first btmh wins; later ones are not read', () => {
    const m = parseMagnet(`magnet:?xt=urn:btmh:1220${LT_V2_HEX}&xt=urn:btmh:1220${'00'.repeat(32)}&xt=urn:btmh:zz`);
    assert.deepEqual(m.infoHashV2, fromHex(LT_V2_HEX));
  });

  test('anything but a sha2-256 multihash of 32 bytes is refused, naming why', () => {
    const digest = 'ab'.repeat(32);
    assertMagnetError(`magnet:?xt=urn:btmh:1114${'ab'.repeat(20)}`, /unsupported multihash "1114ab.*" in urn:btmh: function 0x11 \(only 0x12, sha2-256\)/);
    assertMagnetError(`magnet:?xt=urn:btmh:0020${digest}`, /unsupported multihash .* function 0x00/);
    assertMagnetError(`magnet:?xt=urn:btmh:121f${digest.slice(2)}`, /unsupported multihash .* sha2-256 digest length must be 0x20/);
    assertMagnetError(`magnet:?xt=urn:btmh:1220${digest.slice(2)}`, /unsupported multihash .* digest of 31 bytes \(must be 32\)/);
    assertMagnetError(`magnet:?xt=urn:btmh:1220${digest}00`, /digest of 33 bytes/);
    assertMagnetError('magnet:?xt=urn:btmh:1220', /digest of 0 bytes/);
    assertMagnetError(`magnet:?xt=urn:btmh:1220${digest}0`, /unsupported multihash .* \(not hex\)/);
    assertMagnetError(`magnet:?xt=urn:btmh:1220${'zz'.repeat(32)}`, /\(not hex\)/);
    assertMagnetError('magnet:?xt=urn:btmh:', /unsupported multihash "" in urn:btmh: \(not hex\)/);
    assertMagnetError(`magnet:?xt=urn:btmh:${'12'.repeat(60000)}`, /unsupported multihash "1212.{76}\.\.\." in urn:btmh:/);
    // A bad btmh spoils a hybrid link too: it is not silently dropped.
    assertMagnetError(`magnet:?xt=urn:btih:${HEX}&xt=urn:btmh:1114${'ab'.repeat(20)}`, /unsupported multihash/);
  });

  test('mutated v2 and hybrid links: a v2 hash of 32 bytes or MagnetError, nothing else', () => {
    const rng = new Mulberry32(52);
    const alphabet = '0123456789abcdefABXZ:&%=.#+ \u00e9';
    let parsed = 0;
    for (let i = 0; i < 3000; i++) {
      const chars = [...(i % 2 === 0 ? LT_V2_MAGNET : LT_HYBRID_MAGNET)];
      for (let e = 1 + (rng.nextUint32() % 3); e > 0; e--) {
        const at = rng.nextUint32() % chars.length;
        const c = alphabet[rng.nextUint32() % alphabet.length];
        const kind = rng.nextUint32() % 3;
        if (kind === 0) chars.splice(at, 1);
        else if (kind === 1) chars.splice(at, 0, c);
        else chars[at] = c;
      }
      const s = chars.join('');
      try {
        const m = parseMagnet(s);
        assert.equal(m.infoHash.length, 20);
        if (m.infoHashV2 !== undefined) assert.equal(m.infoHashV2.length, 32);
        parsed++;
      } catch (err) {
        assert.ok(err instanceof MagnetError, `${JSON.stringify(s)}: ${String(err)}`);
      }
    }
    assert.ok(parsed > 300 && parsed < 2700, `parsed ${parsed}`);
  });

  test('encode: v2-only and hybrid links are libtorrent\'s, and parse back', () => {
    const v2 = fromHex(LT_V2_HEX);
    const v2Only = { infoHash: v2.slice(0, 20), infoHashV2: v2, name: 'b.bin' };
    assert.equal(encodeMagnet(v2Only), LT_V2_MAGNET);
    const hybrid = { infoHash: fromHex(LT_HYBRID_V1_HEX), infoHashV2: fromHex(LT_HYBRID_V2_HEX), name: 'b.bin' };
    assert.equal(encodeMagnet(hybrid), LT_HYBRID_MAGNET);
    for (const input of [v2Only, hybrid]) assert.deepEqual(parseMagnet(encodeMagnet(input)), { ...input, trackers: [], peers: [], webSeeds: [] });
    const full = { ...hybrid, trackers: ['udp://t/'], peers: [{ host: '1.2.3.4', port: 5 }], webSeeds: ['http://w/'] };
    assert.deepEqual(parseMagnet(encodeMagnet(full)), full);
  });

  test('encode rejects a v2 hash that is not 32 bytes', () => {
    assert.throws(() => encodeMagnet({ infoHash: HASH, infoHashV2: new Uint8Array(20) }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: HASH, infoHashV2: new Uint8Array(33) }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: new Uint8Array(32), infoHashV2: new Uint8Array(32) }), TypeError);
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

  test('IPv6 peers are written in brackets and parse back', () => {
    const peers = [{ host: 'fd57::1', port: 6881 }, { host: '10.0.0.1', port: 1 }, { host: '2001:db8::a:b', port: 65535 }];
    const uri = encodeMagnet({ infoHash: HASH, peers });
    assert.equal(uri, `magnet:?xt=urn:btih:${HEX}&x.pe=[fd57::1]:6881&x.pe=10.0.0.1:1&x.pe=[2001:db8::a:b]:65535`);
    assert.deepEqual(parseMagnet(uri).peers, peers);
  });

  test('rejects a bad hash or peer with TypeError', () => {
    assert.throws(() => encodeMagnet({ infoHash: new Uint8Array(19) }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: HASH, peers: [{ host: 'example.com', port: 1 }] }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: HASH, peers: [{ host: 'fd57::1::2', port: 1 }] }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: HASH, peers: [{ host: 'fd57::1', port: 0 }] }), TypeError);
    assert.throws(() => encodeMagnet({ infoHash: HASH, peers: [{ host: '1.2.3.4', port: 70000 }] }), TypeError);
  });
});
