import type { LineRange } from '@keel/contract/ai';

/** "src/a.ts, lines 3–9", "src/a.ts, line 3" or "src/a.ts" (the whole file). */
export function describeTarget(path: string, range: LineRange | undefined): string {
  if (range === undefined) return path;
  return range.startLine === range.endLine
    ? `${path}, line ${range.startLine}`
    : `${path}, lines ${range.startLine}–${range.endLine}`;
}

export interface SelectionLike {
  startLineNumber: number;
  startColumn: number;
  endLineNumber: number;
  endColumn: number;
}

/**
 * The whole lines a selection covers, or undefined (the whole file) when nothing is selected. A selection
 * that ends at the very start of a line (a triple-click, or Shift+Down) does not include that line.
 */
export function linesOfSelection(selection: SelectionLike | null | undefined): LineRange | undefined {
  if (!selection) return undefined;
  const { startLineNumber, startColumn, endLineNumber, endColumn } = selection;
  if (startLineNumber === endLineNumber && startColumn === endColumn) return undefined;
  const endLine = endColumn === 1 && endLineNumber > startLineNumber ? endLineNumber - 1 : endLineNumber;
  return { startLine: startLineNumber, endLine };
}
