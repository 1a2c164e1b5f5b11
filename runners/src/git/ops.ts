/**
 * Source control in a workspace: each operation is git run inside it (see workspace-git.ts),
 * and its failures are answered as refusals that say what to do, never as git's exit code.
 */
import type {
  GitAuthor,
  GitBranches,
  GitCommitResult,
  GitDiffResult,
  GitOp,
  GitRunJob,
  GitStatus,
} from '@keel/contract/git';
import { JobError } from '../job-error.ts';
import type { RunnerContext } from '../runner-context.ts';
import { hunkPatch, parseFileDiff } from './hunks.ts';
import { fetchFromRemote, pullFromRemote } from './remote.ts';
import { parseStatus } from './status.ts';
import { GitFailed, lastLines, WorkspaceGit } from './workspace-git.ts';

/** A side larger than this is not sent to the diff editor. */
const MAX_DIFF_SIDE = 2 * 1024 * 1024;
const MAX_BRANCHES = 2000;

export async function gitRunJob(job: GitRunJob, ctx: RunnerContext): Promise<unknown> {
  ctx.touch(job.workspaceId);
  const driver = await ctx.driverFor(job.workspaceId);
  const git = new WorkspaceGit(driver, job.workspaceId);
  try {
    return await runOp(job.op, git, ctx, job.workspaceId);
  } catch (err) {
    if (err instanceof GitFailed) throw refusalOf(err);
    throw err;
  }
}

async function runOp(
  op: GitOp,
  git: WorkspaceGit,
  ctx: RunnerContext,
  workspaceId: string,
): Promise<unknown> {
  switch (op.op) {
    case 'status':
      return status(git);
    case 'diff':
      return diff(git, ctx, workspaceId, op.path, op.staged);
    case 'stage':
      await git.ok(['add', '-A', '--', ...op.paths]);
      return { ok: true };
    case 'unstage': {
      const hasHead = (await git.run(['rev-parse', '--verify', '-q', 'HEAD'])).code === 0;
      if (hasHead) await git.ok(['restore', '--staged', '--', ...op.paths]);
      else await git.ok(['rm', '--cached', '-r', '-q', '--', ...op.paths]);
      return { ok: true };
    }
    case 'discard':
      return discard(git, op.paths);
    case 'stageHunk':
    case 'unstageHunk':
      return applyHunk(git, op.path, op.hunk, op.op === 'unstageHunk');
    case 'commit':
      return commit(git, op.message, op.all, op.author);
    case 'branches':
      return branches(git);
    case 'createBranch': {
      const from = op.from ? [op.from] : [];
      if (op.switch) await git.ok(['switch', '-c', op.name, ...from]);
      else await git.ok(['branch', op.name, ...from]);
      return { ok: true };
    }
    case 'switch':
      await git.ok(['switch', op.name]);
      return { ok: true };
    case 'fetch':
      return fetchFromRemote(ctx, workspaceId, git, op.remote);
    case 'pull':
      return pullFromRemote(ctx, workspaceId, git, op.remote, authorEnv(op.author));
  }
}

export async function status(git: WorkspaceGit): Promise<GitStatus> {
  const out = await git.run(['status', '--porcelain=v2', '-z', '--branch', '--untracked-files=all']);
  if (out.code !== 0) {
    if (/not a git repository/i.test(out.stderr))
      throw new JobError('not_found', 'The workspace has no Git repository at /workspace');
    throw new GitFailed('status', out);
  }
  const parsed = parseStatus(out.stdout);
  if (out.truncated) parsed.truncated = true;
  return parsed;
}

/** A blob as text for the diff editor, or what keeps it out (binary, too large, absent). */
type Side = { text: string | null; binary: boolean; tooLarge: boolean };

function sideOf(data: Buffer | null, truncated = false): Side {
  if (data === null) return { text: null, binary: false, tooLarge: false };
  if (truncated || data.length > MAX_DIFF_SIDE) return { text: null, binary: false, tooLarge: true };
  if (data.subarray(0, 8000).includes(0)) return { text: null, binary: true, tooLarge: false };
  return { text: data.toString('utf8'), binary: false, tooLarge: false };
}

async function blob(git: WorkspaceGit, spec: string): Promise<Side> {
  const out = await git.run(['show', '--no-textconv', spec], { maxBytes: MAX_DIFF_SIDE + 1 });
  if (out.code !== 0 && !out.truncated) return sideOf(null);
  return sideOf(out.stdout, out.truncated);
}

async function diff(
  git: WorkspaceGit,
  ctx: RunnerContext,
  workspaceId: string,
  path: string,
  staged: boolean,
): Promise<GitDiffResult> {
  const left = await blob(git, staged ? `HEAD:${path}` : `:${path}`);
  let right: Side;
  if (staged) right = await blob(git, `:${path}`);
  else {
    // The working tree through the confined files: no link is followed out of /workspace.
    const files = await ctx.fileJobs.files(workspaceId);
    const st = await files.stat(path).catch(() => undefined);
    if (st?.type !== 'file') right = sideOf(null);
    else if (st.size > MAX_DIFF_SIDE) right = sideOf(null, true);
    else right = sideOf(await files.readFile(path, { maxBytes: MAX_DIFF_SIDE }));
  }
  const parsed = parseFileDiff(await fileDiff(git, path, staged));
  return {
    path,
    staged,
    original: left.text,
    modified: right.text,
    binary: left.binary || right.binary,
    tooLarge: left.tooLarge || right.tooLarge,
    hunks: parsed.hunks.map(({ text: _text, ...h }) => h),
  };
}

/** One file's diff as a patch `git apply` takes back, whatever the workspace's diff settings. */
async function fileDiff(git: WorkspaceGit, path: string, staged: boolean): Promise<string> {
  const out = await git.run([
    '-c',
    'diff.noprefix=false',
    'diff',
    '--no-color',
    '--no-ext-diff',
    '--no-textconv',
    '--src-prefix=a/',
    '--dst-prefix=b/',
    '-U3',
    ...(staged ? ['--cached'] : []),
    '--',
    path,
  ]);
  if (out.code !== 0) throw new GitFailed('diff', out);
  if (out.truncated) throw new JobError('too_large', 'The file’s changes are too large to stage by hunk');
  return out.stdout.toString('utf8');
}

async function applyHunk(git: WorkspaceGit, path: string, id: string, unstage: boolean) {
  const patch = hunkPatch(parseFileDiff(await fileDiff(git, path, unstage)), id);
  if (!patch)
    throw new JobError(
      'conflict',
      `That change to ${path} is no longer there (the file changed): reopen its diff`,
    );
  const out = await git.run(['apply', '--cached', ...(unstage ? ['-R'] : []), '--whitespace=nowarn', '-'], {
    stdin: patch,
  });
  if (out.code !== 0)
    throw new JobError(
      'conflict',
      `The change to ${path} does not apply to the index: ${lastLines(out.stderr, 3)}`,
    );
  return { ok: true };
}

async function discard(git: WorkspaceGit, paths: string[]) {
  const st = await status(git);
  const untracked = new Set(st.files.filter((f) => f.kind === 'untracked').map((f) => f.path));
  const clean = paths.filter((p) => untracked.has(p));
  const restore = paths.filter((p) => !untracked.has(p));
  if (clean.length) await git.ok(['clean', '-f', '-q', '--', ...clean]);
  if (restore.length) await git.ok(['restore', '--worktree', '--', ...restore]);
  return { ok: true };
}

/** The person's name and e-mail for one git process; never written to the workspace's config. */
export function authorEnv(author: GitAuthor): Record<string, string> {
  return {
    GIT_AUTHOR_NAME: author.name,
    GIT_AUTHOR_EMAIL: author.email,
    GIT_COMMITTER_NAME: author.name,
    GIT_COMMITTER_EMAIL: author.email,
  };
}

async function commit(
  git: WorkspaceGit,
  message: string,
  all: boolean,
  author: GitAuthor,
): Promise<GitCommitResult> {
  const out = await git.run(['commit', '--no-edit', '--cleanup=strip', ...(all ? ['-a'] : []), '-F', '-'], {
    stdin: message,
    env: authorEnv(author),
  });
  if (out.code !== 0) {
    const said = `${out.stdout.toString('utf8')}\n${out.stderr}`;
    if (/nothing (added )?to commit|no changes added to commit|nothing added/i.test(said))
      throw new JobError('conflict', 'Nothing is staged to commit: stage changes first');
    if (/empty commit message|Aborting commit due to empty/i.test(said))
      throw new JobError('invalid', 'The commit message is empty');
    if (/unmerged|conflict/i.test(said))
      throw new JobError('conflict', 'Resolve the conflicted files before committing');
    throw new GitFailed('commit', out);
  }
  const line = (await git.ok(['log', '-1', '--format=%H%x00%s'])).toString('utf8').trim();
  const [sha, summary] = line.split('\0');
  return { commit: sha ?? '', summary: summary ?? '' };
}

async function branches(git: WorkspaceGit): Promise<GitBranches> {
  const out = await git.ok([
    'for-each-ref',
    `--count=${MAX_BRANCHES + 1}`,
    '--format=%(refname)%00%(objectname)%00%(HEAD)%00%(upstream:short)',
    'refs/heads',
    'refs/remotes',
  ]);
  const list: GitBranches['branches'] = [];
  for (const line of out.toString('utf8').split('\n')) {
    if (!line) continue;
    const [ref = '', commit = '', head = '', upstream = ''] = line.split('\0');
    const remote = ref.startsWith('refs/remotes/');
    if (remote && ref.endsWith('/HEAD')) continue;
    list.push({
      name: ref.replace(/^refs\/(heads|remotes)\//, ''),
      commit,
      current: head === '*',
      upstream: upstream || null,
      remote,
    });
  }
  return { branches: list.slice(0, MAX_BRANCHES), truncated: list.length > MAX_BRANCHES };
}

/** Files git names in a message, one per tab-indented line. */
export function listedFiles(text: string): string[] {
  return text
    .split('\n')
    .filter((l) => l.startsWith('\t'))
    .map((l) => l.trim())
    .filter(Boolean);
}

/** git's refusals, as what happened and what to do about it. */
function refusalOf(err: GitFailed): JobError {
  const said = `${err.output.stderr}\n${err.output.stdout.toString('utf8')}`;
  if (
    /would be overwritten by (checkout|switch)/.test(said) ||
    /untracked working tree files would be/.test(said)
  ) {
    const files = listedFiles(said);
    return new JobError(
      'conflict',
      `Switching branch would lose your changes to ${files.join(', ') || 'some files'}: commit, stash or discard them first`,
    );
  }
  if (/already exists/.test(said))
    return new JobError('conflict', lastLines(said, 1).replace(/^fatal: /, ''));
  if (/invalid reference|did not match any|not a valid (object|branch) name|unknown revision/i.test(said))
    return new JobError('not_found', lastLines(said, 1).replace(/^(fatal|error): /, ''));
  if (/pathspec .* did not match|did not match any file/i.test(said))
    return new JobError('not_found', lastLines(said, 1).replace(/^(fatal|error): /, ''));
  if (/not a git repository/i.test(said))
    return new JobError('not_found', 'The workspace has no Git repository at /workspace');
  if (/index\.lock|Unable to create .*lock/i.test(said))
    return new JobError('conflict', 'Another git command is running in the workspace; try again');
  return new JobError('invalid', err.message);
}
