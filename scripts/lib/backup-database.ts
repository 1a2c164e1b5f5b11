/**
 * What a backup and a restore ask of the database, the same on PostgreSQL and PGlite: the
 * migration level, the key ids that sealed its values, and a check of every audit chain with
 * the edge's own verifier.
 */
import { auditEvents, auditHeads } from '@keel/drizzle/schema';
import { appendAudit, type ChainVerdict, verifyAuditChain } from '../../edge/src/audit/audit-log.ts';
import { AuditHeadSeal } from '../../edge/src/audit/head-seal.ts';
import { SecretBox } from '../../edge/src/auth/secret-box.ts';
import type { SecretKeyring } from '../../edge/src/auth/secret-keys.ts';
import { systemClock } from '../../edge/src/services/clock.ts';
import type { Database } from '../../edge/src/services/database.ts';
import { knownMigrations, type Migrations } from './backup-manifest.ts';

/** Runs one SQL text without parameters and returns its rows. */
export type Query = (text: string) => Promise<Record<string, unknown>[]>;

/** The migration level: none applied when drizzle's table is not there (an empty database). */
export async function migrationLevel(query: Query): Promise<Migrations> {
  const [exists] = await query(`select to_regclass('drizzle.__drizzle_migrations') is not null as present`);
  if (!exists?.present) return { applied: 0, latest: null, latestWhen: null };
  const [row] = await query(
    'select count(*)::int as applied, max(created_at)::bigint as latest from drizzle.__drizzle_migrations',
  );
  const applied = Number(row?.applied ?? 0);
  const latestWhen = row?.latest == null ? null : Number(row.latest);
  const tag = knownMigrations().find((m) => m.when === latestWhen)?.tag ?? null;
  return { applied, latest: tag, latestWhen };
}

/** Where sealed values live: table, column, and how a value names its key. */
const SEALED = [
  { table: 'signing_keys', column: 'private_jwk_encrypted', keyIdOf: SecretBox.keyIdOf },
  { table: 'servers', column: 'credential_sealed', keyIdOf: SecretBox.keyIdOf },
  { table: 'snapshot_store', column: 'secret_sealed', keyIdOf: SecretBox.keyIdOf },
  { table: 'audit_heads', column: 'mac', keyIdOf: AuditHeadSeal.keyIdOf },
] as const;

/** The key ids the database's sealed values name (tables a migration has not made yet are skipped). */
export async function sealedKeyIds(query: Query): Promise<string[]> {
  const ids = new Set<string>();
  for (const place of SEALED) {
    const [exists] = await query(`select to_regclass('public.${place.table}') is not null as present`);
    if (!exists?.present) continue;
    const rows = await query(
      `select distinct ${place.column} as v from public.${place.table} where ${place.column} is not null`,
    );
    for (const r of rows) {
      const kid = place.keyIdOf(String(r.v));
      if (kid) ids.add(kid);
    }
  }
  return [...ids].sort();
}

/** Every audit chain, verified as the edge verifies it (edge/src/audit/audit-log.ts). */
export async function verifyAllChains(
  db: Database,
  keyring: SecretKeyring,
): Promise<{ chain: string; verdict: ChainVerdict }[]> {
  const services = { db, clock: systemClock, auditSeal: new AuditHeadSeal(keyring) };
  const fromHeads = await db.selectDistinct({ chain: auditHeads.chain }).from(auditHeads);
  const fromEvents = await db.selectDistinct({ chain: auditEvents.chain }).from(auditEvents);
  const chains = [...new Set([...fromHeads, ...fromEvents].map((r) => r.chain))].sort();
  const out: { chain: string; verdict: ChainVerdict }[] = [];
  for (const chain of chains) out.push({ chain, verdict: await verifyAuditChain(services, chain) });
  return out;
}

/**
 * Records the restore on the install's audit chain, after its chains were verified: who
 * restored is the operator of the host, so no actor; which backup, by its time and level.
 */
export async function recordRestore(
  db: Database,
  keyring: SecretKeyring,
  backup: { createdAt: string; kind: string; migration: string | null },
): Promise<void> {
  await appendAudit(
    { db, clock: systemClock, auditSeal: new AuditHeadSeal(keyring) },
    {
      action: 'install.restored',
      outcome: 'success',
      organizationId: null,
      metadata: { backupCreatedAt: backup.createdAt, database: backup.kind, migration: backup.migration },
    },
  );
}
