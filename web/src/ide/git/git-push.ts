import { type GitPushRequest, type GitPushResponse, gitUrlHost } from '@keel/contract/integrations';

/** Where a person keeps the token a push uses. */
export const INTEGRATIONS_PATH = '/settings/integrations';

/**
 * The request for what the form holds: an empty remote is `origin`, an empty branch is left out so
 * the runner pushes the branch checked out. Spaces around either are not part of the name.
 */
export function pushRequest(remote: string, branch: string): GitPushRequest {
  const name = remote.trim();
  const ref = branch.trim();
  return { remote: name === '' ? 'origin' : name, ...(ref === '' ? {} : { branch: ref }) };
}

/** What a finished push is called, in one line a screen reader announces. */
export function pushHeadline(result: GitPushResponse): string {
  return result.pushed
    ? `Pushed ${result.branch} to ${result.remote}`
    : `Not pushed: ${result.remote} did not take ${result.branch}`;
}

/**
 * The Git host to keep a token for, when the push went without one and that may be why (or it was
 * refused for the lack of one); undefined when a token was sent, or the push went through.
 */
export function tokenHostForResult(result: GitPushResponse): string | undefined {
  if (result.authenticated || result.pushed) return undefined;
  return gitUrlHost(result.url) ?? hostNamedIn(result.output);
}

/**
 * The host an error names when it says no token is kept for it: the runner's words are
 * "keep a token for <host> in Settings › Integrations" (runners/src/git-clone.ts).
 */
export function hostNamedIn(message: string): string | undefined {
  return /keep a token for (\S+) in Settings/i.exec(message)?.[1];
}

/** The link's words for a host. */
export function keepTokenText(host: string): string {
  return `Keep a token for ${host} in Settings › Integrations`;
}
