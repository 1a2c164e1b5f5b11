import { z } from 'zod';
import { idSchema } from './ids.ts';
import { WorkspacePlacementRequest } from './placement.ts';
import { DriverKind } from './runners.ts';

export const WorkspaceStatus = z.enum([
  'creating',
  'starting',
  'running',
  'stopping',
  'stopped',
  'failed',
  'deleting',
  /** Its runner is offline, or runs another driver than the workspace's: the reason says which. */
  'unavailable',
  /** No runner has room for it yet: the reason says what is missing; placed when one has. */
  'queued',
  /** Moving to another runner (its host was lost, drained, or an admin moved it): "moving" to people. */
  'relocating',
]);
export type WorkspaceStatus = z.infer<typeof WorkspaceStatus>;

/** Git over https, ssh or a local path the runner can read; never a shell fragment. */
const GitUrl = z
  .string()
  .min(1)
  .max(2048)
  .refine((u) => /^(https?:\/\/|ssh:\/\/|git@[^:\s]+:|file:\/\/|\/)[^\s]*$/.test(u) && !u.startsWith('-'), {
    message: 'must be an http(s)://, ssh://, git@host:path, file:// URL or an absolute path',
  });
const GitRef = z
  .string()
  .min(1)
  .max(255)
  .regex(/^[A-Za-z0-9._/-]+$/, 'letters, digits, . _ / -')
  .refine((r) => !r.startsWith('-') && !r.includes('..'), { message: 'not a valid ref' });

export const WorkspaceSource = z.discriminatedUnion('type', [
  z.strictObject({ type: z.literal('empty') }),
  z.strictObject({ type: z.literal('git'), url: GitUrl, ref: GitRef.optional() }),
  /** The files of a snapshot of a workspace of the organization the caller may see. */
  z.strictObject({ type: z.literal('snapshot'), snapshotId: idSchema('snapshot') }),
]);
export type WorkspaceSource = z.infer<typeof WorkspaceSource>;

export const WorkspaceResources = z.strictObject({
  cpus: z.number().positive().max(64).default(1),
  memoryMb: z.number().int().min(128).max(262_144).default(1024),
  diskMb: z.number().int().min(64).max(1_048_576).optional(),
  /** GPUs it needs: placed only where that many are free, and given them. */
  gpus: z.number().int().min(1).max(16).optional(),
});
export type WorkspaceResources = z.infer<typeof WorkspaceResources>;

export const WorkspaceName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9 ._-]*$/, 'letters, digits, space, . _ -');

export const CreateWorkspaceRequest = z.strictObject({
  name: WorkspaceName,
  source: WorkspaceSource.default({ type: 'empty' }),
  /** Absent: `DEFAULT_WORKSPACE_RESOURCES`, lowered to the install's maxima where they are lower. */
  resources: WorkspaceResources.optional(),
  network: z.boolean().default(false),
  /** Place it on this infrastructure server of the organization (one that passed its test). */
  serverId: idSchema('server').optional(),
  /** Labels or a region it must (or would rather) run in, on top of the organization's policy. */
  placement: WorkspacePlacementRequest.optional(),
});
export const DEFAULT_WORKSPACE_RESOURCES = { cpus: 1, memoryMb: 1024 } as const;
export type CreateWorkspaceRequest = z.infer<typeof CreateWorkspaceRequest>;

export const Workspace = z.object({
  id: idSchema('workspace'),
  name: z.string(),
  organizationId: z.string(),
  ownerId: z.string(),
  source: WorkspaceSource,
  resources: WorkspaceResources,
  network: z.boolean(),
  runnerId: z.string().nullable(),
  /** The driver it was placed on, kept for its life; null for workspaces made before drivers were recorded. */
  driver: DriverKind.nullable().optional(),
  /** The infrastructure server it lives on; null or absent: its runner's own host. */
  serverId: z.string().nullable().optional(),
  status: WorkspaceStatus,
  statusReason: z.string().nullable(),
  /** Raised each time it moves to another runner; absent from edges before placements had one. */
  generation: z.number().int().optional(),
  createdAt: z.string(),
  updatedAt: z.string(),
});
export type Workspace = z.infer<typeof Workspace>;

export const WorkspaceStatusResponse = z.object({
  status: WorkspaceStatus,
  reason: z.string().nullable(),
  updatedAt: z.string(),
});

export const LogLine = z.object({
  id: z.string(),
  at: z.string(),
  stream: z.enum(['system', 'stdout', 'stderr']),
  text: z.string(),
});
export type LogLine = z.infer<typeof LogLine>;

/** A path inside the workspace, relative to its root; checked again by the runner. */
export const WorkspacePath = z
  .string()
  .max(4096)
  .refine((p) => !p.includes('\0'), { message: 'must not contain NUL' });

/** A file's path: a trailing slash names a folder, never the file it would otherwise create. */
export const WorkspaceFilePath = WorkspacePath.min(1).refine((p) => !p.endsWith('/'), {
  message: 'names a folder (ends with /); a file path must not',
});

/** NUL ends a C string: an argument or variable holding one would reach the command cut short. */
const noNul = (max: number) =>
  z
    .string()
    .max(max)
    .refine((s) => !s.includes('\0'), { message: 'must not contain NUL' });

export const FileEncoding = z.enum(['utf8', 'base64']);
export const WriteFileRequest = z.strictObject({
  content: z.string(),
  encoding: FileEncoding.default('utf8'),
  /** The hash of the content this edit started from; a mismatch is a 409, not an overwrite. */
  baseSha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/)
    .optional(),
});
export type WriteFileRequest = z.infer<typeof WriteFileRequest>;

export const FileEntry = z.object({
  name: z.string(),
  path: z.string(),
  type: z.enum(['file', 'directory', 'symlink', 'other']),
  size: z.number(),
});
export type FileEntry = z.infer<typeof FileEntry>;

export const ExecuteRequest = z.strictObject({
  command: z.union([z.array(noNul(32_768)).min(1).max(1024), noNul(65_536).min(1)]),
  cwd: WorkspacePath.optional(),
  env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/), noNul(32_768)).optional(),
  timeoutMs: z
    .number()
    .int()
    .min(100)
    .max(24 * 3600 * 1000)
    .default(10 * 60 * 1000),
});
export type ExecuteRequest = z.infer<typeof ExecuteRequest>;

export const ExitEvent = z.object({
  exitCode: z.number().nullable(),
  signal: z.string().optional(),
  timedOut: z.boolean().optional(),
  cancelled: z.boolean().optional(),
  /** Why the command ended short of its own exit, in words (also: output cut, Redis full). */
  error: z.string().optional(),
  /** Set when the output passed the runner's cap: the stream holds this many bytes at most, and the command was stopped. */
  truncatedAtBytes: z.number().int().optional(),
});
export type ExitEvent = z.infer<typeof ExitEvent>;

/** Checked loosely here: a malformed id is answered like an unknown one (404), not as bad input. */
export const WorkspaceIdParam = z.object({ id: z.string().max(128) });
