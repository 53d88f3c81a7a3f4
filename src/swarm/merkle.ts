/**
 * BEP 52 merkle trees, as libtorrent 2.0 computes them: the leaves are the SHA-256 of each 16 KiB
 * block of a file (the last one may be short), padded with zero leaves to a power of two; a node
 * is the SHA-256 of its two children; the root is the file's `pieces root`. A piece's hash is the
 * node above its blocks (the "piece layer"); a file of at most one piece has only its root.
 *
 * Also the `hash request` / `hashes` exchange (BEP 52 messages 21-23) that fetches a piece layer
 * from peers: which requests to make, which to accept, the seeder's answer, and its check.
 *
 * Heights count from the leaves: 0 is the block hashes, p = log2(piece length / 16 KiB) the piece
 * layer. Pure; hashes are plain `Uint8Array`s of 32 bytes, layers their concatenation.
 */
import { createHash, hash, type Hash } from 'node:crypto';
import { idEquals } from '../kademlia/id.js';

/** Bytes under one leaf. */
export const MERKLE_BLOCK = 16384;
export const HASH_SIZE = 32;
/** libtorrent asks for a piece layer this many hashes at a time. */
export const PIECE_LAYER_CHUNK = 512;
/** The most base hashes one request may ask for (libtorrent's limit: a 128 MiB piece in blocks). */
export const MAX_HASH_REQUEST = 8192;

const ZERO = new Uint8Array(HASH_SIZE);

function digestOf(hash: Hash): Uint8Array {
  const d = hash.digest();
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

/** SHA-256, one-shot (`hash` rather than a `Hash` object per node: a v2 piece of 1 MiB takes 127 hashes). */
export function sha256(data: Uint8Array): Uint8Array {
  const d = hash('sha256', data, 'buffer');
  return new Uint8Array(d.buffer, d.byteOffset, d.byteLength);
}

const pair = new Uint8Array(2 * HASH_SIZE);

function hashPair(left: Uint8Array, right: Uint8Array): Uint8Array {
  pair.set(left);
  pair.set(right, HASH_SIZE);
  return sha256(pair);
}

function isPow2(n: number): boolean {
  return Number.isSafeInteger(n) && n > 0 && 2 ** Math.round(Math.log2(n)) === n;
}

/** The smallest power of two ≥ n (1 for n ≤ 1). */
export function nextPow2(n: number): number {
  let p = 1;
  while (p < n) p *= 2;
  return p;
}

/** log2 of a power of two. */
function log2(n: number): number {
  return Math.round(Math.log2(n));
}

/** log2(blocks per piece); throws `RangeError` unless the piece length is a power of two ≥ 16 KiB. */
function pieceLog(pieceLength: number): number {
  if (!isPow2(pieceLength) || pieceLength < MERKLE_BLOCK) throw new RangeError(`bad v2 piece length ${pieceLength}`);
  return log2(pieceLength / MERKLE_BLOCK);
}

function checkFileLength(fileLength: number): void {
  if (!Number.isSafeInteger(fileLength) || fileLength <= 0) throw new RangeError(`bad file length ${fileLength}`);
}

const pads: Uint8Array[] = [ZERO];

/** The memoized pad hash of `height` (shared: never hand it out). */
function pad(height: number): Uint8Array {
  while (pads.length <= height) {
    const below = pads[pads.length - 1]!;
    pads.push(hashPair(below, below));
  }
  return pads[height]!;
}

/** The root of 2^height zero leaves: what stands for nodes wholly past a file's end. */
export function padHash(height: number): Uint8Array {
  if (!Number.isSafeInteger(height) || height < 0 || height > 64) throw new RangeError(`bad pad height ${height}`);
  return pad(height).slice();
}

/**
 * The levels of a tree over `leaves` padded with `padLeaf` to `width` leaves, bottom first. Each
 * level holds only its nodes over at least one real leaf (the rest are the pads of that level).
 */
function buildLevels(leaves: Uint8Array, width: number, padLeaf: Uint8Array): { levels: Uint8Array[]; top: Uint8Array } {
  const count = leaves.length / HASH_SIZE;
  if (!Number.isInteger(count)) throw new RangeError(`leaves of ${leaves.length} bytes are not whole hashes`);
  if (!isPow2(width) || count > width) throw new RangeError(`bad merkle width ${width} for ${count} leaves`);
  if (padLeaf.length !== HASH_SIZE) throw new RangeError('a pad hash is 32 bytes');
  const levels = [leaves];
  let level = leaves;
  let n = count;
  let padHere = padLeaf;
  for (let w = width; w > 1; w /= 2) {
    const m = Math.ceil(n / 2);
    const next = new Uint8Array(m * HASH_SIZE);
    for (let i = 0; i < m; i++) {
      const left = level.subarray(2 * i * HASH_SIZE, (2 * i + 1) * HASH_SIZE);
      const right = 2 * i + 1 < n ? level.subarray((2 * i + 1) * HASH_SIZE, (2 * i + 2) * HASH_SIZE) : padHere;
      next.set(hashPair(left, right), i * HASH_SIZE);
    }
    levels.push(next);
    level = next;
    n = m;
    padHere = hashPair(padHere, padHere);
  }
  return { levels, top: n === 0 ? padHere : level.subarray(0, HASH_SIZE) };
}

/** Root over `leaves` (concatenated 32-byte hashes) padded with `pad` to `width` leaves (width a power of two ≥ count). */
export function merkleRoot(leaves: Uint8Array, width: number, pad: Uint8Array): Uint8Array {
  return buildLevels(leaves, width, pad).top.slice();
}

/** Concatenated SHA-256 of each 16 KiB block of `data` (the last may be short). */
export function blockHashes(data: Uint8Array): Uint8Array {
  const count = Math.ceil(data.length / MERKLE_BLOCK);
  const out = new Uint8Array(count * HASH_SIZE);
  for (let i = 0; i < count; i++) {
    out.set(sha256(data.subarray(i * MERKLE_BLOCK, Math.min((i + 1) * MERKLE_BLOCK, data.length))), i * HASH_SIZE);
  }
  return out;
}

/** Piece hash of one piece of a file longer than a piece: root over its blocks padded with zero leaves to blocksPerPiece. */
export function pieceHashV2(data: Uint8Array, pieceLength: number): Uint8Array {
  const p = pieceLog(pieceLength);
  if (data.length === 0 || data.length > pieceLength) throw new RangeError(`a piece of ${data.length} bytes in pieces of ${pieceLength}`);
  return merkleRoot(blockHashes(data), 2 ** p, ZERO);
}

/** Root of a file of at most one piece from its data: root over nextPow2(blocks) leaves. An empty file has no tree. */
export function smallFileRoot(data: Uint8Array): Uint8Array {
  if (data.length === 0) throw new RangeError('an empty file has no merkle root');
  const leaves = blockHashes(data);
  return merkleRoot(leaves, nextPow2(leaves.length / HASH_SIZE), ZERO);
}

/** Root of a file from its piece layer (concatenated hashes), padded to nextPow2(count) with padHash(log2(blocksPerPiece)). */
export function pieceLayerRoot(layer: Uint8Array, pieceLength: number): Uint8Array {
  const p = pieceLog(pieceLength);
  const count = layer.length / HASH_SIZE;
  if (!Number.isInteger(count) || count === 0) throw new RangeError(`a piece layer of ${layer.length} bytes`);
  return merkleRoot(layer, nextPow2(count), pad(p));
}

/** A growable concatenation of hashes. */
class HashList {
  private bytes = new Uint8Array(HASH_SIZE * 16);
  count = 0;

  push(hash: Uint8Array): void {
    if ((this.count + 1) * HASH_SIZE > this.bytes.length) {
      const bigger = new Uint8Array(this.bytes.length * 2);
      bigger.set(this.bytes);
      this.bytes = bigger;
    }
    this.bytes.set(hash, this.count * HASH_SIZE);
    this.count++;
  }

  toBytes(): Uint8Array {
    return this.bytes.slice(0, this.count * HASH_SIZE);
  }
}

/**
 * A file's root and piece layer from its bytes fed in any chunking, for creating torrents. Holds
 * one block's hash state, the block hashes of the current piece and the piece hashes so far (32
 * bytes a piece), never the data.
 */
export class FileMerkleBuilder {
  private readonly blocksPerPiece: number;
  /** Block hashes of the piece being read. */
  private readonly blocks: Uint8Array;
  private blocksInPiece = 0;
  private block: Hash = createHash('sha256');
  private blockFill = 0;
  private readonly pieces = new HashList();
  private bytes = 0;
  private done = false;

  constructor(readonly pieceLength: number) {
    this.blocksPerPiece = 2 ** pieceLog(pieceLength);
    this.blocks = new Uint8Array(this.blocksPerPiece * HASH_SIZE);
  }

  /** Bytes fed so far. */
  get length(): number {
    return this.bytes;
  }

  update(chunk: Uint8Array): void {
    if (this.done) throw new Error('update after finish');
    let at = 0;
    while (at < chunk.length) {
      const take = Math.min(MERKLE_BLOCK - this.blockFill, chunk.length - at);
      this.block.update(chunk.subarray(at, at + take));
      this.blockFill += take;
      this.bytes += take;
      at += take;
      if (this.blockFill === MERKLE_BLOCK) this.endBlock();
    }
  }

  /** The root, and the piece layer when the file is longer than a piece. Throws for an empty file. */
  finish(): { root: Uint8Array; pieceLayer?: Uint8Array } {
    if (this.done) throw new Error('finish called twice');
    this.done = true;
    if (this.blockFill > 0) this.endBlock();
    if (this.bytes === 0) throw new RangeError('an empty file has no merkle root');
    const partial = this.blocks.subarray(0, this.blocksInPiece * HASH_SIZE);
    if (this.pieces.count === 0) return { root: merkleRoot(partial, nextPow2(this.blocksInPiece), ZERO) };
    if (this.blocksInPiece > 0) this.pieces.push(merkleRoot(partial, this.blocksPerPiece, ZERO));
    const layer = this.pieces.toBytes();
    if (this.pieces.count === 1) return { root: layer };
    return { root: pieceLayerRoot(layer, this.pieceLength), pieceLayer: layer };
  }

  private endBlock(): void {
    this.blocks.set(digestOf(this.block), this.blocksInPiece * HASH_SIZE);
    this.block = createHash('sha256');
    this.blockFill = 0;
    if (++this.blocksInPiece === this.blocksPerPiece) {
      this.pieces.push(merkleRoot(this.blocks, this.blocksPerPiece, ZERO));
      this.blocksInPiece = 0;
    }
  }
}

/**
 * A BEP 52 `hash request` (and the header of its `hashes` / `hash reject`): `length` hashes of the
 * file's tree at height `baseLayer` from `index`, with the uncle hashes of up to `proofLayers`
 * layers above them.
 */
export interface HashRequest {
  piecesRoot: Uint8Array;
  baseLayer: number;
  index: number;
  length: number;
  proofLayers: number;
}

/** Height of the file's root above its blocks: log2(nextPow2(blocks)). */
function treeHeight(fileLength: number): number {
  return log2(nextPow2(Math.ceil(fileLength / MERKLE_BLOCK)));
}

/** Nodes at `height` over at least one of the file's blocks (those past them are pads). */
function realNodes(fileLength: number, height: number): number {
  return Math.ceil(Math.ceil(fileLength / MERKLE_BLOCK) / 2 ** height);
}

/** Uncle hashes in the answer to a request: heights log2(length) to proofLayers above the base. */
function uncleCount(length: number, proofLayers: number): number {
  return Math.max(0, proofLayers - log2(length) + 1);
}

/** The requests (as libtorrent makes them) that fetch a whole piece layer of a file of `fileLength` bytes; none for a file of at most one piece. */
export function pieceLayerRequests(piecesRoot: Uint8Array, fileLength: number, pieceLength: number): HashRequest[] {
  const p = pieceLog(pieceLength);
  checkFileLength(fileLength);
  if (fileLength <= pieceLength) return [];
  const count = Math.ceil(fileLength / pieceLength);
  const height = treeHeight(fileLength) - p;
  const out: HashRequest[] = [];
  for (let index = 0; index < count; index += PIECE_LAYER_CHUNK) {
    out.push({ piecesRoot, baseLayer: p, index, length: Math.min(PIECE_LAYER_CHUNK, nextPow2(count - index)), proofLayers: height - 1 });
  }
  return out;
}

/**
 * True when a request is valid for a file of `fileLength` bytes: libtorrent's rules (within the
 * tree, at most 8192 hashes, uncles below the root), and BEP 52's (a power-of-two `length`,
 * `index` a multiple of it).
 */
export function validHashRequest(r: HashRequest, fileLength: number): boolean {
  const { baseLayer, index, length, proofLayers } = r;
  if (!Number.isSafeInteger(fileLength) || fileLength <= 0) return false;
  if (![baseLayer, index, length, proofLayers].every(Number.isSafeInteger)) return false;
  if (r.piecesRoot.length !== HASH_SIZE) return false;
  if (baseLayer < 0 || index < 0 || length <= 0 || length > MAX_HASH_REQUEST || proofLayers < 0) return false;
  const layers = treeHeight(fileLength);
  if (baseLayer >= layers) return false;
  if (index + length > 2 ** (layers - baseLayer)) return false;
  if (proofLayers >= layers - baseLayer) return false;
  return isPow2(length) && index % length === 0;
}

/**
 * A seeder's view of one file's tree from its verified piece layer: every node at or above the
 * piece layer, computed once, to answer hash requests.
 */
export class PieceLayerTree {
  readonly root: Uint8Array;
  private readonly p: number;
  /** `levels[j]`: the real nodes at height p + j. */
  private readonly levels: Uint8Array[];

  /** Throws `RangeError` for a file of at most one piece (it has no layer) or a layer of the wrong size. */
  constructor(
    layer: Uint8Array,
    readonly fileLength: number,
    readonly pieceLength: number,
  ) {
    this.p = pieceLog(pieceLength);
    checkFileLength(fileLength);
    if (fileLength <= pieceLength) throw new RangeError('a file of at most one piece has no piece layer');
    const count = Math.ceil(fileLength / pieceLength);
    if (layer.length !== count * HASH_SIZE) throw new RangeError(`a layer of ${layer.length} bytes for ${count} pieces`);
    const { levels, top } = buildLevels(layer.slice(), nextPow2(count), pad(this.p));
    this.levels = levels;
    this.root = top.slice();
  }

  /**
   * The `hashes` answer to `r`: its base hashes, then its uncles lowest first. Undefined when `r`
   * is invalid, for another root, or below the piece layer (block hashes are not kept).
   */
  answer(r: HashRequest): Uint8Array | undefined {
    if (!validHashRequest(r, this.fileLength) || r.baseLayer < this.p || !idEquals(r.piecesRoot, this.root)) return undefined;
    const k = log2(r.length);
    const out = new Uint8Array((r.length + uncleCount(r.length, r.proofLayers)) * HASH_SIZE);
    let at = 0;
    for (let i = 0; i < r.length; i++, at += HASH_SIZE) out.set(this.node(r.baseLayer, r.index + i), at);
    for (let h = k; h <= r.proofLayers; h++, at += HASH_SIZE) out.set(this.node(r.baseLayer + h, sibling(Math.floor(r.index / 2 ** h))), at);
    return out;
  }

  /** Node `index` at `height` (≥ p): stored, or a pad past the file's end. */
  private node(height: number, index: number): Uint8Array {
    const level = this.levels[height - this.p]!;
    if (index * HASH_SIZE < level.length) return level.subarray(index * HASH_SIZE, (index + 1) * HASH_SIZE);
    return pad(height);
  }
}

function sibling(index: number): number {
  return index % 2 === 0 ? index + 1 : index - 1;
}

/**
 * A downloader's check of a `hashes` answer to its request `r` (for a file of `fileLength` bytes
 * in a torrent of `pieceLength`): the root of the base hashes, climbed with the uncles (each on
 * the side the index says), must be `r.piecesRoot`. So the uncles must reach the root, as they do
 * for `pieceLayerRequests`. Returns the base hashes cut to those over the file's real data (at the
 * piece layer: its real pieces), or undefined when anything is off (count, mismatch).
 *
 * libtorrent answers a request of one hash without its lowest uncle (its own check wants it);
 * that answer is taken too when the missing uncle lies past the file's end, so is a known pad.
 */
export function verifyHashes(r: HashRequest, hashes: Uint8Array, fileLength: number, pieceLength: number): Uint8Array | undefined {
  pieceLog(pieceLength);
  if (!validHashRequest(r, fileLength)) return undefined;
  const k = log2(r.length);
  const real = realNodes(fileLength, r.baseLayer);
  const baseBytes = r.length * HASH_SIZE;
  let uncles = hashes.subarray(baseBytes);
  const expected = uncleCount(r.length, r.proofLayers);
  if (hashes.length !== baseBytes + expected * HASH_SIZE) {
    const short = r.length === 1 && hashes.length === baseBytes + (expected - 1) * HASH_SIZE && sibling(r.index) >= real;
    if (!short) return undefined;
    const filled = new Uint8Array(expected * HASH_SIZE);
    filled.set(pad(r.baseLayer));
    filled.set(uncles, HASH_SIZE);
    uncles = filled;
  }
  if (Math.max(k, r.proofLayers + 1) !== treeHeight(fileLength) - r.baseLayer) return undefined;
  const base = hashes.subarray(0, baseBytes);
  let node = buildLevels(base, r.length, ZERO).top;
  let position = r.index / r.length;
  for (let u = 0; u < expected; u++) {
    const uncle = uncles.subarray(u * HASH_SIZE, (u + 1) * HASH_SIZE);
    node = position % 2 === 0 ? hashPair(node, uncle) : hashPair(uncle, node);
    position = Math.floor(position / 2);
  }
  if (!idEquals(node, r.piecesRoot)) return undefined;
  return base.slice(0, Math.max(0, Math.min(r.length, real - r.index)) * HASH_SIZE);
}

/**
 * Puts a file's piece layer (file longer than a piece) together from the answers to
 * `pieceLayerRequests`, each checked with `verifyHashes` as it arrives.
 */
export class PieceLayerAssembler {
  readonly requests: readonly HashRequest[];
  private readonly parts: (Uint8Array | undefined)[];

  constructor(
    readonly piecesRoot: Uint8Array,
    readonly fileLength: number,
    readonly pieceLength: number,
  ) {
    this.requests = pieceLayerRequests(piecesRoot, fileLength, pieceLength);
    if (this.requests.length === 0) throw new RangeError('a file of at most one piece has no piece layer');
    this.parts = this.requests.map(() => undefined);
  }

  /** Keeps the answer to one of `requests` if it proves out; false (nothing kept) otherwise. */
  add(r: HashRequest, hashes: Uint8Array): boolean {
    const i = this.requests.findIndex(
      (q) => q.baseLayer === r.baseLayer && q.index === r.index && q.length === r.length && q.proofLayers === r.proofLayers,
    );
    if (i < 0 || !idEquals(r.piecesRoot, this.piecesRoot)) return false;
    const base = verifyHashes(r, hashes, this.fileLength, this.pieceLength);
    if (!base) return false;
    this.parts[i] = base;
    return true;
  }

  /** The requests whose answers are still missing. */
  missing(): HashRequest[] {
    return this.requests.filter((_, i) => !this.parts[i]);
  }

  get complete(): boolean {
    return this.parts.every((part) => part !== undefined);
  }

  /** The whole layer once every answer is in. */
  layer(): Uint8Array | undefined {
    if (!this.complete) return undefined;
    const out = new Uint8Array(Math.ceil(this.fileLength / this.pieceLength) * HASH_SIZE);
    let at = 0;
    for (const part of this.parts) {
      out.set(part!, at);
      at += part!.length;
    }
    return out;
  }
}
