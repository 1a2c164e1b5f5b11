/**
 * Fetch and pull. A workspace never reaches the runner's network, and the owner's token never
 * enters it: the runner copies the repository's refs and objects out through the confined files
 * (git-push.ts), fetches into that copy on its own host with the token in the environment of that
 * one git command, then hands the new objects to git inside the workspace as a pack on stdin and
 * moves the remote-tracking refs there. Pull then merges inside the workspace, as the person.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { GitFetchResult, GitPullResult } from '@keel/contract/git';
import { credentialMayTravelTo } from '@keel/contract/integrations';
import { CloneError, explainRefusal, GIT_BASE_ENV, GIT_SAFE_ARGS, gitAuthEnv, runGit } from '../git-clone.ts';
import { gitAuthFor } from '../git-credentials.ts';
import { copyRepository, readConfig } from '../git-push.ts';
import { JobError } from '../job-error.ts';
import type { RunnerContext } from '../runner-context.ts';
import { listedFiles, status } from './ops.ts';
import { lastLines, type WorkspaceGit } from './workspace-git.ts';

const FETCH_TIMEOUT_MS = 100_000;
/** The new objects a fetch brings in at most, as one pack. */
const MAX_PACK_BYTES = 512 * 1024 * 1024;

function hostGit(gitDir: string, args: string[], input?: string): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      'git',
      [...GIT_SAFE_ARGS, '--git-dir', gitDir, ...args],
      { env: { ...GIT_BASE_ENV }, encoding: 'buffer', maxBuffer: MAX_PACK_BYTES, timeout: FETCH_TIMEOUT_MS },
      (err, stdout) =>
        err ? reject(new JobError('too_large', `git ${args[0]} failed: ${err.message}`)) : resolve(stdout),
    );
    // git may exit before it reads its input (for-each-ref reads none): that is no error.
    child.stdin?.on('error', () => {});
    child.stdin?.end(input ?? '');
  });
}

async function refs(gitDir: string, under: string[]): Promise<Map<string, string>> {
  const out = (
    await hostGit(gitDir, ['for-each-ref', '--format=%(objectname) %(refname) %(symref)', ...under])
  ).toString();
  const map = new Map<string, string>();
  for (const line of out.split('\n')) {
    // A symbolic ref (origin/HEAD) moves with the ref it names: never updated on its own.
    const [sha, ref, symref] = line.split(' ');
    if (sha && ref && !symref) map.set(ref, sha);
  }
  return map;
}

export async function fetchFromRemote(
  ctx: RunnerContext,
  workspaceId: string,
  git: WorkspaceGit,
  remote: string,
): Promise<GitFetchResult> {
  const files = await ctx.fileJobs.files(workspaceId);
  const folder = await mkdtemp(join(tmpdir(), 'keel-fetch-'));
  try {
    const gitDir = join(folder, 'repo.git');
    const config = await copyRepository(files, gitDir);
    const url = await readConfig(folder, config, `remote.${remote}.url`);
    if (!url) throw new JobError('invalid', `The repository has no remote named ${remote}`);
    const local = ctx.config.KEEL_RUNNER_ALLOW_LOCAL_GIT;
    if (!/^https?:\/\//.test(url) || !credentialMayTravelTo(url) || (url.startsWith('http:') && !local)) {
      throw new JobError(
        'invalid',
        `Remote ${remote} must be an https URL without a user or password in it; Keel fetches over https only`,
      );
    }
    const auth = await gitAuthFor(ctx.edge, workspaceId, url, 'push', local);
    const before = await refs(gitDir, []);
    const lines: string[] = [];
    try {
      await runGit({
        args: [
          '--git-dir',
          gitDir,
          'fetch',
          '--no-tags',
          '--prune',
          '--',
          url,
          `+refs/heads/*:refs/remotes/${remote}/*`,
        ],
        cwd: folder,
        env: gitAuthEnv(url, auth),
        onLine: (l) => lines.push(l),
        timeoutMs: FETCH_TIMEOUT_MS,
        ...(auth ? { secrets: [auth.token] } : {}),
      });
    } catch (err) {
      const explained = explainRefusal(err, url, auth !== undefined);
      throw new JobError(
        'invalid',
        `Fetching from ${remote} failed: ${explained instanceof CloneError ? explained.message : String(explained)}`,
      );
    }
    const after = await refs(gitDir, [`refs/remotes/${remote}/`]);
    const moved = [...after].filter(([ref, sha]) => before.get(ref) !== sha);
    const gone = [...before.keys()].filter((r) => r.startsWith(`refs/remotes/${remote}/`) && !after.has(r));
    const known = [...new Set(before.values())];
    const wanted = [...new Set(moved.map(([, sha]) => sha))].filter((sha) => !known.includes(sha));
    if (wanted.length) {
      const pack = await hostGit(
        gitDir,
        ['pack-objects', '--revs', '--stdout', '-q'],
        [...wanted, ...known.map((s) => `^${s}`), ''].join('\n'),
      );
      const indexed = await git.run(['index-pack', '--stdin', '--fix-thin'], {
        stdin: pack,
        timeoutMs: FETCH_TIMEOUT_MS,
      });
      if (indexed.code !== 0)
        throw new JobError(
          'invalid',
          `The fetched objects could not be stored: ${lastLines(indexed.stderr, 2)}`,
        );
    }
    if (moved.length || gone.length) {
      const updates = [
        ...moved.map(([ref, sha]) => `update ${ref} ${sha}`),
        ...gone.map((ref) => `delete ${ref}`),
        '',
      ].join('\n');
      const updated = await git.run(['update-ref', '--stdin'], { stdin: updates });
      if (updated.code !== 0)
        throw new JobError(
          'conflict',
          `The remote-tracking branches could not be moved: ${lastLines(updated.stderr, 2)}`,
        );
    }
    return {
      remote,
      updated: moved.map(([ref]) => ref.replace(/^refs\/remotes\//, '')),
      authenticated: auth !== undefined,
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

export async function pullFromRemote(
  ctx: RunnerContext,
  workspaceId: string,
  git: WorkspaceGit,
  remote: string,
  authorEnv: Record<string, string>,
): Promise<GitPullResult> {
  const st = await status(git);
  if (!st.branch) throw new JobError('conflict', 'No branch is checked out: switch to a branch to pull');
  const fetched = await fetchFromRemote(ctx, workspaceId, git, remote);
  const target = st.upstream?.startsWith(`${remote}/`) ? st.upstream : `${remote}/${st.branch}`;
  const ref = `refs/remotes/${target}`;
  if ((await git.run(['rev-parse', '--verify', '-q', `${ref}^{commit}`])).code !== 0)
    throw new JobError(
      'not_found',
      `${remote} has no branch ${target.slice(remote.length + 1)} to pull from`,
    );
  const head = async () => {
    const out = await git.run(['rev-parse', '--verify', '-q', 'HEAD']);
    return out.code === 0 ? out.stdout.toString().trim() : null;
  };
  const before = await head();
  if (before && (await git.run(['merge-base', '--is-ancestor', ref, 'HEAD'])).code === 0)
    return { ...fetched, outcome: 'up_to_date', head: before };
  const merged = await git.run(['merge', '--no-edit', '-m', `Merge ${target} into ${st.branch}`, ref], {
    env: authorEnv,
    timeoutMs: FETCH_TIMEOUT_MS,
  });
  if (merged.code !== 0) {
    const said = `${merged.stdout.toString('utf8')}\n${merged.stderr}`;
    const conflicted = (await git.run(['diff', '--name-only', '--diff-filter=U', '-z'])).stdout
      .toString('utf8')
      .split('\0')
      .filter(Boolean);
    if (conflicted.length) {
      // The workspace is left as it was: the person resolves by choice, not half way through a pull.
      await git.run(['merge', '--abort']);
      throw new JobError(
        'conflict',
        `Pull stopped: ${target} conflicts with your commits in ${conflicted.join(', ')}. Nothing was changed; resolve it in the terminal (git pull) or change those files so they merge`,
      );
    }
    if (/would be overwritten by merge/.test(said)) {
      throw new JobError(
        'conflict',
        `Pull stopped: it would overwrite your uncommitted changes to ${listedFiles(said).join(', ') || 'some files'}; commit, stash or discard them first`,
      );
    }
    throw new JobError('conflict', `Pull stopped: ${lastLines(said, 3)}`);
  }
  const now = await head();
  const fastForward = before === null || /Fast-forward/.test(merged.stdout.toString('utf8'));
  return { ...fetched, outcome: fastForward ? 'fast_forward' : 'merged', head: now };
}
