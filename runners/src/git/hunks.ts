import { createHash } from 'node:crypto';
import type { GitHunk } from '@keel/contract/git';

export interface ParsedDiff {
  /** Everything before the first hunk (`diff --git`, `index`, `---`, `+++` lines). */
  header: string;
  hunks: Array<GitHunk & { text: string }>;
}

const HUNK = /^@@ -(\d+)(?:,(\d+))? \+(\d+)(?:,(\d+))? @@/;

/** Splits one file's unified diff (as `git diff` prints it) into its header and hunks. */
export function parseFileDiff(diff: string): ParsedDiff {
  const lines = diff.split('\n');
  if (lines.at(-1) === '') lines.pop();
  const header: string[] = [];
  const hunks: ParsedDiff['hunks'] = [];
  let current: string[] | undefined;
  let m: RegExpExecArray | null = null;
  const close = () => {
    if (!current || !m) return;
    const text = `${current.join('\n')}\n`;
    hunks.push({
      header: current[0]!,
      oldStart: Number(m[1]),
      oldLines: m[2] === undefined ? 1 : Number(m[2]),
      newStart: Number(m[3]),
      newLines: m[4] === undefined ? 1 : Number(m[4]),
      id: createHash('sha256').update(text).digest('hex'),
      text,
    });
  };
  for (const line of lines) {
    const start = HUNK.exec(line);
    if (start) {
      close();
      m = start;
      current = [line];
    } else if (current) current.push(line);
    else header.push(line);
  }
  close();
  return { header: header.length ? `${header.join('\n')}\n` : '', hunks };
}

/** A patch of one hunk: the file's header, then that hunk alone (git apply allows the offset). */
export function hunkPatch(diff: ParsedDiff, id: string): string | undefined {
  const hunk = diff.hunks.find((h) => h.id === id);
  return hunk ? diff.header + hunk.text : undefined;
}
