/**
 * BEP 44 items stored at this node. Items expire 2 hours after their last `put`. Bounded by count
 * and by total value bytes; when full, the item closest to expiry makes room.
 * The checks a `put` must pass (signature, seq, cas) are made by the put handler before `set`.
 */
import type { BValue } from '../codec/bencode.js';
import { keyOfMin } from './key-of-min.js';
import { toHex, type ItemTarget } from './types.js';

export const ITEM_TTL_MS = 2 * 60 * 60 * 1000;

/** A stored item; `k`, `sig`, `seq` (and maybe `salt`) are present for mutable items only. */
export interface StoredItem {
  v: BValue;
  vEncoded: Uint8Array;
  k?: Uint8Array;
  sig?: Uint8Array;
  seq?: number;
  salt?: Uint8Array;
  expires: number;
}

export interface ItemStoreOptions {
  maxItems?: number;
  maxBytes?: number;
}

export class ItemStore {
  private readonly items = new Map<string, StoredItem>();
  private readonly maxItems: number;
  private readonly maxBytes: number;
  private bytes = 0;

  constructor(
    private readonly now: () => number,
    options: ItemStoreOptions = {},
  ) {
    this.maxItems = options.maxItems ?? 2000;
    this.maxBytes = options.maxBytes ?? 2_000_000;
  }

  get(target: ItemTarget): StoredItem | undefined {
    const item = this.items.get(toHex(target));
    return item && item.expires > this.now() ? item : undefined;
  }

  set(target: ItemTarget, item: Omit<StoredItem, 'expires'>): void {
    const key = toHex(target);
    this.delete(key);
    while (this.items.size > 0 && (this.items.size >= this.maxItems || this.bytes + item.vEncoded.length > this.maxBytes)) {
      this.evict();
    }
    this.items.set(key, { ...item, vEncoded: Uint8Array.from(item.vEncoded), expires: this.now() + ITEM_TTL_MS });
    this.bytes += item.vEncoded.length;
  }

  expire(): void {
    const now = this.now();
    for (const [key, item] of this.items) if (item.expires <= now) this.delete(key);
  }

  get size(): number {
    return this.items.size;
  }

  get byteSize(): number {
    return this.bytes;
  }

  private delete(key: string): void {
    const old = this.items.get(key);
    if (!old) return;
    this.items.delete(key);
    this.bytes -= old.vEncoded.length;
  }

  private evict(): void {
    const victim = keyOfMin(this.items, (item) => item.expires);
    if (victim !== undefined) this.delete(victim);
  }
}
