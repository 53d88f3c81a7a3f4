import { test, describe } from 'node:test';
import assert from 'node:assert/strict';
import { piecesOfFile, spansOf, type LayoutFile } from '../../src/swarm/file-layout.js';

/** Files of the given lengths, laid end to end. */
function layout(...lengths: number[]): LayoutFile[] {
  let offset = 0;
  return lengths.map((length) => {
    const f = { length, offset };
    offset += length;
    return f;
  });
}

/** Spans as compact tuples [fileIndex, fileOffset, length, bufferOffset]. */
function spans(files: LayoutFile[], offset: number, length: number): number[][] {
  return spansOf(files, offset, length).map((s) => [s.fileIndex, s.fileOffset, s.length, s.bufferOffset]);
}

describe('spansOf', () => {
  test('a range inside one file', () => {
    assert.deepEqual(spans(layout(100), 10, 20), [[0, 10, 20, 0]]);
  });

  test('a piece spanning several files, including a file smaller than the piece', () => {
    const files = layout(10, 3, 20); // offsets 0, 10, 13
    assert.deepEqual(spans(files, 8, 16), [
      [0, 8, 2, 0],
      [1, 0, 3, 2],
      [2, 0, 11, 5],
    ]);
    assert.deepEqual(spans(files, 0, 33), [
      [0, 0, 10, 0],
      [1, 0, 3, 10],
      [2, 0, 20, 13],
    ]);
  });

  test('a range starting exactly on a file boundary', () => {
    assert.deepEqual(spans(layout(10, 10, 10), 10, 10), [[1, 0, 10, 0]]);
    assert.deepEqual(spans(layout(10, 10, 10), 20, 5), [[2, 0, 5, 0]]);
  });

  test('zero-length files at the start, middle and end are skipped', () => {
    const files = layout(0, 0, 5, 0, 5, 0); // offsets 0,0,0,5,5,10
    assert.deepEqual(spans(files, 0, 10), [
      [2, 0, 5, 0],
      [4, 0, 5, 5],
    ]);
    assert.deepEqual(spans(files, 5, 5), [[4, 0, 5, 0]]);
    assert.deepEqual(spans(files, 3, 4), [
      [2, 3, 2, 0],
      [4, 0, 2, 2],
    ]);
    const total = spansOf(files, 0, 10).reduce((n, s) => n + s.length, 0);
    assert.equal(total, 10);
  });

  test('empty ranges, empty file lists and ranges past the end give only what exists', () => {
    assert.deepEqual(spans(layout(10), 3, 0), []);
    assert.deepEqual(spans([], 0, 5), []);
    assert.deepEqual(spans(layout(10), 8, 5), [[0, 8, 2, 0]]);
    assert.deepEqual(spans(layout(10), 20, 5), []);
  });

  test('many files: the binary search finds the right first file', () => {
    const files = layout(...Array.from({ length: 1000 }, (_, i) => (i % 3 === 0 ? 0 : 7)));
    const end = files[files.length - 1]!.offset + files[files.length - 1]!.length;
    for (let offset = 0; offset < end; offset += 37) {
      const length = Math.min(50, end - offset);
      const got = spansOf(files, offset, length);
      assert.equal(got.reduce((n, s) => n + s.length, 0), length);
      let expected = 0;
      for (const s of got) {
        assert.ok(s.length > 0);
        assert.equal(s.bufferOffset, expected);
        assert.equal(files[s.fileIndex]!.offset + s.fileOffset, offset + s.bufferOffset);
        expected += s.length;
      }
    }
  });
});

describe('piecesOfFile', () => {
  test('first and last piece of each file, zero-length files lie in no piece', () => {
    const info = { pieceLength: 16, files: layout(0, 10, 30, 0, 8, 0) }; // offsets 0,0,10,40,40,48
    assert.equal(piecesOfFile(info, 0), undefined);
    assert.deepEqual(piecesOfFile(info, 1), [0, 0]);
    assert.deepEqual(piecesOfFile(info, 2), [0, 2]); // bytes 10..39
    assert.equal(piecesOfFile(info, 3), undefined);
    assert.deepEqual(piecesOfFile(info, 4), [2, 2]); // bytes 40..47
    assert.equal(piecesOfFile(info, 5), undefined);
    assert.throws(() => piecesOfFile(info, 6), RangeError);
  });

  test('a file ending exactly on a piece boundary does not reach into the next piece', () => {
    const info = { pieceLength: 16, files: layout(32, 16) };
    assert.deepEqual(piecesOfFile(info, 0), [0, 1]);
    assert.deepEqual(piecesOfFile(info, 1), [2, 2]);
  });
});
