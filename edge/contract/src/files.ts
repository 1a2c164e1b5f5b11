import { z } from 'zod';
import { CONTRACT_VERSION } from './version.ts';
import { FileEntry, WorkspacePath } from './workspaces.ts';

/**
 * Renaming, deleting and creating folders in a workspace. Paths are workspace-relative;
 * the runner's confined file layer is the one judge of where a path leads (`..`, absolute
 * paths and symlinks are refused there, 400 `invalid_path`), so the edge only bounds them.
 */
const EntryPath = WorkspacePath.min(1);

/** `GET …/files/tree`: one directory's entries, the first 10,000 by name; `truncated` when there were more. */
export const FileTreeResponse = z.object({
  path: z.string(),
  entries: z.array(FileEntry),
  truncated: z.boolean(),
});
export type FileTreeResponse = z.infer<typeof FileTreeResponse>;

export const RenameFileRequest = z.strictObject({
  from: EntryPath,
  to: EntryPath,
  /** Replace an existing file (never a symlink) at `to`; without it, an existing `to` is a 409. */
  overwrite: z.boolean().default(false),
});
export type RenameFileRequest = z.infer<typeof RenameFileRequest>;

export const RenameFileResponse = z.object({ from: z.string(), to: z.string() });
export type RenameFileResponse = z.infer<typeof RenameFileResponse>;

export const MakeDirectoryRequest = z.strictObject({ path: EntryPath });
export type MakeDirectoryRequest = z.infer<typeof MakeDirectoryRequest>;

export const MakeDirectoryResponse = z.object({ path: z.string() });
export type MakeDirectoryResponse = z.infer<typeof MakeDirectoryResponse>;

/** `?path=&recursive=`: a folder with content is removed only with `recursive=true`. */
export const DeleteFileQuery = z.strictObject({
  path: EntryPath,
  recursive: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
export type DeleteFileQuery = z.infer<typeof DeleteFileQuery>;

/** What a runner answers for a rename, delete or mkdir job. */
export const FileOpResult = z.object({
  /** What the operation acted on, as it was before (a symlink is acted on as a link). */
  type: z.enum(['file', 'directory', 'symlink', 'other']),
});
export type FileOpResult = z.infer<typeof FileOpResult>;

const v = z.literal(CONTRACT_VERSION);
const workspaceId = z.string().min(1).max(64);

export const FilesRenameJob = z.object({
  v,
  type: z.literal('files.rename'),
  workspaceId,
  from: z.string(),
  to: z.string(),
  overwrite: z.boolean(),
});
export const FilesDeleteJob = z.object({
  v,
  type: z.literal('files.delete'),
  workspaceId,
  path: z.string(),
  recursive: z.boolean(),
});
export const FilesMkdirJob = z.object({ v, type: z.literal('files.mkdir'), workspaceId, path: z.string() });
