import { z } from 'zod';
import { AiCancelJob, AiChatJob, AiExplainJob, AiRewriteJob } from './ai-jobs.ts';
import { EgressAllow } from './egress.ts';
import { FilesDeleteJob, FilesMkdirJob, FilesRenameJob } from './files.ts';
import { GitRunJob } from './git.ts';
import { idSchema } from './ids.ts';
import { GitPushJob } from './integrations.ts';
import { LspOpenJob } from './lsp.ts';
import { PatchApplyJob, PatchValidateJob } from './patch.ts';
import { PreviewOpenJob, PreviewPortsJob } from './preview.ts';
import { DriverKind } from './runners.ts';
import { FilesFindJob, SearchStartJob } from './search.ts';
import { SnapshotReason } from './snapshots.ts';
import { TerminalOpenJob } from './terminal.ts';
import { CONTRACT_VERSION } from './version.ts';
import { WorkspaceSource } from './workspaces.ts';

const v = z.literal(CONTRACT_VERSION);
const workspaceId = z.string().min(1).max(64);
/**
 * The placement generation the edge holds the workspace at (see contract/fleet). A runner
 * refuses a job older than the generation it holds; absent from edges before fencing.
 */
const generation = z.number().int().min(1).optional();
const snapshotId = idSchema('snapshot');

export const WorkloadSpecPayload = z.object({
  image: z.string().optional(),
  cpus: z.number().positive(),
  memoryMb: z.number().int(),
  diskMb: z.number().int().optional(),
  network: z.boolean(),
  /** With network: private or otherwise closed destinations the install's admin opened. */
  egressAllow: EgressAllow.optional(),
  /** An admin-chosen host folder for the workspace's files, or a volume the driver manages. */
  hostDir: z.string().optional(),
  /**
   * The driver the edge placed the workspace on (the runner's at placement); the workspace
   * keeps it. A runner running another one refuses the workspace as unavailable.
   */
  driver: DriverKind.optional(),
  /** Whose workspace it is: a Kubernetes server keeps each organization in a namespace of its own. */
  organizationId: z.string().max(64).optional(),
  /** The infrastructure server the workspace lives on (`driver` is then its kind). */
  serverId: idSchema('server').optional(),
  /** Kubernetes: the claim's size (the server's storage sets the class). */
  diskGb: z.number().int().positive().optional(),
  /** GPUs it is given (Docker device requests, Kubernetes `nvidia.com/gpu` limits). */
  gpus: z.number().int().min(1).max(16).optional(),
});

/** Every job a runner pulls from its queue. Jobs carry a version; contracts only grow. */
export const RunnerJob = z.discriminatedUnion('type', [
  z.object({ v, type: z.literal('noop') }),
  z.object({
    v,
    type: z.literal('workspace.create'),
    workspaceId,
    generation,
    spec: WorkloadSpecPayload,
    /** A `snapshot` source restores that snapshot's files into the new workload. */
    source: WorkspaceSource,
    /** When the snapshot's files were read, for the log line that says how old they are. */
    snapshotTakenAt: z.string().optional(),
    /** Moved here from another runner: statuses read `relocating` until it is back. */
    relocation: z.object({ reason: z.enum(['lost', 'drain', 'manual']) }).optional(),
    /** Start it once made (default); a move of a stopped workspace leaves it stopped. */
    start: z.boolean().optional(),
  }),
  /**
   * Start and restart carry the install's current `egressAllow` (CIDR[:port]): what a
   * workspace may reach is the install's setting when it starts, not when it was made.
   */
  z.object({
    v,
    type: z.literal('workspace.start'),
    workspaceId,
    generation,
    egressAllow: EgressAllow.optional(),
  }),
  z.object({
    v,
    type: z.literal('workspace.stop'),
    workspaceId,
    generation,
    /** Save this snapshot (pending at the edge) before stopping. */
    snapshotId: snapshotId.optional(),
  }),
  z.object({
    v,
    type: z.literal('workspace.restart'),
    workspaceId,
    generation,
    egressAllow: EgressAllow.optional(),
  }),
  z.object({ v, type: z.literal('workspace.delete'), workspaceId, generation }),
  /** Save `/workspace` as this (pending) snapshot; the answer is a SnapshotJobResult. */
  z.object({
    v,
    type: z.literal('workspace.snapshot'),
    workspaceId,
    generation,
    snapshotId,
    reason: SnapshotReason,
  }),
  /** Replace `/workspace` with this snapshot's files (stopped first, started again if it ran). */
  z.object({
    v,
    type: z.literal('workspace.restore'),
    workspaceId,
    generation,
    snapshotId,
    snapshotTakenAt: z.string().optional(),
  }),
  /**
   * Move it away: stop, save this (pending) snapshot, hand it off to the edge
   * (`POST /api/runners/workspaces/:id/handoff`), and remove the local copy once moved.
   */
  z.object({ v, type: z.literal('workspace.evacuate'), workspaceId, generation, snapshotId }),
  /** Delete these snapshots' manifests, then chunks no remaining manifest names (older than an hour). */
  z.object({
    v,
    type: z.literal('snapshots.prune'),
    snapshotIds: z.array(snapshotId).max(10_000),
    collectChunks: z.boolean().default(true),
  }),
  z.object({
    v,
    type: z.literal('exec.start'),
    workspaceId,
    executionId: z.string(),
    argv: z.array(z.string()).min(1),
    cwd: z.string().optional(),
    env: z.record(z.string(), z.string()).optional(),
    timeoutMs: z.number().int().positive(),
  }),
  z.object({
    v,
    type: z.literal('exec.cancel'),
    executionId: z.string(),
    /** The workspace the edge found the execution in; a runner cancels nothing of another one. */
    workspaceId: workspaceId.optional(),
  }),
  z.object({ v, type: z.literal('files.tree'), workspaceId, path: z.string() }),
  z.object({ v, type: z.literal('files.read'), workspaceId, path: z.string(), maxBytes: z.number().int() }),
  z.object({
    v,
    type: z.literal('files.write'),
    workspaceId,
    path: z.string(),
    contentBase64: z.string(),
    baseSha256: z.string().optional(),
  }),
  AiExplainJob,
  AiRewriteJob,
  AiChatJob,
  AiCancelJob,
  FilesRenameJob,
  FilesDeleteJob,
  FilesMkdirJob,
  PatchValidateJob,
  PatchApplyJob,
  TerminalOpenJob,
  PreviewOpenJob,
  PreviewPortsJob,
  LspOpenJob,
  GitPushJob,
  GitRunJob,
  FilesFindJob,
  SearchStartJob,
  /** Test the connection to a server assigned to this runner; the answer is a ConnectionTestResult. */
  z.object({ v, type: z.literal('server.test'), serverId: idSchema('server') }),
]);
export type RunnerJob = z.infer<typeof RunnerJob>;
export type RunnerJobType = RunnerJob['type'];

/** Errors a runner reports as values (not thrown), so BullMQ does not retry what cannot succeed. */
export const RunnerErrorCode = z.enum([
  'not_found',
  'path_outside_workspace',
  'is_symlink',
  'not_a_file',
  'not_a_directory',
  'too_large',
  'conflict',
  'workspace_not_running',
  'invalid',
  'internal',
  /** The runner cannot serve this workspace now (its driver is not the one the runner runs). */
  'unavailable',
  /** The job's placement generation is older than the one the runner holds: the workspace moved. */
  'fenced',
]);
export type RunnerErrorCode = z.infer<typeof RunnerErrorCode>;

export const JobOutcome = z.discriminatedUnion('ok', [
  z.object({ ok: z.literal(true), result: z.unknown() }),
  z.object({ ok: z.literal(false), error: z.object({ code: RunnerErrorCode, message: z.string() }) }),
]);
export type JobOutcome = z.infer<typeof JobOutcome>;

export const FilesReadResult = z.object({ contentBase64: z.string(), sha256: z.string(), size: z.number() });
export const FilesWriteResult = z.object({ sha256: z.string(), size: z.number() });
export const FilesTreeResult = z.object({
  entries: z.array(
    z.object({
      name: z.string(),
      path: z.string(),
      type: z.enum(['file', 'directory', 'symlink', 'other']),
      size: z.number(),
    }),
  ),
  /** The directory held more entries than a listing carries; absent from runners that never said. */
  truncated: z.boolean().optional(),
});

/** Fields of one entry in an execution's output stream. */
export const ExecStreamEntry = z.object({ t: z.enum(['stdout', 'stderr', 'exit']), d: z.string() });
