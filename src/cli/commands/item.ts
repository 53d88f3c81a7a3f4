/**
 * `warren item put <string>` stores an immutable BEP 44 item and prints its target;
 * `warren item get <target>` prints the item's value.
 */
import type { BValue } from '../../codec/bencode.js';
import { toHex } from '../../dht/types.js';
import { CliError } from '../errors.js';
import { withEphemeralDht } from '../ephemeral-node.js';
import { parseTargetArg, type NetworkFlags } from '../options.js';
import { createOutput } from '../output.js';

export async function itemPutCommand(value: string, flags: NetworkFlags): Promise<void> {
  const out = createOutput(flags.json === true);
  const result = await withEphemeralDht(flags, (dht) => dht.put({ v: value }));
  if (result.storedAt === 0) throw new CliError('no DHT node stored the item');
  const target = toHex(result.target);
  out.event({ event: 'stored', target, nodes: result.storedAt }, target);
}

export async function itemGetCommand(targetText: string, flags: NetworkFlags): Promise<void> {
  const target = parseTargetArg(targetText);
  const out = createOutput(flags.json === true);
  const item = await withEphemeralDht(flags, (dht) => dht.get(target));
  if (!item) throw new CliError(`item ${toHex(target)} not found`);
  const value = displayValue(item.v);
  out.event({ event: 'item', target: toHex(target), value, ...(item.kind === 'mutable' ? { seq: item.seq } : {}) }, value);
}

/** A byte string as UTF-8 text; any other value as JSON with byte strings as text. */
function displayValue(v: BValue): string {
  if (v instanceof Uint8Array) return new TextDecoder().decode(v);
  return JSON.stringify(v, (_key, inner: unknown) => (inner instanceof Uint8Array ? new TextDecoder().decode(inner) : inner));
}
