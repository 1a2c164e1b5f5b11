import { statfs } from 'node:fs/promises';
import { freemem, totalmem } from 'node:os';
import { WorkspaceStatus } from '@keel/contract/workspaces';
import { Gauge } from 'prom-client';
import type { DiskUsage } from './disk-usage.ts';
import type { RunnerMetrics } from './registry.ts';
import type { UsageCache } from './usage-cache.ts';
import type { WorkloadUsage } from './workload-usage.ts';

/** One of this runner's workspaces as the scrape sees it. */
export interface ScrapedWorkspace {
  /** Keel's status as this runner last wrote it; `unknown` when unreadable. */
  state: string;
  /** Its usage can be read on this runner's host (its own driver, not an infrastructure server's). */
  local: boolean;
}

/** What a scrape reads, at scrape time; each part may fail alone. */
export interface ScrapeSources {
  queueDepths(): Promise<Record<string, number>>;
  workspaces(): Promise<Map<string, ScrapedWorkspace>>;
  terminalSessions(): number;
  /** Usage of running local workspaces; absent where the driver has no way to read it. */
  usage?: UsageCache;
  /** Folder sizes of local workspaces; absent where the driver has no folder on this host. */
  disk?: DiskUsage;
  /** A path on the file system that holds this runner's workspaces. */
  workspaceDisk(): Promise<string>;
}

const WORKSPACE_GAUGES = [
  'keel_workspace_cpu_seconds_total',
  'keel_workspace_memory_bytes',
  'keel_workspace_memory_limit_bytes',
  'keel_workspace_disk_bytes',
  'keel_workspace_network_receive_bytes_total',
  'keel_workspace_network_transmit_bytes_total',
] as const;

/**
 * Returns the function a scrape calls before rendering: it reads the figures kept outside the
 * registry (queues, workspaces, usage, host) into it. Per-workspace series exist only for
 * workspaces on this runner now: one that left has its series removed (`remove`), so the
 * `workspace` label stays bounded by the runner's own workspaces.
 */
export function scrapeRefresher(m: RunnerMetrics, s: ScrapeSources): () => Promise<void> {
  const shown = new Set<string>();
  const set = (name: (typeof WORKSPACE_GAUGES)[number], id: string, value: number | undefined) => {
    const metric = m[name];
    metric.remove(id);
    if (value === undefined) return;
    // A counter cannot be set: the reading is the total since the workload started, so it is
    // exported as is (a restarted container starts again from 0, which rate() reads as a reset).
    if (metric instanceof Gauge) metric.set({ workspace: id }, value);
    else metric.inc({ workspace: id }, value);
  };
  const fill = (id: string, usage: WorkloadUsage | undefined, disk: number | undefined) => {
    set('keel_workspace_cpu_seconds_total', id, usage?.cpuSeconds);
    set('keel_workspace_memory_bytes', id, usage?.memoryBytes);
    set('keel_workspace_memory_limit_bytes', id, usage?.memoryLimitBytes);
    set('keel_workspace_network_receive_bytes_total', id, usage?.receiveBytes);
    set('keel_workspace_network_transmit_bytes_total', id, usage?.transmitBytes);
    set('keel_workspace_disk_bytes', id, disk);
  };

  const queues = async () => {
    const depths = await s.queueDepths();
    for (const [queue, n] of Object.entries(depths)) m.keel_runner_queue_depth.set({ queue }, n);
  };

  const workspaces = async () => {
    const all = await s.workspaces();
    const counts = new Map<string, number>(WorkspaceStatus.options.map((state) => [state, 0]));
    for (const w of all.values()) counts.set(w.state, (counts.get(w.state) ?? 0) + 1);
    m.keel_runner_workspaces.reset();
    for (const [state, n] of counts) m.keel_runner_workspaces.set({ state }, n);

    const local = [...all].filter(([, w]) => w.local).map(([id]) => id);
    const running = local.filter((id) => all.get(id)?.state === 'running');
    const usage = (await s.usage?.get(running)) ?? new Map<string, WorkloadUsage>();
    const disk = s.disk?.sizes(local) ?? new Map<string, number>();
    const now = new Set(local);
    for (const id of shown) {
      if (now.has(id)) continue;
      for (const name of WORKSPACE_GAUGES) m[name].remove(id);
      shown.delete(id);
    }
    for (const id of local) {
      fill(id, usage.get(id), disk.get(id));
      shown.add(id);
    }
  };

  const host = async () => {
    m.keel_runner_memory_used_ratio.set(1 - freemem() / totalmem());
    const fsStats = await statfs(await s.workspaceDisk());
    const used = fsStats.blocks - fsStats.bfree;
    // As df counts: the blocks kept for root are neither used nor available.
    m.keel_runner_disk_used_ratio.set(used + fsStats.bavail > 0 ? used / (used + fsStats.bavail) : 0);
  };

  return async () => {
    m.keel_runner_terminal_sessions.set(s.terminalSessions());
    // Each part alone: Redis slow or dockerd gone must not blank the other figures.
    await Promise.allSettled([queues(), workspaces(), host()]);
  };
}
