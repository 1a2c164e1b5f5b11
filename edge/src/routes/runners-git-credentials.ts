import { integrationRoutes as routes } from '@keel/contract/api/integrations';
import { idSchema } from '@keel/contract/ids';
import { gitUrlHost, RunnerGitCredentialRequest } from '@keel/contract/integrations';
import { workspaces } from '@keel/drizzle/schema';
import { and, eq, isNull } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { gitPushGrantKey, openGitCredential } from '../integrations/git-credentials.ts';

const IdParam = z.object({ id: z.string().max(128) });

/**
 * `POST /api/runners/workspaces/:id/git-credential`: the runner that holds a workspace now asks
 * for its owner's token for one host, for the clone of the workspace's own source (that host
 * only) or for a push its owner asked for (while that push is pending). Anything else (another
 * runner's or organization's workspace, a deleted one, another host, no push asked for) is the
 * same 404 as a missing workspace. The token travels only in this answer, over the runner's
 * HTTPS call; it is never put in a job.
 */
export function runnerGitCredentialRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/runners');

  on(routes.runnerGitCredential, async (c) => {
    const services = c.get('services');
    const runnerId = c.get('runnerId');
    const { id } = readParams(c, IdParam);
    const notFound = () => new ApiError('not_found', 'No such workspace on this runner');
    if (!idSchema('workspace').safeParse(id).success) throw notFound();
    const input = await readJson(c, RunnerGitCredentialRequest);
    const [row] = await services.db
      .select()
      .from(workspaces)
      .where(and(eq(workspaces.id, id), eq(workspaces.runnerId, runnerId), isNull(workspaces.deletedAt)))
      .limit(1);
    if (!row) throw notFound();
    if (input.purpose === 'clone') {
      if (row.source.type !== 'git' || gitUrlHost(row.source.url) !== input.host) throw notFound();
    } else {
      const grant = await services.redis().get(gitPushGrantKey(services, id));
      if (grant !== runnerId) throw notFound();
    }
    const credential = await openGitCredential(
      services,
      { userId: row.ownerId, organizationId: row.organizationId },
      input.host,
    );
    if (credential) {
      await appendAudit(services, {
        action: 'git_credential.use',
        outcome: 'success',
        actorId: row.ownerId,
        organizationId: row.organizationId,
        workspaceId: id,
        targetId: credential.id,
        metadata: { host: input.host, purpose: input.purpose, runnerId },
      });
    }
    return reply(c, routes.runnerGitCredential, 200, {
      credential: credential ? { username: credential.username, token: credential.token } : null,
    });
  });

  return app;
}
