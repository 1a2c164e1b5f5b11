import type { AuditEvent, AuditFilters, AuditListQuery, AuditListResponse } from '@keel/contract/audit';
import { auditEvents } from '@keel/drizzle/schema';
import { and, desc, eq, gte, lt, type SQL, sql } from 'drizzle-orm';
import type { Database } from '../services/database.ts';

type Row = typeof auditEvents.$inferSelect;

/** The conditions of a chain's filtered trail; `cursor` keeps what is older than it. */
export function auditWhere(chain: string, query: AuditFilters): SQL | undefined {
  const where: SQL[] = [eq(auditEvents.chain, chain)];
  if (query.action) where.push(eq(auditEvents.action, query.action));
  // starts_with, not LIKE: `_` in an action name is a character, not a wildcard.
  if (query.actionPrefix) where.push(sql`starts_with(${auditEvents.action}, ${query.actionPrefix})`);
  if (query.actorId) where.push(eq(auditEvents.actorId, query.actorId));
  if (query.workspaceId) where.push(eq(auditEvents.workspaceId, query.workspaceId));
  if (query.outcome) where.push(eq(auditEvents.outcome, query.outcome));
  if (query.from) where.push(gte(auditEvents.createdAt, new Date(query.from)));
  if (query.to) where.push(lt(auditEvents.createdAt, new Date(query.to)));
  if (query.cursor) where.push(lt(auditEvents.seq, Number(query.cursor)));
  return and(...where);
}

/** One page of a chain, newest first, keyed on `seq` so pages never skip or repeat rows. */
export async function listAuditEvents(
  db: Database,
  chain: string,
  query: AuditListQuery,
): Promise<AuditListResponse> {
  // One more than asked tells whether another page follows without a count.
  const rows = await db
    .select()
    .from(auditEvents)
    .where(auditWhere(chain, query))
    .orderBy(desc(auditEvents.seq))
    .limit(query.limit + 1);
  const page = rows.slice(0, query.limit);
  const more = rows.length > query.limit;
  return { events: page.map(eventView), nextCursor: more ? String(page.at(-1)!.seq) : null };
}

/**
 * Where an export of at most `limit` rows stops: the cursor after its last row when more rows
 * match, else null. One index walk, before the first byte is sent, so the answer's headers can
 * say it.
 */
export async function exportCutoff(
  db: Database,
  chain: string,
  query: AuditFilters,
  limit: number,
): Promise<string | null> {
  const rows = await db
    .select({ seq: auditEvents.seq })
    .from(auditEvents)
    .where(auditWhere(chain, query))
    .orderBy(desc(auditEvents.seq))
    .offset(limit - 1)
    .limit(2);
  return rows.length === 2 ? String(rows[0]!.seq) : null;
}

const EXPORT_BATCH = 1_000;

/**
 * The filtered trail in batches, newest first, at most `limit` events: an export reads the
 * database a batch at a time while it streams, never the whole trail at once.
 */
export async function* auditBatches(
  db: Database,
  chain: string,
  query: AuditFilters,
  limit: number,
): AsyncGenerator<AuditEvent[]> {
  let cursor = query.cursor;
  let left = limit;
  while (left > 0) {
    const size = Math.min(EXPORT_BATCH, left);
    const page = await listAuditEvents(db, chain, {
      ...query,
      ...(cursor ? { cursor } : {}),
      limit: size,
    } as AuditListQuery);
    if (page.events.length > 0) yield page.events;
    left -= page.events.length;
    if (!page.nextCursor) return;
    cursor = page.nextCursor;
  }
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
  return AUDIT_CSV_HEADER + auditCsvRows(events);
}

export const AUDIT_CSV_HEADER = `${CSV_COLUMNS.join(',')}\r\n`;

/** The rows of `events`, each ended by CRLF, without the header: an export streams them batch by batch. */
export function auditCsvRows(events: AuditEvent[]): string {
  let out = '';
  for (const e of events) {
    out += CSV_COLUMNS.map((col) => {
      const value = e[col];
      return csvCell(col === 'metadata' ? JSON.stringify(value) : value === null ? '' : String(value));
    }).join(',');
    out += '\r\n';
  }
  return out;
}

export function csvCell(raw: string): string {
  const text = /^[=+\-@\t\r]/.test(raw) ? `'${raw}` : raw;
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}
