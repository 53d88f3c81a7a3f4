/**
 * Test helper: a mixed network of warren `Dht` nodes and `bittorrent-dht` nodes on 127.0.0.1,
 * plus promise wrappers around bittorrent-dht's callback API and Ed25519 over `node:crypto` with
 * raw keys (what bittorrent-dht expects as `sign`/`verify`). Used by bittorrent-dht.test.ts only.
 */
import { once } from 'node:events';
import { createPrivateKey, createPublicKey, sign, verify } from 'node:crypto';
import DHT, { type BtItem, type BtMessage, type BtPutOptions } from 'bittorrent-dht';
import { Dht, createNodeRuntime, type Ed25519KeyPair, type Endpoint } from '../../src/index.js';

const SPKI_ED25519 = Buffer.from('302a300506032b6570032100', 'hex');
const PKCS8_ED25519 = Buffer.from('302e020100300506032b657004220420', 'hex');

/** bittorrent-dht's `verify(signature, message, publicKey)` over node:crypto. */
export function ed25519Verify(signature: Buffer, message: Buffer, publicKey: Buffer): boolean {
  if (publicKey.length !== 32 || signature.length !== 64) return false;
  const key = createPublicKey({ key: Buffer.concat([SPKI_ED25519, publicKey]), format: 'der', type: 'spki' });
  return verify(null, message, key, signature);
}

/** bittorrent-dht's `sign(message)` for a raw 32-byte seed. */
export function ed25519Signer(keyPair: Ed25519KeyPair): (message: Buffer) => Buffer {
  const key = createPrivateKey({ key: Buffer.concat([PKCS8_ED25519, keyPair.secretKey]), format: 'der', type: 'pkcs8' });
  return (message) => sign(null, message, key);
}

/** `127.0.0.1:port` of a bittorrent-dht node. */
export function btEndpoint(node: DHT): Endpoint {
  return { host: '127.0.0.1', port: node.address().port };
}

export function hostPort(e: Endpoint): string {
  return `${e.host}:${e.port}`;
}

/** Warren and bittorrent-dht nodes on loopback; `close()` ends every one of them. */
export class MixedNetwork {
  readonly warren: Dht[] = [];
  readonly bt: DHT[] = [];
  /** Every 'warning' a bittorrent-dht node emitted (bad or unexpected messages it received). */
  readonly btWarnings: string[] = [];

  /** Starts a warren node bootstrapping from `bootstrap`; resolves once it has bootstrapped. */
  async addWarren(bootstrap: string[] | false): Promise<Dht> {
    const dht = new Dht(
      {
        host: '127.0.0.1',
        port: 0,
        bootstrap,
        // Every node shares the source address 127.0.0.1: the per-IP limit would drop bootstrap bursts.
        rateLimit: { perSecond: 100_000, burst: 100_000 },
      },
      createNodeRuntime(),
    );
    this.warren.push(dht);
    await dht.start();
    return dht;
  }

  /** Starts a bittorrent-dht node; resolves once it listens and has bootstrapped ('ready'). */
  async addBt(bootstrap: string[] | false): Promise<DHT> {
    const node = new DHT({ bootstrap, verify: ed25519Verify });
    this.bt.push(node);
    node.on('warning', (error: Error) => this.btWarnings.push(error.message));
    const ready = once(node, 'ready');
    const listening = once(node, 'listening');
    // Bind now, before its bootstrap query goes out on the next tick (or dgram binds 0.0.0.0).
    node.listen(0, '127.0.0.1');
    await Promise.all([ready, listening]);
    return node;
  }

  /** Closes every node (safe to call after a failed start). */
  async close(): Promise<void> {
    await Promise.all([
      ...this.warren.map((d) => d.close()),
      ...this.bt.map((n) => new Promise<void>((resolve) => n.destroy(() => resolve()))),
    ]);
  }
}

/** bittorrent-dht `lookup`: resolves with the peers it emitted for `infoHash` once the lookup ended. */
export function btLookup(node: DHT, infoHash: Uint8Array): Promise<Endpoint[]> {
  const wanted = Buffer.from(infoHash);
  const peers: Endpoint[] = [];
  const onPeer = (peer: Endpoint, ih: Buffer) => {
    if (wanted.equals(ih)) peers.push({ host: peer.host, port: peer.port });
  };
  node.on('peer', onPeer);
  return new Promise((resolve, reject) => {
    node.lookup(wanted, (error) => {
      node.off('peer', onPeer);
      if (error) reject(error);
      else resolve(peers);
    });
  });
}

export function btAnnounce(node: DHT, infoHash: Uint8Array, port: number): Promise<void> {
  return new Promise((resolve, reject) => node.announce(Buffer.from(infoHash), port, (e) => (e ? reject(e) : resolve())));
}

export function btPut(node: DHT, options: BtPutOptions): Promise<{ target: Buffer; stored: number }> {
  return new Promise((resolve, reject) => {
    node.put(options, (error, target, stored) => (error ? reject(error) : resolve({ target, stored })));
  });
}

export function btGet(node: DHT, target: Uint8Array, options: { salt?: Buffer; cache?: boolean } = {}): Promise<BtItem | null> {
  return new Promise((resolve, reject) => {
    node.get(Buffer.from(target), options, (error, item) => (error ? reject(error) : resolve(item)));
  });
}

/** Sends one raw KRPC query from a bittorrent-dht node and resolves with the reply. */
export function btQuery(node: DHT, to: Endpoint, q: string, a: Record<string, unknown> = {}): Promise<BtMessage> {
  return new Promise((resolve, reject) => {
    node._rpc.query({ host: to.host, port: to.port }, { q, a }, (error, reply) => {
      if (error) reject(error);
      else if (!reply) reject(new Error(`no reply to ${q}`));
      else resolve(reply);
    });
  });
}

/** The ids and endpoints of a compact `nodes` string (26 bytes each). */
export function parseCompactNodes(nodes: Buffer): { id: string; endpoint: string }[] {
  const out: { id: string; endpoint: string }[] = [];
  for (let i = 0; i + 26 <= nodes.length; i += 26) {
    out.push({
      id: nodes.subarray(i, i + 20).toString('hex'),
      endpoint: `${nodes[i + 20]}.${nodes[i + 21]}.${nodes[i + 22]}.${nodes[i + 23]}:${nodes.readUInt16BE(i + 24)}`,
    });
  }
  return out;
}
