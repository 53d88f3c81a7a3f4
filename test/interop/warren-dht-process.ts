/**
 * The test side of warren-dht-driver.ts: warren DHT nodes in a child process (inside a network
 * namespace when given), sent JSON commands, their JSON events awaited (see json-driver.ts).
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { JsonDriver } from './json-driver.js';
import type { TestNamespace } from './netns.js';

/** The compiled driver, next to this file in dist/test/interop/. */
export const WARREN_DHT_DRIVER = fileURLToPath(new URL('./warren-dht-driver.js', import.meta.url));

export class WarrenDhtProcess extends JsonDriver {
  private constructor(child: ChildProcessWithoutNullStreams) {
    super(child, 'warren');
  }

  static spawn(netns?: TestNamespace): WarrenDhtProcess {
    const args = [WARREN_DHT_DRIVER, 'serve'];
    const { command, args: argv } = netns ? netns.wrap(process.execPath, args) : { command: process.execPath, args };
    return new WarrenDhtProcess(spawn(command, argv, { stdio: ['pipe', 'pipe', 'pipe'] }));
  }
}
