/*
 * Paths in a patch are workspace-relative and must already be in normal form: a patch
 * that needs normalising is either broken or an attempt to leave the workspace, and both
 * deserve a refusal rather than a guess. The confined file layer checks again on use.
 */

const MAX_PATH_BYTES = 4096;
const MAX_NAME_BYTES = 255;

/** Why `path` is not acceptable as a patch target, or null when it is. */
export function pathProblem(path: string): string | null {
  if (path === '') return 'empty path';
  if (path.includes('\0')) return 'path contains a NUL byte';
  if (path.startsWith('/')) return 'absolute path';
  if (path.includes('\\')) return 'path contains a backslash';
  // Control characters make paths that display as something else (and break headers).
  for (let i = 0; i < path.length; i++) {
    const c = path.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return 'path contains a control character';
  }
  if (Buffer.byteLength(path) > MAX_PATH_BYTES) return 'path too long';
  for (const name of path.split('/')) {
    if (name === '..') return "path contains a '..' segment";
    if (name === '' || name === '.') return 'path is not normalized (empty or "." segment)';
    // Writing into .git (hooks, config) would run code on the next git command.
    if (name.toLowerCase() === '.git') return 'path inside .git';
    if (Buffer.byteLength(name) > MAX_NAME_BYTES) return 'file name too long';
  }
  return null;
}

const ESCAPES: Record<string, number> = {
  a: 0x07,
  b: 0x08,
  t: 0x09,
  n: 0x0a,
  v: 0x0b,
  f: 0x0c,
  r: 0x0d,
  '"': 0x22,
  '\\': 0x5c,
};

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * Reads a C-style quoted name (as git and jsdiff write names with unusual characters)
 * starting at `s[start] === '"'`. Returns the name and the index after the closing quote.
 */
export function readQuoted(s: string, start: number): { name: string; end: number } | { error: string } {
  const bytes: number[] = [];
  const enc = new TextEncoder();
  let i = start + 1;
  while (i < s.length) {
    const ch = s[i]!;
    if (ch === '"') {
      try {
        return { name: utf8.decode(new Uint8Array(bytes)), end: i + 1 };
      } catch {
        return { error: 'quoted path is not valid UTF-8' };
      }
    }
    if (ch !== '\\') {
      const cp = s.codePointAt(i)!;
      const chunk = String.fromCodePoint(cp);
      for (const b of enc.encode(chunk)) bytes.push(b);
      i += chunk.length;
      continue;
    }
    const next = s[i + 1];
    if (next === undefined) break;
    const simple = ESCAPES[next];
    if (simple !== undefined) {
      bytes.push(simple);
      i += 2;
      continue;
    }
    const oct = /^[0-3][0-7]{2}/.exec(s.slice(i + 1, i + 4));
    if (!oct) return { error: `unknown escape \\${next} in quoted path` };
    bytes.push(Number.parseInt(oct[0], 8));
    i += 4;
  }
  return { error: 'unterminated quoted path' };
}
