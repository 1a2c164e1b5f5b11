import { type Hunk, type HunkLine, newIndex, oldIndex, readHunkHeader } from '@keel/contract/unified-diff';
import type { LineReader } from './reader.ts';

/**
 * Reads the hunks of one file. The header counts are the only thing that says where a
 * hunk ends, so they must match the body exactly; hunks must be in order, must not
 * overlap, and each new start must follow from the old start and the earlier hunks.
 */
export function parseHunks(r: LineReader): Hunk[] {
  const hunks: Hunk[] = [];
  let prevOldIndex = -1;
  let prevOldEnd = 0;
  let delta = 0;
  let fileEnded = false;
  while (r.peek()?.startsWith('@@')) {
    const patchLine = r.lineNo();
    const header = r.headerLine();
    if (fileEnded) {
      r.fail('hunk after the end of the file (an earlier hunk ended it without a newline)', patchLine);
    }
    const ranges = readHunkHeader(header);
    if (!ranges) {
      r.fail(header.trim() === '@@' ? 'bare "@@" without line ranges' : 'malformed hunk header', patchLine);
    }
    const h: Hunk = { ...ranges, lines: [], patchLine };
    if (h.oldLines > 0 && h.oldStart === 0) r.fail('old start 0 with a non-empty old range', patchLine);
    if (h.newLines > 0 && h.newStart === 0) r.fail('new start 0 with a non-empty new range', patchLine);
    if (h.oldLines === 0 && h.newLines === 0) r.fail('empty hunk', patchLine);
    const at = oldIndex(h);
    if (at < prevOldIndex) r.fail('hunks out of order', patchLine);
    if (at < prevOldEnd) r.fail('hunk overlaps the previous hunk', patchLine);
    if (newIndex(h) !== at + delta) {
      const want = at + delta + (h.newLines === 0 ? 0 : 1);
      r.fail(
        `new start ${h.newStart} does not follow from the old start and earlier hunks (expected ${want})`,
        patchLine,
      );
    }
    fileEnded = readBody(r, h);
    hunks.push(h);
    prevOldIndex = at;
    prevOldEnd = at + h.oldLines;
    delta += h.newLines - h.oldLines;
  }
  return hunks;
}

/** Returns whether a "\ No newline" marker ended either side of the file. */
function readBody(r: LineReader, h: Hunk): boolean {
  let oldLeft = h.oldLines;
  let newLeft = h.newLines;
  let oldEnded = false;
  let newEnded = false;
  const marker = () => {
    const line = r.next();
    if (!line.startsWith('\\ ')) r.fail('malformed "\\ No newline at end of file" line', r.lineNo() - 1);
    const last = h.lines.at(-1);
    if (!last || last.noNewline) {
      r.fail('"\\ No newline at end of file" without a line before it', r.lineNo() - 1);
    }
    last.noNewline = true;
    if (last.op !== '+') oldEnded = true;
    if (last.op !== '-') newEnded = true;
  };
  const short = () =>
    `hunk is shorter than its header says (${oldLeft} old and ${newLeft} new lines missing)`;
  while (oldLeft > 0 || newLeft > 0) {
    const line = r.peek();
    if (line === undefined) r.fail(`patch ends inside a hunk: ${short()}`, h.patchLine);
    // An empty line is an empty context line whose leading space was stripped (editors
    // and mailers do that); git and GNU patch read it the same way.
    const op = line === '' ? ' ' : line[0];
    if (op === '\\') {
      marker();
      continue;
    }
    if (op !== ' ' && op !== '-' && op !== '+') {
      if (line.startsWith('@@') || line.startsWith('diff --git ')) r.fail(short());
      r.fail(`unexpected line in hunk: ${JSON.stringify(line.slice(0, 80))}`);
    }
    const ended = op === ' ' ? oldEnded || newEnded : op === '-' ? oldEnded : newEnded;
    if (ended) r.fail('line after "\\ No newline at end of file" on the same side');
    if ((op !== '+' && oldLeft === 0) || (op !== '-' && newLeft === 0)) {
      r.fail(
        `hunk has more ${op === '+' ? 'new' : op === '-' ? 'old' : 'context'} lines than its header says`,
      );
    }
    if (op !== '+') oldLeft--;
    if (op !== '-') newLeft--;
    const entry: HunkLine = { op, text: line.slice(1), noNewline: false };
    h.lines.push(entry);
    r.next();
  }
  if (r.peek()?.startsWith('\\')) marker();
  return oldEnded || newEnded;
}
