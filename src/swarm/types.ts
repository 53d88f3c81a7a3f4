/**
 * Identifiers of the swarm. Branded so a piece index cannot be passed where a byte offset or a
 * count is expected, and a peer id cannot be mistaken for an infohash.
 */
export type PieceIndex = number & { readonly __brand: 'PieceIndex' };
/** The 20-byte id a BitTorrent client announces in its handshake. */
export type PeerId = Uint8Array & { readonly __brand: 'PeerId' };

/** A new peer id in Azureus style: `-WR0100-` then 12 random bytes. */
export function newPeerId(randomBytes: (n: number) => Uint8Array): PeerId {
  const id = new Uint8Array(20);
  id.set(new TextEncoder().encode('-WR0100-'));
  id.set(randomBytes(12), 8);
  return id as PeerId;
}
