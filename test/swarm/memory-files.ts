/**
 * Whole-file helpers for tests on a runtime's `FileStore` (the virtual network's memory files):
 * write a file (making its folder), read one back whole.
 */
import type { Runtime } from '../../src/runtime/interfaces.js';

export async function writeFile(runtime: Runtime, path: string, data: Uint8Array): Promise<void> {
  await runtime.fs.mkdir(path.slice(0, path.lastIndexOf('/')));
  const handle = await runtime.fs.open(path, 'rw');
  await handle.write(data, 0);
  await handle.close();
}

export async function readAll(runtime: Runtime, path: string): Promise<Uint8Array> {
  const stat = await runtime.fs.stat(path);
  const handle = await runtime.fs.open(path, 'r');
  const data = await handle.read(0, stat!.size);
  await handle.close();
  return data;
}
