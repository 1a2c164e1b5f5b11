import { z } from 'zod';
import { CONTRACT_VERSION } from './version.ts';

/**
 * The IDE's source control: git run inside the workspace (as its commands run) for status,
 * diffs, staging, commits and branches; fetch and pull reach the remote from the runner's host
 * with the owner's Git host token (a workspace never reaches the runner's network), and push is
 * the existing `git.push` job (contract/integrations).
 */

/** A workspace-relative path as git names it: no `..` segment, not absolute, no NUL or newline. */
export const GitPath = z
  .string()
  .min(1)
  .max(4096)
  .refine((p) => !p.startsWith('/') && !/[\0\n\r]/.test(p), 'a workspace-relative path')
  .refine((p) => !p.split('/').some((s) => s === '..' || s === '.git'), 'no `..` or `.git` segment');

const MAX_REF_LENGTH = 250;
/**
 * A branch name per `git check-ref-format --branch`: no `..`, `@{`, control characters, space,
 * `~ ^ : ? * [ \`, no component starting with `.` or ending with `.lock`, not ending in `/` or `.`,
 * not `@` nor `HEAD`, and (ours) not starting with `-` so it is never read as an option.
 */
export const BranchName = z
  .string()
  .min(1)
  .max(MAX_REF_LENGTH)
  .refine((b) => isBranchName(b), 'not a valid branch name (see git check-ref-format)');

export function isBranchName(b: string): boolean {
  if (
    b === '@' ||
    b === 'HEAD' ||
    b.startsWith('-') ||
    b.startsWith('/') ||
    b.endsWith('/') ||
    b.endsWith('.')
  )
    return false;
  if (b.includes('..') || b.includes('@{') || b.includes('//')) return false;
  if (/[\0-\x20\x7f~^:?*[\\]/.test(b)) return false;
  return b.split('/').every((c) => c.length > 0 && !c.startsWith('.') && !c.endsWith('.lock'));
}

export const RemoteName = z
  .string()
  .min(1)
  .max(100)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ -');

/** The largest commit message taken (git has no limit; a message is not a file). */
export const MAX_COMMIT_MESSAGE = 16_000;
const Paths = z.array(GitPath).min(1).max(1000);

/** One changed path; letters are porcelain v2's (`M` `A` `D` `R` `C` `T` `U`, `.` for unchanged). */
export const GitFileChange = z.object({
  path: z.string(),
  /** A rename's or copy's source. */
  origPath: z.string().optional(),
  index: z.string().length(1),
  worktree: z.string().length(1),
  kind: z.enum(['changed', 'untracked', 'conflicted']),
});
export type GitFileChange = z.infer<typeof GitFileChange>;

export const GitStatus = z.object({
  /** null when HEAD is detached. */
  branch: z.string().nullable(),
  /** The commit checked out; null before the first commit. */
  head: z.string().nullable(),
  upstream: z.string().nullable(),
  ahead: z.number().int(),
  behind: z.number().int(),
  files: z.array(GitFileChange),
  /** More changes than listed were found. */
  truncated: z.boolean(),
});
export type GitStatus = z.infer<typeof GitStatus>;

export const GitHunk = z.object({
  /** `@@ -a,b +c,d @@ …` */
  header: z.string(),
  oldStart: z.number().int(),
  oldLines: z.number().int(),
  newStart: z.number().int(),
  newLines: z.number().int(),
  /** SHA-256 of the hunk's text: staging it names this, so a hunk that changed meanwhile is refused. */
  id: z.string(),
});
export type GitHunk = z.infer<typeof GitHunk>;

export const GitDiffQuery = z.strictObject({
  path: GitPath,
  /** true: HEAD ↔ index (what is staged); false: index ↔ working tree. */
  staged: z
    .enum(['true', 'false'])
    .default('false')
    .transform((v) => v === 'true'),
});
export const GitDiffResult = z.object({
  path: z.string(),
  staged: z.boolean(),
  /** The left side (HEAD or index); null where the file does not exist there. */
  original: z.string().nullable(),
  /** The right side (index or working tree); null where the file does not exist there. */
  modified: z.string().nullable(),
  /** Binary or larger than the diff limit: sides are left out. */
  binary: z.boolean(),
  tooLarge: z.boolean(),
  hunks: z.array(GitHunk),
});
export type GitDiffResult = z.infer<typeof GitDiffResult>;

export const GitPathsRequest = z.strictObject({ paths: Paths });
export type GitPathsRequest = z.infer<typeof GitPathsRequest>;
export const GitHunkRequest = z.strictObject({
  path: GitPath,
  /** The hunk's id from the diff it was shown in. */
  hunk: z.string().regex(/^[0-9a-f]{64}$/),
});
export type GitHunkRequest = z.infer<typeof GitHunkRequest>;

export const GitCommitRequest = z.strictObject({
  message: z
    .string()
    .max(MAX_COMMIT_MESSAGE)
    .refine((m) => m.trim().length > 0, 'a commit message')
    .refine((m) => !m.includes('\0'), 'no NUL'),
  /** Commit what is staged plus every tracked change (`git commit -a`). */
  all: z.boolean().default(false),
});
export type GitCommitRequest = z.input<typeof GitCommitRequest>;
export const GitCommitResult = z.object({ commit: z.string(), summary: z.string() });
export type GitCommitResult = z.infer<typeof GitCommitResult>;

export const GitBranch = z.object({
  name: z.string(),
  commit: z.string(),
  current: z.boolean(),
  upstream: z.string().nullable(),
  /** A remote-tracking branch (`origin/main`). */
  remote: z.boolean(),
});
export const GitBranches = z.object({ branches: z.array(GitBranch), truncated: z.boolean() });
export type GitBranches = z.infer<typeof GitBranches>;

export const GitCreateBranchRequest = z.strictObject({
  name: BranchName,
  /** A branch or commit to start from; default HEAD. */
  from: z
    .string()
    .min(1)
    .max(MAX_REF_LENGTH)
    .regex(/^[A-Za-z0-9][A-Za-z0-9._/-]*$/, 'a branch or commit')
    .refine((r) => !r.includes('..'), 'a branch or commit')
    .optional(),
  switch: z.boolean().default(true),
});
export type GitCreateBranchRequest = z.input<typeof GitCreateBranchRequest>;
export const GitSwitchRequest = z.strictObject({ name: BranchName });
export type GitSwitchRequest = z.infer<typeof GitSwitchRequest>;

export const GitRemoteRequest = z.strictObject({ remote: RemoteName.default('origin') });
export type GitRemoteRequest = z.input<typeof GitRemoteRequest>;
export const GitFetchResult = z.object({
  remote: z.string(),
  /** Remote-tracking refs that moved or appeared. */
  updated: z.array(z.string()),
  authenticated: z.boolean(),
});
export type GitFetchResult = z.infer<typeof GitFetchResult>;
export const GitPullResult = GitFetchResult.extend({
  /** `up_to_date`, `fast_forward` or `merged` (a merge commit was made). */
  outcome: z.enum(['up_to_date', 'fast_forward', 'merged']),
  head: z.string().nullable(),
});
export type GitPullResult = z.infer<typeof GitPullResult>;
export const GitDoneResult = z.object({ ok: z.literal(true) });

/** Who commits: the person's profile, as GIT_AUTHOR_* / GIT_COMMITTER_* of that one git process. */
export const GitAuthor = z.object({ name: z.string().min(1).max(200), email: z.string().min(3).max(320) });
export type GitAuthor = z.infer<typeof GitAuthor>;

export const GitOp = z.discriminatedUnion('op', [
  z.object({ op: z.literal('status') }),
  z.object({ op: z.literal('diff'), path: GitPath, staged: z.boolean() }),
  z.object({ op: z.literal('stage'), paths: Paths }),
  z.object({ op: z.literal('unstage'), paths: Paths }),
  z.object({ op: z.literal('discard'), paths: Paths }),
  z.object({ op: z.literal('stageHunk'), path: GitPath, hunk: z.string() }),
  z.object({ op: z.literal('unstageHunk'), path: GitPath, hunk: z.string() }),
  z.object({ op: z.literal('commit'), message: z.string(), all: z.boolean(), author: GitAuthor }),
  z.object({ op: z.literal('branches') }),
  z.object({
    op: z.literal('createBranch'),
    name: BranchName,
    from: z.string().optional(),
    switch: z.boolean(),
  }),
  z.object({ op: z.literal('switch'), name: BranchName }),
  z.object({ op: z.literal('fetch'), remote: RemoteName }),
  z.object({ op: z.literal('pull'), remote: RemoteName, author: GitAuthor }),
]);
export type GitOp = z.infer<typeof GitOp>;

/** One source-control operation in a workspace. */
export const GitRunJob = z.object({
  v: z.literal(CONTRACT_VERSION),
  type: z.literal('git.run'),
  workspaceId: z.string().min(1).max(64),
  op: GitOp,
});
export type GitRunJob = z.infer<typeof GitRunJob>;
