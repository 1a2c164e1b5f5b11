import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { CgroupDirs } from '../workloads/cgroups.ts';
import { namespaceTraffic, realLimit, type WorkloadUsage } from './workload-usage.ts';

const read = (file: string) => readFile(file, 'utf8').catch(() => undefined);

function statField(text: string | undefined, field: string): number | undefined {
  const m = text && new RegExp(`^${field} (\\d+)$`, 'm').exec(text);
  return m ? Number(m[1]) : undefined;
}

const number = (text: string | undefined) => {
  const n = text === undefined ? Number.NaN : Number(text.trim());
  return Number.isFinite(n) ? n : undefined;
};

/**
 * A process-driver workspace's usage from its own cgroup's files: v2 `cpu.stat`
 * (usage_usec), `memory.current` and `memory.max`; v1 `cpuacct.usage` (ns),
 * `memory.usage_in_bytes` and `memory.limit_in_bytes`. Memory leaves out inactive page cache,
 * as Docker counts it. Traffic is read through one of its processes (see namespaceTraffic).
 */
export async function cgroupUsage(dirs: CgroupDirs): Promise<WorkloadUsage> {
  const usage: WorkloadUsage = {};
  let procs: string | undefined;
  if (dirs.v2) {
    const [cpu, current, max, stat] = await Promise.all(
      ['cpu.stat', 'memory.current', 'memory.max', 'memory.stat'].map((f) => read(path.join(dirs.v2!, f))),
    );
    const usec = statField(cpu, 'usage_usec');
    if (usec !== undefined) usage.cpuSeconds = usec / 1e6;
    const bytes = number(current);
    if (bytes !== undefined) usage.memoryBytes = Math.max(0, bytes - (statField(stat, 'inactive_file') ?? 0));
    const limit = realLimit(number(max));
    if (limit !== undefined) usage.memoryLimitBytes = limit;
    procs = await read(path.join(dirs.v2, 'cgroup.procs'));
  } else {
    if (dirs.cpuacct) {
      const ns = number(await read(path.join(dirs.cpuacct, 'cpuacct.usage')));
      if (ns !== undefined) usage.cpuSeconds = ns / 1e9;
    }
    if (dirs.memory) {
      const [current, limit, stat] = await Promise.all(
        ['memory.usage_in_bytes', 'memory.limit_in_bytes', 'memory.stat'].map((f) =>
          read(path.join(dirs.memory!, f)),
        ),
      );
      const bytes = number(current);
      if (bytes !== undefined)
        usage.memoryBytes = Math.max(0, bytes - (statField(stat, 'total_inactive_file') ?? 0));
      const max = realLimit(number(limit));
      if (max !== undefined) usage.memoryLimitBytes = max;
      procs = await read(path.join(dirs.memory, 'cgroup.procs'));
    }
  }
  const pid = Number(procs?.split('\n').find(Boolean));
  const traffic = await namespaceTraffic(pid);
  if (traffic) Object.assign(usage, traffic);
  return usage;
}
