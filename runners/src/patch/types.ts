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

interface FileBase {
  hunks: Hunk[];
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

export type FilePatch = ModifyFile | CreateFile | DeleteFile | RenameFile;

export interface Patch {
  files: FilePatch[];
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
