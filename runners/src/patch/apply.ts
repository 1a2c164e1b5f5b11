/*
 * Applying hunks to text. Matching is exact: every context and removed line must equal
 * the file at the line the hunk header states; there is no offset search and no fuzz,
 * so a patch either means exactly what it says for this base or is a conflict. Lines
 * are split on '\n' only, so a CRLF file's '\r' is part of each line and must match too;
 * whether the file ends with a newline is part of the match (the "\ No newline" marker).
 */

import { type FilePatch, type Hunk, oldIndex, type Patch, targetPath } from '@keel/contract/unified-diff';
import { sha256 } from '../sha256.ts';
import { type Conflict, PatchConflict } from './errors.ts';
import { pathProblem } from './paths.ts';

export interface HunkConflict {
  /** 0-based hunk index, or null for the file as a whole. */
  hunk: number | null;
  reason: string;
}

/** Applies one file's hunks to its old content; throws PatchConflict when they do not match. */
export function applyToText(original: string, file: FilePatch): string {
  const result = applyFile(original, file);
  if ('text' in result) return result.text;
  const path = targetPath(file);
  throw new PatchConflict(result.conflicts.map((c): Conflict => ({ path, ...c })));
}

/** Like applyToText, but reports every conflicting hunk instead of throwing. */
export function applyFile(
  original: string,
  file: FilePatch,
): { text: string } | { conflicts: HunkConflict[] } {
  if (file.kind === 'create' && original !== '') {
    return { conflicts: [{ hunk: null, reason: 'a new file must start empty' }] };
  }
  const result = applyHunks(original, file.hunks);
  if (file.kind === 'delete' && 'text' in result && result.text !== '') {
    return { conflicts: [{ hunk: null, reason: 'the file has content the deletion does not remove' }] };
  }
  return result;
}

function applyHunks(original: string, hunks: Hunk[]): { text: string } | { conflicts: HunkConflict[] } {
  const endsWithNewline = original === '' || original.endsWith('\n');
  const lines = original === '' ? [] : original.split('\n');
  if (original.endsWith('\n')) lines.pop();

  const out: string[] = [];
  const conflicts: HunkConflict[] = [];
  let cursor = 0;
  hunks.forEach((h, n) => {
    const at = oldIndex(h);
    const oldSide = h.lines.filter((l) => l.op !== '+');
    const newSide = h.lines.filter((l) => l.op !== '-');
    const reason = mismatch(lines, endsWithNewline, at, oldSide, newSide);
    if (reason) {
      conflicts.push({ hunk: n, reason: `${describe(h)}: ${reason}` });
      return;
    }
    for (let i = cursor; i < at; i++) out.push(lines[i]!, '\n');
    for (const l of newSide) out.push(l.text, l.noNewline ? '' : '\n');
    cursor = at + oldSide.length;
  });
  if (conflicts.length > 0) return { conflicts };
  for (let i = cursor; i < lines.length; i++) {
    out.push(lines[i]!, i === lines.length - 1 && !endsWithNewline ? '' : '\n');
  }
  return { text: out.join('') };
}

type Side = { text: string; noNewline: boolean }[];

function mismatch(lines: string[], endsWithNewline: boolean, at: number, oldSide: Side, newSide: Side) {
  if (at + oldSide.length > lines.length) {
    return `reaches line ${at + oldSide.length}, past the end of the file (${lines.length} lines)`;
  }
  for (let i = 0; i < oldSide.length; i++) {
    const want = oldSide[i]!.text;
    const have = lines[at + i]!;
    if (want !== have) return `line ${at + i + 1} differs: expected ${quote(want)}, found ${quote(have)}`;
  }
  const atEnd = at + oldSide.length === lines.length;
  const oldMarked = oldSide.at(-1)?.noNewline ?? false;
  if (atEnd && !endsWithNewline && !oldMarked) {
    return 'the file has no newline at its end, the hunk expects one';
  }
  if (oldMarked && (!atEnd || endsWithNewline)) return 'the hunk expects no newline at the end of the file';
  if (newSide.at(-1)?.noNewline && !atEnd) return 'the hunk ends the file but the file goes on after it';
  return null;
}

function describe(h: Hunk): string {
  return `@@ -${h.oldStart},${h.oldLines} +${h.newStart},${h.newLines} @@`;
}

function quote(s: string): string {
  return JSON.stringify(s.length > 80 ? `${s.slice(0, 80)}…` : s);
}

export interface FileSnapshot {
  content: string;
  /** SHA-256 (hex) of the file's bytes as stored. */
  sha256: string;
}

/** Reads a workspace file; undefined when it does not exist. May throw (a symlink, a directory). */
export type ReadFile = (path: string) => FileSnapshot | undefined | Promise<FileSnapshot | undefined>;

export interface PlanOptions {
  /**
   * Base hashes the patch was made against: path → SHA-256, or null for "must not
   * exist". A path the patch does not touch is checked too (kind 'verify').
   */
  expected?: Record<string, string | null>;
}

export interface FilePlan {
  kind: FilePatch['kind'] | 'verify';
  /** Where the result lands (the removed path for a delete). */
  path: string;
  oldPath: string | null;
  newPath: string | null;
  /** SHA-256 of the old file as read, null when there was none. */
  baseSha256: string | null;
  applies: boolean;
  conflicts: HunkConflict[];
  /** The file after the patch; null for a delete, a 'verify' entry, or a conflict. */
  newContent: string | null;
  /** Permission bits for a created file (from "new file mode"). */
  mode?: number;
}

export type PlannedWrite =
  | { op: 'write'; path: string; content: string; sha256: string; mode?: number }
  | { op: 'remove'; path: string };

export interface PatchPlan {
  ok: boolean;
  files: FilePlan[];
  /** Empty unless every file applies: a plan is all or nothing. */
  writes: PlannedWrite[];
}

/**
 * Works out what a patch would do to the files `readFile` sees, without writing: every
 * file is checked (existence, hunks, expected hashes) so that one answer lists every
 * conflict. The paths in `writes` are the parser's, already checked to be relative and
 * normalized; the patch is assumed to come from parsePatch.
 */
export async function planPatch(
  patch: Patch,
  readFile: ReadFile,
  opts: PlanOptions = {},
): Promise<PatchPlan> {
  const cache = new Map<string, { snap: FileSnapshot | undefined } | { error: string }>();
  const read = async (path: string) => {
    let got = cache.get(path);
    if (!got) {
      try {
        got = { snap: await readFile(path) };
      } catch (err) {
        got = { error: `cannot read ${path}: ${err instanceof Error ? err.message : String(err)}` };
      }
      cache.set(path, got);
    }
    return got;
  };

  const files: FilePlan[] = [];
  for (const f of patch.files) files.push(await planFile(f, read));
  await checkExpected(files, opts.expected ?? {}, read);

  const ok = files.every((f) => f.applies);
  return { ok, files, writes: ok ? writesOf(files) : [] };
}

type Read = (path: string) => Promise<{ snap: FileSnapshot | undefined } | { error: string }>;

async function planFile(f: FilePatch, read: Read): Promise<FilePlan> {
  const plan: FilePlan = {
    kind: f.kind,
    path: targetPath(f),
    oldPath: f.oldPath,
    newPath: f.newPath,
    baseSha256: null,
    applies: false,
    conflicts: [],
    newContent: null,
  };
  if (f.kind === 'create' && f.mode !== undefined) plan.mode = f.mode;
  const fileConflict = (reason: string) => {
    plan.conflicts.push({ hunk: null, reason });
    return plan;
  };

  let base = '';
  if (f.oldPath !== null) {
    const got = await read(f.oldPath);
    if ('error' in got) return fileConflict(got.error);
    if (!got.snap) return fileConflict(`${f.oldPath} does not exist`);
    plan.baseSha256 = got.snap.sha256;
    base = got.snap.content;
  }
  if (f.kind === 'create' || f.kind === 'rename') {
    const got = await read(f.newPath);
    if ('error' in got) return fileConflict(got.error);
    if (got.snap) return fileConflict(`${f.newPath} already exists`);
  }
  const result = applyFile(base, f);
  if ('conflicts' in result) {
    plan.conflicts.push(...result.conflicts);
    return plan;
  }
  plan.applies = true;
  if (f.kind !== 'delete') plan.newContent = result.text;
  return plan;
}

async function checkExpected(files: FilePlan[], expected: Record<string, string | null>, read: Read) {
  for (const [path, want] of Object.entries(expected)) {
    const owner = files.find((f) => f.oldPath === path || f.newPath === path);
    const plan: FilePlan = owner ?? {
      kind: 'verify',
      path,
      oldPath: path,
      newPath: null,
      baseSha256: null,
      applies: true,
      conflicts: [],
      newContent: null,
    };
    if (!owner) files.push(plan);
    const fail = (reason: string) => {
      plan.applies = false;
      plan.newContent = null;
      plan.conflicts.push({ hunk: null, reason });
    };
    const problem = pathProblem(path);
    if (problem) {
      fail(`expected hash given for an invalid path: ${problem}`);
      continue;
    }
    const got = await read(path);
    if ('error' in got) {
      if (!owner) fail(got.error);
      continue;
    }
    const have = got.snap?.sha256 ?? null;
    if (!owner) plan.baseSha256 = have;
    if (have !== want)
      fail(`${path} is not the expected base: expected ${want ?? 'no file'}, found ${have ?? 'no file'}`);
  }
}

function writesOf(files: FilePlan[]): PlannedWrite[] {
  const writes: PlannedWrite[] = [];
  for (const f of files) {
    if (f.newContent !== null && f.newPath !== null) {
      const w: PlannedWrite = {
        op: 'write',
        path: f.newPath,
        content: f.newContent,
        sha256: sha256(f.newContent),
      };
      if (f.mode !== undefined) w.mode = f.mode;
      writes.push(w);
    }
    if (f.oldPath !== null && (f.kind === 'delete' || f.kind === 'rename'))
      writes.push({ op: 'remove', path: f.oldPath });
  }
  return writes;
}
