import { installRoutes as routes } from '@keel/contract/api/install';
import type { AuditVerifyResponse } from '@keel/contract/audit';
import { idSchema } from '@keel/contract/ids';
import {
  GrantInstallAdminRequest,
  InstallSettings,
  type InstallSettingsResponse,
  type ListInstallAdminsResponse,
  UpdateInstallSettingsRequest,
} from '@keel/contract/install';
import { CreateRunnerTokenRequest } from '@keel/contract/runners';
import { runners } from '@keel/drizzle/schema';
import { desc, isNull } from 'drizzle-orm';
import { Hono } from 'hono';
import { z } from 'zod';
import type { AppEnv } from '../app-env.ts';
import { appendAudit, INSTALL_CHAIN, verifyAuditChain } from '../audit/audit-log.ts';
import { drainProgresses } from '../fleet/drain.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson, readParams } from '../http/validate.ts';
import { grantInstallAdmin, listInstallAdmins, revokeInstallAdmin } from '../install/install-admins.ts';
import { loadInstallSettings, saveInstallSettings } from '../install/settings.ts';
import { heartbeatsOf, runnerView } from '../runners/registry.ts';
import { answerAuditList } from './admin-audit.ts';
import { createRunnerToken, revokeRunner } from './admin-runners.ts';

/**
 * What every organization shares: install settings, shared runners, install administrators
 * and the install's audit chain. Install administrators only, whatever their organization
 * role; each action is recorded in the install chain (no organization).
 */
export function installRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/install');

  on(routes.installSettings, async (c) => {
    const stored = await loadInstallSettings(c.get('services').db);
    const body: InstallSettingsResponse = {
      settings: stored.settings,
      updatedAt: stored.updatedAt?.toISOString() ?? null,
      updatedBy: stored.updatedBy,
    };
    return reply(c, routes.installSettings, 200, body);
  });

  on(routes.updateInstallSettings, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, UpdateInstallSettingsRequest);
    const current = await loadInstallSettings(services.db);
    const settings = InstallSettings.parse({ ...current.settings, ...input });
    const now = services.clock.now();
    await saveInstallSettings(services.db, settings, p.userId, now);
    await appendAudit(services, {
      action: 'install.settings.update',
      outcome: 'success',
      actorId: p.userId,
      metadata: {
        changed: Object.keys(input).sort().join(','),
        workspaceNetwork: settings.workspaceNetwork,
        egressAllow: settings.egressAllow.length,
        maxCpus: settings.maxCpus,
        maxMemoryMb: settings.maxMemoryMb,
        maxDiskMb: settings.maxDiskMb,
      },
    });
    const body: InstallSettingsResponse = { settings, updatedAt: now.toISOString(), updatedBy: p.userId };
    return reply(c, routes.updateInstallSettings, 200, body);
  });

  on(routes.listInstallAdmins, async (c) => {
    const body: ListInstallAdminsResponse = { admins: await listInstallAdmins(c.get('services')) };
    return reply(c, routes.listInstallAdmins, 200, body);
  });

  on(routes.grantInstallAdmin, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const input = await readJson(c, GrantInstallAdminRequest);
    const { admin, granted } = await grantInstallAdmin(services, input.email);
    if (granted) {
      await appendAudit(services, {
        action: 'install.admin.grant',
        outcome: 'success',
        actorId: p.userId,
        targetId: admin.id,
      });
    }
    return granted
      ? reply(c, routes.grantInstallAdmin, 201, { admin })
      : reply(c, routes.grantInstallAdmin, 200, { admin });
  });

  on(routes.revokeInstallAdmin, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { userId } = readParams(c, z.object({ userId: z.string().max(128) }));
    if (!idSchema('user').safeParse(userId).success) {
      throw new ApiError('not_found', 'No such install administrator');
    }
    await revokeInstallAdmin(services, userId);
    await appendAudit(services, {
      action: 'install.admin.revoke',
      outcome: 'success',
      actorId: p.userId,
      targetId: userId,
    });
    return c.body(null, 204);
  });

  on(routes.listSharedRunners, async (c) => {
    const services = c.get('services');
    const rows = await services.db
      .select()
      .from(runners)
      .where(isNull(runners.organizationId))
      .orderBy(desc(runners.createdAt))
      .limit(1000);
    const beats = await heartbeatsOf(
      services,
      rows.filter((r) => !r.revokedAt).map((r) => r.id),
    );
    const drains = await drainProgresses(services, 'runner', rows);
    return reply(c, routes.listSharedRunners, 200, {
      runners: rows.map((r) => runnerView(r, beats.get(r.id), true, drains.get(r.id))),
    });
  });

  // A registration token for a shared runner: it will serve every organization.
  on(routes.createSharedRunnerToken, async (c) => {
    const input = await readJson(c, CreateRunnerTokenRequest);
    return reply(
      c,
      routes.createSharedRunnerToken,
      201,
      await createRunnerToken(c.get('services'), c.get('principal').userId, null, input),
    );
  });

  on(routes.revokeSharedRunner, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const { id } = readParams(c, z.object({ id: z.string().max(128) }));
    if (!idSchema('runner').safeParse(id).success) throw new ApiError('not_found', 'No such runner');
    if (!(await revokeRunner(services, id, null))) {
      throw new ApiError('not_found', 'No such active shared runner');
    }
    await appendAudit(services, {
      action: 'runner.revoke',
      outcome: 'success',
      actorId: p.userId,
      targetId: id,
      metadata: { shared: true },
    });
    return c.body(null, 204);
  });

  on(routes.installAudit, (c) => answerAuditList(c, INSTALL_CHAIN));

  on(routes.installAuditVerify, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const verdict = await verifyAuditChain(services, INSTALL_CHAIN);
    // Recorded after the check, so the check covers the chain as it was asked about.
    await appendAudit(services, {
      action: 'audit.verify',
      outcome: verdict.ok ? 'success' : 'failure',
      actorId: p.userId,
      metadata: { checked: verdict.checked, firstBadSeq: verdict.firstBadSeq ?? null },
    });
    const body: AuditVerifyResponse = verdict;
    return reply(c, routes.installAuditVerify, 200, body);
  });

  return app;
}
