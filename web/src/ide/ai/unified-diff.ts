/**
 * Reads a git-style unified diff and applies it to a file's text, for previewing a rewrite before it is
 * accepted. The server applies the same diff for real (checking the base hash); this copy only has to be
 * exact, so it is strict: any context line that does not match is an error, never a guess. It reads
 * into the same model as the runner's parser (@keel/contract/unified-diff); it takes headers any tool
 * writes, since what it reads is only shown, while the runner's parser guards what is written.
 */
import {
  type FileDiff,
  type Hunk,
  type HunkLine,
  oldIndex,
  readHunkHeader,
} from '@keel/contract/unified-diff';

export class DiffPreviewError extends Error {
  override readonly name = 'DiffPreviewError';
}

export function parseUnifiedDiff(diff: string): FileDiff[] {
  const lines = diff.split('\n');
  if (lines[lines.length - 1] === '') lines.pop();
  const files: FileDiff[] = [];
  let file: FileDiff | undefined;
  let sawOldHeader = false;

  const startFile = (): FileDiff => {
    file = { oldPath: null, newPath: null, hunks: [] };
    sawOldHeader = false;
    files.push(file);
    return file;
  };

  let i = 0;
  while (i < lines.length) {
    const line = lines[i]!;
    if (line.startsWith('diff --git ')) {
      startFile();
      i += 1;
    } else if (line.startsWith('--- ') && (file === undefined || sawOldHeader || file.hunks.length > 0)) {
      // A second "---" outside any hunk is the next file of a diff without "diff --git" lines.
      const current = startFile();
      current.oldPath = headerPath(line.slice(4));
      sawOldHeader = true;
      i += 1;
    } else if (line.startsWith('--- ')) {
      file!.oldPath = headerPath(line.slice(4));
      sawOldHeader = true;
      i += 1;
    } else if (line.startsWith('+++ ')) {
      (file ?? startFile()).newPath = headerPath(line.slice(4));
      i += 1;
    } else if (line.startsWith('@@')) {
      i = readHunk(lines, i, file ?? startFile());
    } else if (/^[-+ ]/.test(line)) {
      throw new DiffPreviewError('A hunk is longer than its header says');
    } else {
      // index, mode, similarity and rename lines: nothing the preview needs.
      i += 1;
    }
  }
  return files;
}

/** Reads the hunk whose header is at `start`; the header's counts say where it ends. Returns the next index. */
function readHunk(lines: readonly string[], start: number, file: FileDiff): number {
  const ranges = readHunkHeader(lines[start]!);
  if (ranges === null) throw new DiffPreviewError(`Unreadable hunk header: ${lines[start]}`);
  const hunk: Hunk = { ...ranges, lines: [], patchLine: start + 1 };
  let oldLeft = hunk.oldLines;
  let newLeft = hunk.newLines;
  let i = start + 1;
  while (i < lines.length && (oldLeft > 0 || newLeft > 0 || lines[i]!.startsWith('\\'))) {
    const line = lines[i]!;
    i += 1;
    if (line.startsWith('\\')) {
      const previous = hunk.lines[hunk.lines.length - 1];
      if (previous === undefined) throw new DiffPreviewError('A "no newline" marker with no line before it');
      previous.noNewline = true;
      continue;
    }
    // Some tools strip the single space of an empty context line.
    const op = line === '' ? ' ' : line[0];
    if (op !== ' ' && op !== '-' && op !== '+')
      throw new DiffPreviewError(`Unexpected line in a hunk: ${line}`);
    if (op !== '+') oldLeft -= 1;
    if (op !== '-') newLeft -= 1;
    if (oldLeft < 0 || newLeft < 0) throw new DiffPreviewError('A hunk is longer than its header says');
    hunk.lines.push({ op, text: line.slice(1), noNewline: false });
  }
  if (oldLeft > 0 || newLeft > 0) throw new DiffPreviewError('A hunk is shorter than its header says');
  file.hunks.push(hunk);
  return i;
}

function headerPath(raw: string): string | null {
  // Some tools append a tab and a timestamp to the name.
  const name = raw.split('\t')[0]!.trim();
  if (name === '/dev/null') return null;
  return name.replace(/^[ab]\//, '');
}

/** The text after applying the part of `diff` that concerns `path` (or its only file). */
export function applyUnifiedDiff(original: string, diff: string, path: string): string {
  const files = parseUnifiedDiff(diff);
  const file =
    files.find((f) => f.newPath === path || f.oldPath === path) ??
    (files.length === 1 ? files[0] : undefined);
  if (file === undefined) throw new DiffPreviewError(`The change does not concern ${path}`);
  return applyHunks(original, file.hunks);
}

export function applyHunks(original: string, hunks: readonly Hunk[]): string {
  const { lines, finalNewline } = splitLines(original);
  const out: string[] = [];
  let pos = 0;
  let newFinalNewline = finalNewline;
  for (const hunk of hunks) {
    // A hunk that removes nothing names the line after which it inserts.
    const start = oldIndex(hunk);
    if (start < pos || start > lines.length)
      throw new DiffPreviewError(`A change at line ${hunk.oldStart} is out of order or past the end`);
    out.push(...lines.slice(pos, start));
    pos = start;
    let lastOld: HunkLine | undefined;
    let lastNew: HunkLine | undefined;
    for (const line of hunk.lines) {
      if (line.op !== '-') lastNew = line;
      if (line.op === '+') {
        out.push(line.text);
        continue;
      }
      lastOld = line;
      if (lines[pos] !== line.text)
        throw new DiffPreviewError(`Line ${pos + 1} is not what the change expects: the file has changed`);
      if (line.op === ' ') out.push(line.text);
      pos += 1;
    }
    if (pos === lines.length) {
      // This hunk reaches the end of the file: its markers say whether either side ends with a newline.
      if (lastOld !== undefined && lastOld.noNewline === finalNewline)
        throw new DiffPreviewError(
          'The end of the file is not what the change expects: the file has changed',
        );
      newFinalNewline = lastNew === undefined ? out.length > 0 : !lastNew.noNewline;
    }
  }
  out.push(...lines.slice(pos));
  if (out.length === 0) return '';
  return out.join('\n') + (newFinalNewline ? '\n' : '');
}

function splitLines(text: string): { lines: string[]; finalNewline: boolean } {
  if (text === '') return { lines: [], finalNewline: false };
  const lines = text.split('\n');
  const finalNewline = lines[lines.length - 1] === '';
  if (finalNewline) lines.pop();
  return { lines, finalNewline };
}
