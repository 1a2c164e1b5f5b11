import { unifiedDiff } from '../patch/diff.ts';
import { splitLines } from './context-builder.ts';
import type { ExtractedCode } from './prompts.ts';

export interface RewriteTarget {
  /** Normalised workspace-relative path. */
  path: string;
  /** The file as read before the model was asked; the diff applies to exactly this. */
  content: string;
  /** 1-based, inclusive, already checked to start inside the file; the end may run past it. */
  range?: { startLine: number; endLine: number };
}

/**
 * The file with the model's code in place of the target: the whole file, or the selected lines.
 * Keeps what the model never sees and cannot be trusted to reproduce: the file's line endings
 * and whether it ends with a newline.
 */
export function applyRewrite(target: RewriteTarget, code: ExtractedCode): string {
  const eol = target.content.includes('\r\n') ? '\r\n' : '\n';
  const finalNewline = target.content === '' || /\n$/.test(target.content);
  const codeLines = code.code === '' ? [] : splitLines(code.code.replace(/\r\n/g, '\n'));
  let lines: string[];
  if (target.range) {
    const old = target.content === '' ? [] : splitLines(target.content);
    const end = Math.min(target.range.endLine, old.length);
    lines = [...old.slice(0, target.range.startLine - 1), ...codeLines, ...old.slice(end)];
  } else {
    lines = codeLines;
  }
  if (lines.length === 0) return '';
  return lines.join(eol) + (finalNewline ? eol : '');
}

/** The unified diff from the file as read to the file with the rewrite; '' when nothing changes. */
export function rewriteDiff(target: RewriteTarget, code: ExtractedCode): string {
  return unifiedDiff(target.path, target.content, applyRewrite(target, code));
}
