/**
 * Sets `key` in a map that holds at most `max` entries: when it is full, the entry set
 * longest ago makes room. For process-local memos that must not grow with every id seen.
 */
export function setBounded<K, V>(map: Map<K, V>, key: K, value: V, max: number): void {
  if (!map.has(key) && map.size >= max) {
    const oldest = map.keys().next();
    if (!oldest.done) map.delete(oldest.value);
  }
  map.set(key, value);
}
