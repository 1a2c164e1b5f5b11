import type { Readable, Writable } from 'node:stream';
import { EgressAllow } from '@keel/contract/egress';
import type { DriverKind } from '@keel/contract/runners';
import type { WorkspaceFiles } from '../files/workspace-files.ts';

/** Where a workspace's files live on the host that runs it. */
export type WorkspaceStorage =
  | { kind: 'volume' }
  /** An admin-chosen host folder (absolute path). */
  | { kind: 'hostDir'; path: string };

export interface WorkloadSpec {
  workspaceId: string;
  /** Image for container drivers; ignored by the process driver. */
  image?: string;
  /** CPU share in cores, e.g. 0.5 or 2. */
  cpus: number;
  memoryMb: number;
  /** Maximum number of processes; drivers default to 512. */
  pidsLimit?: number;
  /**
   * false: loopback only. true: a network namespace of the workspace's own, with the public
   * internet reachable and the runner host, private and link-local ranges closed.
   */
  network: boolean;
  /** With network: IPv4 CIDRs ("10.1.2.0/24", optionally ":port") opened despite the closed ranges. */
  egressAllow?: string[];
  storage: WorkspaceStorage;
  /** The organization the workspace belongs to (Kubernetes: its namespace). */
  organizationId?: string;
  /** Kubernetes: the size of the workspace's claim. */
  diskGb?: number;
  /** GPUs it is given: Docker device requests, Kubernetes `nvidia.com/gpu` limits; the process driver refuses them. */
  gpus?: number;
}

export type WorkloadStatus = 'running' | 'stopped' | 'missing';

/** A workload as the engine reports it, for the heartbeat's one look at all of them. */
export interface WorkloadState {
  status: 'running' | 'stopped';
  /** How the engine describes a stopped one (e.g. "Exited (137) 2 seconds ago"). */
  detail?: string;
}

export interface ExecRequest {
  argv: string[];
  /** Relative paths are resolved against /workspace inside the workload. */
  cwd?: string;
  env?: Record<string, string>;
  /** The whole process tree is killed when this elapses. */
  timeoutMs?: number;
  /**
   * true: the handle's `stdin` feeds the command (the file agent of remote drivers talks over
   * it). Otherwise the command's stdin is empty.
   */
  stdin?: boolean;
  /**
   * Host folders the command sees read-only at `at` (the process driver's sandbox: programs the
   * runner ships, such as language servers). Container drivers ignore them: their image has them.
   */
  readOnlyBinds?: Array<{ host: string; at: string }>;
}

export interface ExecResult {
  /** null when the process was ended by a signal (kill or timeout). */
  exitCode: number | null;
  signal?: string;
  timedOut?: boolean;
  /** true when kill() (or a timeout, or stop/remove of the workspace) ended it. */
  killed?: boolean;
}

export interface ExecHandle {
  /** Driver-specific id, unique per exec; useful in logs. */
  readonly id: string;
  /** Byte streams; they end when the process's output ends. */
  readonly stdout: Readable;
  readonly stderr: Readable;
  /** Present when the request asked for `stdin`; ending it closes the command's stdin. */
  readonly stdin?: Writable;
  readonly done: Promise<ExecResult>;
  /** Kills every process the command started, then resolves; `done` settles too. */
  kill(): Promise<void>;
}

/** Owner given to files the runner creates on the workload's behalf. */
export interface FileOwner {
  uid: number;
  gid: number;
}

export interface StartOptions {
  /**
   * The install's allowed destinations as they stand at this start; they replace the ones the
   * workspace was created with (checked like the spec's).
   */
  egressAllow?: string[];
}

export interface WorkloadDriver {
  readonly kind: DriverKind;
  /** Idempotent: an existing workload with this id is left as it is. */
  create(spec: WorkloadSpec): Promise<void>;
  start(id: string, opts?: StartOptions): Promise<void>;
  /** Idempotent; a missing workload is not an error. */
  stop(id: string, opts?: { timeoutMs?: number }): Promise<void>;
  /** Idempotent. keepData: false also deletes the storage the driver created. */
  remove(id: string, opts: { keepData: boolean }): Promise<void>;
  status(id: string): Promise<WorkloadStatus>;
  /** Never throws: a missing or stopped workload rejects `done` with a WorkloadError. */
  exec(id: string, req: ExecRequest): ExecHandle;
  /**
   * The workspace's files, confined to `/workspace`: on the runner's host for local drivers
   * (`ConfinedFs` on `workspaceRoot`), through an agent inside the workspace for remote ones.
   */
  files(id: string): Promise<WorkspaceFiles>;
  /**
   * Host path of the workspace's files, where the runner's host holds them; remote drivers
   * reject with DRIVER_UNAVAILABLE (their files are reached only through `files`).
   */
  workspaceRoot(id: string): Promise<string>;
  /** uid/gid that files written by the runner should get, so the workload can edit them. */
  readonly fileOwner: FileOwner | undefined;
  /** Workspace ids this driver knows, for re-attach after a runner restart. */
  list(): Promise<string[]>;
  /**
   * Every workload this driver knows with its state, in one request to the engine (a
   * heartbeat reads it every few seconds); workloads absent from the map are gone.
   */
  states(): Promise<Map<string, WorkloadState>>;
  /**
   * The running workspace's network namespace, where this runner can enter it (a local engine or
   * the process driver, as root): previews then connect to its ports directly
   * (runners/src/preview/netns-ports.ts). Undefined elsewhere, and for a workspace not running.
   */
  previewNetns?(id: string): Promise<WorkspaceNetns | undefined>;
}

/** A workspace's network namespace, opened for the runner to enter. */
export interface WorkspaceNetns {
  /** An open descriptor of the namespace; whoever receives it closes it. */
  readonly fd: number;
  /**
   * A path that names this namespace while the workspace runs as it is now: when it names
   * another namespace (inode), or none, the workspace stopped or restarted.
   */
  readonly witness: string;
}

export class WorkloadError extends Error {
  constructor(
    readonly code: 'WORKLOAD_NOT_FOUND' | 'WORKLOAD_NOT_RUNNING' | 'INVALID_SPEC' | 'DRIVER_UNAVAILABLE',
    message: string,
  ) {
    super(message);
    this.name = 'WorkloadError';
  }
}

// Ids end up in container names, volume names and host paths: keep them boring.
const ID_RE = /^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/;

export function isValidWorkspaceId(id: string): boolean {
  return ID_RE.test(id) && !id.includes('..');
}

export function assertWorkspaceId(id: string): void {
  if (!isValidWorkspaceId(id)) {
    throw new WorkloadError('INVALID_SPEC', `invalid workspace id ${JSON.stringify(id)}`);
  }
}

export function validateSpec(spec: WorkloadSpec): void {
  assertWorkspaceId(spec.workspaceId);
  if (!(spec.cpus > 0) || !Number.isFinite(spec.cpus)) {
    throw new WorkloadError('INVALID_SPEC', 'cpus must be a positive number');
  }
  if (!Number.isInteger(spec.memoryMb) || spec.memoryMb < 16) {
    throw new WorkloadError('INVALID_SPEC', 'memoryMb must be an integer >= 16');
  }
  if (spec.pidsLimit !== undefined && (!Number.isInteger(spec.pidsLimit) || spec.pidsLimit < 8)) {
    throw new WorkloadError('INVALID_SPEC', 'pidsLimit must be an integer >= 8');
  }
  if (spec.egressAllow !== undefined) {
    const allowed = EgressAllow.safeParse(spec.egressAllow);
    if (!allowed.success) {
      throw new WorkloadError(
        'INVALID_SPEC',
        `egressAllow: ${allowed.error.issues[0]?.message ?? 'invalid'}`,
      );
    }
  }
  if (spec.storage.kind === 'hostDir' && !spec.storage.path.startsWith('/')) {
    throw new WorkloadError('INVALID_SPEC', 'hostDir storage needs an absolute path');
  }
}

export function validateExec(req: ExecRequest): void {
  if (req.argv.length === 0) throw new WorkloadError('INVALID_SPEC', 'argv is empty');
  const strings = [...req.argv, req.cwd ?? '', ...Object.entries(req.env ?? {}).flat()];
  if (strings.some((s) => s.includes('\0'))) {
    throw new WorkloadError('INVALID_SPEC', 'argv, cwd and env must not contain NUL bytes');
  }
  for (const key of Object.keys(req.env ?? {})) {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(key)) {
      throw new WorkloadError('INVALID_SPEC', `invalid environment variable name ${JSON.stringify(key)}`);
    }
  }
}

export const DEFAULT_PIDS_LIMIT = 512;
