/**
 * An independent, deliberately naive model of applying a file patch, for the fuzz tests
 * to compare the library against: lines are kept with their terminators, a hunk line's
 * terminator is '\n' unless marked "\ No newline", hunks match by plain sequence
 * equality, and a result is only valid if no line but the last lacks its terminator.
 */
import type { FilePatch } from '@keel/contract/unified-diff';

export function oracleApply(original: string, f: FilePatch): string | undefined {
  if (f.kind === 'create' && original !== '') return undefined;
  const pieces = original.match(/[^\n]*\n|[^\n]+$/g) ?? [];
  const out: string[] = [];
  let cursor = 0;
  for (const h of f.hunks) {
    const at = h.oldLines === 0 ? h.oldStart : h.oldStart - 1;
    const term = (l: { text: string; noNewline: boolean }) => l.text + (l.noNewline ? '' : '\n');
    const oldSide = h.lines.filter((l) => l.op !== '+').map(term);
    const newSide = h.lines.filter((l) => l.op !== '-').map(term);
    if (at < cursor || at + oldSide.length > pieces.length) return undefined;
    if (oldSide.some((p, i) => pieces[at + i] !== p)) return undefined;
    out.push(...pieces.slice(cursor, at), ...newSide);
    cursor = at + oldSide.length;
  }
  out.push(...pieces.slice(cursor));
  if (out.slice(0, -1).some((p) => !p.endsWith('\n'))) return undefined;
  const text = out.join('');
  if (f.kind === 'delete' && text !== '') return undefined;
  return text;
}
