/**
 * Who is using a data folder now: the edge of scripts/up (which holds PGlite's files open), its
 * Redis (whose working folder is the data folder's redis/), its runner (started with
 * KEEL_RUNNER_DATA_DIR inside it). Read from /proc, for this user's processes; a restore
 * refuses while any of them runs, and the embedded database is backed up only while none does.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { sep } from 'node:path';

export interface Holder {
  pid: number;
  command: string;
  why: string;
}

const inside = (path: string, dir: string) =>
  path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);

/** This process and its ancestors. */
function ancestry(): Set<number> {
  const out = new Set<number>([process.pid]);
  let pid = process.ppid;
  while (pid > 1 && !out.has(pid)) {
    out.add(pid);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      pid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    } catch {
      break;
    }
  }
  return out;
}

/** Processes using `dataDir` (absolute); undefined where /proc cannot tell (not Linux). */
export function holdersOf(dataDir: string): Holder[] | undefined {
  if (!existsSync('/proc/self/fd')) return undefined;
  const skip = ancestry();
  const holders: Holder[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid) continue;
    // The scripts that started this one carry the same settings and may stand in the folder;
    // only files they hold open count (a test that holds PGlite open, say).
    const why = reasonToHold(pid, dataDir, skip.has(pid));
    if (!why) continue;
    let command = '?';
    try {
      command = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .join(' ')
        .slice(0, 160);
    } catch {
      // Gone meanwhile.
    }
    holders.push({ pid, command, why });
  }
  return holders;
}

function reasonToHold(pid: number, dataDir: string, ancestor: boolean): string | undefined {
  try {
    const cwd = readlinkSync(`/proc/${pid}/cwd`);
    if (!ancestor && inside(cwd, dataDir)) return `works in ${cwd}`;
  } catch {
    return undefined; // Another user's process, or gone: not ours to judge.
  }
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      let target: string;
      try {
        target = readlinkSync(`/proc/${pid}/fd/${fd}`);
      } catch {
        continue;
      }
      if (inside(target, dataDir)) return `has ${target} open`;
    }
  } catch {
    // Unreadable: leave it to the other checks.
  }
  if (ancestor) return undefined;
  try {
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    for (const entry of env) {
      const at = entry.indexOf('=');
      const [key, value] = [entry.slice(0, at), entry.slice(at + 1)];
      if (key === 'KEEL_RUNNER_DATA_DIR' && inside(value, dataDir)) return `is a runner on ${value}`;
      if (key === 'KEEL_DATA_DIR' && samePath(value, dataDir) && isEdge(pid)) return `is an edge on ${value}`;
    }
  } catch {
    // Unreadable: as above.
  }
  return undefined;
}

const samePath = (a: string, b: string) => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

/** The edge's Node entry (scripts/up starts `node --import tsx edge/src/entry-node.ts`). */
function isEdge(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('entry-node');
  } catch {
    return false;
  }
}

export function describeHolders(holders: Holder[]): string {
  return holders.map((h) => `  pid ${h.pid} (${h.why}): ${h.command}`).join('\n');
}
