import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/**
 * CPU and memory of the system's processes, read from /proc while the load runs: each role is
 * a process and, where asked, everything under it (PostgreSQL's backends, the runner's workspaces).
 */
export interface WatchedProcess {
  role: string;
  pid: number;
  /** Count the process's descendants too. */
  tree: boolean;
  /** Leave out this pid's subtree (the runner's workspaces are their own role). */
  exclude?: number[];
}

export interface ProcessFigures {
  role: string;
  /** Mean CPU over the run, in percent of one core. */
  cpuPercent: number;
  /** Largest resident set seen, MiB. */
  maxRssMiB: number;
}

const CLOCK_TICKS = (() => {
  try {
    return Number(execFileSync('getconf', ['CLK_TCK']).toString().trim()) || 100;
  } catch {
    return 100;
  }
})();

interface Snapshot {
  ppid: Map<number, number>;
  ticks: Map<number, number>;
  rssPages: Map<number, number>;
}

function readProc(): Snapshot {
  const snap: Snapshot = { ppid: new Map(), ticks: new Map(), rssPages: new Map() };
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    } catch {
      continue; // Gone between the listing and the read.
    }
    // The command name may hold spaces and parentheses: the fields start after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    snap.ppid.set(pid, Number(fields[1]));
    snap.ticks.set(pid, Number(fields[11]) + Number(fields[12]));
    snap.rssPages.set(pid, Number(fields[21]));
  }
  return snap;
}

function members(snap: Snapshot, w: WatchedProcess): number[] {
  if (!snap.ppid.has(w.pid)) return [];
  if (!w.tree) return [w.pid];
  const children = new Map<number, number[]>();
  for (const [pid, parent] of snap.ppid) children.set(parent, [...(children.get(parent) ?? []), pid]);
  const out: number[] = [];
  const todo = [w.pid];
  while (todo.length > 0) {
    const pid = todo.pop()!;
    if (w.exclude?.includes(pid)) continue;
    out.push(pid);
    todo.push(...(children.get(pid) ?? []));
  }
  return out;
}

const PAGE_MIB = 4096 / 2 ** 20;

/** Samples the watched processes once a second until stopped. */
export function watchProcesses(watched: WatchedProcess[]): { stop(): ProcessFigures[] } {
  const start = performance.now();
  // CPU of processes that came and went between samples is counted from their first sample.
  const firstTicks = new Map<number, number>();
  const lastTicks = new Map<number, number>();
  const maxRss = new Map<string, number>();
  // A pid may count for two roles (the runner alone, and the runner with its workspaces).
  const seen = new Map<string, Set<number>>(watched.map((w) => [w.role, new Set()]));
  const sample = () => {
    const snap = readProc();
    for (const w of watched) {
      let rss = 0;
      for (const pid of members(snap, w)) {
        seen.get(w.role)!.add(pid);
        const ticks = snap.ticks.get(pid) ?? 0;
        if (!firstTicks.has(pid)) firstTicks.set(pid, ticks);
        lastTicks.set(pid, ticks);
        rss += snap.rssPages.get(pid) ?? 0;
      }
      maxRss.set(w.role, Math.max(maxRss.get(w.role) ?? 0, rss * PAGE_MIB));
    }
  };
  sample();
  const timer = setInterval(sample, 1_000);
  return {
    stop() {
      clearInterval(timer);
      sample();
      const seconds = (performance.now() - start) / 1000;
      const ticks = new Map<string, number>();
      for (const [role, pids] of seen)
        for (const pid of pids)
          ticks.set(role, (ticks.get(role) ?? 0) + (lastTicks.get(pid) ?? 0) - (firstTicks.get(pid) ?? 0));
      return watched.map((w) => ({
        role: w.role,
        cpuPercent: Math.round(((ticks.get(w.role) ?? 0) / CLOCK_TICKS / seconds) * 1000) / 10,
        maxRssMiB: Math.round(maxRss.get(w.role) ?? 0),
      }));
    },
  };
}

/**
 * The process listening on a local TCP port (the kernel's socket table, then whose descriptor
 * holds that socket): how the test finds Redis, PostgreSQL or an edge it did not start itself.
 */
export function pidListeningOn(port: number): number | undefined {
  const inodes = new Set<string>();
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text = '';
    try {
      text = readFileSync(table, 'utf8');
    } catch {
      continue;
    }
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      // local_address is HEX_IP:HEX_PORT; state 0A is LISTEN.
      if (f[3] === '0A' && Number.parseInt(f[1]?.split(':')[1] ?? '', 16) === port) inodes.add(f[9]!);
    }
  }
  if (inodes.size === 0) return undefined;
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid)) continue;
    let fds: string[];
    try {
      fds = readdirSync(`/proc/${pid}/fd`);
    } catch {
      continue;
    }
    for (const fd of fds) {
      try {
        const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
        if (m && inodes.has(m[1]!)) return pid;
      } catch {}
    }
  }
  return undefined;
}
