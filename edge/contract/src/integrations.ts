/**
 * Integrations of a person's account: tokens for Git hosts (GitHub, GitLab, a company's own),
 * sealed at the edge, used when their workspaces clone a private repository and when they push.
 * The token is write-only for people: lists never carry it.
 */
import { z } from 'zod';
import { idSchema } from './ids.ts';
import { CONTRACT_VERSION } from './version.ts';

export const GIT_TOKEN_MIN_CHARS = 8;
export const GIT_TOKEN_MAX_CHARS = 1000;

const LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * A host as people type it, checked and lower-cased: a DNS name or an IPv4 address, with a port
 * when it is not the default one (`github.com`, `git.corp.example:8443`); never a scheme, a path,
 * a user or a query.
 */
export const GitHost = z.string().trim().toLowerCase().min(1).max(260).refine(isGitHost, {
  message: 'must be a host name such as github.com or git.corp.example:8443 (no https://, no path)',
});

export function isGitHost(value: string): boolean {
  const m = /^([^:]+)(?::(\d{1,5}))?$/.exec(value);
  if (!m) return false;
  const [, name, port] = m as unknown as [string, string, string | undefined];
  if (port !== undefined && (Number(port) < 1 || Number(port) > 65535 || port.startsWith('0'))) return false;
  if (name.length > 253) return false;
  return name.split('.').every((label) => LABEL.test(label));
}

/** The host a Git URL's credential is looked up by (`URL.host`: lower case, default port left out). */
export function gitUrlHost(url: string): string | undefined {
  try {
    const u = new URL(url);
    if (u.protocol !== 'https:' && u.protocol !== 'http:') return undefined;
    return isGitHost(u.host) ? u.host : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Whether a credential may travel to this URL: over https, or plain http to this machine's own
 * loopback (where it crosses no network). Never to a URL that names its own user or password.
 */
export function credentialMayTravelTo(url: string): boolean {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    return false;
  }
  if (u.username || u.password) return false;
  if (u.protocol === 'https:') return true;
  return u.protocol === 'http:' && (u.hostname === '127.0.0.1' || u.hostname === 'localhost');
}

/** The user name a host expects beside a token when none is given. */
export function defaultGitUsername(host: string): string {
  const name = host.replace(/:\d+$/, '');
  if (name === 'gitlab.com' || name.startsWith('gitlab.')) return 'oauth2';
  if (name === 'bitbucket.org') return 'x-token-auth';
  return 'x-access-token';
}

export const GitUsername = z
  .string()
  .trim()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9._@+-]+$/, 'letters, digits and . _ @ + -');

/** Printable ASCII without spaces: what Git hosts issue, and what fits an HTTP header. */
export const GitToken = z
  .string()
  .min(GIT_TOKEN_MIN_CHARS)
  .max(GIT_TOKEN_MAX_CHARS)
  .regex(/^[\x21-\x7e]+$/, 'printable characters without spaces');

/** Add a token for a host, or replace the one already there for that host. */
export const PutGitCredentialRequest = z.strictObject({
  host: GitHost,
  username: GitUsername.optional(),
  token: GitToken,
  label: z.string().trim().max(100).optional(),
});
export type PutGitCredentialRequest = z.input<typeof PutGitCredentialRequest>;

export const GitCredential = z.object({
  id: idSchema('gitCredential'),
  host: z.string(),
  /** What is sent with the token: the one given, or the host's usual one. */
  username: z.string(),
  /** Whether `username` was given, or is the host's default. */
  usernameIsDefault: z.boolean(),
  label: z.string().nullable(),
  createdAt: z.string(),
  lastUsedAt: z.string().nullable(),
});
export type GitCredential = z.infer<typeof GitCredential>;
export const GitCredentialList = z.object({ credentials: z.array(GitCredential) });
export type GitCredentialList = z.infer<typeof GitCredentialList>;
export const PutGitCredentialResponse = z.object({
  credential: GitCredential,
  /** true: it replaced the token already kept for that host. */
  replaced: z.boolean(),
});
export type PutGitCredentialResponse = z.infer<typeof PutGitCredentialResponse>;
export const GitCredentialParams = z.object({ credentialId: z.string().max(64) });

/** A runner asks for the owner's token for one host, for the clone or the push it is doing now. */
export const RunnerGitCredentialRequest = z.strictObject({
  host: GitHost,
  purpose: z.enum(['clone', 'push']),
});
export type RunnerGitCredentialRequest = z.infer<typeof RunnerGitCredentialRequest>;
export const RunnerGitCredentialResponse = z.object({
  credential: z.object({ username: z.string(), token: z.string() }).nullable(),
});
export type RunnerGitCredentialResponse = z.infer<typeof RunnerGitCredentialResponse>;

/** Push a branch of a workspace's repository to one of its remotes, with the owner's token. */
export const GitPushRequest = z.strictObject({
  remote: z
    .string()
    .min(1)
    .max(100)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ -')
    .default('origin'),
  /** Default: the branch checked out. */
  branch: z
    .string()
    .min(1)
    .max(250)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'letters, digits, . _ / -')
    .refine((b) => !b.includes('..') && !b.endsWith('/') && !b.endsWith('.lock'), 'not a branch name')
    .optional(),
});
export type GitPushRequest = z.input<typeof GitPushRequest>;
export const GitPushResponse = z.object({
  remote: z.string(),
  branch: z.string(),
  /** The remote's URL as the repository names it (never with a token). */
  url: z.string(),
  /** Whether a kept credential was sent. */
  authenticated: z.boolean(),
  /** Whether the remote took it (false: refused, rejected or unreachable; `output` says why). */
  pushed: z.boolean(),
  /** What git said (its last lines). */
  output: z.string(),
});
export type GitPushResponse = z.infer<typeof GitPushResponse>;

/**
 * The runner pushes from a copy of the workspace's repository it reads through the workspace's
 * confined files, so nothing of the workspace (its config, hooks) runs on the runner's host.
 */
export const GitPushJob = z.object({
  v: z.literal(CONTRACT_VERSION),
  type: z.literal('git.push'),
  workspaceId: z.string().min(1).max(64),
  remote: z.string().min(1).max(100),
  branch: z.string().min(1).max(250).optional(),
});
export type GitPushJob = z.infer<typeof GitPushJob>;
export const GitPushResult = GitPushResponse;
