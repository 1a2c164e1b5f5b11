import { integrationRoutes as routes } from '@keel/contract/api/integrations';
import {
  GitCredentialParams,
  GitPushRequest,
  GitPushResult,
  PutGitCredentialRequest,
} from '@keel/contract/integrations';
import { runnerErrorApiCode } from '@keel/contract/runner-errors';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Hono, type MiddlewareHandler } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { jobTraceOf } from '../http/job-trace.ts';
import { readJson, readOptionalJson, readParams } from '../http/validate.ts';
import {
  deleteGitCredential,
  gitPushGrantKey,
  listGitCredentials,
  putGitCredential,
} from '../integrations/git-credentials.ts';
import { RunnerGoneError } from '../services/queue.ts';
import { assertRunnerServes, loadWorkspace, queueOf, RUNNER_OFFLINE } from '../workspaces/access.ts';

/** A push waits this long for the runner (copying the repository out and the upload included). */
const PUSH_TIMEOUT_MS = 120_000;

/** Tokens are the account's own credentials: a personal access token cannot read or change them. */
function person(): MiddlewareHandler<AppEnv> {
  return async function gitCredentialPersonMiddleware(c, next) {
    if (c.get('principal').tokenPermissions)
      throw new ApiError('forbidden', 'A personal access token cannot manage Git host tokens; sign in');
    await next();
  };
}

/** A person's Git host tokens (`/api/account/git-credentials`). */
export function gitCredentialRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/account/git-credentials');

  on(routes.listGitCredentials, person(), async (c) => {
    const p = c.get('principal');
    return reply(c, routes.listGitCredentials, 200, {
      credentials: await listGitCredentials(c.get('services'), p),
    });
  });

  on(routes.putGitCredential, person(), async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, PutGitCredentialRequest);
    const done = await putGitCredential(services, p, input);
    await appendAudit(services, {
      action: 'git_credential.put',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: done.credential.id,
      metadata: { host: done.credential.host, replaced: done.replaced },
    });
    return done.replaced
      ? reply(c, routes.putGitCredential, 200, done)
      : reply(c, routes.putGitCredential, 201, done);
  });

  on(routes.deleteGitCredential, person(), async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { credentialId } = readParams(c, GitCredentialParams);
    const row = await deleteGitCredential(services, p, credentialId);
    if (!row) throw new ApiError('not_found', 'No such Git host token');
    await appendAudit(services, {
      action: 'git_credential.delete',
      outcome: 'success',
      actorId: p.userId,
      organizationId: p.organizationId,
      targetId: row.id,
      metadata: { host: row.host },
    });
    return c.body(null, 204);
  });

  return app;
}

const IdParam = z.object({ id: z.string().max(128) });

/** `POST /api/workspaces/:id/git/push`: the runner pushes from a copy of the repository, with the owner's token. */
export function gitPushRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/workspaces');

  on(routes.pushWorkspace, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const row = await loadWorkspace(c, readParams(c, IdParam).id);
    const input = await readOptionalJson(c, GitPushRequest);
    // The token is its owner's: an admin who may work in the workspace does not push as them.
    if (row.ownerId !== p.userId)
      throw new ApiError(
        'forbidden',
        'Only the workspace’s owner pushes from it, with their own Git host token',
      );
    const grant = gitPushGrantKey(services, row.id);
    await assertRunnerServes(services, row, {
      key: grant,
      value: row.runnerId ?? '',
      ttlSeconds: Math.ceil(PUSH_TIMEOUT_MS / 1000) + 30,
    });
    let outcome: Awaited<ReturnType<typeof services.queue.call>>;
    try {
      outcome = await services.queue.call(
        queueOf(row),
        {
          v: CONTRACT_VERSION,
          type: 'git.push',
          workspaceId: row.id,
          remote: input.remote,
          ...(input.branch ? { branch: input.branch } : {}),
        },
        PUSH_TIMEOUT_MS,
        jobTraceOf(c),
      );
    } catch (err) {
      if (err instanceof ApiError) throw err;
      throw new ApiError(
        'runner_unavailable',
        err instanceof RunnerGoneError
          ? `The workspace is unavailable: ${RUNNER_OFFLINE}`
          : 'The workspace runner did not finish the push in time',
      );
    } finally {
      await services.redis().del(grant);
    }
    const audit = (outcome: 'success' | 'failure', metadata: Record<string, string | boolean>) =>
      appendAudit(services, {
        action: 'workspace.git_push',
        outcome,
        actorId: p.userId,
        organizationId: p.organizationId,
        workspaceId: row.id,
        metadata,
      });
    if (!outcome.ok) {
      await audit('failure', { remote: input.remote });
      throw new ApiError(runnerErrorApiCode[outcome.error.code], outcome.error.message);
    }
    const parsed = GitPushResult.safeParse(outcome.result);
    if (!parsed.success)
      throw new ApiError('runner_unavailable', 'The runner answered in an unexpected shape');
    await audit(parsed.data.pushed ? 'success' : 'failure', {
      remote: parsed.data.remote,
      branch: parsed.data.branch,
      authenticated: parsed.data.authenticated,
    });
    return reply(c, routes.pushWorkspace, 200, parsed.data);
  });

  return app;
}
