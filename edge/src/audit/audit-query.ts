import type { AuditEvent, AuditListQuery, AuditListResponse } from '@keel/contract/audit';
import { auditEvents } from '@keel/drizzle/schema';
import { and, desc, eq, gte, lt, type SQL } from 'drizzle-orm';
import type { Database } from '../services/database.ts';

type Row = typeof auditEvents.$inferSelect;

/** One page of a chain, newest first, keyed on `seq` so pages never skip or repeat rows. */
export async function listAuditEvents(
  db: Database,
  chain: string,
  query: AuditListQuery,
): Promise<AuditListResponse> {
  const where: SQL[] = [eq(auditEvents.chain, chain)];
  if (query.action) where.push(eq(auditEvents.action, query.action));
  if (query.actorId) where.push(eq(auditEvents.actorId, query.actorId));
  if (query.workspaceId) where.push(eq(auditEvents.workspaceId, query.workspaceId));
  if (query.outcome) where.push(eq(auditEvents.outcome, query.outcome));
  if (query.from) where.push(gte(auditEvents.createdAt, new Date(query.from)));
  if (query.to) where.push(lt(auditEvents.createdAt, new Date(query.to)));
  if (query.cursor) where.push(lt(auditEvents.seq, Number(query.cursor)));
  // One more than asked tells whether another page follows without a count.
  const rows = await db
    .select()
    .from(auditEvents)
    .where(and(...where))
    .orderBy(desc(auditEvents.seq))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const more = rows.length > query.limit;
  return { events: page.map(eventView), nextCursor: more ? String(page.at(-1)!.seq) : null };
}

function eventView(r: Row): AuditEvent {
  return {
    seq: r.seq,
    at: r.createdAt.toISOString(),
    action: r.action,
    outcome: r.outcome as AuditEvent['outcome'],
    actorId: r.actorId,
    workspaceId: r.workspaceId,
    targetId: r.targetId,
    metadata: r.metadata as AuditEvent['metadata'],
    prevHash: r.prevHash,
    hash: r.hash,
  };
}

const CSV_COLUMNS = [
  'seq',
  'at',
  'action',
  'outcome',
  'actorId',
  'workspaceId',
  'targetId',
  'metadata',
  'prevHash',
  'hash',
] as const;

/**
 * RFC 4180 CSV (CRLF line ends, quotes doubled). A cell that a spreadsheet would read as
 * a formula (=, +, -, @, tab, CR first) is prefixed with an apostrophe so opening the
 * export never runs anything.
 */
export function auditCsv(events: AuditEvent[]): string {
  const lines = [CSV_COLUMNS.join(',')];
  for (const e of events) {
    lines.push(
      CSV_COLUMNS.map((col) => {
        const value = e[col];
        return csvCell(col === 'metadata' ? JSON.stringify(value) : value === null ? '' : String(value));
      }).join(','),
    );
  }
  return `${lines.join('\r\n')}\r\n`;
}

export function csvCell(raw: string): string {
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
