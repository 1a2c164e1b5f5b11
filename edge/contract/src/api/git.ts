import { z } from 'zod';
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
} from '../git.ts';
import { body, errorResponses, json, needs, userAuth } from './describe.ts';

const tags = ['git'];
const params = z.object({ id: z.string().max(128) });
const security = userAuth;

/** Reading status, diffs and branches needs `workspaces:read`: a viewer may look. */
const read = <R extends z.ZodType>(path: string, summary: string, response: R) =>
  ({
    method: 'get',
    path: `/api/workspaces/{id}/git/${path}`,
    summary,
    tags,
    security,
    access: needs('workspaces:read'),
    request: { params },
    responses: { 200: json(response, summary), ...errorResponses },
  }) as const;
/** A read with a query (its schema kept in the type, so clients are typed by it). */
const readWith = <R extends z.ZodType, Q extends z.ZodObject>(
  path: string,
  summary: string,
  response: R,
  query: Q,
) =>
  ({
    ...read(path, summary, response),
    request: { params, query },
  }) as const;

/** Anything that changes the repository needs `workspaces:use`. */
const write = <B extends z.ZodType, R extends z.ZodType>(
  path: string,
  summary: string,
  request: B,
  response: R,
  required = true,
) =>
  ({
    method: 'post',
    path: `/api/workspaces/{id}/git/${path}`,
    summary,
    tags,
    security,
    access: needs('workspaces:use'),
    request: { params, body: body(request, required) },
    responses: { 200: json(response, summary), ...errorResponses },
  }) as const;

/** The IDE's source control (push is `pushWorkspace`, contract/api/integrations). */
export const gitRoutes = {
  gitStatus: read('status', 'The workspace repository’s branch and changed files', GitStatus),
  gitDiff: readWith(
    'diff',
    'One file’s two sides and hunks (HEAD ↔ index, or index ↔ working tree)',
    GitDiffResult,
    GitDiffQuery,
  ),
  gitBranches: read('branches', 'Local and remote-tracking branches', GitBranches),
  gitStage: write('stage', 'Stage files (`git add`)', GitPathsRequest, GitDoneResult),
  gitUnstage: write('unstage', 'Unstage files (back to HEAD in the index)', GitPathsRequest, GitDoneResult),
  gitDiscard: write(
    'discard',
    'Discard working-tree changes of files (untracked files are deleted)',
    GitPathsRequest,
    GitDoneResult,
  ),
  gitStageHunk: write(
    'stage-hunk',
    'Stage one hunk of a file’s unstaged changes',
    GitHunkRequest,
    GitDoneResult,
  ),
  gitUnstageHunk: write(
    'unstage-hunk',
    'Unstage one hunk of a file’s staged changes',
    GitHunkRequest,
    GitDoneResult,
  ),
  gitCommit: write(
    'commit',
    'Commit what is staged, authored by me (my profile’s name and e-mail)',
    GitCommitRequest,
    GitCommitResult,
  ),
  gitCreateBranch: write(
    'branches',
    'Create a branch (and switch to it)',
    GitCreateBranchRequest,
    GitDoneResult,
  ),
  gitSwitch: write(
    'switch',
    'Switch branch; refused when it would lose changes',
    GitSwitchRequest,
    GitDoneResult,
  ),
  gitFetch: write(
    'fetch',
    'Fetch from a remote with my Git host token',
    GitRemoteRequest,
    GitFetchResult,
    false,
  ),
  gitPull: write(
    'pull',
    'Fetch and merge the upstream (fast-forward or merge); a conflict is refused',
    GitRemoteRequest,
    GitPullResult,
    false,
  ),
} as const;
