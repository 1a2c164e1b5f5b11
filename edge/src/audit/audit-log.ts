import { auditEvents, auditHeads } from '@keel/drizzle/schema';
import { and, asc, desc, eq, gt, sql } from 'drizzle-orm';
import { sha256Hex } from '../auth/bytes.ts';
import type { Services } from '../services.ts';

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

function rowHash(r: Omit<Row, 'id' | 'hash'>): string {
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

/** What writing and checking the trail needs: the database, the time, the head's sealing key. */
export type AuditServices = Pick<Services, 'db' | 'clock' | 'auditSeal'>;

/**
 * The install-wide chain: install administrators' actions, shared runners' registrations,
 * refused sign-ins. Any event with no organization lands here; install administrators read
 * and verify it (`/api/install/audit`).
 */
export const INSTALL_CHAIN = 'global';

/** The chain an organization's events go to; events with no organization go to the install's. */
export function chainOf(organizationId: string | null | undefined): string {
  return organizationId ?? INSTALL_CHAIN;
}

const lockChain = (chain: string) => sql`select pg_advisory_xact_lock(hashtext(${`audit:${chain}`}))`;

/**
 * Appends to the organization's hash chain and moves the chain's sealed head in the same
 * transaction. The transaction-scoped advisory lock makes concurrent appends to one chain
 * take turns, so `seq` has no gaps and no forks.
 *
 * A new row links to the head, not to whatever row is last in the table: after someone
 * removed the last rows, the next append still points at what they removed, so the gap
 * stays visible instead of being papered over. (Chains written before heads existed link
 * to their last row until their first head is written.) A head whose seal does not check
 * out was written by someone without the key: it is left as it is, as evidence, and
 * never resealed, so verification keeps failing until a person looks.
 */
export async function appendAudit(services: AuditServices, event: AuditEventInput): Promise<void> {
  const { db, clock, auditSeal } = services;
  const chain = chainOf(event.organizationId);
  await db.transaction(async (tx) => {
    await tx.execute(lockChain(chain));
    const [last] = await tx
      .select({ seq: auditEvents.seq, hash: auditEvents.hash })
      .from(auditEvents)
      .where(eq(auditEvents.chain, chain))
      .orderBy(desc(auditEvents.seq))
      .limit(1);
    const [stored] = await tx.select().from(auditHeads).where(eq(auditHeads.chain, chain)).limit(1);
    const forged = stored !== undefined && !(await auditSeal.check(stored, stored.mac));
    const head = forged ? undefined : stored;
    const row = {
      chain,
      // Past both, so a row added around the log cannot make this insert collide.
      seq: Math.max(last?.seq ?? 0, head?.seq ?? 0) + 1,
      action: event.action,
      outcome: event.outcome,
      actorId: event.actorId ?? null,
      organizationId: event.organizationId ?? null,
      workspaceId: event.workspaceId ?? null,
      targetId: event.targetId ?? null,
      metadata: event.metadata ?? {},
      prevHash: head?.hash ?? last?.hash ?? GENESIS_HASH,
      // Millisecond precision: what Postgres stores is what the hash covered.
      createdAt: new Date(clock.now().getTime()),
    };
    const hash = rowHash(row);
    await tx.insert(auditEvents).values({ ...row, hash });
    if (forged) return;
    const mac = await auditSeal.seal({ chain, seq: row.seq, hash });
    await tx
      .insert(auditHeads)
      .values({ chain, seq: row.seq, hash, mac, updatedAt: row.createdAt })
      .onConflictDoUpdate({
        target: auditHeads.chain,
        set: { seq: row.seq, hash, mac, updatedAt: row.createdAt },
      });
  });
}

export interface ChainVerdict {
  ok: boolean;
  /** Rows checked and found sound, from the start of the chain. */
  checked: number;
  /** The first sequence number that cannot be vouched for: edited, out of place or missing. */
  firstBadSeq?: number;
}

const VERIFY_PAGE = 2_000;

/**
 * Recomputes a chain and checks it against its sealed head: an edited, removed or
 * reordered row breaks the links, and removed last rows leave the chain short of its head.
 * Appends wait while this runs (the chain's lock), so the head and the rows agree.
 */
export async function verifyAuditChain(services: AuditServices, chain: string): Promise<ChainVerdict> {
  return services.db.transaction(async (tx) => {
    await tx.execute(lockChain(chain));
    const [head] = await tx.select().from(auditHeads).where(eq(auditHeads.chain, chain)).limit(1);
    let prev = GENESIS_HASH;
    let expectedSeq = 1;
    let last: { seq: number; hash: string } | undefined;
    for (;;) {
      const rows = await tx
        .select()
        .from(auditEvents)
        .where(and(eq(auditEvents.chain, chain), gt(auditEvents.seq, expectedSeq - 1)))
        .orderBy(asc(auditEvents.seq))
        .limit(VERIFY_PAGE);
      for (const r of rows) {
        const { id: _id, hash, ...rest } = r;
        if (r.seq !== expectedSeq || r.prevHash !== prev || rowHash(rest) !== hash) {
          return { ok: false, checked: expectedSeq - 1, firstBadSeq: Math.min(r.seq, expectedSeq) };
        }
        prev = hash;
        last = { seq: r.seq, hash };
        expectedSeq++;
      }
      if (rows.length < VERIFY_PAGE) break;
    }
    const checked = expectedSeq - 1;
    if (!head) {
      // No head yet is only sound for a chain that never had a row.
      return last ? { ok: false, checked, firstBadSeq: last.seq + 1 } : { ok: true, checked };
    }
    if (!(await services.auditSeal.check(head, head.mac))) {
      return { ok: false, checked, firstBadSeq: (last?.seq ?? 0) + 1 };
    }
    if (!last || head.seq !== last.seq || head.hash !== last.hash) {
      // Short of the head: its last rows were removed. Past it: rows were added around the log.
      const sound = Math.min(head.seq, last?.seq ?? 0);
      const firstBadSeq = head.seq === last?.seq ? head.seq : sound + 1;
      return { ok: false, checked: Math.min(checked, firstBadSeq - 1), firstBadSeq };
    }
    return { ok: true, checked };
  });
}
