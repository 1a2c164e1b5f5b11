/** Generators of texts, edits, workspaces and broken patches for the patch fuzz tests. */
import type { FileChange } from '../../runners/src/patch/diff.ts';
import type { Rng } from './prng.ts';

/** Lines that look like patch syntax or stress line handling. */
const LINE_POOL = [
  '',
  'a',
  'b',
  'foo',
  ' x',
  '\t',
  ' ',
  '-',
  '+',
  '\\',
  'ü€😀',
  'a\r',
  '\r',
  '\\ No newline at end of file',
  '--- a/x',
  '+++ b/x',
  '@@ -1 +1 @@',
  'diff --git a/x b/x',
  'rename from x',
  'GIT binary patch',
  '\u00a0nbsp',
  '\ufeffbom',
  'const x = 1;',
  '}',
];

export const PATH_POOL = [
  'a.txt',
  'src/main.ts',
  'src/lib/util.ts',
  'docs/with space.md',
  'ünï/çødé.txt',
  'q"uote.txt',
  'deep/er/and/deeper/file',
  'x b/y',
  '-dash',
  'README',
];

function randomLine(r: Rng): string {
  if (r.chance(0.7)) return r.pick(LINE_POOL);
  const chars = 'ab \t\r-+@\\/é😀';
  let s = '';
  for (let n = r.int(6); n > 0; n--) s += Array.from(chars)[r.int(Array.from(chars).length)];
  return s;
}

function eol(r: Rng, style: 'lf' | 'crlf' | 'mixed'): string {
  if (style === 'lf') return '\n';
  if (style === 'crlf') return '\r\n';
  return r.chance(0.5) ? '\n' : '\r\n';
}

export function randomText(r: Rng): string {
  if (r.chance(0.05)) return '';
  const style = r.pick(['lf', 'lf', 'lf', 'crlf', 'mixed'] as const);
  const n = r.range(0, 12);
  let s = '';
  for (let i = 0; i < n; i++) s += randomLine(r) + (i < n - 1 || r.chance(0.85) ? eol(r, style) : '');
  return s;
}

/** Splits keeping terminators, so edits preserve each line's own ending. */
function splitKeep(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

export function editText(r: Rng, text: string): string {
  if (r.chance(0.05)) return randomText(r);
  const lines = splitKeep(text);
  const style = text.includes('\r\n') ? 'crlf' : 'lf';
  for (let k = r.range(0, 4); k > 0; k--) {
    const at = r.int(lines.length + 1);
    switch (r.int(4)) {
      case 0:
        lines.splice(at, 0, randomLine(r) + eol(r, style));
        break;
      case 1:
        lines.splice(at, r.range(1, 3));
        break;
      case 2:
        if (at < lines.length) lines[at] = randomLine(r) + (lines[at]!.match(/\r?\n$/)?.[0] ?? '');
        break;
      default:
        if (at < lines.length) lines.splice(at, 0, lines[at]!);
    }
  }
  let out = lines.join('');
  if (r.chance(0.15)) out = out.endsWith('\n') ? out.replace(/\r?\n$/, '') : out === '' ? out : `${out}\n`;
  if (r.chance(0.03)) out = out.replace(/\r?\n/g, '\r\n');
  return out;
}

export type Workspace = Map<string, string>;

/** A workspace and a set of changes to it (modify, create, delete, rename). */
export function randomChanges(r: Rng): { ws: Workspace; changes: FileChange[]; after: Workspace } {
  const ws: Workspace = new Map();
  // No pool path is a directory of another, so any of them can live together.
  const paths = shuffle(r, [...PATH_POOL]);
  const present = paths.slice(0, r.range(1, 4));
  for (const p of present) ws.set(p, randomText(r));
  const free = paths.slice(present.length);
  const changes: FileChange[] = [];
  const after = new Map(ws);
  const taken = new Set<string>();
  for (const p of present) {
    if (!r.chance(0.8)) continue;
    const kind = r.pick(['modify', 'modify', 'modify', 'delete', 'rename'] as const);
    const oldText = ws.get(p)!;
    if (kind === 'delete') {
      changes.push({ path: p, oldText, newText: null });
      after.delete(p);
    } else if (kind === 'rename' && free.length > 0) {
      const to = free.shift()!;
      const newText = r.chance(0.5) ? oldText : editText(r, oldText);
      changes.push({ path: to, oldPath: p, oldText, newText });
      after.delete(p);
      after.set(to, newText);
      taken.add(to);
    } else {
      const newText = editText(r, oldText);
      if (newText !== oldText) changes.push({ path: p, oldText, newText });
      after.set(p, newText);
    }
  }
  if (free.length > 0 && r.chance(0.4)) {
    const p = free.shift()!;
    const newText = randomText(r);
    changes.push({ path: p, oldText: null, newText, mode: r.chance(0.2) ? 0o755 : 0o644 });
    after.set(p, newText);
  }
  return { ws, changes, after };
}

export const EVIL_PATHS = [
  '../x',
  '/etc/passwd',
  'a/../../x',
  '../../../../../../etc/passwd',
  'x\0y',
  'a\\b',
  '..\\..\\x',
  '',
  '.',
  '..',
  'x/..',
  'x/./y',
  'x//y',
  'x/',
  '.git/config',
  '.GIT/hooks/pre-commit',
  'sub/.git/hooks/post-checkout',
  'C:\\x',
  '~/x',
  'x\r',
  'x\ny',
  '\u202eevil',
  'link-out/pwned',
  'etc-link/passwd',
  'link-out',
  '/dev/null',
  'dev/null',
  ' x',
];

const GARBAGE = [
  'garbage',
  '',
  ' ',
  '@@',
  '@@ -1 +1 @@',
  '@@ -0,0 +0,0 @@',
  '@@ -99999999,1 +1 @@',
  'diff --git a/x b/x',
  'diff --git',
  '\\ No newline at end of file',
  '\\',
  'GIT binary patch',
  'literal 12',
  'Binary files a/x and b/x differ',
  '+++ b/x',
  '--- a/x',
  '--- /dev/null',
  'rename from x',
  'rename to ../x',
  'new file mode 100644',
  'new file mode 120000',
  'deleted file mode 100644',
  'old mode 100644',
  'copy from x',
  'similarity index 100%',
  'index 1234567..89abcde 100644',
  'index 1234567..89abcde 120000',
  '+injected',
  '-injected',
  ' injected',
  'Index: x',
  '===================================================================',
];

/** Quoted C-style form of a name, as git writes unusual names. */
function cQuote(s: string): string {
  let out = '"';
  for (const b of Buffer.from(s)) {
    if (b === 0x22 || b === 0x5c) out += `\\${String.fromCharCode(b)}`;
    else if (b < 0x20 || b > 0x7e) out += `\\${b.toString(8).padStart(3, '0')}`;
    else out += String.fromCharCode(b);
  }
  return `${out}"`;
}

function evilName(r: Rng, prefix: string): string {
  const evil = r.pick(EVIL_PATHS);
  switch (r.int(4)) {
    case 0:
      return evil;
    case 1:
      return cQuote(prefix + evil);
    default:
      return prefix + evil;
  }
}

/** One random corruption of a patch text. */
export function mutate(r: Rng, text: string): string {
  const lines = text.split('\n');
  const at = r.int(lines.length);
  const line = lines[at] ?? '';
  switch (r.int(13)) {
    case 0: {
      // Change one number of a hunk header.
      const hunks = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('@@'));
      if (hunks.length === 0) break;
      const [h, i] = r.pick(hunks);
      const nums = [...h.matchAll(/\d+/g)];
      if (nums.length === 0) break;
      const n = r.pick(nums);
      const v = r.pick([Number(n[0]) + 1, Number(n[0]) - 1, 0, r.int(20), 1e9]);
      lines[i] = h.slice(0, n.index) + String(Math.max(0, v)) + h.slice(n.index! + n[0].length);
      break;
    }
    case 1:
      lines.splice(at, 1);
      break;
    case 2:
      lines.splice(at, 0, line);
      break;
    case 3:
      lines.splice(at, 0, r.pick(GARBAGE));
      break;
    case 4:
    case 5: {
      // Point a header at a path outside the workspace (or otherwise unsafe).
      const headers = lines
        .map((l, i) => [l, i] as const)
        .filter(([l]) => /^(diff --git |--- |\+\+\+ |rename (from|to) )/.test(l));
      if (headers.length === 0) break;
      const [h, i] = r.pick(headers);
      if (h.startsWith('diff --git ')) lines[i] = `diff --git ${evilName(r, 'a/')} ${evilName(r, 'b/')}`;
      else if (h.startsWith('--- ')) lines[i] = `--- ${evilName(r, 'a/')}`;
      else if (h.startsWith('+++ ')) lines[i] = `+++ ${evilName(r, 'b/')}`;
      else lines[i] = h.replace(/^(rename (?:from|to) ).*$/, (_m, k: string) => k + evilName(r, ''));
      break;
    }
    case 6:
      if (at + 1 < lines.length) [lines[at], lines[at + 1]] = [lines[at + 1]!, line];
      break;
    case 7: {
      // Change content: the patch stays well formed but no longer matches the file.
      const body = lines
        .map((l, i) => [l, i] as const)
        .filter(([l]) => l.startsWith(' ') || l.startsWith('-'));
      if (body.length === 0) break;
      const [b, i] = r.pick(body);
      lines[i] = `${b}~`;
      break;
    }
    case 8:
      return text.slice(0, r.int(text.length + 1));
    case 9:
      if (/^[ +-]/.test(line)) lines[at] = r.pick([' ', '+', '-']) + line.slice(1);
      break;
    case 10: {
      const pos = r.int(line.length + 1);
      lines[at] =
        line.slice(0, pos) + r.pick(['\0', '\r', '\uD800', '\\', '"', '\t', '/', '..']) + line.slice(pos);
      break;
    }
    case 11: {
      // Repeat a whole file section: the same file mentioned twice.
      const starts = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('diff --git '));
      if (starts.length === 0) break;
      const [, s] = r.pick(starts);
      const next = lines.findIndex((l, i) => i > s && l.startsWith('diff --git '));
      const end = next === -1 ? lines.length - 1 : next;
      lines.splice(end, 0, ...lines.slice(s, end));
      break;
    }
    default: {
      // Move a hunk: shift both starts by the same amount.
      const hunks = lines.map((l, i) => [l, i] as const).filter(([l]) => l.startsWith('@@'));
      if (hunks.length === 0) break;
      const [h, i] = r.pick(hunks);
      const d = r.pick([-2, -1, 1, 2]);
      lines[i] = h.replace(/-(\d+)(,\d+)? \+(\d+)/, (_m, a: string, b = '', c: string) => {
        return `-${Math.max(0, Number(a) + d)}${b} +${Math.max(0, Number(c) + d)}`;
      });
    }
  }
  return lines.join('\n');
}

function shuffle<T>(r: Rng, items: T[]): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = r.int(i + 1);
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}
