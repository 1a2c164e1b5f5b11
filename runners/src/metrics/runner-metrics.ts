import { callListKey } from '@keel/contract/keys';
import { Queue } from 'bullmq';
import type { RunnerContext } from '../runner-context.ts';
import { DockerDriver } from '../workloads/docker.ts';
import { ProcessDriver } from '../workloads/process.ts';
import { PromRecorder } from './prom-recorder.ts';
import { NO_METRICS, type RunnerRecorder, useRecorder } from './recorder.ts';
import { buildRunnerRegistry } from './registry.ts';
import { type ScrapeSources, scrapeRefresher } from './scrape.ts';
import { listenForScrapes } from './scrape-listener.ts';
import { runnerWorkspaces, type WorkspaceUsageOptions, workspaceUsageReaders } from './workspace-sources.ts';

/** A scrape answers with what it has after this, rather than hang on a slow engine. */
const REFRESH_LIMIT_MS = 5_000;

export interface RunnerMetricsHandle {
  readonly recorder: RunnerRecorder;
  /** The port scrapes are answered on; undefined when metrics are off. */
  readonly port: number | undefined;
  close(): Promise<void>;
}

export type RunnerMetricsOptions = WorkspaceUsageOptions;

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
  const { usage, disk } = workspaceUsageReaders(ctx, options);
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
    workspaces: () => runnerWorkspaces(ctx),
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
