import { auditEvents } from '@keel/drizzle/schema';
import { asc, desc, eq, sql } from 'drizzle-orm';
import { sha256Hex } from '../auth/bytes.ts';
import type { Clock } from '../services/clock.ts';
import type { Database } from '../services/database.ts';

export const GENESIS_HASH = '0'.repeat(64);

/** Values only: ids, counts, hashes, sizes. A caller that has text hashes it first. */
export type AuditMetadata = Record<string, string | number | boolean | null>;

export interface AuditEventInput {
  action: string;
  outcome: 'success' | 'failure' | 'denied';
  actorId?: string | null;
  organizationId?: string | null;
  workspaceId?: string | null;
  targetId?: string | null;
  metadata?: AuditMetadata;
}

type Row = typeof auditEvents.$inferSelect;

function canonical(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
    a < b ? -1 : a > b ? 1 : 0,
  );
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonical(v)}`).join(',')}}`;
}

function rowHash(r: Omit<Row, 'id' | 'hash'>): Promise<string> {
  return sha256Hex(
    canonical([
      r.prevHash,
      r.chain,
      r.seq,
      r.action,
      r.outcome,
      r.actorId,
      r.organizationId,
      r.workspaceId,
      r.targetId,
      r.metadata,
      r.createdAt.toISOString(),
    ]),
  );
}

/**
 * Appends to the organization's hash chain. The transaction-scoped advisory lock makes
 * concurrent appends to one chain take turns, so `seq` has no gaps and no forks.
 */
export async function appendAudit(db: Database, clock: Clock, event: AuditEventInput): Promise<void> {
  const chain = event.organizationId ?? 'global';
  await db.transaction(async (tx) => {
    await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`audit:${chain}`}))`);
    const [last] = await tx
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .where(eq(auditEvents.chain, chain))
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    const row = {
      chain,
      seq: (last?.seq ?? 0) + 1,
      action: event.action,
      outcome: event.outcome,
      actorId: event.actorId ?? null,
      organizationId: event.organizationId ?? null,
      workspaceId: event.workspaceId ?? null,
      targetId: event.targetId ?? null,
      metadata: event.metadata ?? {},
      prevHash: last?.hash ?? GENESIS_HASH,
      // Millisecond precision: what Postgres stores is what the hash covered.
      createdAt: new Date(clock.now().getTime()),
    };
    await tx.insert(auditEvents).values({ ...row, hash: await rowHash(row) });
  });
}

export interface ChainVerdict {
  ok: boolean;
  checked: number;
  /** The first sequence number where the chain breaks. */
  brokenAt?: number;
}

/** Recomputes a chain: an edited row, a deleted row or a reordering breaks it. */
export async function verifyAuditChain(db: Database, chain: string): Promise<ChainVerdict> {
  const rows = await db
    .select()
    .from(auditEvents)
    .where(eq(auditEvents.chain, chain))
    .orderBy(asc(auditEvents.seq));
  let prev = GENESIS_HASH;
  let expectedSeq = 1;
  for (const r of rows) {
    const { id: _id, hash, ...rest } = r;
    if (r.seq !== expectedSeq || r.prevHash !== prev || (await rowHash(rest)) !== hash) {
      return { ok: false, checked: expectedSeq - 1, brokenAt: r.seq };
    }
    prev = hash;
    expectedSeq++;
  }
  return { ok: true, checked: rows.length };
}
