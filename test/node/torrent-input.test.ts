/** What the node takes as a torrent: bare infohashes (v1 and v2), magnet links, .torrent files (v1, v2, hybrid). */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { toHex } from '../../src/dht/types.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { NodeError } from '../../src/node/errors.js';
import { fromInfoHash, fromMagnet, fromTorrentFile, isInfoHashText } from '../../src/node/torrent-input.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';

const V2 = 'ab'.repeat(32);

describe('torrent input', () => {
  test('bare infohashes: 40 hex and 32 base32 (v1), 64 hex (v2: known to the swarm by its first 20 bytes)', () => {
    assert.equal(toHex(fromInfoHash('AB'.repeat(20)).infoHash), 'ab'.repeat(20));
    assert.equal(toHex(fromInfoHash('A'.repeat(32)).infoHash), '00'.repeat(20));
    const v2 = fromInfoHash(V2);
    assert.equal(toHex(v2.infoHash), 'ab'.repeat(20));
    assert.equal(toHex(v2.infoHashV2!), V2);
    for (const bad of ['ab'.repeat(19), 'ab'.repeat(21), 'ab'.repeat(33), 'zz'.repeat(20), '']) {
      assert.equal(isInfoHashText(bad), false, bad);
      assert.throws(() => fromInfoHash(bad), (e: unknown) => e instanceof NodeError && /40 or 64 hex/.test(e.message));
    }
  });

  test('a urn:btmh: magnet gives the truncated v2 hash as the id and keeps the whole one', () => {
    const input = fromMagnet(`magnet:?xt=urn:btmh:1220${V2}&dn=x`);
    assert.equal(toHex(input.infoHash), 'ab'.repeat(20));
    assert.equal(toHex(input.infoHashV2!), V2);
  });

  test('.torrent files: v1 by SHA-1; v2 by truncated SHA-256 with its piece layers; hybrid by SHA-1 with both hashes', async () => {
    const fs = new MemoryFileStore();
    await fs.writeFile('/big.bin', new Uint8Array(100_000).fill(9));
    for (const format of ['v1', 'v2', 'hybrid'] as const) {
      const made = await createTorrent(fs, '/big.bin', { pieceLength: 16384, format });
      const input = fromTorrentFile(made.bytes);
      const sha1 = createHash('sha1').update(made.infoBytes).digest('hex');
      const sha256 = createHash('sha256').update(made.infoBytes).digest('hex');
      assert.equal(toHex(input.infoHash), format === 'v2' ? sha256.slice(0, 40) : sha1, format);
      assert.equal(input.infoHashV2 && toHex(input.infoHashV2), format === 'v1' ? undefined : sha256, format);
      assert.equal(input.pieceLayers?.size, format === 'v1' ? undefined : 1, format);
    }
  });
});
