/*
 * Replace across files as a patch: each file's current content, the search's pattern applied line
 * by line (a search matches within lines, so a changed line stays one hunk line, however its
 * replacement reads), written as a git-style unified diff with three lines of context. The patch
 * API then applies all files or none, checking each file's hash against the one read here.
 */

export interface ReplaceOptions {
  query: string;
  regex: boolean;
  caseSensitive: boolean;
  wholeWord: boolean;
}

/** The pattern as JavaScript reads it. ripgrep's syntax is close to it for everyday patterns. */
export function searchPattern(o: ReplaceOptions): RegExp {
  const source = o.regex ? o.query : o.query.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
  const bounded = o.wholeWord ? `\\b(?:${source})\\b` : source;
  return new RegExp(bounded, o.caseSensitive ? 'gu' : 'giu');
}

/** One line with its replacements made: `$1`, `$&` in a regular expression's replacement; literal otherwise. */
function replaceLine(line: string, pattern: RegExp, replacement: string, regex: boolean): string {
  pattern.lastIndex = 0;
  return regex ? line.replace(pattern, replacement) : line.replace(pattern, () => replacement);
}

export interface FileReplacement {
  path: string;
  /** The new content. */
  after: string;
  /** Lines changed. */
  lines: number;
  /** The file's unified diff (empty when nothing changed). */
  diff: string;
}

const CONTEXT = 3;

/** The file after replacing every match, and its diff against `before`. */
export function replaceInFile(
  path: string,
  before: string,
  o: ReplaceOptions,
  replacement: string,
): FileReplacement {
  const pattern = searchPattern(o);
  const endsWithNewline = before.endsWith('\n');
  const oldLines = (endsWithNewline ? before.slice(0, -1) : before).split('\n');
  const newLines = oldLines.map((line) => replaceLine(line, pattern, replacement, o.regex));
  const changed: number[] = [];
  for (let i = 0; i < oldLines.length; i++) if (oldLines[i] !== newLines[i]) changed.push(i);
  const after = newLines.join('\n') + (endsWithNewline ? '\n' : '');
  if (changed.length === 0 || before === '') return { path, after: before, lines: 0, diff: '' };
  return {
    path,
    after,
    lines: changed.length,
    diff: fileDiff(path, oldLines, newLines, changed, endsWithNewline),
  };
}

function fileDiff(
  path: string,
  oldLines: string[],
  newLines: string[],
  changed: number[],
  endsWithNewline: boolean,
): string {
  // Changed lines closer than twice the context share a hunk.
  const groups: number[][] = [];
  for (const i of changed) {
    const last = groups[groups.length - 1];
    if (last && i - last[last.length - 1]! <= CONTEXT * 2) last.push(i);
    else groups.push([i]);
  }
  const out = [`diff --git a/${path} b/${path}`, `--- a/${path}`, `+++ b/${path}`];
  const lastIndex = oldLines.length - 1;
  // A replacement may hold line breaks: one old line becomes several new ones.
  let shift = 0;
  for (const group of groups) {
    const start = Math.max(0, group[0]! - CONTEXT);
    const end = Math.min(lastIndex, group[group.length - 1]! + CONTEXT);
    const body: string[] = [];
    let oldCount = 0;
    let newCount = 0;
    const set = new Set(group);
    const noNewline = (i: number) =>
      i === lastIndex && !endsWithNewline ? ['\\ No newline at end of file'] : [];
    for (let i = start; i <= end; i++) {
      if (set.has(i)) {
        body.push(`-${oldLines[i]}`, ...noNewline(i));
        const added = newLines[i]!.split('\n');
        for (const a of added) body.push(`+${a}`);
        body.push(...noNewline(i));
        oldCount++;
        newCount += added.length;
      } else {
        body.push(` ${oldLines[i]}`, ...noNewline(i));
        oldCount++;
        newCount++;
      }
    }
    const newStart = start + 1 + shift;
    shift += newCount - oldCount;
    out.push(`@@ -${start + 1},${oldCount} +${newStart},${newCount} @@`, ...body);
  }
  return `${out.join('\n')}\n`;
}
