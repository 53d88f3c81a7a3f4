/** Helpers shared by the metainfo tests (v1 and v2). */
import assert from 'node:assert/strict';
import { bencode, type BEncodable } from '../../src/codec/bencode.js';
import { MetainfoError, parseMetainfo } from '../../src/codec/metainfo.js';

export type Dict = { [key: string]: BEncodable | undefined };

/** A .torrent with `info` and the outer fields `outer`. */
export const torrent = (info: BEncodable, outer: Dict = {}): Uint8Array => bencode({ ...outer, info });

/** Asserts that parsing `bytes` throws a `MetainfoError` whose message matches `pattern`. */
export function assertMetainfoError(bytes: Uint8Array, pattern: RegExp): void {
  assert.throws(
    () => parseMetainfo(bytes),
    (err: unknown) => {
      assert.ok(err instanceof MetainfoError, `expected MetainfoError, got ${String(err)}`);
      assert.match(err.message, pattern);
      assert.equal(err.code, 'METAINFO_ERROR');
      return true;
    },
  );
}
