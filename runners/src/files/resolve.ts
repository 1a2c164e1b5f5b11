/*
 * Race-free path resolution under a workspace root without openat2: every component is
 * opened relative to the file descriptor of its parent through /proc/self/fd/<fd>/<name>,
 * with O_NOFOLLOW, so a symlink anywhere (including one swapped in between a check and
 * its use) makes the open fail instead of leaving the root. Directories opened this way
 * stay inside the workspace even if they are renamed afterwards, because the workload
 * cannot move anything across its own mount boundary.
 */
import { closeSync, constants, lstatSync, openSync, type Stats } from 'node:fs';
import { type FileHandle, lstat, open } from 'node:fs/promises';
import {
  fromErrno,
  InvalidPath,
  IsSymlink,
  NotADirectory,
  NotFound,
  PathOutsideWorkspace,
} from './errors.ts';

const { O_RDONLY, O_DIRECTORY, O_NOFOLLOW } = constants;
/** Linux O_PATH (not exported by Node): a handle for fstat and re-open, never for I/O. */
export const O_PATH = 0o10000000;
const DIR_FLAGS = O_RDONLY | O_DIRECTORY | O_NOFOLLOW;
const MAX_PATH = 4096;
const MAX_NAME = 255;

/** Splits a workspace-relative path into names; rejects anything that could leave the root. */
export function splitPath(rel: string): string[] {
  if (typeof rel !== 'string') throw new InvalidPath(String(rel), 'not a string');
  if (rel.includes('\0')) throw new InvalidPath(rel, 'contains a NUL byte');
  if (Buffer.byteLength(rel) > MAX_PATH) throw new InvalidPath(rel, 'too long');
  if (rel.startsWith('/')) throw new PathOutsideWorkspace(rel);
  const names = rel.split('/').filter((s) => s !== '' && s !== '.');
  for (const name of names) {
    if (name === '..') throw new PathOutsideWorkspace(rel);
    if (Buffer.byteLength(name) > MAX_NAME) throw new InvalidPath(rel, 'name too long');
  }
  return names;
}

/** Path of `name` inside the directory held by `dir`, resolved by the kernel through the fd. */
export function at(dir: FileHandle, name?: string): string {
  return name === undefined ? `/proc/self/fd/${dir.fd}` : `/proc/self/fd/${dir.fd}/${name}`;
}

export function openRoot(root: string): Promise<FileHandle> {
  // The root itself comes from the driver, not from the request: it may be followed.
  return open(root, O_RDONLY | O_DIRECTORY).catch((err) => {
    throw fromErrno(err, '.');
  });
}

/** lstat of an entry, or undefined when it does not exist. */
export async function lstatAt(dir: FileHandle, name: string, rel: string): Promise<Stats | undefined> {
  try {
    return await lstat(at(dir, name));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw fromErrno(err, rel);
  }
}

/** Opens a child directory without following a symlink; the caller closes the handle. */
export async function openDirAt(dir: FileHandle, name: string, rel: string): Promise<FileHandle> {
  try {
    return await open(at(dir, name), DIR_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      // Linux reports a symlink under O_DIRECTORY|O_NOFOLLOW as ENOTDIR: tell them apart.
      const st = await lstatAt(dir, name, rel);
      if (!st) throw new NotFound(rel);
      throw st.isSymbolicLink() ? new IsSymlink(rel) : new NotADirectory(rel);
    }
    throw fromErrno(err, rel);
  }
}

/**
 * Walks `names` from `start` as directories. Returns a handle the caller must close.
 * The start handle is never closed here.
 */
export async function walkDirs(start: FileHandle, names: string[], rel: string): Promise<FileHandle> {
  let cur = start;
  try {
    for (const name of names) {
      const next = await openDirAt(cur, name, rel);
      if (cur !== start) await cur.close();
      cur = next;
    }
  } catch (err) {
    if (cur !== start) await cur.close();
    throw err;
  }
  if (cur === start) return open(at(start), O_RDONLY | O_DIRECTORY);
  return cur;
}

/** Runs `fn` with a handle on the root and always closes it. */
export async function withRoot<T>(root: string, fn: (dir: FileHandle) => Promise<T>): Promise<T> {
  const dir = await openRoot(root);
  try {
    return await fn(dir);
  } finally {
    await dir.close();
  }
}

/**
 * Runs `fn` with a handle on the directory that holds the last name of `rel`.
 * `rel` must name something below the root.
 */
export async function withParent<T>(
  root: string,
  rel: string,
  fn: (parent: FileHandle, name: string, names: string[]) => Promise<T>,
): Promise<T> {
  const names = splitPath(rel);
  const name = names.at(-1);
  if (name === undefined) throw new InvalidPath(rel, 'names the workspace root');
  return withRoot(root, async (rootDir) => {
    // A name directly under the root needs no second handle on the root: reads of such
    // files are the most frequent request, and every open and close is a thread-pool trip.
    if (names.length === 1) return fn(rootDir, name, names);
    const parent = await walkDirs(rootDir, names.slice(0, -1), rel);
    try {
      return await fn(parent, name, names);
    } finally {
      await parent.close();
    }
  });
}

/**
 * `withParent` in blocking calls, for work that takes microseconds on a local disk: the same
 * walk, fd by fd with O_NOFOLLOW, the same errors. `fn` gets the parent's fd and must not
 * keep it; every fd opened here is closed before this returns.
 */
export function withParentSync<T>(root: string, rel: string, fn: (parent: number, name: string) => T): T {
  const names = splitPath(rel);
  const name = names.at(-1);
  if (name === undefined) throw new InvalidPath(rel, 'names the workspace root');
  let cur: number;
  try {
    cur = openSync(root, O_RDONLY | O_DIRECTORY);
  } catch (err) {
    throw fromErrno(err, '.');
  }
  try {
    for (const dir of names.slice(0, -1)) {
      const next = openDirAtSync(cur, dir, rel);
      closeSync(cur);
      cur = next;
    }
    return fn(cur, name);
  } finally {
    closeSync(cur);
  }
}

function openDirAtSync(dir: number, name: string, rel: string): number {
  const path = `/proc/self/fd/${dir}/${name}`;
  try {
    return openSync(path, DIR_FLAGS);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOTDIR' || code === 'ELOOP') {
      let st: Stats;
      try {
        st = lstatSync(path);
      } catch {
        throw new NotFound(rel);
      }
      throw st.isSymbolicLink() ? new IsSymlink(rel) : new NotADirectory(rel);
    }
    throw fromErrno(err, rel);
  }
}

/** Runs `fn` with a handle on the directory `rel` itself (the root when empty). */
export async function withDir<T>(root: string, rel: string, fn: (dir: FileHandle) => Promise<T>): Promise<T> {
  const names = splitPath(rel);
  return withRoot(root, async (rootDir) => {
    const dir = await walkDirs(rootDir, names, rel);
    try {
      return await fn(dir);
    } finally {
      await dir.close();
    }
  });
}
