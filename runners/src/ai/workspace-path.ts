import { posix } from 'node:path';

/**
 * Normalises a workspace-relative path ('./src//a.ts' → 'src/a.ts'), or returns undefined
 * for anything that could name a file outside the workspace: absolute paths, drive letters,
 * backslashes (a Windows separator in disguise), NUL, and `..` that climbs above the root.
 * Context building follows paths found in file contents, which the user (or a cloned repo)
 * controls, so every path is checked here before it reaches the reader.
 */
export function normalizeWorkspacePath(path: string): string | undefined {
  if (path === '' || path.includes('\0') || path.includes('\\')) return undefined;
  if (path.startsWith('/') || /^[A-Za-z]:/.test(path) || path.startsWith('~')) return undefined;
  const normal = posix.normalize(path).replace(/\/+$/, '');
  if (normal === '.' || normal === '..' || normal.startsWith('../')) return undefined;
  return normal;
}

/** Joins a relative specifier onto a workspace directory, with the same confinement. */
export function joinWorkspacePath(dir: string, relative: string): string | undefined {
  if (relative.startsWith('/') || relative.includes('\\') || relative.includes('\0')) return undefined;
  return normalizeWorkspacePath(dir === '' || dir === '.' ? relative : `${dir}/${relative}`);
}

export function workspaceDirname(path: string): string {
  const dir = posix.dirname(path);
  return dir === '.' ? '' : dir;
}
