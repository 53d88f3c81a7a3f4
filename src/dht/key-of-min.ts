/** The key whose value scores lowest (the first such in iteration order), or undefined for an empty map. */
export function keyOfMin<K, V>(map: Map<K, V>, score: (value: V) => number): K | undefined {
  let best: K | undefined;
  let lowest = Infinity;
  for (const [key, value] of map) {
    const s = score(value);
    if (s < lowest) {
      lowest = s;
      best = key;
    }
  }
  return best;
}
