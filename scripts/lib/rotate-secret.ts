/**
 * `scripts/rotate-secret`: re-seals under KEEL_SECRET_KEY everything in the database that an
 * accepted older secret (KEEL_SECRET_KEY_PREVIOUS, KEEL_SECRET_KEY_NEXT) sealed: the private
 * halves of signing keys, server credentials, the snapshot store's secret and audit chain
 * heads. Afterwards no stored value needs the old secret, and edges may stop accepting it
 * (docs/CONFIGURATION.md, "Rotating KEEL_SECRET_KEY").
 *
 * All of it happens in one transaction, after every value was opened or checked: a value that
 * opens under no accepted secret makes it refuse, and nothing changes. A value already sealed
 * under the current secret is left as it is, so a second run changes nothing.
 *
 * Runs beside live edges: rows it re-seals are locked (FOR UPDATE), and each audit head is
 * re-sealed under its chain's lock, the one appends take, so no append is lost. (Should an edge
 * take the same locks in the other order, PostgreSQL breaks the deadlock by failing one side;
 * if that is this run, nothing changed and it may simply run again.)
 */
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { auditHeads, servers, signingKeys, snapshotStore } from '@keel/drizzle/schema';
import { eq, sql } from 'drizzle-orm';
import { appendAudit } from '../../edge/src/audit/audit-log.ts';
import { AuditHeadSeal } from '../../edge/src/audit/head-seal.ts';
import { SecretBox } from '../../edge/src/auth/secret-box.ts';
import type { SecretKeyring } from '../../edge/src/auth/secret-keys.ts';
import { ConfigError, parseSecretKeys } from '../../edge/src/env.ts';
import { systemClock } from '../../edge/src/services/clock.ts';
import { connectPostgres, type Database, type DatabaseHandle } from '../../edge/src/services/database.ts';
import { openPglite } from '../../edge/src/services/database-pglite.ts';

/** The purposes the sealed columns were sealed for (signing-keys.ts; drizzle/schema/servers.ts, fleet.ts). */
const SIGNING_KEY_PURPOSE = 'signing-key';
const SNAPSHOT_STORE_PURPOSE = 'snapshot-store';
const serverCredentialPurpose = (serverId: string) => `server-credential:${serverId}`;

export interface TableCount {
  /** Where the values live: `table.column`. */
  place: string;
  resealed: number;
  current: number;
}

export interface Refusal {
  place: string;
  id: string;
  reason: string;
}

export interface RotationReport {
  sealingKeyId: string;
  acceptedKeyIds: string[];
  counts: TableCount[];
  refusals: Refusal[];
  dryRun: boolean;
}

/** Thrown inside the transaction to roll it back: a dry run, or a refusal. */
class RollBack extends Error {}

type Tx = Parameters<Parameters<Database['transaction']>[0]>[0];

/** What one stored value is: sealed under the current secret, to be re-sealed, or unopenable. */
type Verdict = { kind: 'current' } | { kind: 'reseal'; value: string } | { kind: 'refused'; reason: string };

export async function rotateSecrets(input: {
  db: Database;
  keyring: SecretKeyring;
  dryRun: boolean;
}): Promise<RotationReport> {
  const { db, keyring, dryRun } = input;
  const box = new SecretBox(keyring);
  const headSeal = new AuditHeadSeal(keyring);
  const [sealingKeyId, ...acceptedKeyIds] = await keyring.keyIds();
  const report: RotationReport = {
    sealingKeyId: sealingKeyId!,
    acceptedKeyIds,
    counts: [],
    refusals: [],
    dryRun,
  };
  const whyNot = (kid: string | undefined, what: string) =>
    kid && kid !== sealingKeyId && !acceptedKeyIds.includes(kid)
      ? `sealed under key id ${kid}, which is not accepted (give the secret that sealed it in KEEL_SECRET_KEY_PREVIOUS)`
      : `${what} under no accepted key: altered, or not sealed by Keel`;

  /** SecretBox values: re-sealed when they open and name another secret (or none, v1). */
  const judgeSealed = async (sealed: string, purpose: string): Promise<Verdict> => {
    let plaintext: string;
    try {
      plaintext = await box.open(sealed, purpose);
    } catch {
      return { kind: 'refused', reason: whyNot(SecretBox.keyIdOf(sealed), 'opens') };
    }
    if (SecretBox.keyIdOf(sealed) === sealingKeyId) return { kind: 'current' };
    return { kind: 'reseal', value: await box.seal(plaintext, purpose) };
  };

  /** Audit heads: checked under the secret they name, re-sealed over the same seq and hash. */
  const judgeHead = async (head: typeof auditHeads.$inferSelect): Promise<Verdict> => {
    if (!(await headSeal.check(head, head.mac))) {
      return {
        kind: 'refused',
        reason: `${whyNot(AuditHeadSeal.keyIdOf(head.mac), 'checks')}; the chain's audit verify shows it, and a person must look before the secret changes`,
      };
    }
    if (AuditHeadSeal.keyIdOf(head.mac) === sealingKeyId) return { kind: 'current' };
    return { kind: 'reseal', value: await headSeal.seal(head) };
  };

  const tally = (place: string) => {
    const count: TableCount = { place, resealed: 0, current: 0 };
    report.counts.push(count);
    return (id: string, verdict: Verdict): string | undefined => {
      if (verdict.kind === 'refused') report.refusals.push({ place, id, reason: verdict.reason });
      if (verdict.kind === 'current') count.current++;
      if (verdict.kind !== 'reseal') return undefined;
      count.resealed++;
      return verdict.value;
    };
  };

  try {
    await db.transaction(async (tx) => {
      // Written only once every value was judged: a refusal anywhere writes nothing.
      const updates: Array<(t: Tx) => Promise<unknown>> = [];
      const keyCount = tally('signing_keys.private_jwk_encrypted');
      const keys = await tx
        .select({ kid: signingKeys.kid, sealed: signingKeys.privateJwkEncrypted })
        .from(signingKeys)
        .orderBy(signingKeys.kid)
        .for('update');
      for (const row of keys) {
        const value = keyCount(row.kid, await judgeSealed(row.sealed, SIGNING_KEY_PURPOSE));
        if (value) {
          updates.push((t) =>
            t.update(signingKeys).set({ privateJwkEncrypted: value }).where(eq(signingKeys.kid, row.kid)),
          );
        }
      }

      const serverCount = tally('servers.credential_sealed');
      const rows = await tx
        .select({ id: servers.id, sealed: servers.credentialSealed })
        .from(servers)
        .orderBy(servers.id)
        .for('update');
      for (const row of rows) {
        const value = serverCount(row.id, await judgeSealed(row.sealed, serverCredentialPurpose(row.id)));
        // The credential itself is unchanged: its fingerprint and credential_updated_at stay.
        if (value) {
          updates.push((t) =>
            t.update(servers).set({ credentialSealed: value }).where(eq(servers.id, row.id)),
          );
        }
      }

      const storeCount = tally('snapshot_store.secret_sealed');
      const stores = await tx
        .select({ id: snapshotStore.id, sealed: snapshotStore.secretSealed })
        .from(snapshotStore)
        .orderBy(snapshotStore.id)
        .for('update');
      for (const row of stores) {
        if (!row.sealed) continue;
        const value = storeCount(row.id, await judgeSealed(row.sealed, SNAPSHOT_STORE_PURPOSE));
        // The secret itself is unchanged: its fingerprint stays.
        if (value) {
          updates.push((t) =>
            t.update(snapshotStore).set({ secretSealed: value }).where(eq(snapshotStore.id, row.id)),
          );
        }
      }

      // Heads move with every append: only those not yet under the current secret are locked,
      // each under its chain's lock (audit-log.ts), then read again and judged.
      const headCount = tally('audit_heads.mac');
      const heads = await tx.select().from(auditHeads).orderBy(auditHeads.chain);
      for (const seen of heads) {
        if (AuditHeadSeal.keyIdOf(seen.mac) === sealingKeyId && (await headSeal.check(seen, seen.mac))) {
          headCount(seen.chain, { kind: 'current' });
          continue;
        }
        await tx.execute(sql`select pg_advisory_xact_lock(hashtext(${`audit:${seen.chain}`}))`);
        const [head] = await tx
          .select()
          .from(auditHeads)
          .where(eq(auditHeads.chain, seen.chain))
          .for('update');
        if (!head) continue;
        const value = headCount(head.chain, await judgeHead(head));
        if (value) {
          updates.push((t) =>
            t.update(auditHeads).set({ mac: value }).where(eq(auditHeads.chain, head.chain)),
          );
        }
      }

      if (report.refusals.length > 0 || dryRun) throw new RollBack();
      for (const update of updates) await update(tx);
      const resealed = report.counts.reduce((n, c) => n + c.resealed, 0);
      if (resealed > 0) {
        // On the install's chain, after its head was re-sealed: who rotated is the operator of
        // the database, so no actor; the counts and the public key ids only.
        await appendAudit(
          { db: tx as unknown as Database, clock: systemClock, auditSeal: headSeal },
          {
            action: 'install.secret_rotated',
            outcome: 'success',
            organizationId: null,
            metadata: {
              sealingKeyId: report.sealingKeyId,
              signingKeys: report.counts[0]!.resealed,
              serverCredentials: report.counts[1]!.resealed,
              snapshotStore: report.counts[2]!.resealed,
              auditHeads: report.counts[3]!.resealed,
            },
          },
        );
      }
    });
  } catch (err) {
    if (!(err instanceof RollBack)) throw err;
  }
  return report;
}

export function describeReport(report: RotationReport): { out: string[]; err: string[] } {
  const out: string[] = [];
  const err: string[] = [];
  const accepted = report.acceptedKeyIds.length ? report.acceptedKeyIds.join(', ') : 'none';
  out.push(`sealing key id ${report.sealingKeyId}; also accepted: ${accepted}`);
  const width = Math.max(...report.counts.map((c) => c.place.length));
  const verb = report.dryRun || report.refusals.length ? 'to re-seal' : 're-sealed';
  for (const c of report.counts) {
    out.push(
      `  ${c.place.padEnd(width)}  ${c.resealed} ${verb}, ${c.current} already under ${report.sealingKeyId}`,
    );
  }
  const total = report.counts.reduce((n, c) => n + c.resealed, 0);
  if (report.refusals.length) {
    err.push(
      `refusing to rotate: ${report.refusals.length} value(s) cannot be opened or checked under any accepted key; nothing was changed`,
    );
    for (const r of report.refusals.slice(0, 50)) err.push(`  ${r.place} ${r.id}: ${r.reason}`);
    if (report.refusals.length > 50) err.push(`  … and ${report.refusals.length - 50} more`);
  } else if (report.dryRun) {
    out.push(
      `dry run: ${total} value(s) would be re-sealed under ${report.sealingKeyId}; nothing was changed`,
    );
  } else if (total === 0) {
    out.push(`nothing to re-seal: every value is sealed under ${report.sealingKeyId}`);
  } else {
    out.push(`${total} value(s) re-sealed under ${report.sealingKeyId}, in one transaction`);
  }
  return { out, err };
}

const USAGE = `usage: scripts/rotate-secret [--dry-run]

Re-seals under KEEL_SECRET_KEY everything an accepted older secret sealed (signing keys,
server credentials, the snapshot store's secret, audit chain heads). Needs KEEL_SECRET_KEY,
the old secret in KEEL_SECRET_KEY_PREVIOUS, and DATABASE_URL (or the embedded database under
KEEL_DATA_DIR).
See docs/CONFIGURATION.md, "Rotating KEEL_SECRET_KEY".`;

async function openDatabase(env: NodeJS.ProcessEnv): Promise<DatabaseHandle> {
  const url = env.DATABASE_URL;
  if (url) {
    if (!/^postgres(ql)?:\/\//.test(url)) throw new ConfigError('DATABASE_URL must be a postgres:// URL');
    return connectPostgres(url, { max: 1 });
  }
  const dir = resolve(env.KEEL_DATA_DIR ?? '.keel', 'pglite');
  if (!existsSync(dir)) {
    throw new ConfigError(
      `no embedded database at ${dir}: set DATABASE_URL, or KEEL_DATA_DIR to the folder scripts/up uses`,
    );
  }
  return openPglite(dir);
}

async function main(argv: string[]): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    console.log(USAGE);
    return 0;
  }
  const unknown = argv.filter((a) => a !== '--dry-run');
  if (unknown.length) {
    console.error(`unknown argument: ${unknown[0]}\n${USAGE}`);
    return 2;
  }
  let keyring: SecretKeyring;
  let database: DatabaseHandle;
  try {
    keyring = parseSecretKeys(process.env);
    database = await openDatabase(process.env);
  } catch (err) {
    console.error(err instanceof ConfigError ? err.message : `cannot start: ${String(err)}`);
    return 2;
  }
  try {
    const report = await rotateSecrets({ db: database.db, keyring, dryRun: argv.includes('--dry-run') });
    const { out, err } = describeReport(report);
    for (const line of out) console.log(line);
    for (const line of err) console.error(line);
    return report.refusals.length ? 1 : 0;
  } catch (err) {
    console.error(
      `rotation failed, nothing was changed: ${err instanceof Error ? err.message : String(err)}`,
    );
    return 1;
  } finally {
    await database.close();
  }
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  process.exitCode = await main(process.argv.slice(2));
}
