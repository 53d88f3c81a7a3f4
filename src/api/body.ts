/**
 * Reading request bodies: JSON (at most 16 MiB), raw `.torrent` uploads, and streamed file uploads.
 */
import type { IncomingMessage } from 'node:http';
import { ApiError } from './errors.js';

/** The most a JSON body (or a `.torrent` upload) may hold. */
export const JSON_BODY_LIMIT = 16 * 1024 * 1024;

/** The media type of a request, lowercase without parameters; `undefined` when absent. */
export function mediaType(req: IncomingMessage): string | undefined {
  const value = req.headers['content-type'];
  if (value === undefined) return undefined;
  const type = value.split(';', 1)[0]!.trim().toLowerCase();
  return type === '' ? undefined : type;
}

function tooLarge(limit: number): ApiError {
  // The rest of the body is not read: the connection closes after the answer.
  return new ApiError(413, `body larger than ${limit} bytes`, { Connection: 'close' });
}

/**
 * Reads the whole body, refusing (413) one that declares or turns out to be larger than `limit`.
 * On refusal the remaining bytes are discarded, not buffered.
 */
export function readBytes(req: IncomingMessage, limit: number = JSON_BODY_LIMIT): Promise<Buffer> {
  const declared = req.headers['content-length'];
  if (declared !== undefined && Number(declared) > limit) {
    req.resume();
    return Promise.reject(tooLarge(limit));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = (): void => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer): void => {
      size += chunk.length;
      if (size > limit) {
        cleanup();
        chunks.length = 0;
        req.resume();
        reject(tooLarge(limit));
        return;
      }
      chunks.push(chunk);
    };
    const onEnd = (): void => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error): void => {
      cleanup();
      reject(new ApiError(400, `request body failed: ${error.message}`));
    };
    const onClose = (): void => {
      if (req.complete) return;
      cleanup();
      reject(new ApiError(400, 'request body incomplete'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/**
 * Reads a JSON body, whatever its Content-Type says (`curl -d` and `fetch` with a string body do
 * not send `application/json`; the token and Origin checks, not the media type, stop forgery).
 * Empty, non-UTF-8 or malformed JSON is 400.
 */
export async function readJson(req: IncomingMessage): Promise<unknown> {
  const bytes = await readBytes(req);
  let text: string;
  try {
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
  } catch {
    throw new ApiError(400, 'body is not valid UTF-8');
  }
  if (text.trim() === '') throw new ApiError(400, 'empty body: expected JSON');
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new ApiError(400, 'malformed JSON');
  }
}

/**
 * Reads the body of `POST /api/torrents`: a JSON `AddRequest`, or a `.torrent` file sent as
 * `application/x-bittorrent`, which becomes `{ torrent: <base64> }`. Not yet validated.
 */
export async function readAddBody(req: IncomingMessage): Promise<unknown> {
  if (mediaType(req) !== 'application/x-bittorrent') return readJson(req);
  const bytes = await readBytes(req);
  if (bytes.length === 0) throw new ApiError(400, 'empty .torrent upload');
  return { torrent: bytes.toString('base64') };
}

/** Discards a body the endpoint does not use (so the connection can be reused). */
export function discardBody(req: IncomingMessage): void {
  req.resume();
}

/**
 * The body as a stream of chunks, for uploads of any size. Iterating it fails if the client
 * aborts the upload; stopping early leaves the rest unread (see `discardBody`).
 */
export async function* bodyStream(req: IncomingMessage): AsyncGenerator<Uint8Array> {
  // A consumer that stops early must not destroy the socket: the answer still has to go out.
  for await (const chunk of req.iterator({ destroyOnReturn: false })) {
    yield chunk as Buffer;
  }
}
