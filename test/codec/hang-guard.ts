/** A guard for tests of hostile input: it must not cost super-linear time. Generous on purpose; not a speed target. */
import assert from 'node:assert/strict';
import { performance } from 'node:perf_hooks';

export function quickly<T>(what: string, fn: () => T): T {
  const start = performance.now();
  const out = fn();
  const ms = performance.now() - start;
  assert.ok(ms < 2000, `${what} took ${ms.toFixed(0)} ms`);
  return out;
}
