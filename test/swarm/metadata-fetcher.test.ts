/** BEP 9 metadata from peers is accepted only when it hashes to the torrent's infohash (v1, or v2 truncated or whole). */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { MetadataFetcher } from '../../src/swarm/metadata-fetcher.js';

/** Offers `info` to a new fetcher in 16 KiB pieces; the result of the last piece. */
function fetch(info: Uint8Array, infoHash: Uint8Array, infoHashV2?: Uint8Array): Uint8Array | 'bad' | undefined {
  const fetcher = new MetadataFetcher(infoHash, () => 0, infoHashV2);
  assert.ok(fetcher.offerSize(info.length));
  let result: Uint8Array | 'bad' | undefined;
  for (let piece = 0; piece * 16384 < info.length; piece++) result = fetcher.receive(piece, info.length, info.subarray(piece * 16384, (piece + 1) * 16384));
  return result;
}

test('metadata matches by SHA-1, by truncated SHA-256, and by the whole SHA-256 when the magnet gives it', () => {
  const info = randomBytes(40_000);
  const other = randomBytes(40_000);
  const sha1 = createHash('sha1').update(info).digest();
  const sha256 = createHash('sha256').update(info).digest();
  assert.ok(fetch(info, sha1) instanceof Uint8Array, 'v1');
  assert.ok(fetch(info, sha256.subarray(0, 20)) instanceof Uint8Array, 'v2, truncated');
  assert.ok(fetch(info, sha256.subarray(0, 20), sha256) instanceof Uint8Array, 'v2, whole');
  assert.ok(fetch(info, sha1, sha256) instanceof Uint8Array, 'hybrid: btih and btmh');
  assert.equal(fetch(other, sha1), 'bad');
  assert.equal(fetch(other, sha256.subarray(0, 20)), 'bad');
  // Agreeing with the truncated hash is not enough when the whole one is known and differs.
  const wrongTail = Buffer.from(sha256);
  wrongTail[31] ^= 1;
  assert.equal(fetch(info, sha256.subarray(0, 20), wrongTail), 'bad');
  assert.equal(fetch(info, sha1, wrongTail), 'bad');
});
