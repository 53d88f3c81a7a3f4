/**
 * Bencode (BEP 3): the encoding under KRPC, metainfo and BEP 44 values.
 *
 * The decoder is the first thing that meets hostile bytes from the network: it is iterative
 * (no recursion, so deep nesting cannot overflow the JS stack), O(n) in the input length, never
 * allocates in proportion to a claimed length, and throws only `DecodeError`.
 */
import { DecodeError } from './errors.js';

/**
 * A decoded bencode value. Byte strings are `Uint8Array` views into the decoded buffer (see
 * `bdecode`); integers are safe JS integers.
 */
export type BValue = number | Uint8Array | BValue[] | BDict;

/**
 * A decoded bencode dictionary: a null-prototype object whose keys are latin1 ("binary")
 * strings, one char per key byte, so arbitrary key bytes survive a decode/encode round trip.
 */
export interface BDict {
  [key: string]: BValue;
}

/** Hard limits for `bdecode`. Anything over a limit is a `DecodeError`. */
export interface BdecodeLimits {
  /** Maximum nesting of lists/dicts (a top-level list is depth 1). Default 16. */
  maxDepth?: number;
  /** Maximum total number of list items plus dict entries. Default 4096. */
  maxElements?: number;
  /** Maximum input size in bytes. Default 65536. */
  maxBytes?: number;
}

/**
 * What `bencode` accepts. JS strings become UTF-8 byte strings; object and `Map` keys are latin1
 * strings (one char per byte, as `bdecode` produces); `undefined`-valued object keys are omitted.
 */
export type BEncodable =
  | number
  | string
  | Uint8Array
  | BEncodable[]
  | { [key: string]: BEncodable | undefined }
  | Map<string, BEncodable>;

const DEFAULT_MAX_DEPTH = 16;
const DEFAULT_MAX_ELEMENTS = 4096;
const DEFAULT_MAX_BYTES = 65536;
/** Guard against cyclic or absurdly deep values handed to the encoder. */
const ENCODE_MAX_DEPTH = 256;

const CH_0 = 0x30;
const CH_9 = 0x39;
const CH_COLON = 0x3a;
const CH_MINUS = 0x2d;
const CH_D = 0x64;
const CH_E = 0x65;
const CH_I = 0x69;
const CH_L = 0x6c;

const utf8Encoder = new TextEncoder();

/** Converts bytes to a latin1 string (one char per byte). Used for dict keys. */
export function bytesToLatin1(bytes: Uint8Array): string {
  if (bytes.length <= 16) {
    // Dict keys are short: a plain loop beats spreading a subarray into fromCharCode.
    let key = '';
    for (let i = 0; i < bytes.length; i++) key += String.fromCharCode(bytes[i]!);
    return key;
  }
  let out = '';
  const CHUNK = 4096;
  for (let i = 0; i < bytes.length; i += CHUNK) {
    out += String.fromCharCode(...bytes.subarray(i, i + CHUNK));
  }
  return out;
}

/** Converts a latin1 string (every char code <= 0xff) back to bytes; throws `TypeError` otherwise. */
export function latin1ToBytes(s: string): Uint8Array {
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 0xff) throw new TypeError(`bencode: dict key ${JSON.stringify(s)} is not a latin1 (byte) string`);
    out[i] = c;
  }
  return out;
}

type Frame =
  | { kind: 'list'; list: BValue[] }
  | { kind: 'dict'; dict: BDict; key: string | undefined };

/**
 * Decodes exactly one bencoded value filling the whole of `data`.
 *
 * Returned byte strings are `subarray` views sharing memory with `data` (no copies): copy them
 * if `data` will be reused or must not be retained. Decoded dicts are null-prototype objects.
 * Accepts dict keys out of order (some clients send them so) but rejects duplicate keys,
 * non-canonical integers (`i03e`, `i-0e`), lengths with leading zeros, unsafe integers, trailing
 * bytes, and anything over `limits`. Throws `DecodeError` and nothing else, for any input.
 */
export function bdecode(data: Uint8Array, limits: BdecodeLimits = {}): BValue {
  const maxDepth = limits.maxDepth ?? DEFAULT_MAX_DEPTH;
  const maxElements = limits.maxElements ?? DEFAULT_MAX_ELEMENTS;
  const maxBytes = limits.maxBytes ?? DEFAULT_MAX_BYTES;
  const len = data.length;
  if (len > maxBytes) throw new DecodeError(`bencode: input of ${len} bytes exceeds limit of ${maxBytes}`);
  if (len === 0) throw new DecodeError('bencode: empty input');

  const stack: Frame[] = [];
  let pos = 0;
  let elements = 0;
  let root: BValue | undefined;
  let done = false;

  const countElement = (): void => {
    elements++;
    if (elements > maxElements) {
      throw new DecodeError(`bencode: more than ${maxElements} list items/dict entries at offset ${pos}`);
    }
  };

  /** Parses `<len>:<bytes>` at `pos`; returns a view and advances `pos`. */
  const readString = (): Uint8Array => {
    const start = pos;
    let n = 0;
    let digits = 0;
    while (pos < len && data[pos] >= CH_0 && data[pos] <= CH_9) {
      if (digits === 1 && n === 0) throw new DecodeError(`bencode: string length with leading zero at offset ${start}`);
      n = n * 10 + (data[pos] - CH_0);
      digits++;
      pos++;
      // Reject a claimed length larger than what is left, before anything is allocated.
      if (n > len - pos) throw new DecodeError(`bencode: string length exceeds remaining input at offset ${start}`);
    }
    if (digits === 0) throw new DecodeError(`bencode: expected string length at offset ${start}`);
    if (pos >= len) throw new DecodeError(`bencode: truncated string length at offset ${start}`);
    if (data[pos] !== CH_COLON) throw new DecodeError(`bencode: expected ':' at offset ${pos}`);
    pos++;
    if (n > len - pos) throw new DecodeError(`bencode: string length exceeds remaining input at offset ${start}`);
    const s = data.subarray(pos, pos + n);
    pos += n;
    return s;
  };

  /** Parses `i<digits>e` at `pos` (which holds 'i'). */
  const readInt = (): number => {
    const start = pos;
    pos++;
    let negative = false;
    if (pos < len && data[pos] === CH_MINUS) {
      negative = true;
      pos++;
    }
    let n = 0;
    let digits = 0;
    while (pos < len && data[pos] >= CH_0 && data[pos] <= CH_9) {
      if (digits === 1 && n === 0) throw new DecodeError(`bencode: integer with leading zero at offset ${start}`);
      n = n * 10 + (data[pos] - CH_0);
      digits++;
      pos++;
      if (n > Number.MAX_SAFE_INTEGER) throw new DecodeError(`bencode: integer out of safe range at offset ${start}`);
    }
    if (pos >= len) throw new DecodeError(`bencode: truncated integer at offset ${start}`);
    if (digits === 0) throw new DecodeError(`bencode: integer without digits at offset ${start}`);
    if (data[pos] !== CH_E) throw new DecodeError(`bencode: unexpected byte 0x${data[pos].toString(16)} in integer at offset ${pos}`);
    if (negative && n === 0) throw new DecodeError(`bencode: negative zero at offset ${start}`);
    pos++;
    return negative ? -n : n;
  };

  /** Attaches a finished (or just opened) value to its parent, or makes it the root. */
  const emit = (value: BValue): void => {
    const top = stack[stack.length - 1];
    if (top === undefined) {
      root = value;
      done = true;
    } else if (top.kind === 'list') {
      countElement();
      top.list.push(value);
    } else {
      // top.key is always set here: the loop reads the key before any value of a dict.
      top.dict[top.key as string] = value;
      top.key = undefined;
    }
  };

  const open = (frame: Frame, value: BValue): void => {
    if (stack.length + 1 > maxDepth) throw new DecodeError(`bencode: nesting deeper than ${maxDepth} at offset ${pos}`);
    pos++;
    emit(value);
    done = false;
    stack.push(frame);
  };

  while (!done) {
    if (pos >= len) throw new DecodeError(`bencode: unexpected end of input at offset ${pos}`);
    const c = data[pos];
    const top = stack[stack.length - 1];

    if (top !== undefined && c === CH_E) {
      if (top.kind === 'dict' && top.key !== undefined) {
        throw new DecodeError(`bencode: dict key without value at offset ${pos}`);
      }
      pos++;
      stack.pop();
      if (stack.length === 0) done = true;
      continue;
    }

    if (top !== undefined && top.kind === 'dict' && top.key === undefined) {
      if (c < CH_0 || c > CH_9) throw new DecodeError(`bencode: dict key must be a byte string at offset ${pos}`);
      const keyStart = pos;
      const key = bytesToLatin1(readString());
      if (Object.prototype.hasOwnProperty.call(top.dict, key)) {
        throw new DecodeError(`bencode: duplicate dict key at offset ${keyStart}`);
      }
      countElement();
      top.key = key;
      continue;
    }

    if (c === CH_I) {
      emit(readInt());
    } else if (c >= CH_0 && c <= CH_9) {
      emit(readString());
    } else if (c === CH_L) {
      const list: BValue[] = [];
      open({ kind: 'list', list }, list);
    } else if (c === CH_D) {
      const dict = Object.create(null) as BDict;
      open({ kind: 'dict', dict, key: undefined }, dict);
    } else {
      throw new DecodeError(`bencode: unexpected byte 0x${c.toString(16)} at offset ${pos}`);
    }
  }

  if (pos !== len) throw new DecodeError(`bencode: ${len - pos} trailing bytes after value at offset ${pos}`);
  return root as BValue;
}

/** A growable output buffer for the encoder. */
class ByteWriter {
  private buf = new Uint8Array(256);
  private len = 0;

  private reserve(n: number): void {
    if (this.len + n <= this.buf.length) return;
    let size = this.buf.length * 2;
    while (size < this.len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.buf.subarray(0, this.len));
    this.buf = next;
  }

  bytes(b: Uint8Array): void {
    this.reserve(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }

  ascii(s: string): void {
    this.reserve(s.length);
    for (let i = 0; i < s.length; i++) this.buf[this.len++] = s.charCodeAt(i);
  }

  result(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}

function writeValue(w: ByteWriter, value: unknown, depth: number): void {
  if (depth > ENCODE_MAX_DEPTH) throw new TypeError(`bencode: value nested deeper than ${ENCODE_MAX_DEPTH} (cyclic?)`);
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value)) throw new TypeError(`bencode: ${value} is not a safe integer`);
    w.ascii(`i${value === 0 ? 0 : value}e`);
  } else if (typeof value === 'string') {
    const b = utf8Encoder.encode(value);
    w.ascii(`${b.length}:`);
    w.bytes(b);
  } else if (value instanceof Uint8Array) {
    w.ascii(`${value.length}:`);
    w.bytes(value);
  } else if (Array.isArray(value)) {
    w.ascii('l');
    for (const item of value) writeValue(w, item, depth + 1);
    w.ascii('e');
  } else if (value instanceof Map) {
    writeDict(w, [...value.entries()], depth);
  } else if (typeof value === 'object' && value !== null && !ArrayBuffer.isView(value)) {
    writeDict(w, Object.entries(value), depth);
  } else {
    throw new TypeError(`bencode: cannot encode value of type ${value === null ? 'null' : typeof value}`);
  }
}

function writeDict(w: ByteWriter, entries: [string, unknown][], depth: number): void {
  const present = entries.filter(([, v]) => v !== undefined);
  // Latin1 keys have one char per byte, so UTF-16 code-unit order is raw byte order.
  present.sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  w.ascii('d');
  for (const [key, v] of present) {
    const kb = latin1ToBytes(key);
    w.ascii(`${kb.length}:`);
    w.bytes(kb);
    writeValue(w, v, depth + 1);
  }
  w.ascii('e');
}

/**
 * Encodes a value canonically: dict keys sorted by raw bytes, `undefined` values omitted.
 * Throws `TypeError` for non-integer or unsafe numbers, non-latin1 dict keys, other types
 * (booleans, null, bigint, other typed arrays) and values nested deeper than 256 (cycles).
 */
export function bencode(value: BEncodable): Uint8Array {
  const w = new ByteWriter();
  writeValue(w, value, 0);
  return w.result();
}
