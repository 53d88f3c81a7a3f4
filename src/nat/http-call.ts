/**
 * One HTTP request to a router, over the runtime's TCP (so it runs on the virtual network too):
 * sent with `Connection: close`, and the answer read until it is complete or the router closes.
 * Resolves with the answer and the local address the connection left from (the address the
 * router knows us by, which a UPnP mapping must name).
 */
import { encodeHttpRequest, MAX_BODY_BYTES, MAX_HEAD_BYTES, parseHttpAnswer, type HttpAnswer } from '../codec/http-message.js';
import type { Runtime } from '../runtime/interfaces.js';

/** More than this many bytes can be no answer the parser accepts. */
const MAX_ANSWER_BYTES = MAX_HEAD_BYTES + 4 + MAX_BODY_BYTES + 64 * 1024;

export interface HttpCall {
  method: 'GET' | 'POST';
  headers?: Readonly<Record<string, string>>;
  body?: Uint8Array;
}

export async function httpCall(runtime: Runtime, url: URL, call: HttpCall, timeoutMs: number): Promise<{ answer: HttpAnswer; localHost: string }> {
  const host = await runtime.resolveHost(url.hostname);
  const port = url.port === '' ? 80 : Number(url.port);
  const conn = await runtime.tcpConnect({ host, port }, timeoutMs);
  const request = encodeHttpRequest(call.method, `${url.pathname}${url.search}`, { Host: url.host, Connection: 'close', ...call.headers }, call.body);
  return new Promise((resolve, reject) => {
    const chunks: Uint8Array[] = [];
    let length = 0;
    let parsedAt = 0;
    let settled = false;
    const finish = (error: Error | undefined, answer?: HttpAnswer): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      conn.close();
      if (error) reject(error);
      else resolve({ answer: answer!, localHost: conn.local.host });
    };
    const timer = runtime.setTimer(timeoutMs, () => finish(new Error(`no answer from ${url.host} in ${timeoutMs} ms`)));
    const parse = (ended: boolean): void => {
      parsedAt = length;
      const bytes = Buffer.concat(chunks, length);
      try {
        const answer = parseHttpAnswer(bytes, ended);
        if (answer) finish(undefined, answer);
      } catch (error) {
        finish(new Error(`bad answer from ${url.host}: ${(error as Error).message}`));
      }
    };
    conn.onData((data) => {
      chunks.push(data);
      length += data.length;
      if (length > MAX_ANSWER_BYTES) finish(new Error(`bad answer from ${url.host}: more than ${MAX_ANSWER_BYTES} bytes`));
      // Parsed again once 512 more bytes came (or for the first chunks), so a router that drips
      // its answer a byte at a time does not cost a parse per byte; the end is parsed at close.
      else if (chunks.length <= 16 || length - parsedAt >= 512) parse(false);
    });
    conn.onClose((error) => {
      if (settled) return;
      if (length === 0 && error) finish(new Error(`${url.host}: ${error.message}`));
      else parse(true);
    });
    conn.write(request);
  });
}
