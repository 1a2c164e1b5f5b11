import { StringDecoder } from 'node:string_decoder';
import type { ExecHandle, WorkloadDriver } from '../workloads/types.ts';
import type { FileListing } from './file-index.ts';

/**
 * Git's view of the workspace: tracked files and untracked ones that .gitignore does not exclude,
 * each tagged (`-t`): `H ` tracked, `? ` untracked, `R ` tracked but deleted from the folder (listed
 * once more besides its `H `), which is left out. One command: a second one cost as much again.
 * `safe.directory` on the command line: the files may belong to another user than the one the
 * command runs as (a workspace restored from a snapshot), and Git would then refuse to read them.
 */
export const GIT_LIST_ARGV = [
  'git',
  '-c',
  'safe.directory=*',
  'ls-files',
  '-t',
  '--cached',
  '--others',
  '--exclude-standard',
  '--deleted',
  '-z',
];

/** Names from `GIT_LIST_ARGV`'s tagged output: tracked and untracked files, without deleted ones. */
export function gitFiles(tagged: readonly string[]): string[] {
  const gone = new Set<string>();
  for (const t of tagged) if (t.startsWith('R ')) gone.add(t.slice(2));
  const out: string[] = [];
  for (const t of tagged) {
    const name = t.slice(2);
    // Untracked folders holding a repository of their own come as `name/`: not files.
    if ((t.startsWith('H ') || t.startsWith('? ')) && !gone.has(name) && !name.endsWith('/')) out.push(name);
  }
  return out;
}

/** Not a Git repository: ripgrep's walk, which honours .gitignore (and .ignore) there too. */
export const WALK_ARGV = [
  'rg',
  '--files',
  '--hidden',
  '--no-require-git',
  '--no-config',
  '--null',
  '--glob=!.git',
  '--',
  '.',
];

/**
 * Lists the workspace's files from inside it, as its own commands would see them (both drivers
 * run the same programs): `git ls-files`, or a walk when it is no Git repository (or Git is
 * missing). Stops at `maxFiles` and says the listing is cut.
 */
export async function listWorkspaceFiles(
  driver: WorkloadDriver,
  workspaceId: string,
  maxFiles: number,
  timeoutMs = 30_000,
): Promise<FileListing> {
  const git = await collectNames(driver.exec(workspaceId, { argv: GIT_LIST_ARGV, timeoutMs }), maxFiles);
  if (git.exitCode === 0 || git.truncated) {
    return { paths: gitFiles(git.names), source: 'git', truncated: git.truncated };
  }
  const walk = await collectNames(driver.exec(workspaceId, { argv: WALK_ARGV, timeoutMs }), maxFiles);
  // ripgrep says 1 when it found nothing, 2 when some folder could not be read: what it listed stands.
  if (walk.exitCode !== 0 && walk.exitCode !== 1 && walk.names.length === 0 && !walk.truncated) {
    throw new Error(`the workspace's files could not be listed: ${walk.stderr.trim().slice(0, 300)}`);
  }
  return {
    paths: walk.names.map((p) => (p.startsWith('./') ? p.slice(2) : p)),
    source: 'walk',
    truncated: walk.truncated,
  };
}

async function collectNames(
  handle: ExecHandle,
  maxFiles: number,
): Promise<{ names: string[]; exitCode: number | null; truncated: boolean; stderr: string }> {
  const names: string[] = [];
  let rest = '';
  let truncated = false;
  let stderr = '';
  const text = new StringDecoder('utf8');
  handle.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 4096) stderr += chunk.toString('utf8');
  });
  handle.stdout.on('data', (chunk: Buffer) => {
    if (truncated) return;
    const parts = (rest + text.write(chunk)).split('\0');
    rest = parts.pop() ?? '';
    for (const p of parts) {
      if (!p) continue;
      if (names.length >= maxFiles) {
        truncated = true;
        void handle.kill().catch(() => {});
        return;
      }
      names.push(p);
    }
  });
  let exitCode: number | null = null;
  try {
    exitCode = (await handle.done).exitCode;
  } catch (err) {
    if (!truncated) throw err;
  }
  if (rest && !truncated && names.length < maxFiles) names.push(rest);
  return { names, exitCode, truncated, stderr };
}
