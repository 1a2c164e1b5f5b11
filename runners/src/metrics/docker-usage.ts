import type Docker from 'dockerode';
import { namespaceTraffic, realLimit, type WorkloadUsage } from './workload-usage.ts';

/** The parts of `GET /containers/{id}/stats?stream=false` read here (cgroup v1 and v2). */
interface DockerStats {
  cpu_stats?: { cpu_usage?: { total_usage?: number } };
  memory_stats?: {
    usage?: number;
    limit?: number;
    stats?: { inactive_file?: number; total_inactive_file?: number };
  };
  networks?: Record<string, { rx_bytes?: number; tx_bytes?: number }>;
}

/**
 * One running container's usage: a one-shot stats read (`one-shot` skips the second sample
 * dockerd otherwise waits a second for), and, for a container with no network of Docker's
 * (Keel's are `none`, with slirp4netns in their namespace), the namespace's counters through
 * its first process. Memory is counted as `docker stats` counts it: without inactive page cache.
 */
export async function dockerUsage(
  docker: Docker,
  container: string,
  signal: AbortSignal,
): Promise<WorkloadUsage> {
  const handle = docker.getContainer(container);
  const [stats, info] = await Promise.all([
    handle.stats({
      stream: false,
      'one-shot': true,
      abortSignal: signal,
    } as never) as unknown as Promise<DockerStats>,
    (
      handle.inspect({ abortSignal: signal } as never) as unknown as Promise<Docker.ContainerInspectInfo>
    ).catch(() => undefined),
  ]);
  const usage: WorkloadUsage = {};
  const cpuNs = stats.cpu_stats?.cpu_usage?.total_usage;
  if (cpuNs !== undefined) usage.cpuSeconds = cpuNs / 1e9;
  const mem = stats.memory_stats;
  if (mem?.usage !== undefined) {
    const cache = mem.stats?.inactive_file ?? mem.stats?.total_inactive_file ?? 0;
    usage.memoryBytes = Math.max(0, mem.usage - cache);
  }
  // The container's own limit; dockerd reports the host's memory when it has none.
  const limit = realLimit(info?.HostConfig?.Memory || undefined) ?? realLimit(mem?.limit);
  if (limit !== undefined) usage.memoryLimitBytes = limit;
  const networks = Object.values(stats.networks ?? {});
  if (networks.length > 0) {
    usage.receiveBytes = networks.reduce((n, x) => n + (x.rx_bytes ?? 0), 0);
    usage.transmitBytes = networks.reduce((n, x) => n + (x.tx_bytes ?? 0), 0);
  } else {
    const traffic = await namespaceTraffic(info?.State?.Pid ?? 0);
    if (traffic) Object.assign(usage, traffic);
  }
  return usage;
}
