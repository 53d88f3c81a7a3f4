/**
 * Finding the peer that sent bad data. When a piece fails its hash check, the hash of every block
 * and who sent it is remembered; when the piece later passes, any peer whose remembered block
 * differs from the good data is guilty. A peer that sent a whole failed piece alone is guilty at
 * once. Memory is bounded by the number of failed pieces still pending.
 */
import { createHash } from 'node:crypto';

const MAX_PENDING_PIECES = 256;

export class SmartBan {
  /** piece -> block offset -> (peer key -> block digest) */
  private readonly suspects = new Map<number, Map<number, Map<string, string>>>();

  /**
   * Records a failed piece. `blocks` lists who sent each block; returns the peers that are already
   * known guilty (the sole contributor of the piece).
   */
  pieceFailed(index: number, data: Uint8Array, blocks: readonly { begin: number; length: number; peer: string }[]): string[] {
    const senders = new Set(blocks.map((b) => b.peer));
    if (senders.size === 1) return [...senders];
    let record = this.suspects.get(index);
    if (!record) {
      if (this.suspects.size >= MAX_PENDING_PIECES) this.suspects.delete(this.suspects.keys().next().value as number);
      record = new Map();
      this.suspects.set(index, record);
    }
    for (const block of blocks) {
      let byPeer = record.get(block.begin);
      if (!byPeer) record.set(block.begin, (byPeer = new Map()));
      byPeer.set(block.peer, digest(data.subarray(block.begin, block.begin + block.length)));
    }
    return [];
  }

  /** The piece passed: returns the peers that earlier sent a block of it that differs from `data`. */
  pieceVerified(index: number, data: Uint8Array, blockLength: number): string[] {
    const record = this.suspects.get(index);
    if (!record) return [];
    this.suspects.delete(index);
    const guilty = new Set<string>();
    for (const [begin, byPeer] of record) {
      const good = digest(data.subarray(begin, begin + blockLength));
      for (const [peer, sent] of byPeer) if (sent !== good) guilty.add(peer);
    }
    return [...guilty];
  }
}

function digest(bytes: Uint8Array): string {
  return createHash('sha1').update(bytes).digest('hex');
}
