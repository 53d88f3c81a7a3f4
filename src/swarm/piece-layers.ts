/**
 * The BEP 52 hashes of a v2-only torrent. Its info dictionary holds only each file's merkle root;
 * checking a piece needs the file's piece layer (one SHA-256 per piece), which comes from the
 * .torrent (`piece layers`), from resume data, or from peers in `hashes` messages. A layer is used
 * only once its merkle root matches the file's. A file of at most one piece needs no layer: its
 * root is its piece's hash.
 *
 * This says how each piece is checked, which `hash request`s to send for the layers still
 * missing (as libtorrent asks: 512 hashes at a time, with the uncle hashes up to the root), and
 * answers the peers' requests from the layers we hold.
 */
import type { InfoDict, TorrentFile } from '../codec/metainfo.js';
import { toHex } from '../dht/types.js';
import { idEquals } from '../kademlia/id.js';
import { HASH_SIZE, MERKLE_BLOCK, nextPow2, PieceLayerAssembler, PieceLayerTree, pieceLayerRoot, validHashRequest, type HashRequest } from './merkle.js';
import type { PieceCheck } from './piece-hasher.js';

/** How long a hash request may go unanswered before another peer is asked. */
const REQUEST_TIMEOUT_MS = 10_000;

/** Who was asked for one part of a missing layer (a request), when, and who refused it. */
interface Asked {
  askedOf?: string;
  askedAt: number;
  refusedBy: Set<string>;
}

/** A missing layer: its parts so far, and the asking for each part, by the request's index. */
interface MissingLayer {
  parts: PieceLayerAssembler;
  asked: Map<number, Asked>;
}

/** The verified piece layers of one torrent, and the requests for the missing ones. */
export class PieceLayers {
  /** Verified layers by the hex of their file's root (identical files share a root and a layer). */
  private readonly layers = new Map<string, Uint8Array>();
  private readonly trees = new Map<string, PieceLayerTree>();
  /** Missing layers (files longer than a piece) by root hex. */
  private readonly missing = new Map<string, MissingLayer>();
  /** The file index of each piece (v2 pieces never span files). */
  private readonly pieceFile: Int32Array;
  /** Each file's first piece. */
  private readonly firstPiece: number[] = [];
  /** Files longer than 0 bytes by the hex of their root. */
  private readonly byRoot = new Map<string, TorrentFile>();
  /** Roots of the files that hold a wanted piece; undefined while every file is wanted. */
  private wantedRoots: Set<string> | undefined;

  constructor(
    readonly info: InfoDict,
    private readonly now: () => number,
  ) {
    this.pieceFile = new Int32Array(info.pieceCount).fill(-1);
    info.files.forEach((file, i) => {
      const first = Math.floor(file.offset / info.pieceLength);
      this.firstPiece.push(first);
      if (file.padding || file.length === 0) return;
      const count = Math.ceil(file.length / info.pieceLength);
      this.pieceFile.fill(i, first, first + count);
      const hex = toHex(file.piecesRoot!);
      this.byRoot.set(hex, file);
      if (count > 1 && !this.missing.has(hex)) {
        const parts = new PieceLayerAssembler(file.piecesRoot!, file.length, info.pieceLength);
        const asked = new Map(parts.requests.map((r) => [r.index, { askedAt: -Infinity, refusedBy: new Set<string>() }]));
        this.missing.set(hex, { parts, asked });
      }
    });
  }

  /**
   * Whether every wanted piece can be checked now: the layers of files with no wanted piece (see
   * `setWantedPieces`) are not needed, so they are not asked for.
   */
  get complete(): boolean {
    for (const hex of this.missing.keys()) if (this.isWanted(hex)) return false;
    return true;
  }

  /**
   * Narrows the layers needed to those of files that hold a piece `mask` marks wanted (1), as the
   * piece picker's mask does; v2 pieces never span files, so a piece names one file.
   */
  setWantedPieces(mask: Uint8Array): void {
    const roots = new Set<string>();
    mask.forEach((want, index) => {
      const fileIndex = this.pieceFile[index]!;
      if (want && fileIndex >= 0) roots.add(toHex(this.info.files[fileIndex]!.piecesRoot!));
    });
    this.wantedRoots = roots;
  }

  private isWanted(rootHex: string): boolean {
    return this.wantedRoots?.has(rootHex) ?? true;
  }

  /**
   * Adds a layer for the file whose root is `rootHex` (from a .torrent or resume data). False, and
   * nothing kept, when no file has that root or the layer does not hash to it.
   */
  add(rootHex: string, layer: Uint8Array): boolean {
    const file = this.fileOf(rootHex);
    if (!file || !this.missing.has(rootHex)) return this.layers.has(rootHex) && idEquals(this.layers.get(rootHex)!, layer);
    if (layer.length !== HASH_SIZE * Math.ceil(file.length / this.info.pieceLength)) return false;
    if (!idEquals(pieceLayerRoot(layer, this.info.pieceLength), file.piecesRoot!)) return false;
    this.layers.set(rootHex, layer.slice());
    this.missing.delete(rootHex);
    return true;
  }

  /** The verified layers, by root hex (what resume data keeps). */
  known(): ReadonlyMap<string, Uint8Array> {
    return this.layers;
  }

  /** How piece `index` is checked; undefined while its file's layer is missing. */
  check(index: number): PieceCheck | undefined {
    const place = this.place(index);
    if (!place) return undefined;
    const { file, inFile, length } = place;
    const { pieceLength } = this.info;
    if (file.length <= pieceLength) {
      return { how: { kind: 'merkle', length, width: nextPow2(Math.ceil(length / MERKLE_BLOCK)) }, digest: file.piecesRoot! };
    }
    const layer = this.layers.get(toHex(file.piecesRoot!));
    if (!layer) return undefined;
    return {
      how: { kind: 'merkle', length, width: pieceLength / MERKLE_BLOCK },
      digest: layer.subarray(inFile * HASH_SIZE, (inFile + 1) * HASH_SIZE),
    };
  }

  /** The file piece `index` lies in, its place there, and how many of its bytes are the file's. */
  private place(index: number): { file: TorrentFile; inFile: number; length: number } | undefined {
    const fileIndex = this.pieceFile[index];
    if (fileIndex === undefined || fileIndex < 0) return undefined;
    const file = this.info.files[fileIndex]!;
    const inFile = index - this.firstPiece[fileIndex]!;
    return { file, inFile, length: Math.min(this.info.pieceLength, file.length - inFile * this.info.pieceLength) };
  }

  /**
   * Requests to send to peer `key` now, so that at most `max` wait for its answer: chunks of wanted
   * layers (see `setWantedPieces`) nobody is
   * answering (never asked, or unanswered for 10 s) that this peer has not refused. Each is marked
   * as asked of `key`.
   */
  requestsFor(key: string, max: number): HashRequest[] {
    const now = this.now();
    const waiting = (a: Asked) => a.askedOf !== undefined && now - a.askedAt < REQUEST_TIMEOUT_MS;
    const open = [...this.missing]
      .filter(([hex]) => this.isWanted(hex))
      .flatMap(([, { parts, asked }]) => parts.missing().map((request) => ({ request, asked: asked.get(request.index)! })));
    let room = max - open.filter(({ asked }) => asked.askedOf === key && waiting(asked)).length;
    const out: HashRequest[] = [];
    for (const { request, asked } of open) {
      if (room <= 0) break;
      if (asked.refusedBy.has(key) || waiting(asked)) continue;
      asked.askedOf = key;
      asked.askedAt = now;
      out.push(request);
      room--;
    }
    return out;
  }

  /**
   * A peer's `hashes` answer. 'verified' when its hashes prove out against the file's root (a
   * layer whose every chunk arrived is then complete), 'bad' when they do not (the peer lied),
   * 'unexpected' when we did not ask for them (or already have them).
   */
  received(key: string, r: HashRequest, hashes: Uint8Array): 'verified' | 'bad' | 'unexpected' {
    const hex = toHex(r.piecesRoot);
    const layer = this.missing.get(hex);
    const asked = layer && this.openPart(layer, r);
    if (!asked) return 'unexpected';
    if (!layer.parts.add(r, hashes)) {
      this.refused(asked, key);
      return 'bad';
    }
    const whole = layer.parts.layer();
    if (whole) this.add(hex, whole); // proven part by part against the root, so it is the file's
    return 'verified';
  }

  /** A peer's `hash reject`: that peer is not asked for this part again. */
  rejected(key: string, r: HashRequest): void {
    const layer = this.missing.get(toHex(r.piecesRoot));
    const asked = layer && this.openPart(layer, r);
    if (asked) this.refused(asked, key);
  }

  /** A peer went away: its unanswered requests may go to others at once. */
  peerGone(key: string): void {
    for (const { asked } of this.missing.values()) for (const a of asked.values()) if (a.askedOf === key) a.askedOf = undefined;
  }

  /** Our answer to a peer's `hash request` (base hashes, then uncles), or undefined to reject it. */
  answer(r: HashRequest): Uint8Array | undefined {
    return this.treeOf(r.piecesRoot)?.answer(r);
  }

  /**
   * How to answer a request for the block hashes of one whole piece (base layer 0, as libtorrent
   * asks after a piece failed, to find the bad block): the piece to read and hash, and the uncle
   * hashes to send after its block hashes. Undefined for any other request (or a file we hold no
   * layer of), which is then rejected.
   */
  blockRequest(r: HashRequest): { piece: number; uncles: Uint8Array } | undefined {
    const tree = this.treeOf(r.piecesRoot);
    const perPiece = this.info.pieceLength / MERKLE_BLOCK;
    if (!tree || r.baseLayer !== 0 || perPiece === 1 || r.length !== perPiece || r.index % perPiece !== 0) return undefined;
    const p = Math.log2(perPiece);
    // The uncles above a piece's blocks are those of that piece in the piece layer.
    const above = tree.answer({ piecesRoot: r.piecesRoot, baseLayer: p, index: r.index / perPiece, length: 1, proofLayers: Math.max(0, r.proofLayers - p) });
    if (!above || !validHashRequest(r, tree.fileLength)) return undefined;
    const file = this.fileOf(toHex(r.piecesRoot))!;
    return { piece: Math.floor(file.offset / this.info.pieceLength) + r.index / perPiece, uncles: r.proofLayers < p ? new Uint8Array(0) : above.subarray(HASH_SIZE) };
  }

  /** The tree of the file with `piecesRoot`, once its layer is known (built on first use). */
  private treeOf(piecesRoot: Uint8Array): PieceLayerTree | undefined {
    const hex = toHex(piecesRoot);
    const layer = this.layers.get(hex);
    if (!layer) return undefined;
    let tree = this.trees.get(hex);
    if (!tree) {
      tree = new PieceLayerTree(layer, this.fileOf(hex)!.length, this.info.pieceLength);
      this.trees.set(hex, tree);
    }
    return tree;
  }

  private fileOf(rootHex: string): TorrentFile | undefined {
    return this.byRoot.get(rootHex);
  }

  /** The asking for the still missing part of `layer` that `r` requests exactly; undefined for anything else. */
  private openPart(layer: MissingLayer, r: HashRequest): Asked | undefined {
    const open = layer.parts.missing().some((q) => q.baseLayer === r.baseLayer && q.index === r.index && q.length === r.length && q.proofLayers === r.proofLayers);
    return open ? layer.asked.get(r.index) : undefined;
  }

  private refused(asked: Asked, key: string): void {
    asked.refusedBy.add(key);
    if (asked.askedOf === key) asked.askedOf = undefined;
  }
}
