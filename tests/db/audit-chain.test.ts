import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq, sql } from 'drizzle-orm';
import { appendAudit, verifyAuditChain } from '../../edge/src/audit/audit-log.ts';
import { systemClock } from '../../edge/src/services/clock.ts';
import { DATABASE_KINDS, freshDatabase } from '../harness/test-app.ts';

for (const kind of DATABASE_KINDS) {
  describe(`audit hash chain (${kind})`, () => {
    test('concurrent appends form one gapless chain; edits and deletions are detected', async () => {
      const { db, close } = await freshDatabase(kind);
      try {
        const org = 'org_aaaaaaaaaaaaaaaaaaaa';
        await Promise.all(
          Array.from({ length: 12 }, (_, i) =>
            appendAudit(db, systemClock, {
              action: 'file.write',
              outcome: 'success',
              organizationId: org,
              metadata: { contentSha256: `${i}`.padStart(64, '0'), bytes: i },
            }),
          ),
        );
        const ok = await verifyAuditChain(db, org);
        assert.deepEqual(ok, { ok: true, checked: 12 });

        await db
          .update(auditEvents)
          .set({ metadata: { contentSha256: 'f'.repeat(64), bytes: 1 } })
          .where(and(eq(auditEvents.chain, org), eq(auditEvents.seq, 5)));
        const edited = await verifyAuditChain(db, org);
        assert.equal(edited.ok, false);
        assert.equal(edited.brokenAt, 5);

        await db.execute(sql`delete from audit_events where chain = ${org} and seq in (5)`);
        const deleted = await verifyAuditChain(db, org);
        assert.equal(deleted.ok, false);
        assert.equal(deleted.brokenAt, 6);
      } finally {
        await close();
      }
    });
  });
}
