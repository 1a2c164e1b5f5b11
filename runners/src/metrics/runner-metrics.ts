import { callListKey } from '@keel/contract/keys';
import { WorkspaceStatus } from '@keel/contract/workspaces';
import { Queue } from 'bullmq';
import type { RunnerContext } from '../runner-context.ts';
import { containerName, DockerDriver } from '../workloads/docker.ts';
import { ProcessDriver } from '../workloads/process.ts';
import { isValidWorkspaceId } from '../workloads/types.ts';
import { cgroupUsage } from './cgroup-usage.ts';
import { DiskUsage } from './disk-usage.ts';
import { dockerUsage } from './docker-usage.ts';
import { PromRecorder } from './prom-recorder.ts';
import { NO_METRICS, type RunnerRecorder, useRecorder } from './recorder.ts';
import { buildRunnerRegistry } from './registry.ts';
import { type ScrapedWorkspace, type ScrapeSources, scrapeRefresher } from './scrape.ts';
import { listenForScrapes } from './scrape-listener.ts';
import { USAGE_CACHE_DEFAULTS, UsageCache, type UsageCacheOptions } from './usage-cache.ts';

/** A scrape answers with what it has after this, rather than hang on a slow engine. */
const REFRESH_LIMIT_MS = 5_000;

export interface RunnerMetricsHandle {
  readonly recorder: RunnerRecorder;
  /** The port scrapes are answered on; undefined when metrics are off. */
  readonly port: number | undefined;
  close(): Promise<void>;
}

export interface RunnerMetricsOptions {
  usageCache?: UsageCacheOptions;
  /** How often a workspace folder is measured at most. */
  diskRefreshMs?: number;
}

const OFF: RunnerMetricsHandle = { recorder: NO_METRICS, port: undefined, close: async () => {} };

/**
 * The runner's metrics, when `KEEL_RUNNER_METRICS_PORT` is set: the contract's registry, the
 * recorder the runner's code reports to, and the listener that serves them. Off, nothing
 * listens and nothing is recorded.
 */
export async function startRunnerMetrics(
  ctx: RunnerContext,
  options: RunnerMetricsOptions = {},
): Promise<RunnerMetricsHandle> {
  const { config } = ctx;
  if (config.KEEL_RUNNER_METRICS_PORT === undefined) return OFF;
  const { registry, metrics } = buildRunnerRegistry();
  const recorder = new PromRecorder(metrics, ctx.ai.status.model ?? 'none');
  const sources = runnerSources(ctx, options);
  const refresh = scrapeRefresher(metrics, sources);
  const listener = await listenForScrapes({
    host: config.KEEL_RUNNER_METRICS_HOST,
    port: config.KEEL_RUNNER_METRICS_PORT,
    ...(config.KEEL_RUNNER_METRICS_TOKEN ? { token: config.KEEL_RUNNER_METRICS_TOKEN } : {}),
    registry,
    refresh: () => bounded(refresh(), REFRESH_LIMIT_MS),
  });
  useRecorder(recorder);
  return {
    recorder,
    port: listener.port,
    async close() {
      useRecorder(NO_METRICS);
      await listener.close();
      await sources.close();
    },
  };
}

function bounded(work: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([work, new Promise<void>((r) => (timer = setTimeout(r, ms)))]).finally(() =>
    clearTimeout(timer),
  );
}

/** Where a scrape reads each figure on this runner, per driver. */
function runnerSources(
  ctx: RunnerContext,
  options: RunnerMetricsOptions,
): ScrapeSources & { close(): Promise<void> } {
  const { driver } = ctx;
  let queue: Queue | undefined;
  const docker = driver instanceof DockerDriver && driver.kind === 'docker' ? driver : undefined;
  const processes = driver instanceof ProcessDriver ? driver : undefined;
  const usageOptions = options.usageCache ?? USAGE_CACHE_DEFAULTS;
  const usage = docker
    ? new UsageCache((id, signal) => dockerUsage(docker.docker, containerName(id), signal), usageOptions)
    : processes
      ? new UsageCache(async (id) => {
          const dirs = processes.cgroupDirs(id);
          return dirs ? cgroupUsage(dirs) : undefined;
        }, usageOptions)
      : undefined;
  const disk =
    docker || processes ? new DiskUsage((id) => driver.workspaceRoot(id), options.diskRefreshMs) : undefined;
  let dockerRoot: Promise<string> | undefined;

  return {
    async queueDepths() {
      // Shares the runner's connection; closing the queue leaves it open.
      queue ??= new Queue(ctx.credential.queueName, {
        connection: ctx.redis,
        prefix: ctx.credential.bullPrefix,
      });
      const [counts, calls] = await Promise.all([
        queue.getJobCounts('wait', 'prioritized', 'paused'),
        ctx.redis.llen(callListKey(ctx.keys.base)),
      ]);
      return { jobs: Object.values(counts).reduce((a, b) => a + b, 0), calls };
    },
    async workspaces() {
      // Ids go into Docker API paths and label values: only well-formed ones, whatever Redis holds.
      const ids = (await ctx.redis.smembers(ctx.keys.workspaces)).filter(isValidWorkspaceId);
      const out = new Map<string, ScrapedWorkspace>();
      if (ids.length === 0) return out;
      const raw = await ctx.redis.mget(...ids.map((id) => ctx.keys.workspaceStatus(id)));
      ids.forEach((id, i) => {
        out.set(id, {
          state: statusOf(raw[i] ?? null),
          local: !ctx.workspaceServer.has(id) && !ctx.foreign.has(id),
        });
      });
      return out;
    },
    terminalSessions: () => ctx.terminals.count,
    ...(usage ? { usage } : {}),
    ...(disk ? { disk } : {}),
    workspaceDisk() {
      if (processes) return Promise.resolve(processes.root);
      if (docker) {
        dockerRoot ??= docker.docker.info().then(
          (info: { DockerRootDir?: string }) => info.DockerRootDir ?? config(ctx),
          () => config(ctx),
        );
        return dockerRoot;
      }
      return Promise.resolve(config(ctx));
    },
    async close() {
      await queue?.close().catch(() => {});
    },
  };
}

const config = (ctx: RunnerContext) => ctx.config.KEEL_RUNNER_DATA_DIR;

/** The contract's status (a bounded label), or `unknown`. */
function statusOf(raw: string | null): string {
  if (raw === null) return 'unknown';
  try {
    const parsed = WorkspaceStatus.safeParse((JSON.parse(raw) as { status?: unknown }).status);
    return parsed.success ? parsed.data : 'unknown';
  } catch {
    return 'unknown';
  }
}
