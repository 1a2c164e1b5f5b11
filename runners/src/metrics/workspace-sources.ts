import { WorkspaceStatus } from '@keel/contract/workspaces';
import type { RunnerContext } from '../runner-context.ts';
import { containerName, DockerDriver } from '../workloads/docker.ts';
import { ProcessDriver } from '../workloads/process.ts';
import { isValidWorkspaceId } from '../workloads/types.ts';
import { cgroupUsage } from './cgroup-usage.ts';
import { DiskUsage } from './disk-usage.ts';
import { dockerUsage } from './docker-usage.ts';
import type { ScrapedWorkspace } from './scrape.ts';
import { USAGE_CACHE_DEFAULTS, UsageCache, type UsageCacheOptions } from './usage-cache.ts';

export interface WorkspaceUsageOptions {
  usageCache?: UsageCacheOptions;
  /** How often a workspace folder is measured at most. */
  diskRefreshMs?: number;
}

/**
 * Where each workspace's usage is read on this runner, per driver: CPU and memory (Docker's
 * stats or the sandbox's cgroup, cached), and folder sizes (measured in the background). Shared
 * by the scrape and the usage sampler (usage/), each with its own caches.
 */
export function workspaceUsageReaders(
  ctx: RunnerContext,
  options: WorkspaceUsageOptions = {},
): { usage?: UsageCache; disk?: DiskUsage } {
  const { driver } = ctx;
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
  return { ...(usage ? { usage } : {}), ...(disk ? { disk } : {}) };
}

/** This runner's workspaces (those with a status under its prefix), their state, and whether they are local. */
export async function runnerWorkspaces(ctx: RunnerContext): Promise<Map<string, ScrapedWorkspace>> {
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
}

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
