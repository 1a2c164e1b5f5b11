/*
 * A strict parser for multi-file unified diffs (git style, or plain ---/+++ headers).
 * Patches reach the workspace only through this parser, so anything it cannot read
 * exactly is refused with the file, the 1-based patch line and the reason, instead of
 * being guessed at the way lenient parsers (GNU patch, jsdiff) do. It produces the shared
 * model in @keel/contract/unified-diff, but stays hand-written and apart from the IDE's
 * preview reader: this one decides what is written to a workspace, so every refusal here is
 * a security property, and a library's or the preview's leniency would be a way around it.
 */

import type { FilePatch, Hunk, Patch } from '@keel/contract/unified-diff';
import { PatchParseError } from './errors.ts';
import { parseHunks } from './hunks.ts';
import { pathProblem, readQuoted } from './paths.ts';
import { type LineReader, printable, reader } from './reader.ts';

const EXTENDED_HEADERS = [
  'old mode ',
  'new mode ',
  'deleted file mode ',
  'new file mode ',
  'similarity index ',
  'dissimilarity index ',
  'rename from ',
  'rename to ',
  'copy from ',
  'copy to ',
  'index ',
] as const;
type ExtendedHeader = (typeof EXTENDED_HEADERS)[number];

const FILE_MODES: Record<string, number> = { '100644': 0o644, '100755': 0o755 };
const UNSUPPORTED_MODES: Record<string, string> = {
  '120000': 'symbolic links are not supported',
  '160000': 'submodules are not supported',
  '040000': 'directories are not supported',
};

export function parsePatch(text: string): Patch {
  if (typeof text !== 'string') throw new PatchParseError(null, 0, 'patch is not a string');
  const r = reader(text);
  const files: FilePatch[] = [];
  while (!r.done()) {
    const line = r.peek()!;
    r.file = null;
    if (line.startsWith('diff --git ')) files.push(parseGitFile(r));
    else if (line.startsWith('--- ')) files.push(parsePlainFile(r));
    else r.fail(unexpected(line, 'expected a file header ("diff --git" or "---")'));
  }
  checkDistinct(files);
  return { files };
}

function unexpected(line: string, what: string): string {
  if (isBinaryMarker(line)) return 'binary patches are not supported';
  return `${what}, found ${printable(line)}`;
}

function isBinaryMarker(line: string): boolean {
  return line === 'GIT binary patch' || (line.startsWith('Binary files ') && line.endsWith(' differ'));
}

/** After a file's last hunk only the next file's header or the end of the patch may follow. */
function expectFileEnd(r: LineReader, hunks: Hunk[]): void {
  const line = r.peek();
  if (line === undefined || line.startsWith('diff --git ') || line.startsWith('--- ')) return;
  const where = hunks.length > 0 ? `after hunk ${hunks.length}` : 'in file header';
  r.fail(unexpected(line, `unexpected text ${where}`));
}

function parseGitFile(r: LineReader): FilePatch {
  const start = r.lineNo();
  const gitLine = r.headerLine();
  const names = splitGitNames(gitLine.slice('diff --git '.length));
  if ('error' in names) r.fail(names.error, start);
  r.file = printable(stripLoose(names.b ?? names.a));

  const ext = new Map<ExtendedHeader, { value: string; line: number }>();
  for (let line = r.peek(); line !== undefined; line = r.peek()) {
    if (isBinaryMarker(line)) r.fail('binary patches are not supported');
    const key = EXTENDED_HEADERS.find((h) => line.startsWith(h));
    if (!key) break;
    if (ext.has(key)) r.fail(`duplicate "${key.trim()}" header`);
    ext.set(key, { value: r.headerLine().slice(key.length), line: r.lineNo() - 1 });
  }

  let minus: { name: string; line: number } | undefined;
  let plus: { name: string; line: number } | undefined;
  if (r.peek()?.startsWith('--- ')) [minus, plus] = readFileHeaders(r);
  if (plus) r.file = printable(stripLoose(plus.name === '/dev/null' ? minus?.name : plus.name));
  const hunks = parseHunks(r);
  expectFileEnd(r, hunks);

  const get = (k: ExtendedHeader) => ext.get(k);
  for (const k of ['copy from ', 'copy to '] as const) {
    const h = get(k);
    if (h) r.fail('copies are not supported', h.line);
  }
  for (const k of ['old mode ', 'new mode '] as const) {
    const h = get(k);
    if (h) r.fail('mode changes are not supported', h.line);
  }
  checkIndexLine(r, get('index '));
  checkSimilarity(r, get('similarity index '));
  checkSimilarity(r, get('dissimilarity index '));

  const created = get('new file mode ');
  const deleted = get('deleted file mode ');
  const renameFrom = get('rename from ');
  const renameTo = get('rename to ');
  if (!renameFrom !== !renameTo) r.fail('"rename from" and "rename to" must come together', start);
  if ([created, deleted, renameFrom].filter(Boolean).length > 1) {
    r.fail('conflicting headers: a file is at most one of created, deleted or renamed', start);
  }
  const mode = created ? fileMode(r, created) : undefined;
  if (deleted) fileMode(r, deleted);
  if (minus?.name === '/dev/null' && !created) r.fail('"--- /dev/null" without "new file mode"', minus.line);
  if (plus?.name === '/dev/null' && !deleted) {
    r.fail('"+++ /dev/null" without "deleted file mode"', plus.line);
  }
  if (created && minus && minus.name !== '/dev/null') {
    r.fail('a new file must have "--- /dev/null"', minus.line);
  }
  if (deleted && plus && plus.name !== '/dev/null') {
    r.fail('a deleted file must have "+++ /dev/null"', plus.line);
  }

  const gitOld = names.a === undefined ? undefined : prefixed(r, names.a, 'a/', start);
  const gitNew = names.b === undefined ? undefined : prefixed(r, names.b, 'b/', start);
  const hdrOld = minus && minus.name !== '/dev/null' ? prefixed(r, minus.name, 'a/', minus.line) : undefined;
  const hdrNew = plus && plus.name !== '/dev/null' ? prefixed(r, plus.name, 'b/', plus.line) : undefined;

  if (renameFrom && renameTo) {
    const from = headerPath(r, renameFrom);
    const to = headerPath(r, renameTo);
    r.file = printable(to);
    if (from === to) r.fail('rename to the same path', renameTo.line);
    agree(r, from, [gitOld, hdrOld], start);
    agree(r, to, [gitNew, hdrNew], start);
    return { kind: 'rename', oldPath: from, newPath: to, hunks, patchLine: start };
  }

  const path = hdrNew ?? hdrOld ?? gitNew ?? gitOld;
  if (path === undefined) r.fail('cannot tell the file name from the "diff --git" line', start);
  r.file = printable(path);
  agree(r, path, [gitOld, gitNew, hdrOld, hdrNew], start);
  if (created) {
    return withHunkRules(r, { kind: 'create', oldPath: null, newPath: path, mode, hunks, patchLine: start });
  }
  if (deleted) {
    return withHunkRules(r, { kind: 'delete', oldPath: path, newPath: null, hunks, patchLine: start });
  }
  return withHunkRules(r, { kind: 'modify', oldPath: path, newPath: path, hunks, patchLine: start });
}

function parsePlainFile(r: LineReader): FilePatch {
  const start = r.lineNo();
  const [minus, plus] = readFileHeaders(r);
  r.file = printable(stripLoose(plus.name === '/dev/null' ? minus.name : plus.name));
  const hunks = parseHunks(r);
  if (hunks.length === 0) r.fail('file header without hunks', start);
  expectFileEnd(r, hunks);

  if (minus.name === '/dev/null' && plus.name === '/dev/null') r.fail('both sides are /dev/null', start);
  if (minus.name === '/dev/null') {
    const path = prefixed(r, plus.name, 'b/', plus.line);
    return withHunkRules(r, { kind: 'create', oldPath: null, newPath: path, hunks, patchLine: start });
  }
  const oldPath = prefixed(r, minus.name, 'a/', minus.line);
  if (plus.name === '/dev/null') {
    return withHunkRules(r, { kind: 'delete', oldPath, newPath: null, hunks, patchLine: start });
  }
  const newPath = prefixed(r, plus.name, 'b/', plus.line);
  if (oldPath !== newPath) r.fail('old and new names differ without "rename from/to" headers', start);
  return withHunkRules(r, { kind: 'modify', oldPath, newPath, hunks, patchLine: start });
}

/** Hunk shapes each kind allows: a create only adds, a delete only removes. */
function withHunkRules(r: LineReader, f: FilePatch): FilePatch {
  if (f.kind === 'modify' && f.hunks.length === 0) r.fail('no changes for this file', f.patchLine);
  if (f.kind === 'create' || f.kind === 'delete') {
    const second = f.hunks[1];
    if (second) {
      r.fail(`a ${f.kind === 'create' ? 'new' : 'deleted'} file has a single hunk`, second.patchLine);
    }
    const h = f.hunks[0];
    if (h && f.kind === 'create' && (h.oldLines !== 0 || h.oldStart !== 0)) {
      r.fail('a new file\'s hunk must start "@@ -0,0"', h.patchLine);
    }
    if (h && f.kind === 'delete' && (h.newLines !== 0 || h.newStart !== 0)) {
      r.fail('a deleted file\'s hunk must end "+0,0 @@"', h.patchLine);
    }
  }
  return f;
}

function readFileHeaders(r: LineReader): [{ name: string; line: number }, { name: string; line: number }] {
  const minusLine = r.lineNo();
  const minus = headerName(r, r.headerLine().slice(4), minusLine);
  if (!r.peek()?.startsWith('+++ ')) r.fail('"---" not followed by "+++"');
  const plusLine = r.lineNo();
  const plus = headerName(r, r.headerLine().slice(4), plusLine);
  return [
    { name: minus, line: minusLine },
    { name: plus, line: plusLine },
  ];
}

/** Name in a ---/+++ header: quoted, or up to a tab (after which diff tools put a timestamp). */
function headerName(r: LineReader, s: string, line: number): string {
  if (s.startsWith('"')) {
    const q = readQuoted(s, 0);
    if ('error' in q) r.fail(q.error, line);
    if (q.end !== s.length && s[q.end] !== '\t') r.fail('text after a quoted file name', line);
    return q.name;
  }
  const tab = s.indexOf('\t');
  return tab === -1 ? s : s.slice(0, tab);
}

/** Value of "rename from/to": a bare path (no a/ b/ prefix), possibly quoted. */
function headerPath(r: LineReader, h: { value: string; line: number }): string {
  let name = h.value;
  if (name.startsWith('"')) {
    const q = readQuoted(name, 0);
    if ('error' in q) r.fail(q.error, h.line);
    if (q.end !== name.length) r.fail('text after a quoted file name', h.line);
    name = q.name;
  }
  const problem = pathProblem(name);
  if (problem) r.fail(`${problem}: ${printable(name)}`, h.line);
  return name;
}

function prefixed(r: LineReader, raw: string, prefix: 'a/' | 'b/', line: number): string {
  if (raw.startsWith('/')) r.fail(`absolute path: ${printable(raw)}`, line);
  if (!raw.startsWith(prefix)) r.fail(`expected a "${prefix}" prefix: ${printable(raw)}`, line);
  const path = raw.slice(2);
  const problem = pathProblem(path);
  if (problem) r.fail(`${problem}: ${printable(raw)}`, line);
  return path;
}

/** For error messages only, before the name has been checked. */
function stripLoose(raw: string | undefined): string {
  if (raw === undefined) return '?';
  return raw.startsWith('a/') || raw.startsWith('b/') ? raw.slice(2) : raw;
}

function agree(r: LineReader, path: string, others: (string | undefined)[], line: number): void {
  for (const other of others) {
    if (other !== undefined && other !== path) {
      r.fail(`file names in the headers disagree: ${printable(path)} and ${printable(other)}`, line);
    }
  }
}

function fileMode(r: LineReader, h: { value: string; line: number }): number {
  const mode = FILE_MODES[h.value];
  if (mode !== undefined) return mode;
  r.fail(UNSUPPORTED_MODES[h.value] ?? `unsupported file mode ${printable(h.value)}`, h.line);
}

function checkIndexLine(r: LineReader, h: { value: string; line: number } | undefined): void {
  if (!h) return;
  const m = /^[0-9a-f]{4,64}\.\.[0-9a-f]{4,64}(?: ([0-7]{6}))?$/.exec(h.value);
  if (!m) r.fail('malformed "index" header', h.line);
  const mode = m[1];
  if (mode !== undefined && FILE_MODES[mode] === undefined) {
    r.fail(UNSUPPORTED_MODES[mode] ?? `unsupported file mode ${mode}`, h.line);
  }
}

function checkSimilarity(r: LineReader, h: { value: string; line: number } | undefined): void {
  if (h && !/^(?:100|[1-9]?[0-9])%$/.test(h.value)) r.fail('malformed similarity header', h.line);
}

/**
 * Splits the names of a "diff --git" line. Unquoted names with spaces are ambiguous; like
 * git, prefer the split where both sides name the same file, and otherwise leave the
 * names unknown so that the ---/+++ or rename headers decide.
 */
function splitGitNames(rest: string): { a?: string; b?: string } | { error: string } {
  if (rest.startsWith('"')) {
    const q = readQuoted(rest, 0);
    if ('error' in q) return q;
    if (rest[q.end] !== ' ') return { error: 'malformed "diff --git" line' };
    const b = rest.slice(q.end + 1);
    if (!b.startsWith('"')) return { a: q.name, b };
    const q2 = readQuoted(b, 0);
    if ('error' in q2) return q2;
    if (q2.end !== b.length) return { error: 'malformed "diff --git" line' };
    return { a: q.name, b: q2.name };
  }
  if (rest.endsWith('"')) {
    for (let at = rest.indexOf(' "'); at !== -1; at = rest.indexOf(' "', at + 1)) {
      const q = readQuoted(rest, at + 1);
      if (!('error' in q) && q.end === rest.length) return { a: rest.slice(0, at), b: q.name };
    }
    return { error: 'malformed "diff --git" line' };
  }
  if (rest.length % 2 === 1) {
    const a = rest.slice(0, (rest.length - 1) / 2);
    if (a.startsWith('a/') && rest === `${a} b/${a.slice(2)}`) return { a, b: `b/${a.slice(2)}` };
  }
  const at = rest.indexOf(' b/');
  if (at !== -1 && rest.indexOf(' b/', at + 1) === -1) return { a: rest.slice(0, at), b: rest.slice(at + 1) };
  return {};
}

/**
 * A path may appear once, and never as both a file and a directory of another path:
 * either would make the outcome depend on the order the files are applied in.
 */
function checkDistinct(files: FilePatch[]): void {
  const seen = new Map<string, FilePatch>();
  for (const f of files) {
    for (const p of [f.oldPath, f.newPath]) {
      if (p === null) continue;
      const prev = seen.get(p);
      if (prev && prev !== f) {
        throw new PatchParseError(
          printable(p),
          f.patchLine,
          `file mentioned twice (first at line ${prev.patchLine})`,
        );
      }
      seen.set(p, f);
    }
  }
  for (const [p, f] of seen) {
    const parts = p.split('/');
    for (let i = 1; i < parts.length; i++) {
      const dir = seen.get(parts.slice(0, i).join('/'));
      if (dir) {
        throw new PatchParseError(
          printable(p),
          f.patchLine,
          `path is inside ${printable(parts.slice(0, i).join('/'))}, which the patch also names as a file`,
        );
      }
    }
  }
}
