import { chmod, mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { type JobOutcome, type RunnerErrorCode, RunnerJob } from '@keel/contract/jobs';
import { LOG_MAX_ENTRIES, runnerKeys, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import {
  CHECK_IN_INTERVAL_MS,
  DriverKind,
  HEARTBEAT_INTERVAL_MS,
  HEARTBEAT_RENEW_MS,
  HEARTBEAT_TTL_SECONDS,
} from '@keel/contract/runners';
import { LOG_ENTRY_MAX_CHARS } from '@keel/contract/streams';
import type { WorkspaceStatus } from '@keel/contract/workspaces';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { parseAiConfig } from './ai/config.ts';
import { AiJobs } from './ai/jobs.ts';
import { sendAiReport } from './ai/report.ts';
import { CallConsumer } from './call-consumer.ts';
import type { RunnerConfig } from './env.ts';
import { ConfinedFs, ConfinedFsError } from './files/confined-fs.ts';
import { FileLocks } from './files/file-locks.ts';
import { deleteJob, mkdirJob, renameJob } from './files/jobs.ts';
import { CloneError, gitClone } from './git-clone.ts';
import { collectHeartbeat, gpuStats } from './heartbeat.ts';
import { OutputStream } from './output-stream.ts';
import { applyPatchJob, validatePatchJob } from './patch/jobs.ts';
import { connectRunnerRedis } from './redis-connection.ts';
import { checkIn, type SavedCredential } from './registration.ts';
import { sha256 } from './sha256.ts';
import { Terminals } from './terminal/terminals.ts';
import { type ExecHandle, type StartOptions, type WorkloadDriver, WorkloadError } from './workloads/types.ts';
import { correction, foreignDriverReason, parseStatus, replaceIfUnchanged } from './workspace-watch.ts';

class JobError extends Error {
  constructor(
    readonly code: RunnerErrorCode,
    message: string,
  ) {
    super(message);
  }
}

const fsErrorCodes: Record<string, RunnerErrorCode> = {
  PATH_OUTSIDE_WORKSPACE: 'path_outside_workspace',
  INVALID_PATH: 'path_outside_workspace',
  TOO_DEEP: 'path_outside_workspace',
  NOT_FOUND: 'not_found',
  IS_SYMLINK: 'is_symlink',
  HARD_LINKED: 'is_symlink',
  NOT_A_DIRECTORY: 'not_a_directory',
  IS_A_DIRECTORY: 'not_a_file',
  NOT_A_REGULAR_FILE: 'not_a_file',
  TOO_LARGE: 'too_large',
  ALREADY_EXISTS: 'conflict',
  DIRECTORY_NOT_EMPTY: 'conflict',
  PERMISSION_DENIED: 'path_outside_workspace',
};

/** Output accepted from a command but not yet in Redis, before the command is paused. */
const OUTPUT_BACKLOG_BYTES = 4 * 1024 * 1024;

/**
 * The runner daemon: pulls jobs from its own queue, drives workspaces through one
 * workload driver, streams output into Redis, and reports heartbeats. `stop()` lets
 * in-flight jobs finish; unfinished ones return to the queue for the next start.
 */
export class Runner {
  private redis: Redis;
  private worker: Worker | undefined;
  private workerConnection: Redis | undefined;
  private calls: CallConsumer | undefined;
  private callConnection: Redis | undefined;
  private timers: NodeJS.Timeout[] = [];
  private execs = new Map<string, RunningExecution>();
  private lastActive = new Map<string, number>();
  /** Lifecycle jobs in progress per workspace: the heartbeat leaves those workspaces alone. */
  private lifecycle = new Map<string, number>();
  private readonly fileLocks = new FileLocks();
  private roots = new Map<string, ConfinedFs>();
  /** Workspaces placed on another driver than this runner's, with theirs: it cannot serve them. */
  private foreign = new Map<string, DriverKind>();
  private gpus: Awaited<ReturnType<typeof gpuStats>> = [];
  private readonly keys;
  private readonly ai: AiJobs;
  private readonly terminals: Terminals;
  onRevoked: () => void = () => {};
  /** The edge now speaks another protocol major: this runner cannot work for it. */
  onCannotRun: () => void = () => {};

  constructor(
    private readonly config: RunnerConfig,
    private readonly credential: SavedCredential,
    private readonly driver: WorkloadDriver,
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

  get runnerId(): string {
    return this.credential.runnerId;
  }

  async start(): Promise<void> {
    await mkdir(this.config.KEEL_RUNNER_DATA_DIR, { recursive: true });
    // The sandboxed workspace user walks through here to reach its folder (see registration).
    await chmod(this.config.KEEL_RUNNER_DATA_DIR, 0o711);
    this.gpus = await gpuStats();
    await this.reattach();
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat(), HEARTBEAT_INTERVAL_MS));
    this.timers.push(setInterval(() => void this.renewHeartbeat(), HEARTBEAT_RENEW_MS));
    this.timers.push(setInterval(() => void this.checkRevocation(), CHECK_IN_INTERVAL_MS));
    if (this.config.KEEL_IDLE_STOP_SECONDS > 0) {
      this.timers.push(
        setInterval(() => void this.stopIdle(), Math.min(30_000, this.config.KEEL_IDLE_STOP_SECONDS * 250)),
      );
    }
    const connection = connectRunnerRedis(this.config, this.credential);
    this.workerConnection = connection;
    this.worker = new Worker(this.credential.queueName, (job) => this.process(job.data), {
      connection,
      prefix: this.credential.bullPrefix,
      concurrency: this.config.KEEL_RUNNER_CONCURRENCY,
      // A killed runner's jobs come back to the queue once their lock lapses.
      lockDuration: this.config.KEEL_RUNNER_LOCK_MS,
      stalledInterval: Math.max(500, Math.floor(this.config.KEEL_RUNNER_LOCK_MS / 2)),
      maxStalledCount: 1,
    });
    this.worker.on('error', (err) => log('warn', 'worker error', { error: err.message }));
    await this.worker.waitUntilReady();
    // Request/response calls (file reads, writes, trees…) come on a lighter path than BullMQ.
    this.callConnection = connectRunnerRedis(this.config, this.credential);
    this.calls = new CallConsumer(
      this.redis,
      this.callConnection,
      this.keys.base,
      this.config.KEEL_RUNNER_CONCURRENCY,
      (job) => this.process(job),
      (err) => log('warn', 'call failed', { error: String(err) }),
      (job) => this.expired(job),
    );
    this.calls.start();
  }

  /**
   * Lets in-flight jobs finish (bounded), then lets go of Redis. Every step has a time
   * limit: when Redis itself is gone, there is nothing left to wait for.
   */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await this.ai.stop();
    await Promise.all([this.calls?.stop(8_000), bounded(this.worker?.close() ?? Promise.resolve(), 8_000)]);
    this.callConnection?.disconnect();
    await bounded(this.terminals.stop(), 5_000);
    await bounded(this.redis.del(this.keys.heartbeat), 2_000);
    this.workerConnection?.disconnect();
    this.redis.disconnect();
  }

  /** After a restart: publish what each known workspace is doing, and close streams of lost commands. */
  private async reattach(): Promise<void> {
    const own = await this.ownWorkspaces();
    // Workspaces placed before the runner kept its own list join it here.
    if (own.length) await this.redis.sadd(this.keys.workspaces, ...own);
    // Those placed before drivers were recorded are in this driver's engine: they are its own.
    const recorded = await this.workspaceDrivers();
    const unrecorded = own.filter((id) => !recorded.has(id));
    if (unrecorded.length) {
      await this.redis.hset(
        this.keys.workspaceDrivers,
        Object.fromEntries(unrecorded.map((id) => [id, this.driver.kind])),
      );
    }
    for (const [id, driver] of this.foreign) {
      await this.setStatus(id, 'unavailable', foreignDriverReason(driver, this.driver.kind));
    }
    for (const id of own) {
      const status = await this.driver.status(id);
      if (status !== 'missing') {
        await this.setStatus(id, status === 'running' ? 'running' : 'stopped', null, false);
      }
      // A restart is not idleness: the idle clock starts again from now.
      this.touch(id);
    }
    const orphaned = await this.redis.smembers(this.keys.execsRunning);
    for (const executionId of orphaned) {
      await new OutputStream(this.redis, this.keys.execStream(executionId)).end({
        exitCode: null,
        error: 'the runner restarted while this command ran',
      });
    }
    if (orphaned.length) await this.redis.del(this.keys.execsRunning);
    await this.ai.closeOrphans();
    await this.terminals.endOrphans();
  }

  /** Keeps the last heartbeat alive between full beats; a missing one is left missing. */
  private async renewHeartbeat(): Promise<void> {
    try {
      await this.redis.pexpire(this.keys.heartbeat, HEARTBEAT_TTL_SECONDS * 1000);
    } catch (err) {
      log('warn', 'heartbeat renewal failed', { error: String(err) });
    }
  }

  private async heartbeat(): Promise<void> {
    try {
      const running = await this.reconcile();
      const beat = await collectHeartbeat({
        runnerId: this.runnerId,
        driver: this.driver.kind,
        dataDir: this.config.KEEL_RUNNER_DATA_DIR,
        workspacesRunning: running,
        gpus: this.gpus,
      });
      await this.redis.set(
        this.keys.heartbeat,
        JSON.stringify({ ...beat, ai: this.ai.status }),
        'EX',
        HEARTBEAT_TTL_SECONDS,
      );
    } catch (err) {
      log('warn', 'heartbeat failed', { error: String(err) });
    }
  }

  /**
   * One look at the engine for every workspace this runner placed: counts the running
   * ones, and publishes `stopped` or `failed` with a reason for one that Keel says runs but
   * whose container stopped or vanished outside Keel. Returns how many run.
   */
  private async reconcile(): Promise<number> {
    const [engine, ids, drivers] = await Promise.all([
      this.driver.states(),
      this.redis.smembers(this.keys.workspaces),
      this.workspaceDrivers(),
    ]);
    if (ids.length === 0) return 0;
    const published = await this.redis.mget(...ids.map((id) => this.keys.workspaceStatus(id)));
    let running = 0;
    for (const [i, id] of ids.entries()) {
      if (engine.get(id)?.status === 'running') running++;
      const raw = published[i];
      if (!raw || this.lifecycle.has(id)) continue;
      const fix = correction(parseStatus(raw), engine.get(id), {
        workspace: drivers.get(id),
        runner: this.driver.kind,
      });
      if (!fix) continue;
      const next = JSON.stringify({ status: fix.status, reason: fix.reason, at: new Date().toISOString() });
      if (await replaceIfUnchanged(this.redis, this.keys.workspaceStatus(id), raw, next)) {
        await this.log(id, 'system', `${fix.status}: ${fix.reason}`);
      }
    }
    return running;
  }

  /** Each placed workspace's driver, as recorded at its creation; refreshes `foreign`. */
  private async workspaceDrivers(): Promise<Map<string, DriverKind>> {
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

  /** Refuses work on a workspace of another driver, saying why, instead of reporting it missing. */
  private assertServable(workspaceId: string): void {
    const driver = this.foreign.get(workspaceId);
    if (driver) {
      throw new JobError(
        'unavailable',
        `This workspace cannot be served now: ${foreignDriverReason(driver, this.driver.kind)}`,
      );
    }
  }

  private async checkRevocation(): Promise<void> {
    try {
      if ((await checkIn(this.config, this.credential, [this.driver.kind])) === 'revoked') {
        log('error', 'this runner was revoked by an admin; stopping', { runnerId: this.runnerId });
        this.onRevoked();
      }
    } catch (err) {
      log('error', `${err instanceof Error ? err.message : String(err)}; stopping`, {
        runnerId: this.runnerId,
      });
      this.onCannotRun();
    }
  }

  private async stopIdle(): Promise<void> {
    const limit = this.config.KEEL_IDLE_STOP_SECONDS * 1000;
    const busy = new Set([...this.execs.values()].map((e) => e.workspaceId));
    for (const id of this.terminals.workspaces()) busy.add(id);
    const engine = await this.driver.states();
    for (const id of await this.ownWorkspaces(engine)) {
      const last = this.lastActive.get(id) ?? Date.now();
      if (busy.has(id) || Date.now() - last < limit) continue;
      if (engine.get(id)?.status !== 'running') continue;
      await this.driver.stop(id);
      await this.setStatus(
        id,
        'stopped',
        `stopped after ${this.config.KEEL_IDLE_STOP_SECONDS} s without activity`,
      );
    }
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

  private touch(workspaceId: string): void {
    this.lastActive.set(workspaceId, Date.now());
  }

  private async setStatus(
    id: string,
    status: WorkspaceStatus,
    reason: string | null,
    logIt = true,
  ): Promise<void> {
    await this.redis.set(
      this.keys.workspaceStatus(id),
      JSON.stringify({ status, reason, at: new Date().toISOString() }),
    );
    if (logIt) await this.log(id, 'system', reason ? `${status}: ${reason}` : status);
  }

  private async log(id: string, stream: 'system' | 'stdout' | 'stderr', text: string): Promise<void> {
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

  /** A one-way call taken too late: it does not start, and whoever watches it is told. */
  private async expired(data: unknown): Promise<void> {
    const parsed = RunnerJob.safeParse(data);
    if (!parsed.success) return;
    const job = parsed.data;
    if (job.type === 'ai.explain' || job.type === 'ai.rewrite' || job.type === 'ai.chat')
      await this.ai.expired(job);
  }

  /** A BullMQ job, or a call from the call list: the same handlers serve both. */
  private async process(data: unknown): Promise<JobOutcome> {
    const parsed = RunnerJob.safeParse(data);
    if (!parsed.success) return { ok: false, error: { code: 'invalid', message: 'unreadable job' } };
    try {
      return { ok: true, result: await this.tracked(parsed.data) };
    } catch (err) {
      if (err instanceof JobError) return { ok: false, error: { code: err.code, message: err.message } };
      if (err instanceof ConfinedFsError) {
        return { ok: false, error: { code: fsErrorCodes[err.code] ?? 'invalid', message: err.message } };
      }
      if (err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_RUNNING') {
        return { ok: false, error: { code: 'workspace_not_running', message: err.message } };
      }
      if (err instanceof WorkloadError && err.code === 'WORKLOAD_NOT_FOUND') {
        return { ok: false, error: { code: 'not_found', message: err.message } };
      }
      // Unexpected: let BullMQ record and retry it (lifecycle jobs are idempotent).
      throw err;
    }
  }

  /** Runs a job, marking its workspace busy for the heartbeat while a lifecycle job changes it. */
  private async tracked(job: RunnerJob): Promise<unknown> {
    // A command's refusal ends its stream instead (see execStart): someone reads it.
    const own =
      job.type === 'workspace.create' || job.type === 'workspace.delete' || job.type === 'exec.start';
    if ('workspaceId' in job && job.workspaceId && !own) {
      this.assertServable(job.workspaceId);
    }
    if (!job.type.startsWith('workspace.') || !('workspaceId' in job) || !job.workspaceId)
      return this.handle(job);
    return this.busyWith(job.workspaceId, () => this.handle(job));
  }

  private async busyWith<T>(workspaceId: string, fn: () => Promise<T>): Promise<T> {
    this.lifecycle.set(workspaceId, (this.lifecycle.get(workspaceId) ?? 0) + 1);
    try {
      return await fn();
    } finally {
      const left = (this.lifecycle.get(workspaceId) ?? 1) - 1;
      if (left > 0) this.lifecycle.set(workspaceId, left);
      else this.lifecycle.delete(workspaceId);
    }
  }

  private async handle(job: RunnerJob): Promise<unknown> {
    switch (job.type) {
      case 'noop':
        return {};
      case 'workspace.create':
        return this.create(job);
      case 'workspace.start':
        this.touch(job.workspaceId);
        await this.setStatus(job.workspaceId, 'starting', null);
        await this.guarded(job.workspaceId, () => this.driver.start(job.workspaceId, startOptions(job)));
        await this.setStatus(job.workspaceId, 'running', null);
        return {};
      case 'workspace.stop':
        await this.setStatus(job.workspaceId, 'stopping', null);
        await this.terminals.endWorkspace(job.workspaceId);
        await this.guarded(job.workspaceId, () => this.driver.stop(job.workspaceId));
        await this.setStatus(job.workspaceId, 'stopped', null);
        return {};
      case 'workspace.restart':
        this.touch(job.workspaceId);
        await this.setStatus(job.workspaceId, 'starting', 'restarting');
        await this.terminals.endWorkspace(job.workspaceId);
        await this.guarded(job.workspaceId, async () => {
          await this.driver.stop(job.workspaceId);
          await this.driver.start(job.workspaceId, startOptions(job));
        });
        await this.setStatus(job.workspaceId, 'running', null);
        return {};
      case 'workspace.delete':
        await this.setStatus(job.workspaceId, 'deleting', null);
        await this.terminals.endWorkspace(job.workspaceId);
        this.roots.delete(job.workspaceId);
        await this.driver.remove(job.workspaceId, { keepData: false });
        await this.forgetOutput(job.workspaceId);
        await this.redis.srem(this.keys.workspaces, job.workspaceId);
        await this.redis.hdel(this.keys.workspaceDrivers, job.workspaceId);
        this.foreign.delete(job.workspaceId);
        this.lastActive.delete(job.workspaceId);
        return {};
      case 'exec.start':
        return this.execStart(job);
      case 'terminal.open':
        return this.terminals.open(job);
      case 'ai.explain':
      case 'ai.rewrite':
      case 'ai.chat':
        return this.ai.start(job);
      case 'ai.cancel':
        return this.ai.cancel(job.streamId);
      case 'exec.cancel': {
        const found = this.execs.get(job.executionId);
        const running = job.workspaceId && found?.workspaceId !== job.workspaceId ? undefined : found;
        if (running) {
          running.cancelled = true;
          await running.handle.kill();
        }
        return { cancelled: Boolean(running) };
      }
      case 'files.tree': {
        this.touch(job.workspaceId);
        const fs = await this.files(job.workspaceId);
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
      case 'files.read': {
        this.touch(job.workspaceId);
        const fs = await this.files(job.workspaceId);
        const data = await fs.readFile(job.path, { maxBytes: job.maxBytes });
        return {
          contentBase64: Buffer.from(data).toString('base64'),
          sha256: sha256(data),
          size: data.byteLength,
        };
      }
      case 'files.write': {
        this.touch(job.workspaceId);
        const fs = await this.files(job.workspaceId);
        const data = Buffer.from(job.contentBase64, 'base64');
        return this.fileLocks.run(job.workspaceId, [job.path], async () => {
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
      case 'files.rename':
        this.touch(job.workspaceId);
        return renameJob(job, this.fileJobContext);
      case 'files.delete':
        this.touch(job.workspaceId);
        return deleteJob(job, this.fileJobContext);
      case 'files.mkdir':
        this.touch(job.workspaceId);
        return mkdirJob(job, this.fileJobContext);
      case 'patch.validate':
        this.touch(job.workspaceId);
        return validatePatchJob(job, this.fileJobContext);
      case 'patch.apply':
        this.touch(job.workspaceId);
        return applyPatchJob(job, this.fileJobContext);
    }
  }

  /** Roots are looked up once per workspace: file reads are the hottest path a runner has. */
  /**
   * A workspace Keel last reported running whose container stopped behind its back (the
   * engine, an OOM, a runner crash) is started again before a command runs in it, so the
   * person sees what the status promised.
   */
  private async reviveIfExpected(workspaceId: string): Promise<void> {
    if ((await this.driver.status(workspaceId)) !== 'stopped') return;
    await this.busyWith(workspaceId, async () => {
      if (parseStatus(await this.redis.get(this.keys.workspaceStatus(workspaceId)))?.status !== 'running')
        return;
      await this.log(workspaceId, 'system', 'the workspace had stopped unexpectedly; starting it again');
      await this.driver.start(workspaceId);
      // A heartbeat that looked while it was down may have published `stopped` meanwhile.
      await this.setStatus(workspaceId, 'running', null, false);
    });
  }

  private async files(workspaceId: string): Promise<ConfinedFs> {
    let fs = this.roots.get(workspaceId);
    if (!fs) {
      if ((await this.driver.status(workspaceId)) === 'missing')
        throw new JobError('not_found', 'No such workspace');
      fs = new ConfinedFs(await this.driver.workspaceRoot(workspaceId), this.driver.fileOwner);
      this.roots.set(workspaceId, fs);
    }
    return fs;
  }

  /** What the file and patch jobs use: the confined roots and the same per-file locks as files.write. */
  private readonly fileJobContext = {
    files: (workspaceId: string) => this.files(workspaceId),
    withFileLocks: <T>(workspaceId: string, paths: string[], fn: () => Promise<T>): Promise<T> =>
      this.fileLocks.run(workspaceId, paths, fn),
  };

  /** A lifecycle step that fails leaves the workspace `failed` with a readable reason. */
  private async guarded(workspaceId: string, fn: () => Promise<void>): Promise<void> {
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

  private async create(job: Extract<RunnerJob, { type: 'workspace.create' }>): Promise<unknown> {
    const id = job.workspaceId;
    this.touch(id);
    // Listed first: a workspace whose create was cut short is still this runner's to report.
    const driver = job.spec.driver ?? this.driver.kind;
    await this.redis
      .multi()
      .sadd(this.keys.workspaces, id)
      .hset(this.keys.workspaceDrivers, id, driver)
      .exec();
    if (driver !== this.driver.kind) {
      this.foreign.set(id, driver);
      await this.setStatus(id, 'unavailable', foreignDriverReason(driver, this.driver.kind));
      this.assertServable(id);
    }
    await this.setStatus(id, 'creating', null);
    await this.guarded(id, async () => {
      await this.driver.create({
        workspaceId: id,
        ...(job.spec.image ? { image: job.spec.image } : {}),
        cpus: job.spec.cpus,
        memoryMb: job.spec.memoryMb,
        network: job.spec.network,
        ...(job.spec.egressAllow ? { egressAllow: job.spec.egressAllow } : {}),
        storage: job.spec.hostDir ? { kind: 'hostDir', path: job.spec.hostDir } : { kind: 'volume' },
      });
      if (job.source.type === 'git') {
        const source = job.source;
        await this.log(id, 'system', `cloning ${source.url}${source.ref ? ` at ${source.ref}` : ''}`);
        let lastLogged = 0;
        try {
          await gitClone({
            url: source.url,
            ...(source.ref ? { ref: source.ref } : {}),
            into: await this.driver.workspaceRoot(id),
            owner: this.driver.fileOwner,
            allowLocal: this.config.KEEL_RUNNER_ALLOW_LOCAL_GIT,
            onProgress: (line) => {
              // Progress lines come many times a second; a few per second reach the log.
              const now = Date.now();
              if (now - lastLogged < 250 && !/done|error|fatal/i.test(line)) return;
              lastLogged = now;
              void this.log(id, 'stderr', line);
            },
          });
        } catch (err) {
          throw new Error(err instanceof CloneError ? `clone failed: ${err.message}` : String(err));
        }
      }
      await this.setStatus(id, 'starting', null);
      await this.driver.start(id);
    });
    await this.setStatus(id, 'running', null);
    return {};
  }

  /**
   * What a deleted workspace leaves in Redis goes with it: its status, its logs, its files
   * version, and the output of every command it ran (which may hold anything the commands
   * printed), rather than lingering until the streams expire. Commands still ending (the
   * driver just killed them) write their exit first, so no stream comes back after this.
   */
  private async forgetOutput(workspaceId: string): Promise<void> {
    const ending = [...this.execs.values()].filter((e) => e.workspaceId === workspaceId);
    await bounded(Promise.all(ending.map((e) => e.finished)), 5_000);
    const listed = this.keys.workspaceExecs(workspaceId);
    const executions = await this.redis.zrange(listed, 0, -1);
    const keys = [
      this.keys.workspaceStatus(workspaceId),
      this.keys.workspaceLogs(workspaceId),
      this.keys.workspaceFilesVersion(workspaceId),
      listed,
      ...executions.flatMap((e) => [
        this.keys.execStream(e),
        this.keys.execMeta(e),
        this.keys.execClaimed(e),
      ]),
    ];
    for (let i = 0; i < keys.length; i += 500) await this.redis.del(...keys.slice(i, i + 500));
  }

  private async execStart(job: Extract<RunnerJob, { type: 'exec.start' }>): Promise<unknown> {
    // BullMQ delivers a job again when its runner died before marking it done, whatever its
    // attempts. The first delivery claims the execution and lists it as running in one step,
    // so a later delivery never runs the command twice, and a restart closes its stream.
    const now = Date.now();
    const listed = this.keys.workspaceExecs(job.workspaceId);
    const [[, claimed]] = (await this.redis
      .multi()
      .set(this.keys.execClaimed(job.executionId), '1', 'EX', STREAM_TTL_SECONDS, 'NX')
      .sadd(this.keys.execsRunning, job.executionId)
      // By start time, and only as far back as output lives: a busy workspace's list stays short.
      .zadd(listed, now, job.executionId)
      .zremrangebyscore(listed, '-inf', now - STREAM_TTL_SECONDS * 1000)
      .expire(listed, STREAM_TTL_SECONDS)
      .exec()) as [[Error | null, string | null], ...unknown[]];
    if (claimed !== 'OK') return { started: false, duplicate: true };
    const out = new OutputStream(this.redis, this.keys.execStream(job.executionId), {
      maxBytes: this.config.KEEL_EXEC_OUTPUT_MAX_BYTES,
      // Past the cap (or once Redis is full) the output has nowhere to go: the command stops.
      onStop: () =>
        void this.execs
          .get(job.executionId)
          ?.handle.kill()
          .catch((err) => log('warn', 'could not stop a command', { error: String(err) })),
    });
    const foreign = this.foreign.get(job.workspaceId);
    if (foreign) {
      await this.redis.srem(this.keys.execsRunning, job.executionId);
      await out.end({
        exitCode: null,
        error: `unavailable: ${foreignDriverReason(foreign, this.driver.kind)}`,
      });
      return { started: false };
    }
    await this.reviveIfExpected(job.workspaceId);
    if ((await this.driver.status(job.workspaceId)) !== 'running') {
      await this.redis.srem(this.keys.execsRunning, job.executionId);
      await out.end({ exitCode: null, error: 'the workspace is not running; start it first' });
      return { started: false };
    }
    this.touch(job.workspaceId);
    const handle = this.driver.exec(job.workspaceId, {
      argv: job.argv,
      ...(job.cwd ? { cwd: job.cwd } : {}),
      ...(job.env ? { env: job.env } : {}),
      timeoutMs: job.timeoutMs,
    });
    const entry: RunningExecution = { handle, workspaceId: job.workspaceId, cancelled: false };
    this.execs.set(job.executionId, entry);
    const pump = (kind: 'stdout' | 'stderr') =>
      new Promise<void>((resolve) => {
        const stream = handle[kind];
        stream.on('data', (chunk: Buffer) => {
          out.write(kind, chunk);
          // Redis may be slower than a fast producer: past a few batches in flight, wait.
          if (out.backlogBytes() > OUTPUT_BACKLOG_BYTES && !stream.isPaused()) {
            stream.pause();
            void out.flush().then(() => stream.resume());
          }
        });
        stream.on('end', resolve);
        stream.on('error', () => resolve());
      });
    entry.finished = (async () => {
      const pumps = Promise.all([pump('stdout'), pump('stderr')]);
      let exit: Parameters<OutputStream['end']>[0];
      try {
        const result = await handle.done;
        exit = {
          exitCode: result.exitCode,
          ...(result.signal ? { signal: result.signal } : {}),
          ...(result.timedOut ? { timedOut: true } : {}),
          ...(entry.cancelled ? { cancelled: true } : {}),
        };
      } catch (err) {
        exit = { exitCode: null, error: err instanceof Error ? err.message : String(err) };
      }
      await Promise.race([pumps, new Promise((r) => setTimeout(r, 2_000))]);
      // The command may have changed files: trees cached at the edge are stale now. Bumped
      // before the exit is written, so a client that saw the exit never reads a stale tree.
      await this.redis
        .incr(this.keys.workspaceFilesVersion(job.workspaceId))
        .catch((err) => log('warn', 'files version not bumped', { error: String(err) }));
      await out.end(exit);
      this.execs.delete(job.executionId);
      this.touch(job.workspaceId);
      await this.redis.srem(this.keys.execsRunning, job.executionId);
    })().catch((err) => log('error', 'exec stream failed', { error: String(err) }));
    return { started: true };
  }
}

interface RunningExecution {
  handle: ExecHandle;
  workspaceId: string;
  cancelled: boolean;
  /** Settles once the exit is written and the execution is forgotten. */
  finished?: Promise<void>;
}

function bounded(p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.then(
      () => {},
      () => {},
    ),
    new Promise<void>((r) => {
      timer = setTimeout(r, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

export function log(
  level: 'info' | 'warn' | 'error',
  msg: string,
  fields: Record<string, unknown> = {},
): void {
  const line = JSON.stringify({ level, msg, ...fields, at: new Date().toISOString() });
  if (level === 'info') console.log(line);
  else console.error(line);
}

/**
 * Where the process driver keeps workspace folders. As root, the sandbox user must be able
 * to walk down to its folder, which a data folder under a private home (e.g. /root) does
 * not allow; so root runners keep them under /var/lib/keel, one folder per data folder.
 */
export function defaultProcessRoot(config: RunnerConfig): string {
  if (config.KEEL_RUNNER_WORKSPACES_DIR) return config.KEEL_RUNNER_WORKSPACES_DIR;
  if (process.getuid?.() !== 0) return join(config.KEEL_RUNNER_DATA_DIR, 'workspaces');
  const tag = sha256(resolve(config.KEEL_RUNNER_DATA_DIR)).slice(0, 12);
  return join('/var/lib/keel/workspaces', tag);
}

/** What a start job says of the workspace's network as the install has it now. */
function startOptions(job: { egressAllow?: string[] | undefined }): StartOptions {
  return job.egressAllow ? { egressAllow: job.egressAllow } : {};
}
