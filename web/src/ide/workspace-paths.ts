/**
 * Paths inside a workspace as the files API writes them: relative to the workspace root, '/'-separated,
 * no leading or trailing slash, '' for the root itself.
 */

export function parentOf(path: string): string {
  const slash = path.lastIndexOf('/');
  return slash === -1 ? '' : path.slice(0, slash);
}

export function baseName(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function joinPath(dir: string, name: string): string {
  return dir === '' ? name : `${dir}/${name}`;
}

/** True for the path itself and anything below it. */
export function isWithin(path: string, dir: string): boolean {
  return dir === '' || path === dir || path.startsWith(`${dir}/`);
}

/** Moves a path from under `from` to under `to` (for renaming a folder with open files inside). */
export function movePath(path: string, from: string, to: string): string {
  return path === from ? to : `${to}${path.slice(from.length)}`;
}

/**
 * Checks a name typed for a new or renamed file: one path segment, or several separated by '/' for
 * "src/new.ts" typed into the root. Returns why it cannot be used, or undefined when it can.
 */
export function nameProblem(name: string): string | undefined {
  if (name.trim() === '') return 'Enter a name.';
  if (name.startsWith('/')) return 'Use a path inside the workspace, without a leading “/”.';
  if (name.includes('\0')) return 'Names cannot contain NUL characters.';
  const parts = name.split('/');
  if (parts.some((part) => part === '')) return 'Remove the empty part (“//” or a trailing “/”).';
  if (parts.some((part) => part === '.' || part === '..')) return '“.” and “..” cannot be used as names.';
  if (parts.some((part) => part !== part.trim())) return 'Names cannot start or end with spaces.';
  return undefined;
}
