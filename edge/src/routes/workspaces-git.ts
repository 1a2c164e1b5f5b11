import { gitRoutes as routes } from '@keel/contract/api/git';
import {
  GitBranches,
  GitCommitRequest,
  GitCommitResult,
  GitCreateBranchRequest,
  GitDiffQuery,
  GitDiffResult,
  GitDoneResult,
  GitFetchResult,
  GitHunkRequest,
  GitPathsRequest,
  GitPullResult,
  GitRemoteRequest,
  GitStatus,
  GitSwitchRequest,
} from '@keel/contract/git';
import { WorkspaceIdParam } from '@keel/contract/workspaces';
import { users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { auditByCaller, failureOf } from '../audit/audit-request.ts';
import { sha256Hex } from '../auth/bytes.ts';
import { runGit, runRemoteGit } from '../git/run-git.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readOptionalJson, readParams, readQuery } from '../http/validate.ts';
import { loadWorkspace, type WorkspaceRow } from '../workspaces/access.ts';
import { filesChanged } from '../workspaces/files-version.ts';

/** The caller's profile as a commit's author and committer. */
async function authorOf(c: Context<AppEnv>) {
  const [me] = await c
    .get('services')
    .db.select({ name: users.name, email: users.email })
    .from(users)
    .where(eq(users.id, c.get('principal').userId))
    .limit(1);
  if (!me) throw new ApiError('not_found', 'No such person');
  return { name: me.name.slice(0, 200) || me.email, email: me.email };
}

/**
 * Changes that are audited (outcome, and hashes of paths and messages, never their text), and
 * that may change files the IDE has cached (a discard, a switch, a pull).
 */
async function audited<T>(
  c: Context<AppEnv>,
  row: WorkspaceRow,
  action: string,
  metadata: Record<string, string | number | boolean>,
  run: () => Promise<T>,
  changesFiles = false,
): Promise<T> {
  try {
    const done = await run();
    await auditByCaller(c, { action, outcome: 'success', workspaceId: row.id, metadata });
    return done;
  } catch (err) {
    const { outcome, error } = failureOf(err);
    await auditByCaller(c, { action, outcome, workspaceId: row.id, metadata: { ...metadata, error } });
    throw err;
  } finally {
    if (changesFiles) await filesChanged(c.get('services'), row);
  }
}

const pathsHash = (paths: string[]) => sha256Hex(paths.join('\0'));

/** `/api/workspaces/:id/git/…`: the IDE's source control, git run in the workspace by its runner. */
export function workspaceGitRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');
  const row = (c: Context<AppEnv>) => loadWorkspace(c, readParams(c, WorkspaceIdParam).id);

  on(routes.gitStatus, async (c) => {
    const ws = await row(c);
    return reply(c, routes.gitStatus, 200, await runGit(c, ws, { op: 'status' }, GitStatus));
  });

  on(routes.gitDiff, async (c) => {
    const ws = await row(c);
    const q = readQuery(c, GitDiffQuery);
    const op = { op: 'diff', path: q.path, staged: q.staged } as const;
    return reply(c, routes.gitDiff, 200, await runGit(c, ws, op, GitDiffResult));
  });

  on(routes.gitBranches, async (c) => {
    const ws = await row(c);
    return reply(c, routes.gitBranches, 200, await runGit(c, ws, { op: 'branches' }, GitBranches));
  });

  for (const [route, op, changesFiles] of [
    [routes.gitStage, 'stage', false],
    [routes.gitUnstage, 'unstage', false],
    [routes.gitDiscard, 'discard', true],
  ] as const) {
    on(route, async (c) => {
      const ws = await row(c);
      const { paths } = await readJson(c, GitPathsRequest);
      const meta = { paths: paths.length, pathsSha256: pathsHash(paths) };
      const done = await audited(
        c,
        ws,
        `workspace.git_${op}`,
        meta,
        () => runGit(c, ws, { op, paths }, GitDoneResult),
        changesFiles,
      );
      return reply(c, route, 200, done);
    });
  }

  for (const [route, op] of [
    [routes.gitStageHunk, 'stageHunk'],
    [routes.gitUnstageHunk, 'unstageHunk'],
  ] as const) {
    on(route, async (c) => {
      const ws = await row(c);
      const { path, hunk } = await readJson(c, GitHunkRequest);
      const done = await audited(c, ws, `workspace.git_${op}`, { pathSha256: sha256Hex(path) }, () =>
        runGit(c, ws, { op, path, hunk }, GitDoneResult),
      );
      return reply(c, route, 200, done);
    });
  }

  on(routes.gitCommit, async (c) => {
    const ws = await row(c);
    const input = await readJson(c, GitCommitRequest);
    const author = await authorOf(c);
    const done = await audited(
      c,
      ws,
      'workspace.git_commit',
      { messageSha256: sha256Hex(input.message), all: input.all },
      () => runGit(c, ws, { op: 'commit', message: input.message, all: input.all, author }, GitCommitResult),
    );
    return reply(c, routes.gitCommit, 200, done);
  });

  on(routes.gitCreateBranch, async (c) => {
    const ws = await row(c);
    const input = await readJson(c, GitCreateBranchRequest);
    const op = {
      op: 'createBranch',
      name: input.name,
      switch: input.switch,
      ...(input.from ? { from: input.from } : {}),
    } as const;
    const done = await audited(
      c,
      ws,
      'workspace.git_branch',
      { branch: input.name },
      () => runGit(c, ws, op, GitDoneResult),
      input.switch,
    );
    return reply(c, routes.gitCreateBranch, 200, done);
  });

  on(routes.gitSwitch, async (c) => {
    const ws = await row(c);
    const { name } = await readJson(c, GitSwitchRequest);
    const done = await audited(
      c,
      ws,
      'workspace.git_switch',
      { branch: name },
      () => runGit(c, ws, { op: 'switch', name }, GitDoneResult),
      true,
    );
    return reply(c, routes.gitSwitch, 200, done);
  });

  on(routes.gitFetch, async (c) => {
    const ws = await row(c);
    const { remote } = await readOptionalJson(c, GitRemoteRequest);
    const done = await audited(c, ws, 'workspace.git_fetch', { remote }, () =>
      runRemoteGit(c, ws, { op: 'fetch', remote }, GitFetchResult),
    );
    return reply(c, routes.gitFetch, 200, done);
  });

  on(routes.gitPull, async (c) => {
    const ws = await row(c);
    const { remote } = await readOptionalJson(c, GitRemoteRequest);
    const author = await authorOf(c);
    const done = await audited(
      c,
      ws,
      'workspace.git_pull',
      { remote },
      () => runRemoteGit(c, ws, { op: 'pull', remote, author }, GitPullResult),
      true,
    );
    return reply(c, routes.gitPull, 200, done);
  });

  return app;
}
