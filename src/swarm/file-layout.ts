/**
 * How a torrent's pieces lie on its files (BEP 3): the files are concatenated in metainfo order
 * and the result is cut into pieces, so a piece may span several files and a file several pieces.
 * Pure functions over the metainfo's file list; used by `TorrentStorage` and resume checks.
 * Piece indexes here are plain numbers (the callers hold `PieceIndex` values).
 */

/** The part of a metainfo file entry the layout needs (`InfoDict.files` entries fit). */
export interface LayoutFile {
  /** Bytes in the file. */
  readonly length: number;
  /** Byte offset of the file's first byte in the torrent's concatenated data. */
  readonly offset: number;
}

/** One contiguous run of a byte range that lies in a single file. */
export interface FileSpan {
  /** Index into the file list. */
  fileIndex: number;
  /** Where the run starts inside that file. */
  fileOffset: number;
  /** Bytes in the run (always > 0). */
  length: number;
  /** Where the run starts inside the caller's buffer for the whole range. */
  bufferOffset: number;
}

/** Index of the last file whose offset is ≤ `offset` (files sorted by offset). */
function fileAt(files: readonly LayoutFile[], offset: number): number {
  let lo = 0;
  let hi = files.length - 1;
  while (lo < hi) {
    const mid = (lo + hi + 1) >>> 1;
    if (files[mid]!.offset <= offset) lo = mid;
    else hi = mid - 1;
  }
  return lo;
}

/**
 * The file runs that make up torrent bytes [offset, offset + length), in order, skipping
 * zero-length files. A range past the end of the torrent yields only the spans that exist, so
 * callers must check the range first (the sum of span lengths equals `length` for a valid range).
 */
export function spansOf(files: readonly LayoutFile[], offset: number, length: number): FileSpan[] {
  const spans: FileSpan[] = [];
  if (length <= 0 || files.length === 0) return spans;
  const end = offset + length;
  for (let i = fileAt(files, offset); i < files.length; i++) {
    const file = files[i]!;
    if (file.offset >= end) break;
    const start = Math.max(offset, file.offset);
    const stop = Math.min(end, file.offset + file.length);
    if (stop <= start) continue; // zero-length file, or one that ends before the range
    spans.push({ fileIndex: i, fileOffset: start - file.offset, length: stop - start, bufferOffset: start - offset });
  }
  return spans;
}

/**
 * The first and last piece (inclusive) holding bytes of file `fileIndex`, or `undefined` for a
 * zero-length file, which lies in no piece.
 */
export function piecesOfFile(
  info: { readonly pieceLength: number; readonly files: readonly LayoutFile[] },
  fileIndex: number,
): [number, number] | undefined {
  const file = info.files[fileIndex];
  if (file === undefined) throw new RangeError(`no file ${fileIndex} (torrent has ${info.files.length})`);
  if (file.length === 0) return undefined;
  return [Math.floor(file.offset / info.pieceLength), Math.floor((file.offset + file.length - 1) / info.pieceLength)];
}
