/**
 * BEP 44 from the asking side: `getItem` looks an item up and returns it only when it checks out
 * (an immutable value hashes to its target; a mutable one is signed by the key its target names,
 * and the highest `seq` wins); `putItem` collects write tokens with a `get` lookup, then stores the
 * item at the k closest nodes. Both run in every address family that is up (BEP 32).
 */
import { bencode, type BEncodable, type BValue } from '../codec/bencode.js';
import { MAX_ITEM_VALUE_LENGTH, MAX_SALT_LENGTH, parseGetReply, type GetReply } from '../codec/dht-messages.js';
import { idEquals } from '../kademlia/id.js';
import { immutableTarget, mutableTarget, signItem, verifyItem, type Ed25519KeyPair } from './bep44.js';
import type { Dht } from './dht.js';
import { DhtInputError } from './errors.js';
import type { ItemTarget } from './types.js';

export interface ImmutableItem {
  kind: 'immutable';
  target: ItemTarget;
  v: BValue;
  vEncoded: Uint8Array;
}

export interface MutableItem {
  kind: 'mutable';
  target: ItemTarget;
  v: BValue;
  vEncoded: Uint8Array;
  k: Uint8Array;
  sig: Uint8Array;
  seq: number;
  salt?: Uint8Array;
}

export type DhtItem = ImmutableItem | MutableItem;

/** An immutable item (just `v`) or a mutable one (signed with `keyPair`). */
export type PutRequest =
  | { v: BEncodable }
  | { v: BEncodable; keyPair: Ed25519KeyPair; salt?: Uint8Array; seq?: number; cas?: number };

export interface PutResult {
  target: ItemTarget;
  /** The sequence number used (mutable items). */
  seq?: number;
  /** Nodes that accepted the item. */
  storedAt: number;
}

export async function getItem(
  dht: Dht,
  target: ItemTarget,
  options: { salt?: Uint8Array; signal?: AbortSignal } = {},
): Promise<DhtItem | undefined> {
  const salt = options.salt && options.salt.length > 0 ? options.salt : undefined;
  const controller = new AbortController();
  options.signal?.addEventListener('abort', () => controller.abort(), { once: true });
  let best: DhtItem | undefined;
  const consider = (item: DhtItem | undefined) => {
    if (!item) return;
    if (item.kind === 'immutable') {
      best = item;
      controller.abort(); // an immutable item is final: no need to ask further
    } else if (!best || (best.kind === 'mutable' && item.seq > best.seq)) {
      best = item;
    }
  };
  const local = dht.localStores.items.get(target);
  if (local) consider(checkItem(target, { ...local, nodes: [], nodes6: [] }, salt));
  if (best?.kind !== 'immutable') {
    await dht.iterate<GetReply>(target, 'get', { target }, parseGetReply, {
      signal: controller.signal,
      onReply: (_contact, reply) => consider(checkItem(target, reply, salt)),
    });
  }
  return best;
}

export async function putItem(dht: Dht, request: PutRequest, signal?: AbortSignal): Promise<PutResult> {
  const vEncoded = bencode(request.v);
  if (vEncoded.length > MAX_ITEM_VALUE_LENGTH) {
    throw new DhtInputError(`item value is ${vEncoded.length} bytes bencoded; BEP 44 allows ${MAX_ITEM_VALUE_LENGTH}`);
  }
  const mutable = 'keyPair' in request ? request : undefined;
  const salt = mutable?.salt && mutable.salt.length > 0 ? mutable.salt : undefined;
  if (salt && salt.length > MAX_SALT_LENGTH) throw new DhtInputError(`salt is over ${MAX_SALT_LENGTH} bytes`);
  const target = mutable ? mutableTarget(mutable.keyPair.publicKey, salt) : immutableTarget(vEncoded);

  let highestSeq: number | undefined;
  const lookup = await dht.iterate<GetReply>(target, 'get', { target }, parseGetReply, {
    signal,
    onReply: (_contact, reply) => {
      const item = mutable ? checkItem(target, reply, salt) : undefined;
      if (item?.kind === 'mutable' && (highestSeq === undefined || item.seq > highestSeq)) highestSeq = item.seq;
    },
  });
  const seq = mutable ? (mutable.seq ?? (highestSeq === undefined ? 0 : highestSeq + 1)) : undefined;
  const signed = mutable && seq !== undefined ? { k: mutable.keyPair.publicKey, seq, salt, cas: mutable.cas, sig: signItem(mutable.keyPair, vEncoded, seq, salt) } : undefined;

  dht.localStores.items.set(target, { v: request.v as BValue, vEncoded, ...(signed ?? {}) });
  const outcomes = await Promise.all(
    lookup.closest
      .filter((c) => c.reply.value?.token)
      .map((c) => dht.rpc(c.contact.address, 'put', { token: c.reply.value!.token!, v: request.v, ...(signed ?? {}) }, c.contact.id)),
  );
  return { target, seq, storedAt: outcomes.filter((o) => o?.kind === 'response').length };
}

/** The item in a `get` reply if it is genuine for `target`, else undefined. */
function checkItem(target: ItemTarget, reply: GetReply, salt: Uint8Array | undefined): DhtItem | undefined {
  if (reply.v === undefined || !reply.vEncoded) return undefined;
  if (!reply.k) {
    if (!idEquals(immutableTarget(reply.vEncoded), target)) return undefined;
    return { kind: 'immutable', target, v: reply.v, vEncoded: reply.vEncoded };
  }
  if (!reply.sig || reply.seq === undefined) return undefined;
  if (!idEquals(mutableTarget(reply.k, salt), target)) return undefined;
  if (!verifyItem(reply.k, reply.sig, reply.vEncoded, reply.seq, salt)) return undefined;
  return { kind: 'mutable', target, v: reply.v, vEncoded: reply.vEncoded, k: reply.k, sig: reply.sig, seq: reply.seq, salt };
}
