/*
 * Best-effort resource limits for the process driver: one cgroup per workspace under
 * a `keel` parent, on cgroup v2 or v1 (whatever the host mounts), when the runner may
 * write to cgroupfs (root, not in a read-only /sys). Anything that cannot be set is left
 * out of `enforced` rather than failing the workspace.
 */
import { access, mkdir, readFile, rmdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

export type LimitKind = 'memory' | 'cpu' | 'pids';

export interface CgroupLimits {
  cpus: number;
  memoryMb: number;
  pidsLimit: number;
}

/** Where a workspace's usage is read (metrics): the v2 folder, or the v1 memory and cpuacct ones. */
export interface CgroupDirs {
  v2?: string;
  memory?: string;
  cpuacct?: string;
}

export interface WorkspaceCgroup {
  /** cgroup.procs files a process must be written into to join (one per v1 hierarchy). */
  readonly procsFiles: string[];
  readonly dirs: CgroupDirs;
  readonly enforced: LimitKind[];
  killAll(): Promise<void>;
  destroy(): Promise<void>;
}

const CGROUP_ROOT = '/sys/fs/cgroup';
const CPU_PERIOD_US = 100_000;

const exists = (p: string) =>
  access(p).then(
    () => true,
    () => false,
  );

async function tryWrite(file: string, value: string): Promise<boolean> {
  try {
    await writeFile(file, value);
    return true;
  } catch {
    return false;
  }
}

/** The pids listed in a cgroup.procs file, without init. */
export async function readPids(procsFile: string): Promise<number[]> {
  const text = await readFile(procsFile, 'utf8').catch(() => '');
  return text
    .split('\n')
    .filter(Boolean)
    .map(Number)
    .filter((n) => n > 1);
}

async function killUntilEmpty(procsFiles: string[]): Promise<void> {
  // Processes can fork while we kill: repeat until a pass finds nobody.
  for (let i = 0; i < 100; i++) {
    const pids = new Set((await Promise.all(procsFiles.map(readPids))).flat());
    if (pids.size === 0) return;
    for (const pid of pids) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    }
    await new Promise((r) => setTimeout(r, 20));
  }
}

async function rmdirRetry(dir: string): Promise<void> {
  // A killed task leaves the cgroup a moment after its SIGKILL.
  for (let i = 0; i < 50; i++) {
    try {
      await rmdir(dir);
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EBUSY') return;
      await new Promise((r) => setTimeout(r, 20));
    }
  }
}

/** Drops the shared `keel` parent once its last workspace is gone, so it never pins the runner's own cgroup. */
async function removeIfEmpty(dir: string): Promise<void> {
  await rmdir(dir).catch(() => {});
}

async function createV2(name: string, limits: CgroupLimits): Promise<WorkspaceCgroup | undefined> {
  const parent = path.join(CGROUP_ROOT, 'keel');
  await mkdir(parent, { recursive: true });
  // Controllers must be enabled on every level above the leaf.
  await tryWrite(path.join(CGROUP_ROOT, 'cgroup.subtree_control'), '+memory +cpu +pids');
  await tryWrite(path.join(parent, 'cgroup.subtree_control'), '+memory +cpu +pids');
  const dir = path.join(parent, name);
  await mkdir(dir, { recursive: true });
  const enforced: LimitKind[] = [];
  if (await tryWrite(path.join(dir, 'memory.max'), String(limits.memoryMb * 1024 * 1024))) {
    enforced.push('memory');
    await tryWrite(path.join(dir, 'memory.swap.max'), '0');
  }
  const quota = Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US));
  if (await tryWrite(path.join(dir, 'cpu.max'), `${quota} ${CPU_PERIOD_US}`)) enforced.push('cpu');
  if (await tryWrite(path.join(dir, 'pids.max'), String(limits.pidsLimit))) enforced.push('pids');
  const procsFiles = [path.join(dir, 'cgroup.procs')];
  const killAll = async () => {
    // cgroup.kill (Linux 5.14+) kills atomically, including tasks forked meanwhile.
    await tryWrite(path.join(dir, 'cgroup.kill'), '1');
    await killUntilEmpty(procsFiles);
  };
  return {
    procsFiles,
    dirs: { v2: dir },
    enforced,
    killAll,
    async destroy() {
      await killAll();
      await rmdirRetry(dir);
      await removeIfEmpty(parent);
    },
  };
}

/** The runner's own cgroup per v1 controller, so workspaces nest under (and within) its limits. */
async function ownV1Paths(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const text = await readFile('/proc/self/cgroup', 'utf8').catch(() => '');
  for (const line of text.split('\n')) {
    const [, controllers, cgPath] = line.split(':');
    if (!controllers || !cgPath) continue;
    for (const c of controllers.split(',')) out.set(c, cgPath);
  }
  return out;
}

async function createV1(name: string, limits: CgroupLimits): Promise<WorkspaceCgroup | undefined> {
  const enforced: LimitKind[] = [];
  const dirs: string[] = [];
  const own = await ownV1Paths();
  const found: CgroupDirs = {};
  const join = async (controller: string, apply: (dir: string) => Promise<boolean>, kind?: LimitKind) => {
    const base = path.join(CGROUP_ROOT, controller);
    if (!(await exists(path.join(base, 'cgroup.procs')))) return;
    const dir = path.join(base, own.get(controller) ?? '/', 'keel', name);
    try {
      await mkdir(dir, { recursive: true });
    } catch {
      return;
    }
    dirs.push(dir);
    if (controller === 'memory' || controller === 'cpuacct') found[controller] = dir;
    if ((await apply(dir)) && kind) enforced.push(kind);
  };
  const bytes = String(limits.memoryMb * 1024 * 1024);
  await join(
    'memory',
    async (dir) => {
      const ok = await tryWrite(path.join(dir, 'memory.limit_in_bytes'), bytes);
      // memsw = memory: no swap on top (only present with swap accounting).
      await tryWrite(path.join(dir, 'memory.memsw.limit_in_bytes'), bytes);
      return ok;
    },
    'memory',
  );
  await join(
    'cpu',
    async (dir) =>
      (await tryWrite(path.join(dir, 'cpu.cfs_period_us'), String(CPU_PERIOD_US))) &&
      tryWrite(
        path.join(dir, 'cpu.cfs_quota_us'),
        String(Math.max(1000, Math.round(limits.cpus * CPU_PERIOD_US))),
      ),
    'cpu',
  );
  await join('pids', (dir) => tryWrite(path.join(dir, 'pids.max'), String(limits.pidsLimit)), 'pids');
  // CPU time is counted by cpuacct, which limits nothing; joined only where it is a hierarchy of
  // its own (mounted with cpu, the cpu folder above already counts).
  if (await exists(path.join(CGROUP_ROOT, 'cpu', 'cpuacct.usage'))) {
    const cpuDir = dirs.find((d) => d.startsWith(path.join(CGROUP_ROOT, 'cpu/')));
    if (cpuDir) found.cpuacct = cpuDir;
  } else {
    await join('cpuacct', async () => true);
  }
  if (dirs.length === 0) return undefined;
  const procsFiles = dirs.map((d) => path.join(d, 'cgroup.procs'));
  return {
    procsFiles,
    dirs: found,
    enforced,
    killAll: () => killUntilEmpty(procsFiles),
    async destroy() {
      await killUntilEmpty(procsFiles);
      await Promise.all(dirs.map(rmdirRetry));
      await Promise.all(dirs.map((d) => removeIfEmpty(path.dirname(d))));
    },
  };
}

/** Creates (or re-applies limits to) the workspace's cgroup; undefined when none can be made. */
export async function createCgroup(name: string, limits: CgroupLimits): Promise<WorkspaceCgroup | undefined> {
  if (process.getuid?.() !== 0) return undefined;
  try {
    if (await exists(path.join(CGROUP_ROOT, 'cgroup.controllers'))) return await createV2(name, limits);
    return await createV1(name, limits);
  } catch {
    return undefined;
  }
}
