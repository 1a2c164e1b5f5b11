/*
 * Computing diffs, in the git style the parser reads back: "diff --git" headers with
 * a/ b/ prefixes, new/deleted file modes, rename headers, and the "\ No newline" marker.
 * The hunks come from jsdiff; everything it writes is read back by our strict parser,
 * and the fuzz tests hold the round trip to exact equality.
 */
import { formatPatch, type StructuredPatch, structuredPatch } from 'diff';
import { PatchInputError } from './errors.ts';
import { pathProblem } from './paths.ts';

export interface FileChange {
  /** The file's path after the change (for a delete, the path removed). */
  path: string;
  /** The path before a rename; omit or equal to `path` otherwise. */
  oldPath?: string;
  /** Null: the file is created. */
  oldText: string | null;
  /** Null: the file is deleted. */
  newText: string | null;
  /** Mode of a created file; 0o644 unless 0o755 is given. */
  mode?: number;
}

export interface DiffOptions {
  /** Context lines around each change; default 3, like git. */
  context?: number;
}

/** A single-file git-style diff; '' when nothing changes. */
export function unifiedDiff(
  path: string,
  oldText: string | null,
  newText: string | null,
  opts: DiffOptions & { oldPath?: string; mode?: number } = {},
): string {
  return fileDiff({ path, oldText, newText, oldPath: opts.oldPath, mode: opts.mode }, opts);
}

/** The diffs of several files in one patch; each path may appear once. */
export function multiFileDiff(changes: FileChange[], opts: DiffOptions = {}): string {
  const seen = new Set<string>();
  for (const c of changes) {
    for (const p of new Set([c.oldPath ?? c.path, c.path])) {
      if (seen.has(p)) throw new PatchInputError(`path appears in more than one change: ${p}`);
      seen.add(p);
    }
  }
  return changes.map((c) => fileDiff(c, opts)).join('');
}

function fileDiff(c: FileChange, opts: DiffOptions): string {
  const oldPath = c.oldPath ?? c.path;
  for (const p of [c.path, oldPath]) {
    const problem = pathProblem(p);
    if (problem) throw new PatchInputError(`cannot diff ${JSON.stringify(p)}: ${problem}`);
  }
  if (c.oldText === null && c.newText === null)
    throw new PatchInputError(`no content on either side: ${c.path}`);
  if ((c.oldText === null || c.newText === null) && oldPath !== c.path) {
    throw new PatchInputError(`a rename needs content on both sides: ${oldPath} -> ${c.path}`);
  }
  const isRename = oldPath !== c.path;
  if (!isRename && c.oldText === c.newText) return '';

  const isCreate = c.oldText === null;
  const isDelete = c.newText === null;
  const sp = structuredPatch(
    isCreate ? '/dev/null' : `a/${oldPath}`,
    isDelete ? '/dev/null' : `b/${c.path}`,
    c.oldText ?? '',
    c.newText ?? '',
    undefined,
    undefined,
    { context: opts.context ?? 3 },
  );
  const git: StructuredPatch = { ...sp, isGit: true };
  if (isCreate) {
    git.isCreate = true;
    git.newMode = c.mode === 0o755 ? '100755' : '100644';
  }
  if (isDelete) {
    git.isDelete = true;
    git.oldMode = '100644';
  }
  if (isRename) git.isRename = true;
  return formatPatch(git);
}
