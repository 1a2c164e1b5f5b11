import { LOG_MAX_ENTRIES, type RunnerKeys, runnerKeys } from '@keel/contract/keys';
import { DriverKind } from '@keel/contract/runners';
import { LOG_ENTRY_MAX_CHARS } from '@keel/contract/streams';
import type { WorkspaceStatus } from '@keel/contract/workspaces';
import type { Redis } from 'ioredis';
import { parseAiConfig } from './ai/config.ts';
import { AiJobs } from './ai/jobs.ts';
import { sendAiReport } from './ai/report.ts';
import type { RunnerConfig } from './env.ts';
import type { RunningExecution } from './executions/exec-start.ts';
import { FileLocks } from './files/file-locks.ts';
import type { FileJobContext } from './files/jobs.ts';
import type { WorkspaceFiles } from './files/workspace-files.ts';
import { JobError } from './job-error.ts';
import { log } from './log.ts';
import { connectRunnerRedis } from './redis-connection.ts';
import type { SavedCredential } from './registration.ts';
import { Terminals } from './terminal/terminals.ts';
import { type WorkloadDriver, WorkloadError } from './workloads/types.ts';
import { foreignDriverReason } from './workspace-watch.ts';

/**
 * What every job handler of one runner shares: its Redis, keys and driver, and what it knows
 * of its workspaces (which are being changed, when each was last used, their confined file
 * roots, those placed on another driver, the commands running in them).
 */
export class RunnerContext {
  readonly redis: Redis;
  readonly keys: RunnerKeys;
  readonly ai: AiJobs;
  readonly terminals: Terminals;
  readonly execs = new Map<string, RunningExecution>();
  readonly lastActive = new Map<string, number>();
  /** Lifecycle jobs in progress per workspace: the heartbeat leaves those workspaces alone. */
  readonly lifecycle = new Map<string, number>();
  readonly fileLocks = new FileLocks();
  readonly roots = new Map<string, WorkspaceFiles>();
  /** Workspaces placed on another driver than this runner's, with theirs: it cannot serve them. */
  readonly foreign = new Map<string, DriverKind>();

  constructor(
    readonly config: RunnerConfig,
    readonly credential: SavedCredential,
    readonly driver: WorkloadDriver,
  ) {
    this.redis = connectRunnerRedis(config, credential);
    this.keys = runnerKeys(credential.keyPrefix, credential.runnerId);
    this.ai = new AiJobs({
      redis: this.redis,
      keys: this.keys,
      config: parseAiConfig(config),
      files: (workspaceId) => this.files(workspaceId),
      touch: (workspaceId) => this.touch(workspaceId),
      report: (r) => sendAiReport({ edgeUrl: config.KEEL_URL, credential: credential.credential }, r),
      log,
    });
    this.terminals = new Terminals({
      redis: this.redis,
      keys: this.keys,
      driver,
      idleMs: config.KEEL_TERMINAL_IDLE_SECONDS * 1000,
      onActivity: (workspaceId) => this.touch(workspaceId),
    });
  }

  touch(workspaceId: string): void {
    this.lastActive.set(workspaceId, Date.now());
  }

  async setStatus(id: string, status: WorkspaceStatus, reason: string | null, logIt = true): Promise<void> {
    await this.redis.set(
      this.keys.workspaceStatus(id),
      JSON.stringify({ status, reason, at: new Date().toISOString() }),
    );
    if (logIt) await this.workspaceLog(id, 'system', reason ? `${status}: ${reason}` : status);
  }

  async workspaceLog(id: string, stream: 'system' | 'stdout' | 'stderr', text: string): Promise<void> {
    // A line's origin is its type (see workspaceLogStream); clipped, so the log is bounded in bytes.
    await this.redis.xadd(
      this.keys.workspaceLogs(id),
      'MAXLEN',
      '~',
      LOG_MAX_ENTRIES,
      '*',
      't',
      stream,
      'd',
      text.slice(0, LOG_ENTRY_MAX_CHARS),
    );
  }

  /** Runs `fn` with the workspace marked busy, so the heartbeat does not correct it meanwhile. */
  async busyWith<T>(workspaceId: string, fn: () => Promise<T>): Promise<T> {
    this.lifecycle.set(workspaceId, (this.lifecycle.get(workspaceId) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const left = (this.lifecycle.get(workspaceId) ?? 1) - 1;
      if (left > 0) this.lifecycle.set(workspaceId, left);
      else this.lifecycle.delete(workspaceId);
    }
  }

  /** Roots are looked up once per workspace: file reads are the hottest path a runner has. */
  async files(workspaceId: string): Promise<WorkspaceFiles> {
    let fs = this.roots.get(workspaceId);
    if (!fs) {
      if ((await this.driver.status(workspaceId)) === 'missing')
        throw new JobError('not_found', 'No such workspace');
      fs = await this.driver.files(workspaceId);
      this.roots.set(workspaceId, fs);
    }
    return fs;
  }

  /** What the file and patch jobs use: the confined roots and the same per-file locks as files.write. */
  readonly fileJobs: FileJobContext = {
    files: (workspaceId: string) => this.files(workspaceId),
    withFileLocks: <T>(workspaceId: string, paths: string[], fn: () => Promise<T>): Promise<T> =>
      this.fileLocks.run(workspaceId, paths, fn),
  };

  /** Refuses work on a workspace of another driver, saying why, instead of reporting it missing. */
  assertServable(workspaceId: string): void {
    const driver = this.foreign.get(workspaceId);
    if (driver) {
      throw new JobError(
        'unavailable',
        `This workspace cannot be served now: ${foreignDriverReason(driver, this.driver.kind)}`,
      );
    }
  }

  /** A lifecycle step that fails leaves the workspace `failed` with a readable reason. */
  async guarded(workspaceId: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const reason = err instanceof Error ? err.message : String(err);
      await this.setStatus(workspaceId, 'failed', reason);
      throw new JobError(
        err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_FOUND' ? 'not_found' : 'internal',
        reason,
      );
    }
  }

  /** Each placed workspace's driver, as recorded at its creation; refreshes `foreign`. */
  async workspaceDrivers(): Promise<Map<string, DriverKind>> {
    const all = await this.redis.hgetall(this.keys.workspaceDrivers);
    const out = new Map<string, DriverKind>();
    this.foreign.clear();
    for (const [id, raw] of Object.entries(all)) {
      const parsed = DriverKind.safeParse(raw);
      if (!parsed.success) continue;
      out.set(id, parsed.data);
      if (parsed.data !== this.driver.kind) this.foreign.set(id, parsed.data);
    }
    return out;
  }

  /**
   * The driver's workspaces that this runner placed: those with a status under its own
   * prefix. Other runners may share the Docker engine; their workspaces are not ours to
   * count, re-attach or stop.
   */
  async ownWorkspaces(engine?: Map<string, unknown>): Promise<string[]> {
    const all = [...(engine ?? (await this.driver.states())).keys()];
    if (all.length === 0) return [];
    const statuses = await this.redis.mget(...all.map((id) => this.keys.workspaceStatus(id)));
    return all.filter((_, i) => statuses[i] !== null);
  }
}
