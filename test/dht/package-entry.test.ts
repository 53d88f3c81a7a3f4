/**
 * Users import the library by the package's name: `import { Dht } from 'warren'`.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';

test("the package's main entry exports Dht and its helpers", async () => {
  const name: string = 'warren'; // a variable, so the type checker does not need dist/ to exist yet
  const warren = (await import(name)) as Record<string, unknown>;
  for (const key of ['Dht', 'createNodeRuntime', 'VirtualNetwork', 'createTestnet', 'toInfoHash', 'generateEd25519KeyPair']) {
    assert.ok(key in warren, `missing export ${key}`);
  }
  const { Dht } = warren as { Dht: new (options: object) => { start(): Promise<void>; close(): Promise<void>; address: { port: number } } };
  const dht = new Dht({ host: '127.0.0.1', port: 0, bootstrap: false });
  await dht.start();
  assert.ok(dht.address.port > 0);
  await dht.close();
});
