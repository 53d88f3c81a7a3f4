/**
 * Validation of API input with zod: `AddRequest` bodies, file choices, lookup bodies, torrent ids
 * in paths, query flags and upload file names. Failures are `ApiError`s with status 400 and a
 * one-line message.
 */
import { z } from 'zod';
import type { AddRequest } from '../node/view-types.js';
import { ApiError } from './errors.js';

const HEX40 = /^[0-9a-fA-F]{40}$/;
const BASE32_32 = /^[A-Za-z2-7]{32}$/;

const nonBlank = z.string().regex(/\S/, 'must not be empty');

/** Most indices a file choice may hold, and the bound on each: far more files than any torrent has. */
export const MAX_FILE_CHOICE = 1_000_000;

/** A choice of files: 0-based indices into a torrent's file list. */
const fileIndices = z
  .array(
    z.number().int().min(0, 'must not be negative').max(MAX_FILE_CHOICE - 1, `must be less than ${MAX_FILE_CHOICE}`),
  )
  .max(MAX_FILE_CHOICE, `must hold at most ${MAX_FILE_CHOICE} indices`);

/** `AddRequest`: exactly one source; unknown fields refused. */
export const addRequestSchema = z
  .strictObject({
    magnet: z.string().regex(/^magnet:\?/i, 'must be a magnet: link').optional(),
    infoHash: z
      .string()
      .regex(new RegExp(`${HEX40.source}|${BASE32_32.source}`), 'must be 40 hex or 32 base32 characters')
      .optional(),
    torrent: z.base64('must be base64').min(1, 'must not be empty').optional(),
    path: nonBlank.optional(),
    dir: nonBlank.optional(),
    paused: z.boolean().optional(),
    sequential: z.boolean().optional(),
    files: fileIndices.optional(),
  })
  .refine(
    (value) => [value.magnet, value.infoHash, value.torrent, value.path].filter((v) => v !== undefined).length === 1,
    'exactly one of magnet, infoHash, torrent, path is required',
  );

/** `PUT /api/torrents/:id/files` body: the indices to download, or null for every file. */
export const fileChoiceSchema = z.strictObject({
  files: fileIndices.nullable(),
});

/** `POST /api/dht/lookup` body. */
export const lookupSchema = z.strictObject({
  target: z.string().regex(HEX40, 'must be 40 hex characters'),
});

/** Names of expected types where zod's are terse. */
const EXPECTED: Record<string, string> = { int: 'an integer' };

/** Formats the first zod issue as one line, e.g. `infoHash: must be 40 hex or 32 base32 characters`. */
function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  if (issue === undefined) return 'invalid input';
  if (issue.code === 'unrecognized_keys') return `unknown field${issue.keys.length > 1 ? 's' : ''}: ${issue.keys.join(', ')}`;
  const where = issue.path.map(String).join('.');
  if (issue.code === 'invalid_type' && where !== '') return `${where}: expected ${EXPECTED[issue.expected] ?? issue.expected}`;
  return where === '' ? issue.message : `${where}: ${issue.message}`;
}

function parse<T>(schema: z.ZodType<T>, input: unknown): T {
  const result = schema.safeParse(input);
  if (!result.success) throw new ApiError(400, describe(result.error));
  return result.data;
}

/** Validates an `AddRequest` (hex infohashes are lowercased). */
export function parseAddRequest(input: unknown): AddRequest {
  const request: AddRequest = parse(addRequestSchema, input);
  if (request.infoHash !== undefined && HEX40.test(request.infoHash)) request.infoHash = request.infoHash.toLowerCase();
  return request;
}

/** Validates a file choice body: the indices to download, or null for every file. */
export function parseFileChoice(input: unknown): number[] | null {
  return parse(fileChoiceSchema, input).files;
}

/** Validates a lookup body and returns the target in lowercase hex. */
export function parseLookup(input: unknown): string {
  return parse(lookupSchema, input).target.toLowerCase();
}

/**
 * Checks a torrent id from a path: 40 hex characters, either case (answered in lowercase).
 * Anything else is 400, so a typo is told apart from a torrent that is not there (404).
 */
export function parseTorrentId(id: string): string {
  if (!HEX40.test(id)) throw new ApiError(400, 'torrent id must be 40 hex characters');
  return id.toLowerCase();
}

/** A boolean query flag: absent, empty, `0` or `false` is false; `1` or `true` is true; else 400. */
export function parseFlag(url: URL, name: string): boolean {
  const value = url.searchParams.get(name);
  if (value === null || value === '' || value === '0' || value === 'false') return false;
  if (value === '1' || value === 'true') return true;
  throw new ApiError(400, `${name} must be 1, true, 0 or false`);
}

/** The `name` of a shared upload: a plain file name (no `/` or `\`, not `.` or `..`, no control characters). */
export function parseShareName(url: URL): string {
  const name = url.searchParams.get('name');
  if (name === null || name === '') throw new ApiError(400, 'missing ?name= (the file name)');
  // eslint-disable-next-line no-control-regex
  if (name === '.' || name === '..' || /[/\\\u0000-\u001f]/.test(name) || name.length > 255) {
    throw new ApiError(400, 'name must be a plain file name');
  }
  return name;
}
