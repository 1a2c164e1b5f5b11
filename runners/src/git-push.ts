/**
 * Pushes a branch of a workspace's repository with its owner's Git host token, without running
 * anything of the workspace and without the token ever entering it.
 *
 * The repository's objects and refs are copied out through the workspace's confined files (no
 * link followed, nothing outside /workspace) into a private folder of the runner, with a config
 * the runner writes itself: the workspace's own config (aliases, hooks, `core.fsmonitor`,
 * `url.*.insteadOf`, credential helpers) and `objects/info/alternates` are never used on this
 * host. git then pushes from that copy, the token in the environment of that one command.
 */

import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { credentialMayTravelTo, type GitPushJob, type GitPushResponse } from '@keel/contract/integrations';
import type { WorkspaceFiles } from './files/workspace-files.ts';
import { WorkspaceGit } from './git/workspace-git.ts';
import { CloneError, explainRefusal, GIT_BASE_ENV, gitAuthEnv, runGit } from './git-clone.ts';
import { gitAuthFor } from './git-credentials.ts';
import { JobError } from './job-error.ts';
import type { RunnerContext } from './runner-context.ts';

const PUSH_TIMEOUT_MS = 100_000;
/** The repository copied out may not exceed this (objects, refs), nor hold more entries. */
const MAX_REPO_BYTES = 1024 * 1024 * 1024;
const MAX_REPO_ENTRIES = 200_000;
/** What of git's output is answered: its last lines. */
const MAX_OUTPUT_CHARS = 8_000;

/** What a rejected non-fast-forward push ends with: the one thing to do about it. */
export const PULL_FIRST = 'The remote has commits this branch does not have: pull first, then push again';

const BRANCH = /^[A-Za-z0-9][A-Za-z0-9._/-]*$/;

const execFileAsync = promisify(execFile);

export async function gitPushJob(job: GitPushJob, ctx: RunnerContext): Promise<GitPushResponse> {
  ctx.touch(job.workspaceId);
  ctx.assertServable(job.workspaceId);
  const files = await ctx.fileJobs.files(job.workspaceId);
  const folder = await mkdtemp(join(tmpdir(), 'keel-push-'));
  try {
    const gitDir = join(folder, 'repo.git');
    const config = await copyRepository(files, gitDir);
    const url = await remoteUrl(folder, config, job.remote);
    const branch = job.branch ?? (await currentBranch(files));
    if (!BRANCH.test(branch) || branch.includes('..')) throw new JobError('invalid', 'Not a branch name');
    if (!/^(https?:)\/\//.test(url)) {
      throw new JobError(
        'invalid',
        `Remote ${job.remote} is not an http(s) URL; Keel pushes over https only`,
      );
    }
    if (!credentialMayTravelTo(url)) {
      throw new JobError(
        'invalid',
        `Remote ${job.remote} must be an https URL without a user or password in it (plain http only to this host)`,
      );
    }
    // Plain http goes only to this host's own loopback, and only where local Git is allowed: a
    // workspace's config must not make the runner call services on its host.
    const local = ctx.config.KEEL_RUNNER_ALLOW_LOCAL_GIT;
    if (url.startsWith('http:') && !local) {
      throw new JobError('invalid', `Remote ${job.remote} must be an https URL`);
    }
    const auth = await gitAuthFor(ctx.edge, job.workspaceId, url, 'push', local);
    const lines: string[] = [];
    let pushed = true;
    try {
      await runGit({
        args: ['--git-dir', gitDir, 'push', '--', url, `refs/heads/${branch}:refs/heads/${branch}`],
        cwd: folder,
        env: gitAuthEnv(url, auth),
        onLine: (l) => lines.push(l),
        timeoutMs: PUSH_TIMEOUT_MS,
        ...(auth ? { secrets: [auth.token] } : {}),
      });
    } catch (err) {
      if (!(err instanceof CloneError)) throw err;
      pushed = false;
      const explained = explainRefusal(err, url, auth !== undefined);
      if (explained !== err && explained instanceof Error) lines.push(explained.message);
      if (lines.some((l) => /non-fast-forward|\(fetch first\)|\[rejected\]/.test(l))) lines.push(PULL_FIRST);
    }
    if (pushed) await trackPushed(ctx, job.workspaceId, gitDir, job.remote, branch);
    return {
      remote: job.remote,
      branch,
      url,
      authenticated: auth !== undefined,
      pushed,
      output: lines.join('\n').slice(-MAX_OUTPUT_CHARS),
    };
  } finally {
    await rm(folder, { recursive: true, force: true });
  }
}

/**
 * Copies `.git` (HEAD, refs, packed-refs, objects) out of the workspace into `gitDir`, and
 * answers the text of its config, kept aside (read, never used as a config there). A `.git` that
 * is a file (a worktree's pointer) or a link is refused.
 */
export async function copyRepository(files: WorkspaceFiles, gitDir: string): Promise<string> {
  const top = await files.stat('.git').catch(() => undefined);
  if (top?.type !== 'directory') {
    throw new JobError('invalid', 'The workspace has no Git repository at its top (/workspace/.git)');
  }
  let bytes = 0;
  let entries = 0;
  const copyFile = async (rel: string, size: number) => {
    bytes += size;
    if (bytes > MAX_REPO_BYTES)
      throw new JobError('too_large', 'The repository is too large to push from here');
    const data = await files.readFile(`.git/${rel}`, { maxBytes: Math.max(1, size) });
    const to = join(gitDir, rel);
    await mkdir(dirname(to), { recursive: true });
    await writeFile(to, data, { mode: 0o600 });
  };
  const walk = async (rel: string): Promise<void> => {
    for (const entry of await files.listDir(`.git/${rel}`, { maxEntries: MAX_REPO_ENTRIES })) {
      if (++entries > MAX_REPO_ENTRIES)
        throw new JobError('too_large', 'The repository holds too many files to push from here');
      const child = `${rel}/${entry.name}`;
      // Another repository's objects are never borrowed: a workspace could name any path here.
      if (child === 'objects/info/alternates' || child === 'objects/info/http-alternates') continue;
      if (entry.type === 'directory') await walk(child);
      else if (entry.type === 'file') await copyFile(child, entry.size);
      // Links and anything else are not carried.
    }
  };
  await mkdir(join(gitDir, 'refs', 'heads'), { recursive: true });
  await mkdir(join(gitDir, 'objects'), { recursive: true });
  for (const name of ['HEAD', 'packed-refs', 'shallow']) {
    const st = await files.stat(`.git/${name}`).catch(() => undefined);
    if (st?.type === 'file') await copyFile(name, st.size);
  }
  for (const dir of ['refs', 'objects']) {
    const st = await files.stat(`.git/${dir}`).catch(() => undefined);
    if (st?.type === 'directory') await walk(dir);
  }
  const configStat = await files.stat('.git/config').catch(() => undefined);
  const config =
    configStat?.type === 'file'
      ? (await files.readFile('.git/config', { maxBytes: 256 * 1024 })).toString('utf8')
      : '';
  // The runner's own config: a bare repository, of the workspace's object format.
  const format = await readConfig(dirname(gitDir), config, 'extensions.objectformat');
  await writeFile(
    join(gitDir, 'config'),
    format === 'sha256'
      ? '[core]\n\trepositoryformatversion = 1\n\tbare = true\n[extensions]\n\tobjectformat = sha256\n'
      : '[core]\n\trepositoryformatversion = 0\n\tbare = true\n',
  );
  return config;
}

/** One value of the workspace's config text, read as a plain file (`--file`: no includes followed). */
export async function readConfig(folder: string, text: string, key: string): Promise<string | undefined> {
  const file = join(folder, 'workspace-config');
  await writeFile(file, text, { mode: 0o600 });
  try {
    const { stdout } = await execFileAsync('git', ['config', '--file', file, '--get', key], {
      env: { ...GIT_BASE_ENV },
      cwd: folder,
      timeout: 10_000,
    });
    return stdout.trim() || undefined;
  } catch {
    return undefined;
  } finally {
    await rm(file, { force: true });
  }
}

async function remoteUrl(folder: string, config: string, remote: string): Promise<string> {
  const url =
    (await readConfig(folder, config, `remote.${remote}.pushurl`)) ??
    (await readConfig(folder, config, `remote.${remote}.url`));
  if (!url) throw new JobError('invalid', `The repository has no remote named ${remote}`);
  return url;
}

async function currentBranch(files: WorkspaceFiles): Promise<string> {
  const head = (await files.readFile('.git/HEAD', { maxBytes: 4096 }).catch(() => Buffer.alloc(0)))
    .toString('utf8')
    .trim();
  const m = /^ref: refs\/heads\/([A-Za-z0-9][A-Za-z0-9._/-]*)$/.exec(head);
  if (!m || m[1]!.includes('..'))
    throw new JobError('invalid', 'No branch is checked out; name the branch to push');
  return m[1]!;
}

/**
 * The workspace's remote-tracking branch moves to what was pushed, as `git push` would have
 * moved it, so its status no longer says "ahead". Best effort: a stopped workspace keeps the old.
 */
async function trackPushed(
  ctx: RunnerContext,
  workspaceId: string,
  gitDir: string,
  remote: string,
  branch: string,
): Promise<void> {
  try {
    const { stdout } = await execFileAsync(
      'git',
      ['--git-dir', gitDir, 'rev-parse', '--verify', `refs/heads/${branch}`],
      {
        env: { ...GIT_BASE_ENV },
        timeout: 10_000,
      },
    );
    const driver = await ctx.driverFor(workspaceId);
    await new WorkspaceGit(driver, workspaceId).run([
      'update-ref',
      `refs/remotes/${remote}/${branch}`,
      stdout.trim(),
    ]);
  } catch {
    // The push itself succeeded; the next fetch moves the ref.
  }
}
