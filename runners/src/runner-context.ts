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
import { ConfinedFsError } from './files/confined-fs.ts';
import { FileLocks } from './files/file-locks.ts';
import type { FileJobContext } from './files/jobs.ts';
import type { WorkspaceFiles } from './files/workspace-files.ts';
import { Generations } from './fleet/generations.ts';
import { JobError } from './job-error.ts';
import { log } from './log.ts';
import { LanguageServers } from './lsp/language-servers.ts';
import { connectRunnerRedis } from './redis-connection.ts';
import type { SavedCredential } from './registration.ts';
import {
  type EdgeCaller,
  fetchAssignedServers,
  fetchServerAccess,
  type ServerAccessPurpose,
} from './servers/access.ts';
import { remoteServerProbes, type ServerProbes } from './servers/probes.ts';
import {
  remoteServerDriverFactories,
  type ServerDriverFactories,
  ServerDrivers,
  ServerUnavailableError,
} from './servers/server-drivers.ts';
import { Terminals } from './terminal/terminals.ts';
import { DEFAULT_WORKSPACE_IMAGE } from './workloads/docker.ts';
import { type WorkloadDriver, WorkloadError } from './workloads/types.ts';
import { foreignDriverReason } from './workspace-watch.ts';
import { LifecycleQueue } from './workspaces/lifecycle-queue.ts';

/** How this runner reaches infrastructure servers; tests pass stand-ins. */
export interface ServerOptions {
  factories?: ServerDriverFactories;
  probes?: ServerProbes;
  /** Connection tests and collections end within this (default 15 s). */
  probeTimeoutMs?: number;
  /** How often the assigned servers' resources are collected (default RESOURCES_INTERVAL_MS). */
  resourcesIntervalMs?: number;
}

/**
 * What every job handler of one runner shares: its Redis, keys and driver, and what it knows
 * of its workspaces (which server each lives on, which are being changed, when each was last used, their confined file
 * roots, those placed on another driver, the commands running in them).
 */
export class RunnerContext {
  readonly redis: Redis;
  readonly keys: RunnerKeys;
  readonly ai: AiJobs;
  readonly terminals: Terminals;
  readonly languageServers: LanguageServers;
  readonly execs = new Map<string, RunningExecution>();
  readonly lastActive = new Map<string, number>();
  /** Lifecycle jobs in progress per workspace: the heartbeat leaves those workspaces alone. */
  readonly lifecycle = new Map<string, number>();
  readonly fileLocks = new FileLocks();
  readonly roots = new Map<string, WorkspaceFiles>();
  /** Workspaces placed on another driver than this runner's, with theirs: it cannot serve them. */
  readonly foreign = new Map<string, DriverKind>();
  /** Workspaces on an infrastructure server, with its id (mirrors `keys.workspaceServers`). */
  readonly workspaceServer = new Map<string, string>();
  /** The open drivers of the servers assigned to this runner. */
  readonly servers: ServerDrivers;
  readonly serverOptions: Required<Pick<ServerOptions, 'factories' | 'probes'>> & ServerOptions;
  /** The image a workspace gets when its spec names none; connection tests report whether a server has it. */
  readonly workspaceImage: string;
  /** This runner's calls to its edge, as itself. */
  readonly edge: EdgeCaller;
  /** Lifecycle steps of each workspace, one at a time and in order (see lifecycle-queue). */
  readonly lifecycleQueue = new LifecycleQueue();
  /** The placement generation held for each workspace (fencing). */
  readonly generations: Generations;

  constructor(
    readonly config: RunnerConfig,
    readonly credential: SavedCredential,
    readonly driver: WorkloadDriver,
    serverOptions: ServerOptions = {},
  ) {
    this.redis = connectRunnerRedis(config, credential);
    this.keys = runnerKeys(credential.keyPrefix, credential.runnerId);
    this.workspaceImage = config.KEEL_WORKSPACE_IMAGE ?? DEFAULT_WORKSPACE_IMAGE;
    this.generations = new Generations(this.redis, this.keys.workspaceGenerations);
    this.edge = { edgeUrl: config.KEEL_URL, credential: credential.credential };
    this.serverOptions = {
      ...serverOptions,
      factories: serverOptions.factories ?? remoteServerDriverFactories,
      probes: serverOptions.probes ?? remoteServerProbes,
    };
    this.servers = new ServerDrivers({
      assigned: () => fetchAssignedServers(this.edge),
      access: (serverId) => this.serverAccess(serverId, 'workspace'),
      factories: this.serverOptions.factories,
      defaultImage: this.workspaceImage,
      // File roots made through a closed driver would talk to a closed connection.
      onClosed: (serverId) => {
        for (const [workspaceId, on] of this.workspaceServer)
          if (on === serverId) this.roots.delete(workspaceId);
      },
    });
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
      driverFor: (workspaceId) => this.driverFor(workspaceId),
      idleMs: config.KEEL_TERMINAL_IDLE_SECONDS * 1000,
      onActivity: (workspaceId) => this.touch(workspaceId),
    });
    this.languageServers = new LanguageServers({
      redis: this.redis,
      keys: this.keys,
      driverFor: (workspaceId) => this.driverFor(workspaceId),
      idleMs: config.KEEL_RUNNER_LSP_IDLE_SECONDS * 1000,
      onActivity: (workspaceId) => this.touch(workspaceId),
    });
  }

  /** A server's access for one purpose, fetched from the edge for this use only. */
  serverAccess(serverId: string, purpose: ServerAccessPurpose) {
    return fetchServerAccess(this.edge, serverId, purpose);
  }

  /**
   * The driver that runs a workspace: this runner's own, or that of the server the workspace
   * lives on. A server that cannot be driven now is a refusal saying why (`unavailable`).
   */
  async driverFor(workspaceId: string): Promise<WorkloadDriver> {
    const serverId = this.workspaceServer.get(workspaceId);
    if (!serverId) return this.driver;
    try {
      return await this.servers.driver(serverId);
    } catch (err) {
      if (err instanceof ServerUnavailableError) {
        throw new JobError('unavailable', `This workspace cannot be served now: ${err.message}`);
      }
      throw err;
    }
  }

  /** Reads which workspaces live on servers, as recorded at their creation (after a restart). */
  async loadWorkspaceServers(): Promise<void> {
    const all = await this.redis.hgetall(this.keys.workspaceServers);
    this.workspaceServer.clear();
    for (const [workspaceId, serverId] of Object.entries(all))
      this.workspaceServer.set(workspaceId, serverId);
  }

  /** Workspace ids by the server they live on. */
  serverWorkspaces(): Map<string, string[]> {
    const out = new Map<string, string[]>();
    for (const [workspaceId, serverId] of this.workspaceServer) {
      out.set(serverId, [...(out.get(serverId) ?? []), workspaceId]);
    }
    return out;
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
      const driver = await this.driverFor(workspaceId);
      if ((await driver.status(workspaceId)) === 'missing')
        throw new JobError('not_found', 'No such workspace');
      fs = await driver.files(workspaceId);
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

  /**
   * For a workspace on a server, an error that is not the driver's own kind (a refused
   * connection, a dropped session, a timeout) means the server is out of reach, not that the
   * workspace is broken: it becomes an `unavailable` refusal. Undefined for any other error.
   */
  serverTrouble(workspaceId: string, err: unknown): JobError | undefined {
    if (!this.workspaceServer.has(workspaceId)) return undefined;
    if (err instanceof JobError) return err.code === 'unavailable' ? err : undefined;
    if (err instanceof WorkloadError || err instanceof ConfinedFsError) return undefined;
    const message = err instanceof Error ? err.message : String(err);
    return new JobError(
      'unavailable',
      `This workspace cannot be served now: its server cannot be reached: ${message}`,
    );
  }

  /**
   * A lifecycle step that fails leaves the workspace `failed` with a readable reason; one on a
   * server out of reach leaves it `unavailable` (it is intact there, see `serverTrouble`).
   */
  async guarded(workspaceId: string, fn: () => Promise<void>): Promise<void> {
    try {
      await fn();
    } catch (err) {
      const trouble = this.serverTrouble(workspaceId, err);
      if (trouble) {
        await this.setStatus(
          workspaceId,
          'unavailable',
          trouble.message.replace(/^This workspace cannot be served now: /, ''),
        );
        throw trouble;
      }
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
      // A workspace on a server is driven by the server's driver, whatever this runner's own is.
      if (parsed.data !== this.driver.kind && !this.workspaceServer.has(id))
        this.foreign.set(id, parsed.data);
    }
    return out;
  }

  /**
   * The driver's workspaces that this runner placed: those with a status under its own
   * prefix. Other runners may share the Docker engine; their workspaces are not ours to
   * count, re-attach or stop.
   */
  async ownWorkspaces(engine?: Map<string, unknown>): Promise<string[]> {
    // An engine shared with a server (a test's stand-in, a server that is this very host) lists
    // the server's workspaces too: those are the server driver's, not this one's.
    const all = [...(engine ?? (await this.driver.states())).keys()].filter(
      (id) => engine || !this.workspaceServer.has(id),
    );
    if (all.length === 0) return [];
    const statuses = await this.redis.mget(...all.map((id) => this.keys.workspaceStatus(id)));
    return all.filter((_, i) => statuses[i] !== null);
  }
}
