/*
 * The runner's `files.*` jobs (tree, read, write, rename, delete, mkdir), on the confined file
 * layer: a path is walked component by component without following links, so `..`, an
 * absolute path or a symlink on the way is refused there. Refusals are thrown as
 * ConfinedFsError, which the runner turns into job errors the edge maps to statuses.
 */
import type { FileOpResult } from '@keel/contract/files';
import type { RunnerJob } from '@keel/contract/jobs';
import { JobError } from '../job-error.ts';
import { sha256 } from '../sha256.ts';
import { ConfinedFsError } from './confined-fs.ts';
import { InvalidPath, IsSymlink, NotFound } from './errors.ts';
import { splitPath } from './resolve.ts';
import type { WorkspaceFiles } from './workspace-files.ts';

export interface FileJobContext {
  files(workspaceId: string): Promise<WorkspaceFiles>;
  /** Runs `fn` holding the write lock of every path, so a files PUT cannot interleave. */
  withFileLocks<T>(workspaceId: string, paths: string[], fn: () => Promise<T>): Promise<T>;
}

type TreeJob = Extract<RunnerJob, { type: 'files.tree' }>;
type ReadJob = Extract<RunnerJob, { type: 'files.read' }>;
type WriteJob = Extract<RunnerJob, { type: 'files.write' }>;
type RenameJob = { workspaceId: string; from: string; to: string; overwrite: boolean };
type DeleteJob = { workspaceId: string; path: string; recursive: boolean };
type MkdirJob = { workspaceId: string; path: string };

export async function treeJob(job: TreeJob, ctx: FileJobContext) {
  const fs = await ctx.files(job.workspaceId);
  const { entries, truncated } = await fs.listDirBounded(job.path);
  return {
    entries: entries.map((e) => ({
      name: e.name,
      path: job.path ? `${job.path.replace(/\/+$/, '')}/${e.name}` : e.name,
      type: e.type,
      size: e.size,
    })),
    truncated,
  };
}

export async function readJob(job: ReadJob, ctx: FileJobContext) {
  const fs = await ctx.files(job.workspaceId);
  const data = await fs.readFile(job.path, { maxBytes: job.maxBytes });
  return {
    contentBase64: Buffer.from(data).toString('base64'),
    sha256: sha256(data),
    size: data.byteLength,
  };
}

/** Writes a file whole; with `baseSha256`, only over the content it was read as. */
export async function writeJob(job: WriteJob, ctx: FileJobContext) {
  const fs = await ctx.files(job.workspaceId);
  const data = Buffer.from(job.contentBase64, 'base64');
  return ctx.withFileLocks(job.workspaceId, [job.path], async () => {
    if (job.baseSha256) {
      let current: string | undefined;
      try {
        current = sha256(await fs.readFile(job.path));
      } catch (err) {
        if (!(err instanceof ConfinedFsError && err.code === 'NOT_FOUND')) throw err;
      }
      if (current !== job.baseSha256) {
        throw new JobError(
          'conflict',
          'The file changed since it was read; reload it and apply your edit again',
        );
      }
    }
    await fs.writeFile(job.path, data, { createParents: true });
    return { sha256: sha256(data), size: data.byteLength };
  });
}

export async function renameJob(job: RenameJob, ctx: FileJobContext): Promise<FileOpResult> {
  const from = splitPath(job.from).join('/');
  const to = splitPath(job.to).join('/');
  if (from === '' || to === '')
    throw new InvalidPath(from === '' ? job.from : job.to, 'names the workspace root');
  if (from === to) throw new InvalidPath(job.to, 'the new name is the old one');
  const fs = await ctx.files(job.workspaceId);
  return ctx.withFileLocks(job.workspaceId, [from, to], async () => {
    const source = await fs.stat(from);
    // Replacing a link would be harmless to the host, but it is never what a rename onto
    // a name meant: the person sees the link's target there, not the link.
    const dest = await statIfThere(fs, to);
    if (dest?.type === 'symlink') throw new IsSymlink(to);
    await fs.rename(from, to, { overwrite: job.overwrite });
    return { type: source.type };
  });
}

export async function deleteJob(job: DeleteJob, ctx: FileJobContext): Promise<FileOpResult> {
  const path = splitPath(job.path).join('/');
  if (path === '') throw new InvalidPath(job.path, 'names the workspace root');
  const fs = await ctx.files(job.workspaceId);
  return ctx.withFileLocks(job.workspaceId, [path], async () => {
    // A symlink is removed as a link; its target, wherever it points, is never touched.
    const { type } = await fs.stat(path);
    await fs.remove(path, { recursive: job.recursive });
    return { type };
  });
}

export async function mkdirJob(job: MkdirJob, ctx: FileJobContext): Promise<FileOpResult> {
  const names = splitPath(job.path);
  if (names.length === 0) throw new InvalidPath(job.path, 'names the workspace root');
  const fs = await ctx.files(job.workspaceId);
  if (names.length > 1) await fs.mkdir(names.slice(0, -1).join('/'), { recursive: true });
  // The last one on its own: an existing entry of that name is a 409, not a silent success.
  await fs.mkdir(names.join('/'));
  return { type: 'directory' };
}

async function statIfThere(fs: WorkspaceFiles, path: string) {
  try {
    return await fs.stat(path);
  } catch (err) {
    if (err instanceof NotFound) return undefined;
    throw err;
  }
}
