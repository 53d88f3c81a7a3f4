/**
 * Minimal types for the `bittorrent-dht` 11 package (it ships none): only the surface the
 * interoperability tests use. `_rpc` is its internal k-rpc instance, used to send raw queries.
 */
declare module 'bittorrent-dht' {
  import { EventEmitter } from 'node:events';

  /** A contact in its routing table. */
  export interface BtContact {
    id: Buffer;
    host: string;
    port: number;
  }

  /** A raw KRPC message as k-rpc decodes it (byte strings are Buffers). */
  export interface BtMessage {
    t: Buffer;
    y: Buffer;
    r?: Record<string, unknown> & { id?: Buffer; nodes?: Buffer };
    e?: unknown[];
  }

  /** The item a `get` yields. */
  export interface BtItem {
    v: Buffer;
    id?: Buffer;
    k?: Buffer;
    sig?: Buffer;
    seq?: number;
    salt?: Buffer;
  }

  export interface BtPutOptions {
    v: Buffer | string;
    k?: Buffer;
    seq?: number;
    salt?: Buffer;
    cas?: number;
    sign?: (message: Buffer) => Buffer;
  }

  export interface BtOptions {
    nodeId?: Buffer | string;
    bootstrap?: string[] | false;
    host?: string | false;
    verify?: (signature: Buffer, message: Buffer, publicKey: Buffer) => boolean;
  }

  export default class DHT extends EventEmitter {
    constructor(options?: BtOptions);
    readonly nodeId: Buffer;
    readonly _rpc: {
      nodes: { toArray(): BtContact[] };
      query(
        node: { host: string; port: number },
        message: { q: string; a?: Record<string, unknown> },
        cb: (error: Error | null, response: BtMessage | null) => void,
      ): void;
    };
    listen(port: number, host: string, onListening?: () => void): void;
    address(): { address: string; port: number; family: string };
    announce(infoHash: Buffer | string, port: number, cb: (error: Error | null) => void): void;
    lookup(infoHash: Buffer | string, cb: (error: Error | null, nodesWithPeers: number) => void): () => void;
    put(options: BtPutOptions, cb: (error: Error | null, target: Buffer, stored: number) => void): Buffer;
    get(
      target: Buffer | string,
      options: { salt?: Buffer; cache?: boolean },
      cb: (error: Error | null, item: BtItem | null) => void,
    ): void;
    toJSON(): { nodes: { host: string; port: number }[]; values: Record<string, unknown> };
    destroy(cb?: () => void): void;
  }
}
