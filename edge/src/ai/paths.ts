import { ApiError } from '../http/api-error.ts';

/**
 * The workspace-relative form of a path ('./src//a.ts' → 'src/a.ts'), or a 400 invalid_path
 * for anything that names a place outside the workspace: absolute paths, drive letters, `~`,
 * backslashes, NUL, or `..` that climbs above the root. The same rule as the runner's, applied
 * here so the request is refused before its SSE stream opens; the runner still confines every
 * read (symlinks, hard links) on its own.
 */
export function workspaceRelative(path: string): string {
  const refuse = () => {
    throw new ApiError('invalid_path', 'The path must be relative and inside the workspace');
  };
  if (path === '' || path.includes('\0') || path.includes('\\')) refuse();
  if (path.startsWith('/') || path.startsWith('~') || /^[A-Za-z]:/.test(path)) refuse();
  const parts: string[] = [];
  for (const part of path.split('/')) {
    if (part === '' || part === '.') continue;
    if (part === '..') {
      if (parts.length === 0) refuse();
      parts.pop();
    } else {
      parts.push(part);
    }
  }
  if (parts.length === 0) refuse();
  return parts.join('/');
}
