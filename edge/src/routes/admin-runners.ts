import { adminRoutes } from '@keel/contract/api/admin';
import { idSchema } from '@keel/contract/ids';
import { CreateRunnerTokenRequest, type CreateRunnerTokenResponse } from '@keel/contract/runners';
import { runners, runnerTokens } from '@keel/drizzle/schema';
import { and, desc, eq, isNull, or } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { randomToken, sha256Hex } from '../auth/bytes.ts';
import { drainProgresses } from '../fleet/drain.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { assertInstallAdmin } from '../middleware/require-install-admin.ts';
import { removeRunnerRedisUser } from '../runners/redis-acl.ts';
import { heartbeatsOf, runnerView } from '../runners/registry.ts';
import type { Services } from '../services.ts';

/** Admin console: registration tokens, the runner list, revocation. */
export function adminRunnerRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin');

  on(adminRoutes.createRunnerToken, async (c) => {
    const principal = c.get('principal');
    const input = await readJson(c, CreateRunnerTokenRequest);
    return reply(
      c,
      adminRoutes.createRunnerToken,
      201,
      await createRunnerToken(c.get('services'), principal.userId, principal.organizationId, input),
    );
  });

  on(adminRoutes.listRunners, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const rows = await services.db
      .select()
      .from(runners)
      .where(or(eq(runners.organizationId, p.organizationId), isNull(runners.organizationId)))
      .orderBy(desc(runners.createdAt))
      .limit(1000);
    const beats = await heartbeatsOf(
      services,
      rows.filter((r) => !r.revokedAt).map((r) => r.id),
    );
    const drains = await drainProgresses(services, 'runner', rows);
    // A shared runner's host serves every organization: its stats are the install's.
    return reply(c, adminRoutes.listRunners, 200, {
      runners: rows.map((r) =>
        runnerView(r, beats.get(r.id), r.organizationId !== null || p.installAdmin, drains.get(r.id)),
      ),
    });
  });

  on(adminRoutes.revokeRunner, async (c) => {
    const services = c.get('services');
    const principal = c.get('principal');
    const { id } = readParams(c, z.object({ id: z.string() }));
    if (!idSchema('runner').safeParse(id).success) throw new ApiError('not_found', 'No such runner');
    const [row] = await services.db
      .select({ organizationId: runners.organizationId })
      .from(runners)
      .where(
        and(
          eq(runners.id, id),
          or(eq(runners.organizationId, principal.organizationId), isNull(runners.organizationId)),
        ),
      )
      .limit(1);
    if (!row) throw new ApiError('not_found', 'No such active runner');
    // Shared runners serve every organization: only an install administrator may revoke one,
    // and the act goes to the install's chain, not one organization's.
    const shared = row.organizationId === null;
    if (shared) await assertInstallAdmin(c);
    const scope = shared ? null : principal.organizationId;
    if (!(await revokeRunner(services, id, scope))) throw new ApiError('not_found', 'No such active runner');
    await appendAudit(services, {
      action: 'runner.revoke',
      outcome: 'success',
      actorId: principal.userId,
      organizationId: scope,
      targetId: id,
      ...(shared ? { metadata: { shared: true, organization: principal.organizationId } } : {}),
    });
    return c.body(null, 204);
  });

  return app;
}

/**
 * Makes a registration token (shown once, stored as its hash) for a runner of `organizationId`,
 * or, with null, for a shared runner (install administrators only: the caller checks). The act
 * goes to that organization's audit chain, or to the install's.
 */
export async function createRunnerToken(
  services: Services,
  actorId: string,
  organizationId: string | null,
  input: CreateRunnerTokenRequest,
): Promise<CreateRunnerTokenResponse> {
  const token = randomToken('rgt');
  const now = services.clock.now();
  const [row] = await services.db
    .insert(runnerTokens)
    .values({
      id: newId('runnerToken'),
      organizationId,
      name: input.name ?? null,
      labels: input.labels ?? {},
      tokenHash: sha256Hex(token),
      maxUses: input.maxUses,
      expiresAt: new Date(now.getTime() + input.expiresInSeconds * 1000),
      createdBy: actorId,
      createdAt: now,
    })
    .returning();
  await appendAudit(services, {
    action: 'runner_token.create',
    outcome: 'success',
    actorId,
    organizationId,
    targetId: row!.id,
    metadata: {
      maxUses: input.maxUses,
      expiresInSeconds: input.expiresInSeconds,
      ...(organizationId === null ? { shared: true } : {}),
    },
  });
  return {
    token,
    runnerToken: {
      id: row!.id,
      name: row!.name,
      labels: row!.labels,
      expiresAt: row!.expiresAt.toISOString(),
      maxUses: row!.maxUses,
      uses: row!.uses,
      createdAt: row!.createdAt.toISOString(),
    },
  };
}

/**
 * Revokes an active runner of `organizationId` (null: a shared runner). Its Redis user goes
 * too, with the connections it has open: the runner is cut off at once instead of at its
 * next check-in. False when there was no such active runner.
 */
export async function revokeRunner(
  services: Services,
  id: string,
  organizationId: string | null,
): Promise<boolean> {
  const revoked = await services.db
    .update(runners)
    .set({ revokedAt: services.clock.now() })
    .where(
      and(
        eq(runners.id, id),
        isNull(runners.revokedAt),
        organizationId === null ? isNull(runners.organizationId) : eq(runners.organizationId, organizationId),
      ),
    )
    .returning({ id: runners.id });
  if (revoked.length === 0) return false;
  if (services.config.runnerRedisAcl) await removeRunnerRedisUser(services, id);
  return true;
}
