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

/**
 * `join(a, b)`, kept once made, for parts that repeat from request to request (an install's
 * prefix and a session's id, a scope and who reads it): the same parts then give the very same
 * string, which is not joined again and whose hash the engine keeps, so the maps it is looked
 * up in do not read it again. At most `maxA` first parts and `maxB` second parts for each.
 */
export function keptJoins(
  join: (a: string, b: string) => string,
  maxA: number,
  maxB: number,
): (a: string, b: string) => string {
  const byA = new Map<string, Map<string, string>>();
  return (a, b) => {
    let kept = byA.get(a);
    if (!kept) {
      kept = new Map();
      setBounded(byA, a, kept, maxA);
    }
    let joined = kept.get(b);
    if (joined === undefined) {
      joined = join(a, b);
      setBounded(kept, b, joined, maxB);
    }
    return joined;
  };
}
