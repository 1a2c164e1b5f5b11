/** Redis returns a stream entry's fields as a flat [k1, v1, k2, v2, …] list. */
export function streamFields(flat: string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (let i = 0; i + 1 < flat.length; i += 2) out[flat[i]!] = flat[i + 1]!;
  return out;
}
