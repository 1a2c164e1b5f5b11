import { runnerRoutes } from '@keel/contract/api/runners';
import { bullPrefixOf, runnerQueueName } from '@keel/contract/keys';
import {
  formatProtocol,
  negotiate,
  PROTOCOL,
  PROTOCOL_UNSTATED,
  parseProtocol,
} from '@keel/contract/protocol';
import {
  RegisterRunnerRequest,
  type RegisterRunnerResponse,
  RunnerCheckInRequest,
} from '@keel/contract/runners';
import { runners, runnerTokens } from '@keel/drizzle/schema';
import { and, eq, gt, isNull, lt, sql } from 'drizzle-orm';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit } from '../audit/audit-log.ts';
import { constantTimeEqual, randomToken, sha256Hex } from '../auth/bytes.ts';
import { sweepFleet } from '../fleet/sweep.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readOptionalJson } from '../http/validate.ts';
import { newId } from '../ids.ts';
import { createRunnerRedisUser } from '../runners/redis-acl.ts';
import { withTimeout } from '../services/with-timeout.ts';
import type { Services } from '../services.ts';

/** Admin console: registration tokens, the runner list, revocation. */

/**
 * The answer to a registration, with the runner's own Redis user when runners are
 * confined. A user that cannot be made leaves the runner revoked: it must not start with
 * more access than it was meant to have.
 */
async function registrationBody(
  services: Services,
  runnerId: string,
  credential: string,
): Promise<RegisterRunnerResponse> {
  const prefix = services.config.redisPrefix;
  let redis: RegisterRunnerResponse['redis'];
  if (services.config.runnerRedisAcl) {
    try {
      redis = await createRunnerRedisUser(services, runnerId);
    } catch (err) {
      await services.db
        .update(runners)
        .set({ revokedAt: services.clock.now() })
        .where(eq(runners.id, runnerId));
      throw new ApiError('runner_unavailable', `Could not create the runner's Redis user: ${String(err)}`);
    }
  }
  return {
    runnerId,
    credential,
    queueName: runnerQueueName(runnerId),
    bullPrefix: bullPrefixOf(prefix),
    keyPrefix: prefix,
    ...(redis ? { redis } : {}),
  };
}

/**
 * The protocol this edge and a runner both speak, or a `protocol_mismatch` refusal naming
 * each side's versions. Checked before anything is written or a token use is counted.
 */
function agreedProtocol(stated: string | undefined): string {
  const result = negotiate(PROTOCOL, stated ? parseProtocol(stated) : PROTOCOL_UNSTATED);
  if (!result.ok) throw new ApiError('protocol_mismatch', result.message);
  return formatProtocol(result.agreed);
}

/** How long a check-in waits for the sweep it started (runners give up on a check-in after 5 s). */
const CHECK_IN_SWEEP_WAIT_MS = 2_500;

/** What runners call: registration with a token, then check-ins with their credential. */
export function runnerApiRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/runners');

  on(runnerRoutes.registerRunner, async (c) => {
    const services = c.get('services');
    const input = await readJson(c, RegisterRunnerRequest);
    const protocol = agreedProtocol(input.protocol);
    const now = services.clock.now();
    const tokenHash = sha256Hex(input.token);
    const credential = randomToken('rnc');
    const runnerId = newId('runner');
    const bootstrap = services.config.runnerBootstrapToken;
    if (
      bootstrap &&
      constantTimeEqual(new TextEncoder().encode(bootstrap), new TextEncoder().encode(input.token))
    ) {
      await services.db.insert(runners).values({
        id: runnerId,
        organizationId: null,
        name: input.name,
        labels: input.labels,
        drivers: input.drivers,
        capacity: input.capacity,
        version: input.version,
        credentialHash: sha256Hex(credential),
        createdAt: now,
      });
      await appendAudit(services, {
        action: 'runner.register',
        outcome: 'success',
        targetId: runnerId,
        metadata: { shared: true, drivers: input.drivers.join(','), version: input.version, protocol },
      });
      return reply(c, runnerRoutes.registerRunner, 201, {
        ...(await registrationBody(services, runnerId, credential)),
        protocol,
      });
    }
    const registered = await services.db.transaction(async (tx) => {
      // The conditional increment makes a token's last use a race that only one runner wins.
      const [token] = await tx
        .update(runnerTokens)
        .set({ uses: sql`${runnerTokens.uses} + 1` })
        .where(
          and(
            eq(runnerTokens.tokenHash, tokenHash),
            isNull(runnerTokens.revokedAt),
            gt(runnerTokens.expiresAt, now),
            lt(runnerTokens.uses, runnerTokens.maxUses),
          ),
        )
        .returning();
      if (!token) return undefined;
      await tx.insert(runners).values({
        id: runnerId,
        organizationId: token.organizationId,
        name: input.name,
        labels: { ...token.labels, ...input.labels },
        drivers: input.drivers,
        capacity: input.capacity,
        version: input.version,
        credentialHash: sha256Hex(credential),
        registeredWith: token.id,
        createdAt: now,
      });
      return token;
    });
    if (!registered) throw new ApiError('invalid_token', 'Registration token is invalid, used up or expired');
    await appendAudit(services, {
      action: 'runner.register',
      outcome: 'success',
      organizationId: registered.organizationId,
      targetId: runnerId,
      metadata: {
        drivers: input.drivers.join(','),
        version: input.version,
        protocol,
        ...(registered.organizationId === null ? { shared: true } : {}),
      },
    });
    return reply(c, runnerRoutes.registerRunner, 201, {
      ...(await registrationBody(services, runnerId, credential)),
      protocol,
    });
  });

  on(runnerRoutes.runnerCheckIn, async (c) => {
    const input = await readOptionalJson(c, RunnerCheckInRequest);
    const protocol = agreedProtocol(input.protocol);
    const runnerId = c.get('runnerId');
    const services = c.get('services');
    if (input.drivers) {
      const drivers = [...new Set(input.drivers)].sort();
      // Written only when it changed: check-ins come every few seconds from every runner.
      await services.db
        .update(runners)
        .set({ drivers })
        .where(and(eq(runners.id, runnerId), sql`${runners.drivers} <> ${JSON.stringify(drivers)}::jsonb`));
    }
    // The edge keeps no timers: the fleet's sweep rides on runners' check-ins. It never fails
    // a check-in, and the runner waits for it only so long (the work goes on behind).
    await withTimeout(sweepFleet(services), CHECK_IN_SWEEP_WAIT_MS).catch(() => {});
    return reply(c, runnerRoutes.runnerCheckIn, 200, { runnerId, revoked: false, protocol });
  });

  return app;
}
