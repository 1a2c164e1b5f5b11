import { gitRoutes } from '@keel/contract/api/git';
import { integrationRoutes } from '@keel/contract/api/integrations';
import type {
  GitBranches,
  GitCommitResult,
  GitDiffResult,
  GitFetchResult,
  GitPullResult,
  GitStatus,
} from '@keel/contract/git';
import type { GitPushResponse } from '@keel/contract/integrations';
import { callRoute } from '../../api/call-route.ts';
import type { ApiClient } from '../../api/client.ts';

/** The IDE's source control, one workspace's repository (`/api/workspaces/:id/git/…`). */
export interface GitApi {
  status(id: string): Promise<GitStatus>;
  diff(id: string, path: string, staged: boolean): Promise<GitDiffResult>;
  branches(id: string): Promise<GitBranches>;
  stage(id: string, paths: string[]): Promise<void>;
  unstage(id: string, paths: string[]): Promise<void>;
  discard(id: string, paths: string[]): Promise<void>;
  stageHunk(id: string, path: string, hunk: string): Promise<void>;
  unstageHunk(id: string, path: string, hunk: string): Promise<void>;
  commit(id: string, message: string): Promise<GitCommitResult>;
  createBranch(id: string, name: string): Promise<void>;
  switchBranch(id: string, name: string): Promise<void>;
  fetch(id: string): Promise<GitFetchResult>;
  pull(id: string): Promise<GitPullResult>;
  push(id: string): Promise<GitPushResponse>;
}

export function createGitApi(client: ApiClient): GitApi {
  const params = (id: string) => ({ id });
  return {
    status: (id) => callRoute(client, gitRoutes.gitStatus, { params: params(id) }),
    diff: (id, path, staged) =>
      callRoute(client, gitRoutes.gitDiff, {
        params: params(id),
        query: { path, staged: staged ? 'true' : 'false' },
      }),
    branches: (id) => callRoute(client, gitRoutes.gitBranches, { params: params(id) }),
    stage: async (id, paths) => {
      await callRoute(client, gitRoutes.gitStage, { params: params(id), body: { paths } });
    },
    unstage: async (id, paths) => {
      await callRoute(client, gitRoutes.gitUnstage, { params: params(id), body: { paths } });
    },
    discard: async (id, paths) => {
      await callRoute(client, gitRoutes.gitDiscard, { params: params(id), body: { paths } });
    },
    stageHunk: async (id, path, hunk) => {
      await callRoute(client, gitRoutes.gitStageHunk, { params: params(id), body: { path, hunk } });
    },
    unstageHunk: async (id, path, hunk) => {
      await callRoute(client, gitRoutes.gitUnstageHunk, { params: params(id), body: { path, hunk } });
    },
    commit: (id, message) =>
      callRoute(client, gitRoutes.gitCommit, { params: params(id), body: { message } }),
    createBranch: async (id, name) => {
      await callRoute(client, gitRoutes.gitCreateBranch, { params: params(id), body: { name } });
    },
    switchBranch: async (id, name) => {
      await callRoute(client, gitRoutes.gitSwitch, { params: params(id), body: { name } });
    },
    fetch: (id) => callRoute(client, gitRoutes.gitFetch, { params: params(id), body: {} }),
    pull: (id) => callRoute(client, gitRoutes.gitPull, { params: params(id), body: {} }),
    push: (id) => callRoute(client, integrationRoutes.pushWorkspace, { params: params(id), body: {} }),
  };
}
