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
 *
 * Group commit: the appends one process makes to a chain while its previous transaction on
 * that chain is in flight go together in the next one (in the order they came), so an
 * organization's busy hour takes the chain's lock once per batch instead of once per event:
 * with every event of 50 people behind one lock, the queue grew faster than it drained.
 * Each append still resolves only once its row is committed.
 */
export function appendAudit(services: AuditServices, event: AuditEventInput): Promise<void> {
  const chain = chainOf(event.organizationId);
  let chains = pending.get(services.db);
  if (!chains) {
    chains = new Map();
    pending.set(services.db, chains);
  }
  let queue = chains.get(chain);
  if (!queue) {
    queue = [];
    chains.set(chain, queue);
    void drain(services, chains, chain, queue);
  }
  const waiting = queue;
  return new Promise((resolve, reject) => waiting.push({ event, resolve, reject }));
}

interface Waiting {
  event: AuditEventInput;
  resolve(): void;
  reject(err: unknown): void;
}

/** Appends waiting per database (a per-request one on workerd) and chain; a chain's entry lives while it drains. */
const pending = new WeakMap<object, Map<string, Waiting[]>>();
const MAX_BATCH = 200;

async function drain(
  services: AuditServices,
  chains: Map<string, Waiting[]>,
  chain: string,
  queue: Waiting[],
): Promise<void> {
  // The first append's caller is still on its way to push: start on the next turn.
  await Promise.resolve();
  while (queue.length > 0) {
    const batch = queue.splice(0, MAX_BATCH);
    try {
      await appendBatch(
        services,
        chain,
        batch.map((w) => w.event),
      );
      for (const w of batch) w.resolve();
    } catch (err) {
      if (batch.length === 1) {
        batch[0]!.reject(err);
        continue;
      }
      // One bad event must not cost the others theirs: each again on its own.
      for (const w of batch) {
        await appendBatch(services, chain, [w.event]).then(w.resolve, w.reject);
      }
    }
  }
  chains.delete(chain);
}

async function appendBatch(services: AuditServices, chain: string, events: AuditEventInput[]): Promise<void> {
  const { db, clock, auditSeal } = services;
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
    // Past both, so a row added around the log cannot make this insert collide.
    let seq = Math.max(last?.seq ?? 0, head?.seq ?? 0);
    let prevHash = head?.hash ?? last?.hash ?? GENESIS_HASH;
    // Millisecond precision: what Postgres stores is what the hash covered.
    const createdAt = new Date(clock.now().getTime());
    const rows = events.map((event) => {
      seq += 1;
      const row = {
        chain,
        seq,
        action: event.action,
        outcome: event.outcome,
        actorId: event.actorId ?? null,
        organizationId: event.organizationId ?? null,
        workspaceId: event.workspaceId ?? null,
        targetId: event.targetId ?? null,
        metadata: event.metadata ?? {},
        prevHash,
        createdAt,
      };
      const hash = rowHash(row);
      prevHash = hash;
      return { ...row, hash };
    });
    await tx.insert(auditEvents).values(rows);
    if (forged) return;
    const mac = await auditSeal.seal({ chain, seq, hash: prevHash });
    await tx
      .insert(auditHeads)
      .values({ chain, seq, hash: prevHash, mac, updatedAt: createdAt })
      .onConflictDoUpdate({
        target: auditHeads.chain,
        set: { seq, hash: prevHash, mac, updatedAt: createdAt },
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
