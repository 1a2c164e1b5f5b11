/*
 * File operations confined under a workspace root on the host, shared by all drivers.
 * Requests are workspace-relative paths; see resolve.ts for how they are walked. Symlinks
 * are never followed (they can be listed, stat'ed, renamed and removed, which acts on
 * the link itself), and regular files with more than one hard link are refused, since
 * such a file may also live outside the workspace.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, fstatSync, openSync, readSync, type Stats } from 'node:fs';
import {
  type FileHandle,
  mkdir as mkdirPath,
  open,
  readdir,
  rename as renamePath,
  rmdir,
  unlink,
} from 'node:fs/promises';
import {
  AlreadyExists,
  fromErrno,
  HardLinked,
  IsADirectory,
  IsSymlink,
  NotARegularFile,
  NotFound,
  TooDeep,
  TooLarge,
} from './errors.ts';
import {
  at,
  lstatAt,
  O_PATH,
  openDirAt,
  splitPath,
  walkDirs,
  withDir,
  withParent,
  withParentSync,
  withRoot,
} from './resolve.ts';

export * from './errors.ts';

const { O_RDONLY, O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW } = constants;

export const DEFAULT_MAX_READ_BYTES = 10 * 1024 * 1024;
export const DEFAULT_MAX_WRITE_BYTES = 10 * 1024 * 1024;
const MAX_DEPTH = 256;

export interface Owner {
  uid: number;
  gid: number;
}

export type EntryType = 'file' | 'directory' | 'symlink' | 'other';

export interface EntryStat {
  type: EntryType;
  size: number;
  mtimeMs: number;
  /** Permission bits only. */
  mode: number;
}

export interface DirEntry extends EntryStat {
  name: string;
}

export interface TreeEntry extends EntryStat {
  /** Workspace-relative, '/'-separated. */
  path: string;
}

function typeOf(st: Stats): EntryType {
  if (st.isFile()) return 'file';
  if (st.isDirectory()) return 'directory';
  if (st.isSymbolicLink()) return 'symlink';
  return 'other';
}

function toStat(st: Stats): EntryStat {
  return { type: typeOf(st), size: st.size, mtimeMs: st.mtimeMs, mode: st.mode & 0o7777 };
}

const isRoot = process.getuid?.() === 0;

async function chownIfRoot(fh: FileHandle, owner: Owner | undefined): Promise<void> {
  // Only root can give files away; elsewhere the runner's own uid is the right owner.
  if (owner && isRoot) await fh.chown(owner.uid, owner.gid);
}

/** Refuses anything but a regular file with a single link. */
function assertPlainFile(st: Stats, rel: string): void {
  if (st.isSymbolicLink()) throw new IsSymlink(rel);
  if (st.isDirectory()) throw new IsADirectory(rel);
  if (!st.isFile()) throw new NotARegularFile(rel);
  if (st.nlink > 1) throw new HardLinked(rel);
}

/** Files up to this size are read in blocking calls (see `readSmallFile`). */
const BLOCKING_READ_BYTES = 256 * 1024;

export async function readFile(root: string, rel: string, opts: { maxBytes?: number } = {}): Promise<Buffer> {
  const max = opts.maxBytes ?? DEFAULT_MAX_READ_BYTES;
  const small = readSmallFile(root, rel, max);
  if (small) return small;
  return withParent(root, rel, async (parent, name) => {
    // O_PATH first: a FIFO or device is never opened for reading, only inspected.
    let handle: FileHandle;
    try {
      handle = await open(at(parent, name), O_PATH | O_NOFOLLOW);
    } catch (err) {
      throw fromErrno(err, rel);
    }
    try {
      const st = await handle.stat();
      assertPlainFile(st, rel);
      if (st.size > max) throw new TooLarge(rel, max);
      // Re-opening through the O_PATH fd reaches exactly the inode that was checked.
      const file = await open(at(handle), O_RDONLY);
      try {
        return await readCapped(file, max, rel, st.size);
      } finally {
        await file.close();
      }
    } finally {
      await handle.close();
    }
  });
}

/**
 * The common read (a source file, well under 256 KB) in blocking calls: eight thread-pool round
 * trips cost milliseconds on a busy host, where the same syscalls made directly take tens of
 * microseconds, and a person waits on these reads (a file opened in the IDE, the context of an
 * AI prompt). Same checks and errors as `readFile`; undefined for a larger file, which is
 * then read without blocking.
 */
function readSmallFile(root: string, rel: string, max: number): Buffer | undefined {
  return withParentSync(root, rel, (parent, name) => {
    let handle: number;
    try {
      handle = openSync(`/proc/self/fd/${parent}/${name}`, O_PATH | O_NOFOLLOW);
    } catch (err) {
      throw fromErrno(err, rel);
    }
    try {
      const st = fstatSync(handle);
      assertPlainFile(st, rel);
      if (st.size > max) throw new TooLarge(rel, max);
      if (st.size > BLOCKING_READ_BYTES) return undefined;
      const file = openSync(`/proc/self/fd/${handle}`, O_RDONLY);
      try {
        // One byte more than fstat saw: the short read says the file ended there.
        const buf = Buffer.allocUnsafe(Math.min(st.size + 1, max + 1));
        let total = 0;
        for (;;) {
          const n = readSync(file, buf, total, buf.length - total, null);
          if (n === 0) break;
          total += n;
          if (total === buf.length) {
            // It grew since fstat: the async path reads whatever it is now, within the cap.
            if (total > max) throw new TooLarge(rel, max);
            return undefined;
          }
          // Short of the byte asked for beyond fstat's size: it ended there, as readCapped
          // also concludes, without one more call to hear it.
          if (total === st.size) break;
        }
        return buf.subarray(0, total);
      } finally {
        closeSync(file);
      }
    } finally {
      closeSync(handle);
    }
  });
}

async function readCapped(file: FileHandle, max: number, rel: string, expected: number): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let total = 0;
  // The first read asks for one byte more than fstat saw: a file that did not change since
  // then is read in one call, and the short read says it ended.
  let want = Math.min(expected + 1, max + 1);
  for (;;) {
    const buf = Buffer.allocUnsafe(want);
    const { bytesRead } = await file.read(buf, 0, buf.length, null);
    if (bytesRead === 0) break;
    total += bytesRead;
    // The file can grow between fstat and read.
    if (total > max) throw new TooLarge(rel, max);
    chunks.push(buf.subarray(0, bytesRead));
    if (bytesRead < buf.length && total === expected) break;
    want = Math.min(64 * 1024, max + 1 - total);
  }
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, total);
}

export interface WriteOptions {
  maxBytes?: number;
  /** Owner of a newly created file (an existing file keeps its owner). */
  owner?: Owner;
  /** Mode of a newly created file; default 0o644. */
  mode?: number;
  /** Create missing parent directories. */
  createParents?: boolean;
}

/** Atomic replace: temp file in the same directory, fsync, rename over, fsync the directory. */
export async function writeFile(
  root: string,
  rel: string,
  data: Uint8Array | string,
  opts: WriteOptions = {},
): Promise<void> {
  const bytes = typeof data === 'string' ? Buffer.from(data) : data;
  const max = opts.maxBytes ?? DEFAULT_MAX_WRITE_BYTES;
  if (bytes.byteLength > max) throw new TooLarge(rel, max);
  const names = splitPath(rel);
  if (opts.createParents && names.length > 1) {
    await mkdir(root, names.slice(0, -1).join('/'), { recursive: true, owner: opts.owner });
  }
  await withParent(root, rel, async (parent, name) => {
    const existing = await lstatAt(parent, name, rel);
    if (existing) assertPlainFile(existing, rel);

    const tmpName = `.${name.slice(0, 64)}.keel-${randomBytes(6).toString('hex')}.tmp`;
    let tmp: FileHandle;
    try {
      tmp = await open(at(parent, tmpName), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
    } catch (err) {
      throw fromErrno(err, rel);
    }
    let renamed = false;
    try {
      await tmp.writeFile(bytes);
      if (existing) {
        await tmp.chmod(existing.mode & 0o777);
        if (isRoot) await tmp.chown(existing.uid, existing.gid);
      } else {
        await tmp.chmod((opts.mode ?? 0o644) & 0o777);
        await chownIfRoot(tmp, opts.owner);
      }
      await tmp.sync();
      await tmp.close();
      // rename(2) replaces the directory entry and never follows a symlink at the target.
      await renamePath(at(parent, tmpName), at(parent, name)).catch((err) => {
        throw fromErrno(err, rel);
      });
      renamed = true;
      await parent.sync();
    } finally {
      await tmp.close().catch(() => {});
      if (!renamed) await unlink(at(parent, tmpName)).catch(() => {});
    }
  });
}

export async function stat(root: string, rel: string): Promise<EntryStat> {
  const names = splitPath(rel);
  if (names.length === 0) return withRoot(root, async (dir) => toStat(await dir.stat()));
  return withParent(root, rel, async (parent, name) => {
    const st = await lstatAt(parent, name, rel);
    if (!st) throw new NotFound(rel);
    return toStat(st);
  });
}

/** Entries of one directory, sorted by name; symlinks are reported, never followed. */
export async function listDir(
  root: string,
  rel: string,
  opts: { maxEntries?: number } = {},
): Promise<DirEntry[]> {
  return (await listDirBounded(root, rel, opts)).entries;
}

/** `listDir`, saying whether the directory held more than `maxEntries` (the first ones by name are kept). */
export async function listDirBounded(
  root: string,
  rel: string,
  opts: { maxEntries?: number } = {},
): Promise<{ entries: DirEntry[]; truncated: boolean }> {
  return withDir(root, rel, (dir) => readEntries(dir, rel, opts.maxEntries ?? 10_000));
}

async function readEntries(
  dir: FileHandle,
  rel: string,
  max: number,
): Promise<{ entries: DirEntry[]; truncated: boolean }> {
  const names = (await readdir(at(dir))).sort();
  const out: DirEntry[] = [];
  for (const name of names.slice(0, max)) {
    // Entries can vanish while we look: a listing is a snapshot, not a guarantee.
    const st = await lstatAt(dir, name, rel ? `${rel}/${name}` : name);
    if (st) out.push({ name, ...toStat(st) });
  }
  return { entries: out, truncated: names.length > max };
}

export interface TreeOptions {
  maxDepth?: number;
  maxEntries?: number;
  /** Directory names not descended into (still listed). Default: .git, node_modules. */
  skipDirs?: string[];
}

/** Recursive listing, breadth-first, bounded; `truncated` says a bound was hit. */
export async function tree(
  root: string,
  rel = '',
  opts: TreeOptions = {},
): Promise<{ entries: TreeEntry[]; truncated: boolean }> {
  const maxDepth = Math.min(opts.maxDepth ?? 12, MAX_DEPTH);
  const maxEntries = opts.maxEntries ?? 5000;
  const skip = new Set(opts.skipDirs ?? ['.git', 'node_modules']);
  const base = splitPath(rel).join('/');
  const entries: TreeEntry[] = [];
  let truncated = false;

  await withDir(root, rel, async (start) => {
    // Directories are held open from discovery until listed, so a later swap of a
    // parent for a symlink cannot redirect the walk; `pending` is closed on any exit.
    let pending: { dir: FileHandle; path: string }[] = [];
    let level: { dir: FileHandle; path: string }[] = [{ dir: start, path: base }];
    try {
      for (let depth = 0; level.length > 0 && !full(); depth++) {
        for (const item of level) {
          await listInto(item, depth);
          if (item.dir !== start) await item.dir.close();
          item.dir = start;
          if (full()) break;
        }
        level = pending;
        pending = [];
      }
    } finally {
      await Promise.all([...level, ...pending].filter((l) => l.dir !== start).map((l) => l.dir.close()));
    }

    function full() {
      return entries.length >= maxEntries;
    }

    async function listInto({ dir, path }: { dir: FileHandle; path: string }, depth: number) {
      const { entries: items } = await readEntries(dir, path, maxEntries - entries.length + 1);
      for (const { name, ...st } of items) {
        if (full()) {
          truncated = true;
          return;
        }
        const childPath = path ? `${path}/${name}` : name;
        entries.push({ path: childPath, ...st });
        if (st.type !== 'directory' || skip.has(name)) continue;
        if (depth + 1 >= maxDepth) {
          truncated = true;
          continue;
        }
        // Swapped for a symlink since readdir: skip it rather than follow.
        const child = await openDirAt(dir, name, childPath).catch(() => undefined);
        if (child) pending.push({ dir: child, path: childPath });
      }
    }
  });
  return { entries, truncated };
}

export async function mkdir(
  root: string,
  rel: string,
  opts: { recursive?: boolean; owner?: Owner; mode?: number } = {},
): Promise<void> {
  const names = splitPath(rel);
  const mode = opts.mode ?? 0o755;
  if (!opts.recursive) {
    await withParent(root, rel, async (parent, name) => {
      await mkdirAt(parent, name, rel, mode, opts.owner);
    });
    return;
  }
  await withRoot(root, async (rootDir) => {
    let cur = rootDir;
    try {
      for (const name of names) {
        let next: FileHandle;
        try {
          next = await openDirAt(cur, name, rel);
        } catch (err) {
          if (!(err instanceof NotFound)) throw err;
          await mkdirAt(cur, name, rel, mode, opts.owner).catch((e) => {
            // Created concurrently: fine, open it below.
            if (!(e instanceof AlreadyExists)) throw e;
          });
          next = await openDirAt(cur, name, rel);
        }
        if (cur !== rootDir) await cur.close();
        cur = next;
      }
    } finally {
      if (cur !== rootDir) await cur.close();
    }
  });
}

async function mkdirAt(parent: FileHandle, name: string, rel: string, mode: number, owner?: Owner) {
  try {
    // mkdir(2) never follows a symlink at the final name: it fails with EEXIST.
    await mkdirPath(at(parent, name), { mode });
  } catch (err) {
    throw fromErrno(err, rel);
  }
  if (owner && isRoot) {
    const dir = await openDirAt(parent, name, rel);
    try {
      await dir.chown(owner.uid, owner.gid);
    } finally {
      await dir.close();
    }
  }
}

/** Removes a file, a symlink (the link itself) or a directory (recursive: with its content). */
export async function remove(root: string, rel: string, opts: { recursive?: boolean } = {}): Promise<void> {
  await withParent(root, rel, async (parent, name) => {
    const st = await lstatAt(parent, name, rel);
    if (!st) throw new NotFound(rel);
    if (!st.isDirectory()) {
      await unlink(at(parent, name)).catch((err) => {
        throw fromErrno(err, rel);
      });
      return;
    }
    if (opts.recursive) await emptyDir(parent, name, rel, 0);
    await rmdir(at(parent, name)).catch((err) => {
      throw fromErrno(err, rel);
    });
  });
}

async function emptyDir(parent: FileHandle, name: string, rel: string, depth: number): Promise<void> {
  if (depth > MAX_DEPTH) throw new TooDeep(rel);
  const dir = await openDirAt(parent, name, rel);
  try {
    for (const child of await readdir(at(dir))) {
      const childRel = `${rel}/${child}`;
      const st = await lstatAt(dir, child, childRel);
      if (!st) continue;
      if (st.isDirectory()) {
        await emptyDir(dir, child, childRel, depth + 1);
        await rmdir(at(dir, child)).catch((err) => {
          throw fromErrno(err, childRel);
        });
      } else {
        await unlink(at(dir, child)).catch((err) => {
          if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw fromErrno(err, childRel);
        });
      }
    }
  } finally {
    await dir.close();
  }
}

/** Moves an entry (a symlink moves as a link). Refuses to replace unless `overwrite`. */
export async function rename(
  root: string,
  from: string,
  to: string,
  opts: { overwrite?: boolean } = {},
): Promise<void> {
  const toNames = splitPath(to);
  const toName = toNames.at(-1);
  await withParent(root, from, async (fromParent, fromName) => {
    if (toName === undefined) throw new IsADirectory(to);
    if (!(await lstatAt(fromParent, fromName, from))) throw new NotFound(from);
    await withRoot(root, async (rootDir) => {
      const toParent = await walkDirs(rootDir, toNames.slice(0, -1), to);
      try {
        const dest = await lstatAt(toParent, toName, to);
        if (dest && !opts.overwrite) throw new AlreadyExists(to);
        await renamePath(at(fromParent, fromName), at(toParent, toName)).catch((err) => {
          throw fromErrno(err, to);
        });
      } finally {
        await toParent.close();
      }
    });
  });
}

/** The same operations bound to one workspace root and file owner. */
export class ConfinedFs {
  constructor(
    readonly root: string,
    readonly owner?: Owner,
  ) {}

  readFile(rel: string, opts?: { maxBytes?: number }) {
    return readFile(this.root, rel, opts);
  }
  writeFile(rel: string, data: Uint8Array | string, opts: Omit<WriteOptions, 'owner'> = {}) {
    return writeFile(this.root, rel, data, { ...opts, owner: this.owner });
  }
  stat(rel: string) {
    return stat(this.root, rel);
  }
  listDir(rel: string, opts?: { maxEntries?: number }) {
    return listDir(this.root, rel, opts);
  }
  listDirBounded(rel: string, opts?: { maxEntries?: number }) {
    return listDirBounded(this.root, rel, opts);
  }
  tree(rel = '', opts?: TreeOptions) {
    return tree(this.root, rel, opts);
  }
  mkdir(rel: string, opts: { recursive?: boolean; mode?: number } = {}) {
    return mkdir(this.root, rel, { ...opts, owner: this.owner });
  }
  remove(rel: string, opts?: { recursive?: boolean }) {
    return remove(this.root, rel, opts);
  }
  rename(from: string, to: string, opts?: { overwrite?: boolean }) {
    return rename(this.root, from, to, opts);
  }
}
