/**
 * BEP 44 `put`: stores an immutable item under SHA-1 of its value, or a mutable item under
 * SHA-1(k + salt) after checking its Ed25519 signature, sequence number and compare-and-swap.
 * Rejections: 203 bad token, 205 value too big, 206 bad signature, 207 salt too big,
 * 301 cas mismatch, 302 seq older than (or equal to with another value) the stored one.
 */
import { MAX_ITEM_VALUE_LENGTH, MAX_SALT_LENGTH, parsePutArgs } from '../../codec/dht-messages.js';
import { KRPC_ERROR } from '../../codec/krpc.js';
import { immutableTarget, mutableTarget, verifyItem } from '../bep44.js';
import { KrpcErrorReply } from '../errors.js';
import type { QueryHandler } from './context.js';

export const handlePut: QueryHandler = (ctx, query, from) => {
  const args = parsePutArgs(query.args);
  if (!ctx.tokens.verify(from.host, args.token)) throw new KrpcErrorReply(KRPC_ERROR.PROTOCOL, 'bad token');
  if (args.vEncoded.length > MAX_ITEM_VALUE_LENGTH) throw new KrpcErrorReply(205, 'message (v field) too big');
  if (!args.k) {
    ctx.items.set(immutableTarget(args.vEncoded), { v: args.v, vEncoded: args.vEncoded });
    return {};
  }
  const salt = args.salt && args.salt.length > 0 ? args.salt : undefined;
  if (salt && salt.length > MAX_SALT_LENGTH) throw new KrpcErrorReply(207, 'salt (salt field) too big');
  const seq = args.seq!;
  if (!verifyItem(args.k, args.sig!, args.vEncoded, seq, salt)) throw new KrpcErrorReply(206, 'invalid signature');
  const target = mutableTarget(args.k, salt);
  const existing = ctx.items.get(target);
  if (existing && existing.seq !== undefined) {
    if (args.cas !== undefined && args.cas !== existing.seq) throw new KrpcErrorReply(301, 'the CAS hash mismatched');
    if (seq < existing.seq) throw new KrpcErrorReply(302, 'sequence number less than current');
    if (seq === existing.seq && !Buffer.from(existing.vEncoded).equals(args.vEncoded)) {
      throw new KrpcErrorReply(302, 'sequence number less than current');
    }
  }
  ctx.items.set(target, { v: args.v, vEncoded: args.vEncoded, k: args.k, sig: args.sig!, seq, salt });
  return {};
};
