/**
 * Identifiers of the mainline DHT. Branded so that a node id, an infohash and a BEP 44 target
 * (all 20 bytes) cannot be passed for one another by mistake.
 */
import { DhtInputError } from './errors.js';

export type NodeId = Uint8Array & { readonly __brand: 'NodeId' };
export type InfoHash = Uint8Array & { readonly __brand: 'InfoHash' };
/** The key of a BEP 44 item: SHA-1 of the value (immutable) or of public key + salt (mutable). */
export type ItemTarget = Uint8Array & { readonly __brand: 'ItemTarget' };

export const ID_LENGTH = 20;

function parse20(kind: string, input: string | Uint8Array): Uint8Array {
  if (typeof input !== 'string') {
    if (input.length !== ID_LENGTH) throw new DhtInputError(`${kind} must be 20 bytes, got ${input.length}`);
    return Uint8Array.from(input);
  }
  if (!/^[0-9a-fA-F]{40}$/.test(input)) throw new DhtInputError(`${kind} must be 40 hex characters: "${input}"`);
  return Uint8Array.from(Buffer.from(input, 'hex'));
}

/** Parses 40 hex characters (or copies 20 bytes) into a NodeId; throws DhtInputError otherwise. */
export function toNodeId(input: string | Uint8Array): NodeId {
  return parse20('node id', input) as NodeId;
}

/** Parses 40 hex characters (or copies 20 bytes) into an InfoHash; throws DhtInputError otherwise. */
export function toInfoHash(input: string | Uint8Array): InfoHash {
  return parse20('infohash', input) as InfoHash;
}

/** Parses 40 hex characters (or copies 20 bytes) into an ItemTarget; throws DhtInputError otherwise. */
export function toItemTarget(input: string | Uint8Array): ItemTarget {
  return parse20('item target', input) as ItemTarget;
}

export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
