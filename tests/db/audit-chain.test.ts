import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq, sql } from 'drizzle-orm';
import { appendAudit, verifyAuditChain } from '../../edge/src/audit/audit-log.ts';
import { AuditHeadSeal } from '../../edge/src/audit/head-seal.ts';
import { systemClock } from '../../edge/src/services/clock.ts';
import { DATABASE_KINDS, freshDatabase } from '../harness/test-app.ts';

const secret = () => new Uint8Array(crypto.getRandomValues(new Uint8Array(32)));

for (const kind of DATABASE_KINDS) {
  describe(`audit hash chain (${kind})`, () => {
    test('concurrent appends form one gapless chain; edits and deletions are detected', async () => {
      const { db, close } = await freshDatabase(kind);
      const services = { db, clock: systemClock, auditSeal: new AuditHeadSeal(secret()) };
      try {
        const org = 'org_aaaaaaaaaaaaaaaaaaaa';
        await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            appendAudit(services, {
              action: 'file.write',
              outcome: 'success',
              organizationId: org,
              metadata: { contentSha256: `${i}`.padStart(64, '0'), bytes: i },
            }),
          ),
        );
        const ok = await verifyAuditChain(services, org);
        assert.deepEqual(ok, { ok: true, checked: 12 });

        await db
          .update(auditEvents)
          .set({ metadata: { contentSha256: 'f'.repeat(64), bytes: 1 } })
          .where(and(eq(auditEvents.chain, org), eq(auditEvents.seq, 5)));
        const edited = await verifyAuditChain(services, org);
        assert.equal(edited.ok, false);
        assert.equal(edited.firstBadSeq, 5);

        await db.execute(sql`delete from audit_events where chain = ${org} and seq in (5)`);
        const deleted = await verifyAuditChain(services, org);
        assert.equal(deleted.ok, false);
        assert.equal(deleted.firstBadSeq, 5);
      } finally {
        await close();
      }
    });

    test('appends made while one is in flight share a transaction; one bad event fails alone', async () => {
      const { db, close } = await freshDatabase(kind);
      let transactions = 0;
      // The same database, counting its transactions.
      const counted = new Proxy(db, {
        get(target, prop, receiver) {
          if (prop === 'transaction') {
            return (...args: Parameters<typeof db.transaction>) => {
              transactions++;
              return target.transaction(...args);
            };
          }
          return Reflect.get(target, prop, receiver);
        },
      });
      const services = { db: counted, clock: systemClock, auditSeal: new AuditHeadSeal(secret()) };
      try {
        const org = 'org_cccccccccccccccccccc';
        const results = await Promise.allSettled(
          Array.from({ length: 30 }, (_, i) =>
            appendAudit(services, {
              // PostgreSQL refuses a NUL in text: this event cannot be written.
              action: i === 17 ? 'file.\u0000write' : 'file.write',
              outcome: 'success',
              organizationId: org,
              metadata: { bytes: i },
            }),
          ),
        );
        assert.deepEqual(
          results.map((r, i) => (r.status === 'fulfilled' ? i : -1)).filter((i) => i >= 0),
          Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 17),
        );
        assert.deepEqual(await verifyAuditChain(services, org), { ok: true, checked: 29 });
        const rows = await db
          .select({ seq: auditEvents.seq, metadata: auditEvents.metadata })
          .from(auditEvents)
          .where(eq(auditEvents.chain, org))
          .orderBy(auditEvents.seq);
        // In the order they were asked for, without gaps.
        assert.deepEqual(
          rows.map((r) => (r.metadata as { bytes: number }).bytes),
          Array.from({ length: 30 }, (_, i) => i).filter((i) => i !== 17),
        );
        transactions = 0;
        await Promise.all(
          Array.from({ length: 20 }, () =>
            appendAudit(services, { action: 'file.read', outcome: 'success', organizationId: org }),
          ),
        );
        assert.ok(transactions <= 2, `20 appends at once took ${transactions} transactions`);
        assert.deepEqual(await verifyAuditChain(services, org), { ok: true, checked: 49 });
      } finally {
        await close();
      }
    });

    test('a removed last row is caught by the sealed head, and a head sealed under another key is refused', async () => {
      const { db, close } = await freshDatabase(kind);
      const services = { db, clock: systemClock, auditSeal: new AuditHeadSeal(secret()) };
      try {
        const org = 'org_bbbbbbbbbbbbbbbbbbbb';
        for (let i = 0; i < 3; i++) {
          await appendAudit(services, { action: 'file.write', outcome: 'success', organizationId: org });
        }
        assert.deepEqual(await verifyAuditChain(services, org), { ok: true, checked: 3 });
        const otherKey = { ...services, auditSeal: new AuditHeadSeal(secret()) };
        assert.equal((await verifyAuditChain(otherKey, org)).ok, false);

        await db.execute(sql`delete from audit_events where chain = ${org} and seq = 3`);
        assert.deepEqual(await verifyAuditChain(services, org), { ok: false, checked: 2, firstBadSeq: 3 });
      } finally {
        await close();
      }
    });
  });
}
