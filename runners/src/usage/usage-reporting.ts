import { readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageReportAnswer, type UsageSampleReport } from '@keel/contract/usage';
import { callEdge } from '../edge-call.ts';
import {
  runnerWorkspaces,
  type WorkspaceUsageOptions,
  workspaceUsageReaders,
} from '../metrics/workspace-sources.ts';
import type { RunnerContext } from '../runner-context.ts';
import {
  type PreviousReading,
  type ReportOutcome,
  UsageSampler,
  type WorkspaceReading,
} from './usage-sampler.ts';

class UsageReportError extends Error {
  constructor(
    readonly reason: 'unreachable' | 'refused' | 'invalid',
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

/**
 * Sends one report as the runner itself; 4xx other than 429 is final, anything else retried. A
 * delivered report may name workspaces whose samples the edge refused (see UsageReportAnswer).
 */
export async function sendUsageReport(ctx: RunnerContext, report: UsageSampleReport): Promise<ReportOutcome> {
  try {
    const answer = UsageReportAnswer.safeParse(
      await callEdge(
        ctx.edge,
        { method: 'POST', path: '/api/runners/usage-reports', what: 'a usage report', body: report },
        (reason, message, status) => new UsageReportError(reason, message, status),
      ),
    );
    // An edge of before the answer said nothing (204): delivered all the same.
    if (answer.success && answer.data.refused.length > 0) return { refusedWorkspaces: answer.data.refused };
    return 'delivered';
  } catch (err) {
    if (err instanceof UsageReportError && err.reason === 'refused' && err.status !== 429) return 'refused';
    return 'retry';
  }
}

/**
 * The runner's usage sampler (see UsageSampler), reading its running workspaces with the same
 * readers as its metrics (metrics/workspace-sources.ts): CPU and memory from Docker's stats or
 * the sandbox's cgroup, folder sizes measured in the background. Workspaces on infrastructure
 * servers count their running time only: their figures cannot be read from this host.
 */
export function startUsageReporting(
  ctx: RunnerContext,
  intervalSeconds: number,
  options: WorkspaceUsageOptions = {},
): UsageSampler {
  const intervalMs = intervalSeconds * 1000;
  // Fresh readings each round: the cache only shares a read between rounds that come together.
  const { usage, disk } = workspaceUsageReaders(ctx, {
    usageCache: {
      ttlMs: Math.min(intervalMs / 2, 2_000),
      concurrency: 4,
      timeoutMs: Math.min(intervalMs, 3_000),
    },
    ...(options.diskRefreshMs !== undefined ? { diskRefreshMs: options.diskRefreshMs } : {}),
  });
  const sampler = new UsageSampler(
    {
      async read() {
        const all = await runnerWorkspaces(ctx);
        const running = [...all].filter(([id, w]) => w.state === 'running' && !ctx.foreign.has(id));
        const local = running.filter(([, w]) => w.local).map(([id]) => id);
        const figures = (await usage?.get(local)) ?? new Map();
        const sizes = disk?.sizes(local) ?? new Map<string, number>();
        const out = new Map<string, WorkspaceReading>();
        for (const [id] of running) {
          const f = figures.get(id);
          out.set(id, {
            ...(f?.cpuSeconds !== undefined ? { cpuSeconds: f.cpuSeconds } : {}),
            ...(f?.memoryBytes !== undefined ? { memoryBytes: f.memoryBytes } : {}),
            ...(sizes.has(id) ? { storageBytes: sizes.get(id)! } : {}),
          });
        }
        return out;
      },
      send: (report) => sendUsageReport(ctx, report),
      state: fileState(join(ctx.config.KEEL_RUNNER_DATA_DIR, 'usage-readings.json')),
    },
    intervalMs,
  );
  sampler.start();
  return sampler;
}

/** The sampler's last readings in one small JSON file, replaced whole (write, then rename). */
function fileState(path: string) {
  return {
    async load(): Promise<Record<string, PreviousReading>> {
      const text = await readFile(path, 'utf8').catch(() => undefined);
      if (text === undefined) return {};
      const parsed: unknown = JSON.parse(text);
      const out: Record<string, PreviousReading> = {};
      if (parsed && typeof parsed === 'object') {
        for (const [id, v] of Object.entries(parsed as Record<string, unknown>)) {
          const r = v as Partial<PreviousReading> | null;
          if (r && typeof r.at === 'number' && Number.isFinite(r.at)) {
            out[id] = {
              at: r.at,
              ...(typeof r.cpuSeconds === 'number' ? { cpuSeconds: r.cpuSeconds } : {}),
              ...(typeof r.memoryBytes === 'number' ? { memoryBytes: r.memoryBytes } : {}),
            };
          }
        }
      }
      return out;
    },
    async save(state: Record<string, PreviousReading>): Promise<void> {
      await writeFile(`${path}.tmp`, JSON.stringify(state), { mode: 0o600 });
      await rename(`${path}.tmp`, path);
    },
  };
}
