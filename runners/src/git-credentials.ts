/**
 * The runner asks its edge for a workspace owner's Git host token, for the clone or push it is
 * doing now. The edge answers only the runner holding the workspace; the token is kept in memory
 * for that one git command and never written, logged or put in a job.
 */
import { credentialMayTravelTo, gitUrlHost, RunnerGitCredentialResponse } from '@keel/contract/integrations';
import { callEdge, type EdgeCaller, type EdgeCallFailure } from './edge-call.ts';
import type { GitAuth } from './git-clone.ts';

export class GitCredentialError extends Error {
  override name = 'GitCredentialError';
  constructor(
    readonly reason: EdgeCallFailure,
    message: string,
    readonly status?: number,
  ) {
    super(message);
  }
}

const gitCredentialError = (reason: EdgeCallFailure, message: string, status?: number) =>
  new GitCredentialError(reason, message, status);

/**
 * The owner's token for `url`'s host, or undefined: for a URL a token may not travel to (plain
 * http off this machine, ssh, a local path, a URL with its own user), none is asked for; a 404
 * (the edge does not let this runner have one) counts as none, and the git command then goes
 * without, failing as a private repository does.
 */
export async function gitAuthFor(
  edge: EdgeCaller,
  workspaceId: string,
  url: string,
  purpose: 'clone' | 'push',
  /** Plain http to this host's loopback (`KEEL_RUNNER_ALLOW_LOCAL_GIT`: tests and one-machine installs). */
  allowLoopbackHttp: boolean,
): Promise<GitAuth | undefined> {
  if (!credentialMayTravelTo(url)) return undefined;
  if (url.startsWith('http:') && !allowLoopbackHttp) return undefined;
  const host = gitUrlHost(url);
  if (!host) return undefined;
  const path = `/api/runners/workspaces/${encodeURIComponent(workspaceId)}/git-credential`;
  let body: unknown;
  try {
    body = await callEdge(
      edge,
      { method: 'POST', path, what: `the Git credential for ${host}`, body: { host, purpose } },
      gitCredentialError,
    );
  } catch (err) {
    if (err instanceof GitCredentialError && err.status === 404) return undefined;
    throw err;
  }
  const parsed = RunnerGitCredentialResponse.safeParse(body);
  // zod's issues may quote what they refused (the token): none of it goes into the message.
  if (!parsed.success)
    throw new GitCredentialError('invalid', `the edge answered an unreadable Git credential for ${host}`);
  return parsed.data.credential ?? undefined;
}
