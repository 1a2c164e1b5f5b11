import type { GitOp } from '@keel/contract/git';
import { runnerErrorApiCode } from '@keel/contract/runner-errors';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { Context } from 'hono';
import type { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { gitPushGrantKey } from '../integrations/git-credentials.ts';
import { RunnerGoneError } from '../services/queue.ts';
import { assertRunnerServes, queueOf, RUNNER_OFFLINE, type WorkspaceRow } from '../workspaces/access.ts';
import { callRunner } from '../workspaces/runner-call.ts';

/** A fetch or pull waits this long for the runner (copying the repository out included). */
const REMOTE_TIMEOUT_MS = 120_000;

/** One source-control operation on the workspace's runner, answered in `schema`'s shape. */
export function runGit<S extends z.ZodType>(
  c: Context<AppEnv>,
  row: WorkspaceRow,
  op: GitOp,
  schema: S,
): Promise<z.output<S>> {
  const job = { v: CONTRACT_VERSION, type: 'git.run', workspaceId: row.id, op } as const;
  return callRunner(c.get('services'), row, job, schema, jobTraceOf(c));
}

/**
 * A fetch or pull, which reach the remote with the owner's Git host token: the runner may ask
 * for the token only while this call is pending (the same grant as a push), and only the
 * owner's own request opens it: an admin working in someone's workspace does not use their token.
 */
export async function runRemoteGit<S extends z.ZodType>(
  c: Context<AppEnv>,
  row: WorkspaceRow,
  op: GitOp,
  schema: S,
): Promise<z.output<S>> {
  const services = c.get('services');
  if (row.ownerId !== c.get('principal').userId)
    throw new ApiError(
      'forbidden',
      'Only the workspace’s owner fetches, pulls and pushes, with their own Git host token',
    );
  const grant = gitPushGrantKey(services, row.id);
  await assertRunnerServes(services, row, {
    key: grant,
    value: row.runnerId ?? '',
    ttlSeconds: Math.ceil(REMOTE_TIMEOUT_MS / 1000) + 30,
  });
  const job = { v: CONTRACT_VERSION, type: 'git.run', workspaceId: row.id, op } as const;
  let outcome: Awaited<ReturnType<typeof services.queue.call>>;
  try {
    outcome = await services.queue.call(queueOf(row), job, REMOTE_TIMEOUT_MS, jobTraceOf(c));
  } catch (err) {
    if (err instanceof ApiError) throw err;
    throw new ApiError(
      'runner_unavailable',
      err instanceof RunnerGoneError
        ? `The workspace is unavailable: ${RUNNER_OFFLINE}`
        : 'The workspace runner did not finish in time',
    );
  } finally {
    await services.redis().del(grant);
  }
  if (!outcome.ok) throw new ApiError(runnerErrorApiCode[outcome.error.code], outcome.error.message);
  const parsed = schema.safeParse(outcome.result);
  if (!parsed.success) throw new ApiError('runner_unavailable', 'The runner answered in an unexpected shape');
  return parsed.data;
}
