/**
 * The real runtime's HTTP GET (`Runtime.httpGet`): HTTP trackers and web seeds. Built on
 * `node:http`/`node:https` with keep-alive agents rather than `fetch`, which moves web seed data at
 * about half the speed (BENCHMARKS.md). Follows up to 5 redirects (web seeds such as archive.org
 * send clients on to a storage host), keeping the Range header. Every failure is one line: an HTTP
 * status, a wrong range, a body over its limit, a timeout, or the socket's error.
 */
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';

/** Bodies of GETs without a range (tracker answers) larger than this are refused. */
const MAX_BODY_BYTES = 16 * 1024 * 1024;
const MAX_REDIRECTS = 5;

const agents = {
  'http:': new http.Agent({ keepAlive: true }),
  'https:': new https.Agent({ keepAlive: true }),
};

export interface HttpGetOptions {
  timeoutMs: number;
  /** Inclusive byte offsets; the answer must be exactly those bytes. */
  range?: { first: number; last: number };
  signal?: AbortSignal;
  /** The local address the request leaves from (default: the one the kernel picks). */
  localAddress?: string;
}

export async function httpGet(url: string, options: HttpGetOptions): Promise<Uint8Array> {
  const timeout = AbortSignal.timeout(options.timeoutMs);
  const signal = options.signal ? AbortSignal.any([timeout, options.signal]) : timeout;
  let target = new URL(url);
  for (let hops = 0; ; hops++) {
    const response = await get(target, options, signal);
    const status = response.statusCode ?? 0;
    const location = response.headers.location;
    if (status >= 300 && status < 400 && location !== undefined) {
      response.resume();
      if (hops >= MAX_REDIRECTS) throw new Error(`more than ${MAX_REDIRECTS} redirects from ${new URL(url).host}`);
      target = new URL(location, target);
      continue;
    }
    return readBody(response, target.host, options.range, signal, options.timeoutMs);
  }
}

function get(target: URL, { range, timeoutMs, localAddress }: HttpGetOptions, signal: AbortSignal): Promise<IncomingMessage> {
  const protocol = target.protocol as keyof typeof agents;
  if (!(protocol in agents)) return Promise.reject(new Error(`not an http(s) URL: ${target.href}`));
  const client = protocol === 'https:' ? https : http;
  const headers = range ? { range: `bytes=${range.first}-${range.last}` } : {};
  return new Promise((resolve, reject) => {
    // The agents keep a separate pool of connections for each local address.
    const request = client.get(target, { agent: agents[protocol], signal, headers, ...(localAddress === undefined ? {} : { localAddress }) }, resolve);
    request.once('error', (error) => reject(failure(error, target.host, signal, timeoutMs)));
  });
}

/** The body of a 2xx answer: exactly the range asked for, or (without one) at most `MAX_BODY_BYTES`. */
function readBody(response: IncomingMessage, host: string, range: HttpGetOptions['range'], signal: AbortSignal, timeoutMs: number): Promise<Uint8Array> {
  const status = response.statusCode ?? 0;
  const refuse = (message: string) => {
    response.destroy();
    return Promise.reject(new Error(message));
  };
  if (status < 200 || status >= 300) return refuse(`HTTP ${status} from ${host}`);
  const declared = response.headers['content-length'] === undefined ? undefined : Number(response.headers['content-length']);
  let limit = MAX_BODY_BYTES;
  if (range) {
    limit = range.last - range.first + 1;
    // 206 with our range, or 200 with exactly the bytes asked for (a range that is the whole file).
    const contentRange = response.headers['content-range'];
    const rightRange = status === 206 ? contentRange?.startsWith(`bytes ${range.first}-${range.last}/`) : range.first === 0;
    if (!rightRange || (declared !== undefined && declared !== limit)) {
      return refuse(`${host} did not answer with bytes ${range.first}-${range.last} (HTTP ${status}${contentRange ? `, ${contentRange}` : ''})`);
    }
  } else if (declared !== undefined && declared > limit) {
    return refuse(`${host} answered with ${declared} bytes (at most ${limit})`);
  }
  return new Promise((resolve, reject) => {
    const out = Buffer.allocUnsafe(range ? limit : Math.min(declared ?? 64 * 1024, limit));
    let body = out;
    let filled = 0;
    response.on('data', (chunk: Buffer) => {
      if (filled + chunk.length > limit) {
        response.destroy();
        reject(new Error(range ? `${host} sent more than the ${limit} bytes asked for` : `${host} answered with more than ${limit} bytes`));
        return;
      }
      if (filled + chunk.length > body.length) body = Buffer.concat([body.subarray(0, filled)], Math.min(limit, Math.max(2 * body.length, filled + chunk.length)));
      chunk.copy(body, filled);
      filled += chunk.length;
    });
    response.once('error', (error) => reject(failure(error, host, signal, timeoutMs)));
    response.once('end', () => {
      if (range && filled !== limit) reject(new Error(`${host} sent ${filled} bytes for a range of ${limit}`));
      else resolve(new Uint8Array(body.buffer, body.byteOffset, filled));
    });
  });
}

/** One line for a failed request: a timeout, an abort by the caller, or the socket's error. */
function failure(error: Error, host: string, signal: AbortSignal, timeoutMs: number): Error {
  if (signal.aborted) {
    const reason = signal.reason as Error | undefined;
    return new Error(reason?.name === 'TimeoutError' ? `no answer from ${host} in ${timeoutMs} ms` : `request to ${host} aborted`);
  }
  return new Error(`${host}: ${error.message}`);
}
