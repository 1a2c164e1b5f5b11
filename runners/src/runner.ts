import { chmod, mkdir } from 'node:fs/promises';
import { OtlpExporter, otlpConfigFrom } from '@keel/contract/otlp';
import { CHECK_IN_INTERVAL_MS, HEARTBEAT_INTERVAL_MS, HEARTBEAT_RENEW_MS } from '@keel/contract/runners';
import { Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import { bounded } from './bounded.ts';
import { CallConsumer } from './call-consumer.ts';
import type { RunnerConfig } from './env.ts';
import { removeStaleCopies } from './fleet/stale-copies.ts';
import { expireJob, processJob } from './handlers/index.ts';
import { gpuStats } from './heartbeat.ts';
import { publishHeartbeat, renewHeartbeat } from './heartbeat-publisher.ts';
import { exportJobSpansTo, traceOfJobData } from './job-log.ts';
import { log } from './log.ts';
import { NO_METRICS } from './metrics/recorder.ts';
import type { RunnerMetricsHandle, RunnerMetricsOptions } from './metrics/runner-metrics.ts';
import { Previews } from './preview/previews.ts';
import { connectRunnerRedis } from './redis-connection.ts';
import { checkIn, type SavedCredential } from './registration.ts';
import { RunnerContext, type ServerOptions } from './runner-context.ts';
import { collectServerResources, RESOURCES_INTERVAL_MS } from './servers/resources.ts';
import { startUsageReporting } from './usage/usage-reporting.ts';
import type { UsageSampler } from './usage/usage-sampler.ts';
import type { WorkloadDriver } from './workloads/types.ts';
import { stopIdle } from './workspaces/idle-stop.ts';
import { reattach } from './workspaces/reattach.ts';

/**
 * The runner daemon: pulls jobs from its own queue, drives workspaces through its own
 * workload driver and those of the infrastructure servers assigned to it, collects those
 * servers' resources, streams output into Redis, and reports heartbeats. `stop()` lets
 * in-flight jobs finish; unfinished ones return to the queue for the next start.
 * What each job type does is in `handlers/`, one file per area.
 */
export class Runner {
  private readonly ctx: RunnerContext;
  private worker: Worker | undefined;
  private workerConnection: Redis | undefined;
  private calls: CallConsumer | undefined;
  private callConnection: Redis | undefined;
  private timers: NodeJS.Timeout[] = [];
  private gpus: Awaited<ReturnType<typeof gpuStats>> = [];
  private lastCollectionError: string | undefined;
  private collecting: Promise<void> | undefined;
  private checking: Promise<string[]> | undefined;
  private lastPlacementsError: string | undefined;
  private metrics: RunnerMetricsHandle = { recorder: NO_METRICS, port: undefined, close: async () => {} };
  private spans: OtlpExporter | undefined;
  private usage: UsageSampler | undefined;
  /** Tests shorten the usage cache and the disk refresh. */
  metricsOptions: RunnerMetricsOptions = {};
  onRevoked: () => void = () => {};
  /** The edge now speaks another protocol major: this runner cannot work for it. */
  onCannotRun: () => void = () => {};

  constructor(
    private readonly config: RunnerConfig,
    private readonly credential: SavedCredential,
    private readonly driver: WorkloadDriver,
    serverOptions: ServerOptions = {},
  ) {
    this.ctx = new RunnerContext(config, credential, driver, serverOptions);
  }

  get runnerId(): string {
    return this.credential.runnerId;
  }

  async start(): Promise<void> {
    await mkdir(this.config.KEEL_RUNNER_DATA_DIR, { recursive: true });
    // The sandboxed workspace user walks through here to reach its folder (see registration).
    await chmod(this.config.KEEL_RUNNER_DATA_DIR, 0o711);
    // First: a metrics port that cannot be bound fails the start before any work is taken.
    // Loaded only when on: a runner without metrics does not load prom-client at all.
    if (this.config.KEEL_RUNNER_METRICS_PORT !== undefined) {
      const { startRunnerMetrics } = await import('./metrics/runner-metrics.ts');
      this.metrics = await startRunnerMetrics(this.ctx, this.metricsOptions);
      log('info', 'metrics served', {
        url: `http://${this.config.KEEL_RUNNER_METRICS_HOST}:${this.metrics.port}/metrics`,
        token: this.config.KEEL_RUNNER_METRICS_TOKEN !== undefined,
      });
    }
    // A span per job to an OpenTelemetry collector, when one is configured (contract/otlp).
    const {
      OTEL_EXPORTER_OTLP_ENDPOINT,
      OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
      OTEL_EXPORTER_OTLP_HEADERS,
      OTEL_SERVICE_NAME,
    } = this.config;
    const otlp = otlpConfigFrom(
      {
        OTEL_EXPORTER_OTLP_ENDPOINT,
        OTEL_EXPORTER_OTLP_TRACES_ENDPOINT,
        OTEL_EXPORTER_OTLP_HEADERS,
        OTEL_SERVICE_NAME,
      },
      'keel-runner',
    );
    this.spans = otlp ? new OtlpExporter(otlp) : undefined;
    exportJobSpansTo(this.spans);
    this.gpus = await gpuStats();
    await this.ctx.generations.load();
    await reattach(this.ctx);
    await this.heartbeat();
    this.timers.push(setInterval(() => void this.heartbeat(), HEARTBEAT_INTERVAL_MS));
    this.timers.push(setInterval(() => void renewHeartbeat(this.ctx), HEARTBEAT_RENEW_MS));
    this.timers.push(setInterval(() => void this.checkRevocation(), CHECK_IN_INTERVAL_MS));
    // Fencing: copies of workspaces that moved away go before any job can touch them.
    await this.checkPlacements();
    this.timers.push(setInterval(() => void this.checkPlacements(), CHECK_IN_INTERVAL_MS));
    // Not awaited: a slow server must not hold the start; the first round begins now.
    void this.collectResources();
    this.timers.push(
      setInterval(
        () => void this.collectResources(),
        this.ctx.serverOptions.resourcesIntervalMs ?? RESOURCES_INTERVAL_MS,
      ),
    );
    if (this.config.KEEL_IDLE_STOP_SECONDS > 0) {
      this.timers.push(
        setInterval(
          () => void stopIdle(this.ctx),
          Math.min(30_000, this.config.KEEL_IDLE_STOP_SECONDS * 250),
        ),
      );
    }
    const connection = connectRunnerRedis(this.config, this.credential);
    this.workerConnection = connection;
    const metrics = this.metrics.recorder;
    this.worker = new Worker(
      this.credential.queueName,
      (job) => {
        if (metrics.enabled)
          metrics.queueWait('jobs', (Date.now() - job.timestamp - (job.opts.delay ?? 0)) / 1000);
        return processJob(job.data, this.ctx, traceOfJobData(job.data), 'jobs');
      },
      {
        connection,
        prefix: this.credential.bullPrefix,
        concurrency: this.config.KEEL_RUNNER_CONCURRENCY,
        // A killed runner's jobs come back to the queue once their lock lapses.
        lockDuration: this.config.KEEL_RUNNER_LOCK_MS,
        stalledInterval: Math.max(500, Math.floor(this.config.KEEL_RUNNER_LOCK_MS / 2)),
        maxStalledCount: 1,
      },
    );
    this.worker.on('error', (err) => log('warn', 'worker error', { error: err.message }));
    await this.worker.waitUntilReady();
    // Request/response calls (file reads, writes, trees…) come on a lighter path than BullMQ.
    this.callConnection = connectRunnerRedis(this.config, this.credential);
    this.calls = new CallConsumer(
      this.ctx.redis,
      this.callConnection,
      this.ctx.keys.base,
      this.config.KEEL_RUNNER_CONCURRENCY,
      (job, trace) => processJob(job, this.ctx, trace, 'calls'),
      (err) => log('warn', 'call failed', { error: String(err) }),
      (job) => expireJob(job, this.ctx),
    );
    this.calls.start();
    this.usage = startUsageReporting(
      this.ctx,
      this.config.KEEL_RUNNER_USAGE_INTERVAL_SECONDS,
      this.metricsOptions.diskRefreshMs !== undefined
        ? { diskRefreshMs: this.metricsOptions.diskRefreshMs }
        : {},
    );
  }

  /**
   * Lets in-flight jobs finish (bounded), then lets go of Redis. Every step has a time
   * limit: when Redis itself is gone, there is nothing left to wait for.
   */
  async stop(): Promise<void> {
    for (const t of this.timers) clearInterval(t);
    this.timers = [];
    await bounded(this.usage?.stop() ?? Promise.resolve(), 5_000);
    await this.ctx.ai.stop();
    await Promise.all([this.calls?.stop(8_000), bounded(this.worker?.close() ?? Promise.resolve(), 8_000)]);
    this.callConnection?.disconnect();
    await bounded(this.ctx.terminals.stop(), 5_000);
    Previews.closeFor(this.ctx);
    await bounded(this.ctx.languageServers.stop(), 5_000);
    await bounded(this.collecting ?? Promise.resolve(), 2_000);
    await bounded(this.checking ?? Promise.resolve(), 5_000);
    await bounded(this.ctx.servers.close(), 5_000);
    await bounded(this.ctx.redis.del(this.ctx.keys.heartbeat), 2_000);
    await bounded(this.metrics.close(), 2_000);
    await bounded(this.spans?.flush() ?? Promise.resolve(), 2_000);
    this.workerConnection?.disconnect();
    this.ctx.redis.disconnect();
  }

  /** The port the metrics listener answers on; undefined when metrics are off. */
  get metricsPort(): number | undefined {
    return this.metrics.port;
  }

  /**
   * The driver's workspaces that this runner placed: those with a status under its own
   * prefix. Other runners may share the Docker engine; theirs are not ours to touch.
   */
  ownWorkspaces(engine?: Map<string, unknown>): Promise<string[]> {
    return this.ctx.ownWorkspaces(engine);
  }

  /**
   * Asks the edge which of this runner's workspaces moved away and removes those copies (see
   * fleet/stale-copies); returns their ids. An edge that cannot answer now is logged once per
   * cause and asked again at the next check-in.
   */
  checkPlacements(): Promise<string[]> {
    this.checking ??= (async () => {
      try {
        const removed = await removeStaleCopies(this.ctx, this.ctx.edge);
        this.lastPlacementsError = undefined;
        return removed;
      } catch (err) {
        const message = err instanceof Error ? err.message : String(err);
        if (message !== this.lastPlacementsError)
          log('warn', 'the placements of this runner could not be checked', { error: message });
        this.lastPlacementsError = message;
        return [];
      } finally {
        this.checking = undefined;
      }
    })();
    return this.checking;
  }

  private heartbeat(): Promise<void> {
    return publishHeartbeat(this.ctx, this.gpus);
  }

  /** One round of the assigned servers' resources into Redis; a round still going is not doubled. */
  private collectResources(): Promise<void> {
    this.collecting ??= (async () => {
      try {
        await collectServerResources({
          redis: this.ctx.redis,
          key: this.ctx.keys.serverResources,
          runnerId: this.runnerId,
          image: this.ctx.workspaceImage,
          // The same list the server drivers follow: a server unassigned here closes its driver too.
          assigned: () => this.ctx.servers.refresh(),
          access: (serverId, purpose) => this.ctx.serverAccess(serverId, purpose),
          probes: this.ctx.serverOptions.probes,
          ...(this.ctx.serverOptions.probeTimeoutMs
            ? { timeoutMs: this.ctx.serverOptions.probeTimeoutMs }
            : {}),
        });
        this.lastCollectionError = undefined;
      } catch (err) {
        // Said once per cause: an edge without servers answers the same every round.
        const message = err instanceof Error ? err.message : String(err);
        if (message !== this.lastCollectionError)
          log('warn', 'server resources not collected', { error: message });
        this.lastCollectionError = message;
      } finally {
        this.collecting = undefined;
      }
    })();
    return this.collecting;
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
}
