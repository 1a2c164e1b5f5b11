/*
 * The one model of a unified diff, for every side that reads one: the runner's strict patch
 * parser (runners/src/patch/) and the IDE's rewrite preview (web/src/ide/ai/unified-diff.ts).
 * Pure TypeScript, no dependencies, so it runs in Node, workerd and the browser alike.
 */

export type FileKind = 'modify' | 'create' | 'delete' | 'rename';

export interface HunkLine {
  op: ' ' | '-' | '+';
  /** The line without its '\n' (a '\r' of a CRLF file stays part of the text). */
  text: string;
  /** Followed by "\ No newline at end of file": the last line of its side(s) has no '\n'. */
  noNewline: boolean;
}

export interface Hunk {
  /** As written in the header: for a side with 0 lines, the line *before* the change. */
  oldStart: number;
  oldLines: number;
  newStart: number;
  newLines: number;
  /** Text after the closing '@@' (usually a function name); informational only. */
  section: string;
  lines: HunkLine[];
  /** 1-based line of the '@@' header in the patch text. */
  patchLine: number;
}

/** One file of a diff as its headers name it: null for /dev/null, or a side no header named. */
export interface FileDiff {
  oldPath: string | null;
  newPath: string | null;
  hunks: Hunk[];
}

interface FileBase extends FileDiff {
  /** 1-based line where this file's header starts in the patch text. */
  patchLine: number;
}

export interface ModifyFile extends FileBase {
  kind: 'modify';
  oldPath: string;
  newPath: string;
}
export interface CreateFile extends FileBase {
  kind: 'create';
  oldPath: null;
  newPath: string;
  /** Permission bits from `new file mode` (0o644 or 0o755); undefined for plain diffs. */
  mode?: number;
}
export interface DeleteFile extends FileBase {
  kind: 'delete';
  oldPath: string;
  newPath: null;
}
export interface RenameFile extends FileBase {
  kind: 'rename';
  oldPath: string;
  newPath: string;
}

/** A file whose headers have been checked to say exactly one of modify, create, delete or rename. */
export type FilePatch = ModifyFile | CreateFile | DeleteFile | RenameFile;

export interface Patch {
  files: FilePatch[];
}

const HUNK_HEADER = /^@@ -(\d{1,9})(?:,(\d{1,9}))? \+(\d{1,9})(?:,(\d{1,9}))? @@(.*)$/;

/** The ranges and section of a '@@' line (a count left out is 1), or null when it is not one. */
export function readHunkHeader(line: string): Omit<Hunk, 'lines' | 'patchLine'> | null {
  const m = HUNK_HEADER.exec(line);
  if (!m) return null;
  return {
    oldStart: Number(m[1]),
    oldLines: m[2] === undefined ? 1 : Number(m[2]),
    newStart: Number(m[3]),
    newLines: m[4] === undefined ? 1 : Number(m[4]),
    section: m[5]!.startsWith(' ') ? m[5]!.slice(1) : m[5]!,
  };
}

/** Index of the first old line a hunk covers, 0-based (the header quirk undone). */
export function oldIndex(h: Hunk): number {
  return h.oldLines === 0 ? h.oldStart : h.oldStart - 1;
}
export function newIndex(h: Hunk): number {
  return h.newLines === 0 ? h.newStart : h.newStart - 1;
}

/** The path a file patch is about: where it lands, or what it removes. */
export function targetPath(f: FilePatch): string {
  return f.kind === 'delete' ? f.oldPath : f.newPath;
}
