import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { MAX_BODY_BYTES, MAX_HEAD_BYTES, encodeHttpRequest, parseHttpAnswer, parseHttpHead, type HttpAnswer } from '../../src/codec/http-message.js';
import { DecodeError } from '../../src/codec/errors.js';
import { quickly } from './hang-guard.js';
import { Mulberry32 } from '../../src/runtime/prng.js';
import { concat } from './bytes.js';

const enc = new TextEncoder();
const dec = new TextDecoder();
const ascii = (s: string): Uint8Array => enc.encode(s);
const text = (b: Uint8Array): string => dec.decode(b);


function parsed(bytes: Uint8Array, ended: boolean): HttpAnswer {
  const a = parseHttpAnswer(bytes, ended);
  assert.ok(a, 'an answer');
  return a;
}

describe('encodeHttpRequest', () => {
  test('without a body: exact bytes, no Content-Length', () => {
    const req = encodeHttpRequest('GET', '/rootDesc.xml', { Host: '10.77.1.1:5000', Connection: 'close' });
    assert.equal(text(req), 'GET /rootDesc.xml HTTP/1.1\r\nHost: 10.77.1.1:5000\r\nConnection: close\r\n\r\n');
  });

  test('with a body: Content-Length after the given headers, body bytes as given', () => {
    const body = Uint8Array.from([0x3c, 0x61, 0x3e, 0x00, 0xff]);
    const req = encodeHttpRequest('POST', '/ctl/IPConn', { Host: '10.77.1.1:5000', SOAPAction: '"urn:x#Y"' }, body);
    const head = 'POST /ctl/IPConn HTTP/1.1\r\nHost: 10.77.1.1:5000\r\nSOAPAction: "urn:x#Y"\r\nContent-Length: 5\r\n\r\n';
    assert.deepEqual(req, concat(ascii(head), body));
  });

  test('an empty body still gets Content-Length: 0', () => {
    assert.equal(text(encodeHttpRequest('POST', '/', {}, new Uint8Array(0))), 'POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n');
    assert.equal(text(encodeHttpRequest('GET', '/', {})), 'GET / HTTP/1.1\r\n\r\n');
  });

  test('a header name or value holding CR or LF is refused', () => {
    for (const headers of <Record<string, string>[]>[{ Host: 'a\r\nX-Evil: 1' }, { Host: 'a\nb' }, { Host: 'a\rb' }, { 'X\r\nEvil': 'v' }, { 'X\n': 'v' }]) {
      assert.throws(() => encodeHttpRequest('GET', '/', headers), RangeError, JSON.stringify(headers));
    }
  });
});

describe('parseHttpHead', () => {
  test('status and lower-cased headers, first value kept, values trimmed', () => {
    const { status, headers } = parseHttpHead('HTTP/1.1 200 OK\r\nContent-Type:  text/xml \r\nCONTENT-type: other\r\nLocation: http://h:1/x\r\nEXT:');
    assert.equal(status, 200);
    assert.equal(headers.get('content-type'), 'text/xml');
    assert.equal(headers.get('location'), 'http://h:1/x');
    assert.equal(headers.get('ext'), '');
    assert.equal(headers.size, 3);
  });

  test('HTTP/1.0 and a status line without a reason', () => {
    assert.equal(parseHttpHead('HTTP/1.0 404 Not Found').status, 404);
    assert.equal(parseHttpHead('HTTP/1.1 500').status, 500);
  });

  test('non-HTTP status lines are refused', () => {
    for (const line of [
      '',
      'HTTP/2 200 OK',
      'HTTP/1.2 200 OK',
      'HTTP/1.1 20 OK',
      'HTTP/1.1 2000 OK',
      'HTTP/1.1 200OK',
      'HTTP/1.1  200 OK',
      'http/1.1 200 OK',
      'ICY 200 OK',
      'NOTIFY * HTTP/1.1',
      'M-SEARCH * HTTP/1.1',
      'GET / HTTP/1.1',
      ' HTTP/1.1 200 OK',
      'HTTP/1.1 200 OK\nX: y',
    ]) {
      assert.throws(() => parseHttpHead(line), DecodeError, JSON.stringify(line));
    }
  });

  test('header lines without a colon, or with an empty name, are refused', () => {
    assert.throws(() => parseHttpHead('HTTP/1.1 200 OK\r\nNoColonHere'), DecodeError);
    assert.throws(() => parseHttpHead('HTTP/1.1 200 OK\r\n: value'), DecodeError);
    assert.throws(() => parseHttpHead('HTTP/1.1 200 OK\r\nA: b\r\nbroken line\r\nC: d'), DecodeError);
  });
});

const CL_ANSWER = 'HTTP/1.1 200 OK\r\nContent-Type: text/xml\r\nContent-Length: 11\r\n\r\n';

describe('parseHttpAnswer with Content-Length', () => {
  test('complete: status, headers, body', () => {
    const a = parsed(ascii(`${CL_ANSWER}hello world`), false);
    assert.equal(a.status, 200);
    assert.equal(a.headers.get('content-type'), 'text/xml');
    assert.equal(text(a.body), 'hello world');
  });

  test('bytes after the declared length are not part of the body; the body is a copy', () => {
    const input = ascii(`${CL_ANSWER}hello worldTRAILING`);
    const a = parsed(input, true);
    assert.equal(text(a.body), 'hello world');
    input.fill(0);
    assert.equal(text(a.body), 'hello world');
  });

  test('incomplete: undefined at every prefix, DecodeError when the connection ended early', () => {
    const full = ascii(`${CL_ANSWER}hello world`);
    for (let n = 0; n < full.length; n++) {
      assert.equal(parseHttpAnswer(full.subarray(0, n), false), undefined, `prefix ${n}`);
      assert.throws(() => parseHttpAnswer(full.subarray(0, n), true), DecodeError, `ended at ${n}`);
    }
  });

  test('Content-Length 0 is complete at once', () => {
    const a = parsed(ascii('HTTP/1.1 204 No Content\r\nContent-Length: 0\r\n\r\n'), false);
    assert.equal(a.status, 204);
    assert.equal(a.body.length, 0);
  });

  test('bad Content-Length values are refused', () => {
    for (const v of ['-1', 'abc', '1e3', '0x10', '+5', '5 5', '1.0', '1234567890', '', '٣']) {
      assert.throws(() => parseHttpAnswer(ascii(`HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\nabc`), false), DecodeError, JSON.stringify(v));
    }
  });

  test('Content-Length above MAX_BODY_BYTES is refused before the body arrives', () => {
    assert.equal(MAX_BODY_BYTES, 256 * 1024);
    for (const v of [MAX_BODY_BYTES + 1, 999_999_999]) {
      assert.throws(() => parseHttpAnswer(ascii(`HTTP/1.1 200 OK\r\nContent-Length: ${v}\r\n\r\n`), false), DecodeError, `${v}`);
    }
    // Exactly the bound is fine: still waiting.
    assert.equal(parseHttpAnswer(ascii(`HTTP/1.1 200 OK\r\nContent-Length: ${MAX_BODY_BYTES}\r\n\r\nabc`), false), undefined);
  });
});

describe('parseHttpAnswer without a length', () => {
  test('waits until the connection ends, then takes all that came', () => {
    const bytes = ascii('HTTP/1.0 200 OK\r\nConnection: close\r\n\r\n<root/>\r\n');
    assert.equal(parseHttpAnswer(bytes, false), undefined);
    assert.equal(text(parsed(bytes, true).body), '<root/>\r\n');
    assert.equal(parsed(ascii('HTTP/1.0 200 OK\r\n\r\n'), true).body.length, 0);
  });

  test('a body over MAX_BODY_BYTES is refused even before the end', () => {
    const head = ascii('HTTP/1.0 200 OK\r\n\r\n');
    assert.equal(parseHttpAnswer(concat(head, new Uint8Array(MAX_BODY_BYTES)), false), undefined);
    assert.throws(() => parseHttpAnswer(concat(head, new Uint8Array(MAX_BODY_BYTES + 1)), false), DecodeError);
    assert.throws(() => parseHttpAnswer(concat(head, new Uint8Array(MAX_BODY_BYTES + 1)), true), DecodeError);
  });
});

describe('parseHttpAnswer: the header block', () => {
  test('case-insensitive header names, first value kept', () => {
    const a = parsed(ascii('HTTP/1.1 200 OK\r\ncontent-LENGTH: 2\r\nContent-Length: 5\r\n\r\nabcde'), false);
    assert.equal(text(a.body), 'ab');
    assert.equal(a.headers.get('content-length'), '2');
  });

  test('non-HTTP status lines and header lines without a colon are refused', () => {
    for (const head of ['NOTIFY * HTTP/1.1\r\nHOST: x', 'HTTP/1.1 OK', 'SSH-2.0-OpenSSH_9.2', 'HTTP/1.1 200 OK\r\nno colon']) {
      assert.throws(() => parseHttpAnswer(ascii(`${head}\r\n\r\n`), true), DecodeError, JSON.stringify(head));
    }
  });

  test('a head of MAX_HEAD_BYTES without the blank line waits; one byte more is refused', () => {
    assert.equal(MAX_HEAD_BYTES, 16 * 1024);
    const start = 'HTTP/1.1 200 OK\r\nX: ';
    const head = ascii(start + 'a'.repeat(MAX_HEAD_BYTES - start.length));
    assert.equal(head.length, MAX_HEAD_BYTES);
    assert.equal(parseHttpAnswer(head, false), undefined);
    assert.throws(() => parseHttpAnswer(concat(head, ascii('a')), false), DecodeError);
    assert.throws(() => parseHttpAnswer(concat(head, ascii('a'.repeat(100_000))), false), DecodeError);
  });

  test('a complete head of MAX_HEAD_BYTES is accepted, of MAX_HEAD_BYTES + 1 refused', () => {
    const start = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX: ';
    const at = (n: number): Uint8Array => ascii(`${start}${'a'.repeat(n - start.length)}\r\n\r\nok`);
    assert.equal(text(parsed(at(MAX_HEAD_BYTES), false).body), 'ok');
    assert.throws(() => parseHttpAnswer(at(MAX_HEAD_BYTES + 1), false), DecodeError);
  });

  test('the connection closing in the header block is a DecodeError', () => {
    assert.throws(() => parseHttpAnswer(ascii('HTTP/1.1 200 OK\r\nContent-Len'), true), DecodeError);
    assert.throws(() => parseHttpAnswer(new Uint8Array(0), true), DecodeError);
    assert.equal(parseHttpAnswer(new Uint8Array(0), false), undefined);
  });
});

const CHUNKED_HEAD = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Type: text/xml\r\n\r\n';
const CHUNKED_BODY = '4;name=value\r\nWiki\r\n5\r\npedia\r\nE ; ext="a;b"\r\n in\r\n\r\nchunks.\r\n0\r\n';
const CHUNKED = `${CHUNKED_HEAD}${CHUNKED_BODY}\r\n`;
const DECHUNKED = 'Wikipedia in\r\n\r\nchunks.';

describe('parseHttpAnswer with Transfer-Encoding: chunked', () => {
  test('joins the chunks, extensions ignored', () => {
    const a = parsed(ascii(CHUNKED), false);
    assert.equal(a.status, 200);
    assert.equal(text(a.body), DECHUNKED);
  });

  test('fed at every byte boundary: undefined until the last chunk, then the body', () => {
    const full = ascii(CHUNKED);
    const complete = (CHUNKED_HEAD + CHUNKED_BODY).length; // after "0\r\n": trailers are not awaited
    for (let n = 0; n <= full.length; n++) {
      const prefix = full.subarray(0, n);
      const got = parseHttpAnswer(prefix, false);
      if (n < complete) {
        assert.equal(got, undefined, `prefix ${n}`);
        assert.throws(() => parseHttpAnswer(prefix, true), DecodeError, `ended at ${n}`);
      } else {
        assert.ok(got, `prefix ${n}`);
        assert.equal(text(got.body), DECHUNKED, `prefix ${n}`);
      }
    }
  });

  test('the Transfer-Encoding value is case-insensitive; trailers are skipped; it wins over Content-Length', () => {
    const a = parsed(ascii('HTTP/1.1 200 OK\r\ntransfer-encoding: Chunked\r\nContent-Length: 1\r\n\r\na\r\n0123456789\r\n0\r\nX-Trailer: t\r\n\r\n'), false);
    assert.equal(text(a.body), '0123456789');
  });

  test('upper- and lower-case hex sizes, and an empty body', () => {
    const a = parsed(ascii(`${CHUNKED_HEAD}A\r\n0123456789\r\nb\r\nabcdefghijk\r\n0\r\n\r\n`), false);
    assert.equal(text(a.body), '0123456789abcdefghijk');
    assert.equal(parsed(ascii(`${CHUNKED_HEAD}0\r\n\r\n`), false).body.length, 0);
  });

  test('malformed chunk sizes are refused', () => {
    for (const size of ['', ' ', 'g', '-1', '0x5', '+5', '5 5', '123456789', 'FFFFFFFFF', ';ext']) {
      assert.throws(() => parseHttpAnswer(ascii(`${CHUNKED_HEAD}${size}\r\nhello\r\n0\r\n\r\n`), false), DecodeError, JSON.stringify(size));
    }
  });

  test('a size line longer than 64 bytes is refused, with or without its CRLF', () => {
    const long = `5;${'x'.repeat(80)}`;
    assert.throws(() => parseHttpAnswer(ascii(`${CHUNKED_HEAD}${long}\r\nhello\r\n0\r\n\r\n`), false), DecodeError);
    assert.throws(() => parseHttpAnswer(ascii(`${CHUNKED_HEAD}${long}`), false), DecodeError);
    // A size line still short enough to be completed waits.
    assert.equal(parseHttpAnswer(ascii(`${CHUNKED_HEAD}5;${'x'.repeat(30)}`), false), undefined);
  });

  test('a chunk size beyond MAX_BODY_BYTES is refused before its bytes arrive', () => {
    assert.throws(() => parseHttpAnswer(ascii(`${CHUNKED_HEAD}FFFFFFFF\r\n`), false), DecodeError);
    assert.throws(() => parseHttpAnswer(ascii(`${CHUNKED_HEAD}${(MAX_BODY_BYTES + 1).toString(16)}\r\n`), false), DecodeError);
    // Several chunks that add up to more than the bound.
    const half = (MAX_BODY_BYTES / 2 + 1).toString(16);
    const big = concat(ascii(`${CHUNKED_HEAD}${half}\r\n`), new Uint8Array(MAX_BODY_BYTES / 2 + 1), ascii(`\r\n${half}\r\n`));
    assert.throws(() => parseHttpAnswer(big, false), DecodeError);
  });

  test('hostile chunk garbage (200 KiB) is handled in linear time', () => {
    const ones = ascii(CHUNKED_HEAD + '1\r\n'.repeat(70_000));
    quickly('1\\r\\n garbage', () => {
      assert.equal(parseHttpAnswer(ones, false), undefined);
      assert.throws(() => parseHttpAnswer(ones, true), DecodeError);
    });
    const crlfs = ascii(CHUNKED_HEAD + '\r\n'.repeat(100_000));
    quickly('\\r\\n garbage', () => assert.throws(() => parseHttpAnswer(crlfs, false), DecodeError));
    const noLine = ascii(CHUNKED_HEAD + '1'.repeat(200_000));
    quickly('no line end', () => assert.throws(() => parseHttpAnswer(noLine, false), DecodeError));
    const tiny = ascii(CHUNKED_HEAD + '1\r\nx\r\n'.repeat(35_000) + '0\r\n\r\n');
    const a = quickly('35,000 one-byte chunks', () => parseHttpAnswer(tiny, false));
    assert.equal(a && a.body.length, 35_000);
  });

  test('a head of 16 KiB without CRLFCRLF is refused in linear time', () => {
    // "\r\n\r" repeated never holds CRLFCRLF but keeps a naive matcher busy.
    const head = ascii('HTTP/1.1 200 OK' + '\r\n\r'.repeat(Math.ceil(MAX_HEAD_BYTES / 3) + 10));
    quickly('near-miss head', () => assert.throws(() => parseHttpAnswer(head, false), DecodeError));
    const huge = concat(ascii('HTTP/1.1 200 OK\r\n'), new Uint8Array(1_000_000).fill(0x0d));
    quickly('1 MB of CR', () => assert.throws(() => parseHttpAnswer(huge, false), DecodeError));
  });
});

describe('parseHttpAnswer fuzz', () => {
  test('mutated and truncated answers: undefined, an answer, or a DecodeError', () => {
    const rng = new Mulberry32(0x1f1f);
    const seeds = [ascii(CHUNKED), ascii(`${CL_ANSWER}hello world`), ascii('HTTP/1.0 200 OK\r\n\r\nbody')];
    let answers = 0;
    for (let i = 0; i < 10_000; i++) {
      const seed = seeds[i % seeds.length] ?? new Uint8Array(0);
      const b = seed.slice(0, rng.nextUint32() % (seed.length + 1));
      const flips = rng.nextUint32() % 4;
      for (let f = 0; f < flips && b.length > 0; f++) {
        b[rng.nextUint32() % b.length] = [0x0d, 0x0a, 0x3a, 0x3b, 0x30, 0x20, rng.nextUint32() & 0xff][rng.nextUint32() % 7] ?? 0;
      }
      const ended = rng.next() < 0.5;
      try {
        const a = parseHttpAnswer(b, ended);
        if (a) {
          answers++;
          assert.ok(Number.isInteger(a.status) && a.status >= 0 && a.status <= 999);
          assert.ok(a.body.length <= b.length);
        }
      } catch (err) {
        assert.ok(err instanceof DecodeError, `non-DecodeError ${String(err)} for ${JSON.stringify(text(b))}`);
      }
    }
    assert.ok(answers > 100, `${answers} answers`);
  });
});

describe('parseHttpAnswer: found in review', () => {
  const head = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n';
  const bytes = (text: string) => new TextEncoder().encode(text);

  test('a chunk must be followed by CRLF: a wrong size is an error, not a cut body', () => {
    for (const body of ['4\r\nhello\r\n0\r\n\r\n', '5\r\nhelloXX0\r\n\r\n']) {
      assert.throws(() => parseHttpAnswer(bytes(head + body), false), DecodeError, JSON.stringify(body));
    }
    assert.equal(new TextDecoder().decode(parseHttpAnswer(bytes(`${head}5\r\nhello\r\n0\r\n\r\n`), false)!.body), 'hello');
  });

  test('a head of the largest size waits for the rest of its blank line, however it arrives', () => {
    const h = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(MAX_HEAD_BYTES - 20)}`;
    assert.equal(h.length, MAX_HEAD_BYTES);
    for (const partial of ['\r', '\r\n', '\r\n\r']) assert.equal(parseHttpAnswer(bytes(h + partial), false), undefined, JSON.stringify(partial));
    assert.equal(parseHttpAnswer(bytes(`${h}\r\n\r\n`), true)?.status, 200);
    assert.throws(() => parseHttpAnswer(bytes(`${h}a\r\n\r`), false), DecodeError, 'one byte more is too long');
  });
});
