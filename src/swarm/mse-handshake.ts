/**
 * The MSE handshake over a fresh TCP connection, for both sides (the layouts and the cipher are in
 * `codec/mse.ts`). `mseConnect` is the connecting side A: it sends its BitTorrent handshake as the
 * initial payload. `mseAccept` is the answering side B: it finds which of our torrents A asks for
 * from the obfuscated infohash and picks the payload method. Both resolve with the connection to
 * use from then on (wrapped in RC4 when that was selected) and the payload bytes that arrived with
 * the handshake, already decrypted. A peer that breaks the protocol, stalls, or asks for a torrent
 * or a method we do not have gets a `SwarmError` with code `ENCRYPTION`, and the connection closed.
 */
import { createHash } from 'node:crypto';
import {
  CRYPTO_PLAINTEXT,
  CRYPTO_RC4,
  decodeHead,
  encodeAnswer,
  encodeOffer,
  MSE_KEY_LENGTH,
  MSE_MAX_PAD,
  MSE_VC,
  msePublicKey,
  mseSecret,
  MSE_HEAD_LENGTH,
  Rc4,
} from '../codec/mse.js';
import type { InfoHash } from '../dht/types.js';
import type { Runtime, TcpConnection } from '../runtime/interfaces.js';
import { CipherConnection } from './cipher-connection.js';
import { SwarmError } from './errors.js';
import { HandshakeReader } from './handshake-reader.js';

/**
 * How a session uses MSE, with Transmission's names:
 * - `prefer`: outgoing connections start with MSE (offering RC4 and plaintext payload) and fall
 *   back to a plain handshake if the peer drops it; incoming ones may use either.
 * - `require`: MSE with RC4 both ways; plain handshakes are refused.
 * - `allow`: outgoing connections are plain; incoming ones may use either.
 * Answering an offer of both, `prefer` and `allow` pick plaintext payload (the handshake is still
 * obfuscated) as libtorrent does; `require` picks RC4.
 */
export type EncryptionPolicy = 'prefer' | 'require' | 'allow';

/** What a finished MSE handshake hands on. */
export interface MseResult {
  conn: TcpConnection;
  /** Payload bytes (decrypted) that came with the handshake, before anything `conn` delivers. */
  initial: Uint8Array;
  /** Whether the payload is RC4-encrypted (else plaintext after the handshake). */
  rc4: boolean;
}

const PRIVATE_KEY_LENGTH = 20;

function sha1(...parts: (string | Uint8Array)[]): Uint8Array {
  const hash = createHash('sha1');
  for (const part of parts) hash.update(part);
  return new Uint8Array(hash.digest());
}

function xor(a: Uint8Array, b: Uint8Array): Uint8Array {
  return a.map((x, i) => x ^ b[i]!);
}

function fail(message: string): SwarmError {
  return new SwarmError('ENCRYPTION', message);
}

/** Random padding of 0..512 bytes, so the handshake's packet sizes say nothing. */
function padding(runtime: Pick<Runtime, 'random' | 'randomBytes'>): Uint8Array {
  return runtime.randomBytes(Math.floor(runtime.random() * (MSE_MAX_PAD + 1)));
}

/** Keys for A → B and B → A traffic. */
function ciphers(secret: Uint8Array, infoHash: Uint8Array): { aToB: Rc4; bToA: Rc4 } {
  return { aToB: new Rc4(sha1('keyA', secret, infoHash)), bToA: new Rc4(sha1('keyB', secret, infoHash)) };
}

/** Runs `steps`, turning any failure into an `ENCRYPTION` error with the connection closed. */
async function guarded<T>(reader: HandshakeReader, steps: () => Promise<T>): Promise<T> {
  try {
    return await steps();
  } catch (error) {
    const wrapped = error instanceof SwarmError ? error : fail(`bad MSE handshake: ${(error as Error).message}`);
    reader.abort(wrapped);
    throw wrapped;
  }
}

/**
 * The connecting side: offers RC4 (and plaintext payload unless `rc4Only`) for `infoHash`, sending
 * `payload` (our BitTorrent handshake) inside the handshake.
 */
export async function mseConnect(
  runtime: Pick<Runtime, 'setTimer' | 'random' | 'randomBytes'>,
  conn: TcpConnection,
  infoHash: Uint8Array,
  payload: Uint8Array,
  options: { rc4Only: boolean; timeoutMs: number },
): Promise<MseResult> {
  const reader = new HandshakeReader(runtime, conn, options.timeoutMs, 'ENCRYPTION');
  return guarded(reader, async () => {
    const privateKey = runtime.randomBytes(PRIVATE_KEY_LENGTH);
    conn.writev([msePublicKey(privateKey), padding(runtime)]);
    const secret = mseSecret(await reader.read(MSE_KEY_LENGTH), privateKey);
    const { aToB, bToA } = ciphers(secret, infoHash);
    const provide = options.rc4Only ? CRYPTO_RC4 : CRYPTO_RC4 | CRYPTO_PLAINTEXT;
    conn.writev([
      sha1('req1', secret),
      xor(sha1('req2', infoHash), sha1('req3', secret)),
      aToB.apply(encodeOffer(provide, new Uint8Array(0), payload)),
    ]);
    // B's encrypted VC follows its key and up to 512 bytes of padding.
    await reader.skipPast(bToA.apply(MSE_VC.slice()), MSE_MAX_PAD, 'the answer to our MSE offer');
    const head = new Uint8Array(MSE_HEAD_LENGTH);
    head.set(bToA.apply(await reader.read(MSE_HEAD_LENGTH - MSE_VC.length)), MSE_VC.length);
    const { crypto: select, padLength } = decodeHead(head);
    if ((select !== CRYPTO_RC4 && select !== CRYPTO_PLAINTEXT) || (select & provide) === 0) {
      throw fail(`peer selected MSE method 0x${select.toString(16)}, which we did not offer`);
    }
    bToA.apply(await reader.read(padLength));
    const rest = reader.finish();
    if (select === CRYPTO_RC4) return { conn: new CipherConnection(conn, aToB, bToA), initial: bToA.apply(rest), rc4: true };
    return { conn, initial: rest, rc4: false };
  });
}

/** Does a connection start with a plain BitTorrent handshake (else it is taken to be MSE)? */
export function isPlainHandshakeStart(first20: Uint8Array): boolean {
  const header = '\x13BitTorrent protocol';
  for (let i = 0; i < 20; i++) if (first20[i] !== header.charCodeAt(i)) return false;
  return true;
}

/**
 * The answering side, after `reader` saw that the connection does not start with a plain
 * handshake: finds the torrent among `infoHashes()` and answers with RC4 if `rc4Only` or if the peer
 * offers nothing else, plaintext payload otherwise. `initial` starts with the peer's initial
 * payload (its BitTorrent handshake).
 */
export async function mseAccept(
  runtime: Pick<Runtime, 'random' | 'randomBytes'>,
  conn: TcpConnection,
  reader: HandshakeReader,
  infoHashes: () => Iterable<InfoHash>,
  options: { rc4Only: boolean },
): Promise<MseResult & { infoHash: InfoHash }> {
  return guarded(reader, async () => {
    const theirs = await reader.read(MSE_KEY_LENGTH);
    const privateKey = runtime.randomBytes(PRIVATE_KEY_LENGTH);
    const secret = mseSecret(theirs, privateKey);
    conn.writev([msePublicKey(privateKey), padding(runtime)]);
    await reader.skipPast(sha1('req1', secret), MSE_MAX_PAD, 'the MSE request');
    const wanted = xor(await reader.read(20), sha1('req3', secret));
    let infoHash: InfoHash | undefined;
    for (const candidate of infoHashes()) {
      if (sha1('req2', candidate).every((b, i) => b === wanted[i])) infoHash = candidate;
    }
    if (!infoHash) throw fail('peer asked for a torrent we do not have');
    const { aToB, bToA } = ciphers(secret, infoHash);
    const { crypto: provide, padLength } = decodeHead(aToB.apply(await reader.read(MSE_HEAD_LENGTH)));
    aToB.apply(await reader.read(padLength));
    const iaLength = new DataView(aToB.apply(await reader.read(2)).buffer).getUint16(0);
    const ia = aToB.apply(await reader.read(iaLength));
    const select = options.rc4Only || (provide & CRYPTO_PLAINTEXT) === 0 ? CRYPTO_RC4 : CRYPTO_PLAINTEXT;
    if ((provide & select) === 0) throw fail('peer offers no MSE method we accept');
    conn.write(bToA.apply(encodeAnswer(select, new Uint8Array(0))));
    const rest = reader.finish();
    const payload = select === CRYPTO_RC4 ? aToB.apply(rest) : rest;
    const initial = new Uint8Array(ia.length + payload.length);
    initial.set(ia);
    initial.set(payload, ia.length);
    if (select === CRYPTO_RC4) return { conn: new CipherConnection(conn, bToA, aToB), initial, rc4: true, infoHash };
    return { conn, initial, rc4: false, infoHash };
  });
}
