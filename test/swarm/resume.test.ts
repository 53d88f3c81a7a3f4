import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import type { InfoDict } from '../../src/codec/metainfo.js';
import { MemoryFileStore } from '../../src/runtime/memory-file-store.js';
import { createTorrent } from '../../src/swarm/create-torrent.js';
import { decodePieceLayers, decodeResume, encodePieceLayers, encodeResume, fileResumeStore, hasPiece, loadResume, saveResume, trustedPieces, withPieceLayers, type ResumeData } from '../../src/swarm/resume.js';
import { TorrentStorage } from '../../src/swarm/storage.js';

const PIECE = 16 * 1024;

/** A BEP 3 bitfield with the given pieces set. */
function bitfield(pieceCount: number, had: number[]): Uint8Array {
  const bits = new Uint8Array(Math.ceil(pieceCount / 8));
  for (const p of had) bits[p >>> 3]! |= 0x80 >>> (p & 7);
  return bits;
}

const sorted = (set: Set<number>): number[] => [...set].sort((a, b) => a - b);

/** Three files of 20000, 0 and 30000 bytes (pieces 0..1 | none | 1..3) on a memory disk. */
async function torrent(): Promise<{ fs: MemoryFileStore; info: InfoDict; infoHash: string; storage: TorrentStorage }> {
  const fs = new MemoryFileStore();
  await fs.mkdir('/src/t');
  await fs.writeFile('/src/t/a', new Uint8Array(20000).fill(1));
  await fs.writeFile('/src/t/b-empty', new Uint8Array(0));
  await fs.writeFile('/src/t/c', new Uint8Array(30000).fill(2));
  const created = await createTorrent(fs, '/src/t', { pieceLength: PIECE });
  return { fs, info: created.info, infoHash: Buffer.from(created.infoHash).toString('hex'), storage: new TorrentStorage(fs, created.info, '/src') };
}

describe('resume data', () => {
  test('save then load round-trips; the bit order is BEP 3', async () => {
    const fs = new MemoryFileStore();
    const data: ResumeData = {
      infoHash: 'ab'.repeat(20),
      pieceCount: 10,
      have: bitfield(10, [0, 3, 9]),
      files: [{ size: 5, mtimeMs: 1700000000123.456 }, null],
    };
    assert.deepEqual([...data.have], [0b10010000, 0b01000000]);
    await saveResume(fs, '/r.json', data);
    const loaded = await loadResume(fs, '/r.json');
    assert.deepEqual(loaded, data);
    assert.equal(hasPiece(loaded!.have, 3), true);
    assert.equal(hasPiece(loaded!.have, 4), false);
    assert.equal(hasPiece(loaded!.have, 80), false);
    assert.equal(await loadResume(fs, '/missing.json'), undefined);
    await assert.rejects(saveResume(fs, '/bad.json', { ...data, have: new Uint8Array(1) }), RangeError);
  });

  test('damaged records load as undefined, never throw', async () => {
    const fs = new MemoryFileStore();
    const good = { version: 1, infoHash: 'ab'.repeat(20), pieceCount: 9, have: 'gAA=', files: [null] };
    const variants: unknown[] = [
      good,
      { ...good, version: 2 },
      { ...good, infoHash: 'xyz' },
      { ...good, pieceCount: -1 },
      { ...good, pieceCount: 1.5 },
      { ...good, have: 'gA==' }, // 1 byte for 9 pieces
      { ...good, have: '!!!' },
      { ...good, files: [{ size: -1, mtimeMs: 0 }] },
      { ...good, files: [{ size: 1 }] },
      { ...good, files: 'no' },
      [1, 2],
      null,
      42,
    ];
    const results: (ResumeData | undefined)[] = [];
    for (const v of variants) {
      await fs.writeFile('/r', new TextEncoder().encode(JSON.stringify(v)));
      results.push(await loadResume(fs, '/r'));
    }
    assert.notEqual(results[0], undefined);
    assert.deepEqual(results.slice(1), new Array(variants.length - 1).fill(undefined));
    for (const raw of ['', '{', '{"version":1', '\u0000\u0001', 'null']) {
      await fs.writeFile('/r', new TextEncoder().encode(raw));
      assert.equal(await loadResume(fs, '/r'), undefined, JSON.stringify(raw));
    }
    await fs.writeFile('/r', new Uint8Array([0xff, 0xfe, 0x7b])); // not UTF-8
    assert.equal(await loadResume(fs, '/r'), undefined);
  });
});

describe('resume data: v2 piece layers', () => {
  const layerA = Uint8Array.from({ length: 3 * 32 }, (_, i) => (i * 7) & 0xff);
  const layerB = Uint8Array.from({ length: 32 }, (_, i) => 255 - i);
  const base: ResumeData = { infoHash: 'cd'.repeat(20), pieceCount: 3, have: bitfield(3, [1]), files: [{ size: 40000, mtimeMs: 5 }] };

  test('the layers record round-trips by root hex, byte for byte', () => {
    const layers = new Map([['0a'.repeat(32), layerA], ['f1'.repeat(32), layerB]]);
    const decoded = decodePieceLayers(encodePieceLayers('CD'.repeat(20), layers));
    assert.deepEqual(decoded, { infoHash: 'cd'.repeat(20), layers });
    assert.ok(decoded!.layers.get('0a'.repeat(32)) instanceof Uint8Array);
    // A view into a larger buffer is saved as its own bytes only.
    const view = new Uint8Array(200).fill(9).subarray(8, 8 + 64);
    const fromView = decodePieceLayers(encodePieceLayers(base.infoHash, new Map([['00'.repeat(32), view]])));
    assert.deepEqual(fromView!.layers, new Map([['00'.repeat(32), new Uint8Array(64).fill(9)]]));
  });

  test('the resume record never carries layers; an older record that does still loads them', () => {
    const withLayers = { ...base, pieceLayers: new Map([['0a'.repeat(32), layerA]]) };
    const encoded = encodeResume(withLayers);
    assert.equal(new TextDecoder().decode(encoded).includes('pieceLayers'), false);
    assert.equal('pieceLayers' in decodeResume(encoded)!, false);
    const older = { version: 1, infoHash: base.infoHash, pieceCount: 3, have: 'QA==', files: [null], pieceLayers: { ['0a'.repeat(32)]: Buffer.from(layerA).toString('base64') } };
    assert.deepEqual(decodeResume(new TextEncoder().encode(JSON.stringify(older)))?.pieceLayers, withLayers.pieceLayers);
  });

  test('withPieceLayers adds the layers of the same torrent only, and keeps the record when they are damaged', () => {
    const record: ResumeData = { ...base, pieceLayers: new Map([['0a'.repeat(32), layerA]]) };
    const more = encodePieceLayers(base.infoHash, new Map([['f1'.repeat(32), layerB]]));
    assert.deepEqual(withPieceLayers(record, more)?.pieceLayers, new Map([['0a'.repeat(32), layerA], ['f1'.repeat(32), layerB]]));
    assert.equal(withPieceLayers(record, encodePieceLayers('ab'.repeat(20), new Map([['f1'.repeat(32), layerB]]))), record, 'another torrent');
    assert.equal(withPieceLayers(record, new Uint8Array([0x7b, 0x7d])), record, 'damaged');
    assert.equal(withPieceLayers(record, undefined), record);
    assert.equal(withPieceLayers(undefined, more), undefined, 'layers without a record are not a record');
  });

  test('the file store keeps the layers in a file of their own, written only by saveLayers', async () => {
    const fs = new MemoryFileStore();
    const store = fileResumeStore(fs, '/state/resume');
    const layers = new Map([['0a'.repeat(32), layerA]]);
    await store.save(base);
    await store.saveLayers(base.infoHash, layers);
    assert.deepEqual(await store.load(base.infoHash), { ...base, pieceLayers: layers });
    const layerFile = await fs.readFile(`/state/resume/${base.infoHash}.layers.json`);
    await store.save({ ...base, have: bitfield(3, [0, 1]) });
    assert.deepEqual(await fs.readFile(`/state/resume/${base.infoHash}.layers.json`), layerFile, 'a record save leaves the layers alone');
    assert.deepEqual((await store.load(base.infoHash))?.have, bitfield(3, [0, 1]));
    await fs.writeFile(`/state/resume/${base.infoHash}.layers.json`, new Uint8Array([1, 2, 3]));
    assert.deepEqual(await store.load(base.infoHash), { ...base, have: bitfield(3, [0, 1]) }, 'damaged layers: the record alone');
  });

  test('malformed layers make the whole record unusable', () => {
    const good = { version: 1, infoHash: 'cd'.repeat(20), pieceCount: 3, have: 'QA==', files: [null] };
    const b64 = (n: number) => Buffer.from(new Uint8Array(n).fill(3)).toString('base64');
    const key = 'ab'.repeat(32);
    const variants: [string, unknown][] = [
      ['a key of 63 hex digits', { ['a'.repeat(63)]: b64(32) }],
      ['a key of 65 hex digits', { ['a'.repeat(65)]: b64(32) }],
      ['a key that is not hex', { ['g'.repeat(64)]: b64(32) }],
      ['a value that is not base64', { [key]: '!!!!' }],
      ['an empty value', { [key]: '' }],
      ['a value that is a number', { [key]: 32 }],
      ['a value that is bytes as an array', { [key]: [1, 2, 3] }],
      ['31 bytes', { [key]: b64(31) }],
      ['33 bytes', { [key]: b64(33) }],
      ['65 bytes', { [key]: b64(65) }],
      ['one good, one bad', { [key]: b64(64), ['cd'.repeat(32)]: b64(40) }],
      ['an array', [b64(32)]],
      ['a string', b64(32)],
      ['a number', 5],
      ['null', null],
      ['true', true],
    ];
    const decode = (pieceLayers: unknown) => decodeResume(new TextEncoder().encode(JSON.stringify({ ...good, pieceLayers })));
    const control = decode({ [key]: b64(64) });
    assert.deepEqual(control?.pieceLayers, new Map([[key, new Uint8Array(64).fill(3)]]), 'the control decodes');
    for (const [what, pieceLayers] of variants) assert.equal(decode(pieceLayers), undefined, what);
    // The layers record of their own refuses the same, and a bad header.
    const record = (fields: Record<string, unknown>) => new TextEncoder().encode(JSON.stringify({ version: 1, infoHash: 'cd'.repeat(20), ...fields }));
    assert.deepEqual(decodePieceLayers(record({ pieceLayers: { [key]: b64(64) } }))?.layers, control?.pieceLayers, 'the control decodes');
    for (const [what, pieceLayers] of variants) assert.equal(decodePieceLayers(record({ pieceLayers })), undefined, what);
    for (const [what, fields] of [
      ['no layers', {}],
      ['version 2', { version: 2, pieceLayers: {} }],
      ['a short infohash', { infoHash: 'cd'.repeat(19), pieceLayers: {} }],
      ['an upper-case infohash', { infoHash: 'CD'.repeat(20), pieceLayers: {} }],
    ] as const) assert.equal(decodePieceLayers(record(fields)), undefined, what);
    for (const bytes of [new Uint8Array(0), new Uint8Array([0xff, 0xfe]), new TextEncoder().encode('null'), new TextEncoder().encode('[1]')]) {
      assert.equal(decodePieceLayers(bytes), undefined);
    }
  });
});

describe('trustedPieces', () => {
  test('following the protocol, everything had is trusted until a file changes', async () => {
    const { fs, info, infoHash, storage } = await torrent();
    assert.equal(info.pieceCount, 4);
    // The protocol: snapshot the have-set, sync, stat, save.
    const have = bitfield(info.pieceCount, [0, 1, 3]);
    await storage.sync();
    const stamps = await storage.fileStats();
    await saveResume(fs, '/resume', { infoHash, pieceCount: info.pieceCount, have, files: stamps.map((s) => s ?? null) });

    const saved = (await loadResume(fs, '/resume'))!;
    let result = trustedPieces(saved, info, await storage.fileStats());
    assert.deepEqual(sorted(result.trusted), [0, 1, 3]);
    assert.deepEqual(sorted(result.recheck), []);

    // File c (pieces 1..3) is touched after the save: its had pieces must be re-hashed, and so
    // must piece 2, which may have been completed after the save.
    fs.setMtime('/src/t/c', stamps[2]!.mtimeMs + 1);
    result = trustedPieces(saved, info, await storage.fileStats());
    assert.deepEqual(sorted(result.trusted), [0]);
    assert.deepEqual(sorted(result.recheck), [1, 2, 3]);

    // A changed size (same mtime) is a change too; so is a vanished file.
    fs.setMtime('/src/t/c', stamps[2]!.mtimeMs);
    await fs.truncate('/src/t/a', 19999);
    fs.setMtime('/src/t/a', stamps[0]!.mtimeMs);
    result = trustedPieces(saved, info, await storage.fileStats());
    assert.deepEqual(sorted(result.trusted), [3]);
    assert.deepEqual(sorted(result.recheck), [0, 1]);
    await fs.remove('/src/t/c');
    result = trustedPieces(saved, info, await storage.fileStats());
    assert.deepEqual(sorted(result.trusted), []);
    assert.deepEqual(sorted(result.recheck), [0, 1, 3]);
  });

  test('our own writes after the save change the mtime, so those pieces are rechecked', async () => {
    const { info, infoHash, storage } = await torrent();
    const stamps = await storage.fileStats();
    const saved: ResumeData = { infoHash, pieceCount: 4, have: bitfield(4, [0, 2]), files: stamps.map((s) => s ?? null) };
    // Piece 3 lies in file c only; writing it after the save taints the pieces of c (1, 2 and the
    // newly written 3, which the record does not list) but not piece 0.
    await storage.writePiece(3, (await storage.readPiece(3)).slice());
    const result = trustedPieces(saved, info, await storage.fileStats());
    assert.deepEqual(sorted(result.trusted), [0]);
    assert.deepEqual(sorted(result.recheck), [1, 2, 3]);
    await storage.close();
  });

  test('a record of another shape or a file missing at save time: every had piece is rechecked', async () => {
    const { info, storage } = await torrent();
    const now = await storage.fileStats();
    const files = now.map((s) => s ?? null);
    const wrongCount: ResumeData = { infoHash: '00'.repeat(20), pieceCount: 5, have: bitfield(5, [0, 4]), files };
    let result = trustedPieces(wrongCount, info, now);
    assert.deepEqual([sorted(result.trusted), sorted(result.recheck)], [[], [0]]);

    const missingThen: ResumeData = { infoHash: '00'.repeat(20), pieceCount: 4, have: bitfield(4, [0, 3]), files: [files[0]!, null, null] };
    result = trustedPieces(missingThen, info, now);
    // c appeared after the save: its had piece 3 and its unlisted pieces 1 and 2 are hashed.
    assert.deepEqual([sorted(result.trusted), sorted(result.recheck)], [[0], [1, 2, 3]]);
    // The empty file (index 1) lies in no piece: its stamp does not matter.
    const emptyChanged: ResumeData = { ...missingThen, files: [files[0]!, { size: 0, mtimeMs: -5 }, files[2]!] };
    result = trustedPieces(emptyChanged, info, now);
    assert.deepEqual([sorted(result.trusted), sorted(result.recheck)], [[0, 3], []]);
  });
});
