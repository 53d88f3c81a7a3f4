/**
 * A readable notation for piece-picker tests: one character per piece.
 *
 *   pickerFrom({ have: '1100....', peers: { a: '11111111', b: '00111100', s: '*' } })
 *
 * In `have` and peer strings '1' means had/has and '.' or '0' means not; a peer string of '*' is
 * a BEP 6 have-all. Pieces are 4 blocks (64 KiB) unless `pieceLength`/`totalLength` say otherwise.
 * `randomFirstPieces` defaults to 0 here (rarest first from the start) so tests opt in to it.
 */
import { BLOCK_SIZE, PiecePicker, type Block } from '../../src/swarm/piece-picker.js';
import { Mulberry32 } from '../../src/runtime/prng.js';

export interface PickerSpec {
  have?: string;
  peers?: Record<string, string>;
  pieceLength?: number;
  totalLength?: number;
  seed?: number;
  randomFirstPieces?: number;
}

/** A BEP 3 bitfield from a '1'/'.' string. */
export function bitfieldOf(pieces: string): Uint8Array {
  const bits = new Uint8Array((pieces.length + 7) >> 3);
  for (let i = 0; i < pieces.length; i++) if (pieces[i] === '1') bits[i >> 3] |= 0x80 >> (i & 7);
  return bits;
}

/** Builds a picker from the notation. */
export function pickerFrom(spec: PickerSpec): PiecePicker {
  const peerStrings = Object.values(spec.peers ?? {}).filter((s) => s !== '*');
  const count = spec.have?.length ?? peerStrings[0]?.length;
  if (count === undefined) throw new Error('pickerFrom: give `have` or a peer bitfield to fix the piece count');
  const pieceLength = spec.pieceLength ?? 4 * BLOCK_SIZE;
  const rng = new Mulberry32(spec.seed ?? 1);
  const picker = new PiecePicker({
    pieceCount: count,
    pieceLength,
    totalLength: spec.totalLength ?? count * pieceLength,
    random: () => rng.next(),
    randomFirstPieces: spec.randomFirstPieces ?? 0,
  });
  [...(spec.have ?? '')].forEach((c, i) => {
    if (c === '1') picker.setHave(i);
  });
  for (const [peer, pieces] of Object.entries(spec.peers ?? {})) {
    if (pieces === '*') picker.peerHaveAll(peer);
    else if (pieces.length !== count) throw new Error(`pickerFrom: peer ${peer} has ${pieces.length} pieces, expected ${count}`);
    else picker.peerBitfield(peer, bitfieldOf(pieces));
  }
  return picker;
}

/** Availability per piece as digits ('+' above 9): e.g. '3211'. */
export function availabilityOf(picker: PiecePicker): string {
  let out = '';
  for (let i = 0; i < picker.geometry.pieceCount; i++) {
    const a = picker.availability(i);
    out += a > 9 ? '+' : String(a);
  }
  return out;
}

/** What we have, in the notation: e.g. '11..'. */
export function havesOf(picker: PiecePicker): string {
  let out = '';
  for (let i = 0; i < picker.geometry.pieceCount; i++) out += picker.has(i) ? '1' : '.';
  return out;
}

/** Blocks as short strings 'piece:block' (block = begin / 16 KiB), for readable assertions. */
export function names(blocks: readonly Block[]): string[] {
  return blocks.map((b) => `${b.index}:${b.begin / BLOCK_SIZE}`);
}

/** The distinct pieces of `blocks`, in first-seen order. */
export function piecesOf(blocks: readonly Block[]): number[] {
  return [...new Set(blocks.map((b) => b.index))];
}

/** Delivers every block of `blocks` from `peer` and verifies pieces that complete. */
export function deliver(picker: PiecePicker, peer: string, blocks: readonly Block[]): void {
  for (const b of blocks) {
    if (picker.blockReceived(peer, b).pieceComplete) picker.pieceVerified(b.index);
  }
}
