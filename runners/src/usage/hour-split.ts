const HOUR_MS = 3600_000;

/** `[from, to)` cut at each UTC hour boundary inside it (the edge takes intervals within one hour). */
export function splitAtHours(fromMs: number, toMs: number): Array<[number, number]> {
  const parts: Array<[number, number]> = [];
  let start = fromMs;
  while (start < toMs) {
    const end = Math.min(toMs, (Math.floor(start / HOUR_MS) + 1) * HOUR_MS);
    parts.push([start, end]);
    start = end;
  }
  return parts;
}
