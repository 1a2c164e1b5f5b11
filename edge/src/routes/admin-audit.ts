import { adminRoutes } from '@keel/contract/api/admin';
import {
  AuditExportQuery,
  type AuditFilters,
  AuditListQuery,
  type AuditListResponse,
  type AuditVerifyResponse,
} from '@keel/contract/audit';
import { auditEvents } from '@keel/drizzle/schema';
import { eq, sql } from 'drizzle-orm';
import { type Context, Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { appendAudit, chainOf, INSTALL_CHAIN, verifyAuditChain } from '../audit/audit-log.ts';
import {
  AUDIT_CSV_HEADER,
  auditBatches,
  auditCsv,
  auditCsvRows,
  exportCutoff,
  listAuditEvents,
} from '../audit/audit-query.ts';
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

  on(adminRoutes.adminAuditExport, (c) => answerAuditExport(c, chainOf(c.get('principal').organizationId)));

  return app;
}

/**
 * The filtered chain as a streamed download. The newest row is pinned before anything is read,
 * so rows appended meanwhile (this export's own record among them) neither shift the cut-off
 * nor join the file halfway.
 */
export async function answerAuditExport(c: Context<AppEnv>, chain: string): Promise<Response> {
  const services = c.get('services');
  const p = c.get('principal');
  const query = readQuery(c, AuditExportQuery);
  const { format, limit, ...filters } = query;
  let pinned: AuditFilters = filters;
  if (!filters.cursor) {
    const [top] = await services.db
      .select({ seq: sql<number | null>`max(${auditEvents.seq})` })
      .from(auditEvents)
      .where(eq(auditEvents.chain, chain));
    pinned = { ...filters, cursor: String(Number(top?.seq ?? 0) + 1) };
  }
  const nextCursor = await exportCutoff(services.db, chain, pinned, limit);
  await appendAudit(services, {
    action: 'audit.export',
    outcome: 'success',
    actorId: p.userId,
    organizationId: chain === INSTALL_CHAIN ? null : p.organizationId,
    metadata: { format, limit, truncated: nextCursor !== null, filtered: isFiltered(filters) },
  });

  const encoder = new TextEncoder();
  const batches = auditBatches(services.db, chain, pinned, limit);
  const body = new ReadableStream<Uint8Array>({
    start(controller) {
      if (format === 'csv') controller.enqueue(encoder.encode(AUDIT_CSV_HEADER));
    },
    // Pulled as the client reads: a slow download holds one batch in memory, not the trail.
    async pull(controller) {
      const next = await batches.next();
      if (next.done) {
        controller.close();
        return;
      }
      const text =
        format === 'csv'
          ? auditCsvRows(next.value)
          : next.value.map((e) => `${JSON.stringify(e)}\n`).join('');
      controller.enqueue(encoder.encode(text));
    },
    async cancel() {
      await batches.return(undefined);
    },
  });
  const stamp = services.clock
    .now()
    .toISOString()
    .replace(/[-:]|\.\d+/g, '');
  const headers: Record<string, string> = {
    'Content-Type': format === 'csv' ? 'text/csv; charset=utf-8' : 'application/x-ndjson; charset=utf-8',
    'Content-Disposition': `attachment; filename="keel-audit-${stamp}.${format}"`,
    'Cache-Control': 'no-store',
    'X-Export-Limit': String(limit),
  };
  if (nextCursor) headers['X-Next-Cursor'] = nextCursor;
  return c.body(body, 200, headers);
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

function isFiltered(q: AuditFilters): boolean {
  return Boolean(
    q.action || q.actionPrefix || q.actorId || q.workspaceId || q.outcome || q.from || q.to || q.cursor,
  );
}
