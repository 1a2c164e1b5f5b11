/** A path cut into runs of matched and unmatched characters, for highlighting quick open's matches. */
export function highlightRuns(
  text: string,
  positions: readonly number[],
): Array<{ text: string; hit: boolean }> {
  const hits = new Set(positions);
  const runs: Array<{ text: string; hit: boolean }> = [];
  for (let i = 0; i < text.length; i++) {
    const hit = hits.has(i);
    const last = runs[runs.length - 1];
    if (last && last.hit === hit) last.text += text[i];
    else runs.push({ text: text[i]!, hit });
  }
  return runs;
}
