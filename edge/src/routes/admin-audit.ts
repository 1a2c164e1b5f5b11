import { adminRoutes } from '@keel/contract/api/admin';
import { AuditListQuery, type AuditListResponse, type AuditVerifyResponse } from '@keel/contract/audit';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit, chainOf, INSTALL_CHAIN, verifyAuditChain } from '../audit/audit-log.ts';
import { auditCsv, listAuditEvents } from '../audit/audit-query.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readQuery } from '../http/validate.ts';

/** The audit trail for an organization's admins: their own organization's chain only. */
export function adminAuditRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/admin/audit');

  on(adminRoutes.adminAudit, (c) => answerAuditList(c, chainOf(c.get('principal').organizationId)));

  on(adminRoutes.adminAuditVerify, async (c) => {
    const services = c.get('services');
    const p = c.get('principal');
    const verdict = await verifyAuditChain(services, chainOf(p.organizationId));
    // Recorded after the check, so the check covers the chain as it was asked about.
    await appendAudit(services, {
      action: 'audit.verify',
      outcome: verdict.ok ? 'success' : 'failure',
      actorId: p.userId,
      organizationId: p.organizationId,
      metadata: { checked: verdict.checked, firstBadSeq: verdict.firstBadSeq ?? null },
    });
    const body: AuditVerifyResponse = verdict;
    return reply(c, adminRoutes.adminAuditVerify, 200, body);
  });

  return app;
}

/**
 * One page of a chain, or a download of it. A download leaves the system: who took which
 * slice is itself part of the trail, recorded in the chain that was read.
 */
export async function answerAuditList(c: Context<AppEnv>, chain: string): Promise<Response> {
  const services = c.get('services');
  const p = c.get('principal');
  const query = readQuery(c, AuditListQuery);
  const page: AuditListResponse = await listAuditEvents(services.db, chain, query);
  if (!query.format) return c.json(page);

  await appendAudit(services, {
    action: 'audit.export',
    outcome: 'success',
    actorId: p.userId,
    organizationId: chain === INSTALL_CHAIN ? null : p.organizationId,
    metadata: { format: query.format, rows: page.events.length, filtered: isFiltered(query) },
  });
  const stamp = services.clock
    .now()
    .toISOString()
    .replace(/[-:]|\.\d+/g, '');
  c.header('Content-Disposition', `attachment; filename="keel-audit-${stamp}.${query.format}"`);
  c.header('Cache-Control', 'no-store');
  if (page.nextCursor) c.header('X-Next-Cursor', page.nextCursor);
  if (query.format === 'json') return c.json(page);
  return c.body(auditCsv(page.events), 200, { 'Content-Type': 'text/csv; charset=utf-8' });
}

function isFiltered(q: AuditListQuery): boolean {
  return Boolean(q.action || q.actorId || q.workspaceId || q.outcome || q.from || q.to || q.cursor);
}
