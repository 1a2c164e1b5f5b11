import { execFileSync } from 'node:child_process';
import { cpus, totalmem } from 'node:os';

/** What a measured part of docs/PERFORMANCE.md says it was measured on: date, commit, machine, Docker. */
export function runContext(root: string): string {
  const git = (...args: string[]) => execFileSync('git', args, { cwd: root }).toString().trim();
  const changed = git('status', '--porcelain', '--untracked-files=no', '--', '.', ':!docs/PERFORMANCE.md');
  const commit = `${git('rev-parse', '--short', 'HEAD')}${changed ? ' with uncommitted changes' : ''}`;
  const machine = `${cpus().length} × ${cpus()[0]?.model.trim()}, ${Math.round(totalmem() / 2 ** 30)} GiB, Node ${process.version}`;
  let docker = 'none';
  try {
    docker = execFileSync('docker', ['version', '--format', '{{.Server.Version}}']).toString().trim();
  } catch {}
  return `on ${new Date().toISOString().slice(0, 10)} at ${commit}, on ${machine}; Docker engine ${docker}`;
}
