import { z } from 'zod';
import {
  GitCredentialList,
  GitCredentialParams,
  GitPushRequest,
  GitPushResponse,
  PutGitCredentialRequest,
  PutGitCredentialResponse,
  RunnerGitCredentialRequest,
  RunnerGitCredentialResponse,
} from '../integrations.ts';
import {
  body,
  errorResponses,
  json,
  needs,
  noContent,
  runnerAccess,
  runnerAuth,
  signedIn,
  userAuth,
} from './describe.ts';

const tags = ['integrations'];
const IdParam = z.object({ id: z.string().max(128) });

/**
 * A person's Git host tokens. Listing and deleting one's own need only a session (a person
 * demoted to viewer can still see and remove what they stored); adding one needs
 * `workspaces:create`, because a token is only ever used by the workspaces one creates and the
 * pushes one makes, which a viewer cannot. Personal access tokens are refused, as on the rest of
 * the account.
 */
export const integrationRoutes = {
  listGitCredentials: {
    method: 'get',
    path: '/api/account/git-credentials',
    summary: 'My Git host tokens (hosts, user names, labels, last use; never the tokens)',
    tags,
    security: userAuth,
    access: signedIn,
    responses: { 200: json(GitCredentialList, 'My Git host tokens'), ...errorResponses },
  },
  putGitCredential: {
    method: 'put',
    path: '/api/account/git-credentials',
    summary: 'Keep a token for a Git host, replacing the one kept for that host',
    tags,
    security: userAuth,
    access: needs('workspaces:create'),
    request: { body: body(PutGitCredentialRequest) },
    responses: {
      200: json(PutGitCredentialResponse, 'Replaced the token for that host'),
      201: json(PutGitCredentialResponse, 'Kept a token for a new host'),
      ...errorResponses,
    },
  },
  deleteGitCredential: {
    method: 'delete',
    path: '/api/account/git-credentials/{credentialId}',
    summary: 'Forget one of my Git host tokens',
    tags,
    security: userAuth,
    access: signedIn,
    request: { params: GitCredentialParams },
    responses: { 204: noContent, ...errorResponses },
  },
  pushWorkspace: {
    method: 'post',
    path: '/api/workspaces/{id}/git/push',
    summary: 'Push a branch of my workspace to its remote with my Git host token',
    tags,
    security: userAuth,
    access: needs('workspaces:use'),
    request: { params: IdParam, body: body(GitPushRequest, false) },
    responses: {
      200: json(GitPushResponse, 'What git said, and whether the remote took it'),
      ...errorResponses,
    },
  },
  runnerGitCredential: {
    method: 'post',
    path: '/api/runners/workspaces/{id}/git-credential',
    summary: 'The runner holding a workspace asks for its owner’s token for one host, to clone or push',
    tags,
    access: runnerAccess,
    security: runnerAuth,
    request: { params: IdParam, body: body(RunnerGitCredentialRequest) },
    responses: { 200: json(RunnerGitCredentialResponse, 'The token, or none kept'), ...errorResponses },
  },
} as const;
