/*
 * GET /api/admin/audit and /api/admin/audit/verify on the real app, on PGlite and on
 * PostgreSQL: listing, filters, pages, exports, who may look, and tampering made with SQL
 * straight in the database.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents, memberships, organizations, users } from '@keel/drizzle/schema';
import { and, eq, sql } from 'drizzle-orm';
import { csvCell } from '../../edge/src/audit/audit-query.ts';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { createTestApp, DATABASE_KINDS, manualClock, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';

/** A small RFC 4180 reader: quoted cells with doubled quotes, CRLF rows. */
function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (ch === '"') quoted = false;
      else cell += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ',') {
      row.push(cell);
      cell = '';
    } else if (ch === '\r' && text[i + 1] === '\n') {
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
      i++;
    } else cell += ch;
  }
  return rows;
}

for (const database of DATABASE_KINDS) {
  describe(`audit routes (${database})`, () => {
    let t: TestApp;
    let admin: BrowserClient;
    let adminId: string;
    let orgId: string;
    let developer: BrowserClient;
    const clock = manualClock(new Date('2030-01-01T00:00:00Z'));
    const start = clock.now().getTime();
    const list = (query = '') =>
      admin.request('GET', `/api/admin/audit${query}`, undefined, { bearer: true });
    const verify = async () => {
      const res = await admin.request('GET', '/api/admin/audit/verify', undefined, { bearer: true });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as { ok: boolean; checked: number; firstBadSeq?: number };
    };
    const chainRows = () =>
      t.services.db.select().from(auditEvents).where(eq(auditEvents.chain, orgId)).orderBy(auditEvents.seq);

    before(async () => {
      t = await createTestApp({ database, clock });
      admin = new BrowserClient(t.fetch);
      const signup = await admin.request('POST', '/api/auth/signup', {
        email: 'ann@example.com',
        password: PASSWORD,
        name: 'Ann',
        organization: 'Acme',
      });
      adminId = signup.body.user.id;
      orgId = signup.body.organization.id;
      clock.advance(60);
      // Three invitations a minute apart, one of them revoked: admin actions to find later.
      const invites: string[] = [];
      for (let i = 0; i < 3; i++) {
        const inv = await admin.request('POST', `/api/orgs/${orgId}/invitations`, {}, { bearer: true });
        invites.push(inv.body.token);
        if (i === 0) {
          await admin.request(
            'DELETE',
            `/api/orgs/${orgId}/invitations/${inv.body.invitation.id}`,
            undefined,
            {
              bearer: true,
            },
          );
        }
        clock.advance(60);
      }
      await admin.request('POST', '/api/admin/runner-tokens', { name: 'build' }, { bearer: true });
      developer = new BrowserClient(t.fetch);
      await developer.request('POST', '/api/auth/signup', {
        email: 'dev@example.com',
        password: PASSWORD,
        name: 'Dev',
        inviteToken: invites[1],
      });
      const wrong = await new BrowserClient(t.fetch).request('POST', '/api/auth/login', {
        email: 'ann@example.com',
        password: 'not the password at all',
      });
      assert.equal(wrong.status, 401);
      clock.advance(60);
    });
    after(() => t.close());

    test('admins list their chain newest first, filter it, and page through it without gaps', async () => {
      const all = await list('?limit=1000');
      assert.equal(all.status, 200, JSON.stringify(all.body));
      const events = all.body.events as Array<{
        seq: number;
        action: string;
        actorId: string | null;
        at: string;
      }>;
      const seqs = events.map((e) => e.seq);
      assert.deepEqual(
        seqs,
        [...seqs].sort((a, b) => b - a),
        'newest first',
      );
      assert.equal(seqs.at(-1), 1);
      assert.equal(all.body.nextCursor, null);
      const actions = new Set(events.map((e) => e.action));
      for (const a of ['auth.signup', 'invitation.create', 'invitation.revoke', 'runner_token.create']) {
        assert.ok(actions.has(a), `${a} is recorded`);
      }
      // A failed sign-in names no organization: it lives in the global chain, not here.
      assert.equal(
        events.some((e) => e.action === 'auth.login'),
        false,
      );
      assert.doesNotMatch(JSON.stringify(all.body), /ann@example|dev@example|inv_[A-Za-z0-9_-]{30,}/);

      const invitations = await list('?action=invitation.create');
      assert.equal(invitations.body.events.length, 3);
      const byAdmin = await list(`?actorId=${adminId}&outcome=success`);
      assert.ok(byAdmin.body.events.every((e: { actorId: string }) => e.actorId === adminId));
      assert.equal((await list('?outcome=failure')).body.events.length, 0);
      assert.equal((await list('?workspaceId=ws_aaaaaaaaaaaaaaaaaaaa')).body.events.length, 0);

      // The second and third invitations were made at +2 and +3 minutes.
      const from = new Date(start + 120_000).toISOString();
      const to = new Date(start + 180_001).toISOString();
      const window = await list(`?action=invitation.create&from=${from}&to=${to}`);
      assert.deepEqual(
        window.body.events.map((e: { at: string }) => e.at),
        [new Date(start + 180_000).toISOString(), new Date(start + 120_000).toISOString()],
      );

      const paged: number[] = [];
      let cursor: string | null = null;
      let pages = 0;
      do {
        const page = await list(`?limit=2${cursor ? `&cursor=${cursor}` : ''}`);
        assert.equal(page.status, 200);
        assert.ok(page.body.events.length <= 2);
        paged.push(...page.body.events.map((e: { seq: number }) => e.seq));
        cursor = page.body.nextCursor;
        pages++;
      } while (cursor);
      assert.deepEqual(paged, seqs);
      assert.equal(pages, Math.ceil(seqs.length / 2));
    });

    test('exports: CSV and JSON downloads with their headers, escaped, and recorded', async () => {
      const csv = await list('?format=csv&limit=1000');
      assert.equal(csv.status, 200);
      assert.equal(csv.headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.match(
        csv.headers.get('content-disposition') ?? '',
        /^attachment; filename="keel-audit-[0-9TZ]+\.csv"$/,
      );
      assert.equal(csv.headers.get('cache-control'), 'no-store');
      const rows = parseCsv(csv.body as string);
      assert.deepEqual(rows[0], [
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
      ]);
      const json = await list('?limit=1000');
      const listed = json.body.events as Array<Record<string, unknown>>;
      // The export itself is now the newest event; everything before it matches the list.
      assert.equal(rows.length - 1, listed.length - 1);
      for (const [i, row] of rows.slice(1).entries()) {
        const e = listed[i + 1]!;
        assert.equal(row[0], String(e.seq));
        assert.equal(row[2], e.action);
        assert.deepEqual(JSON.parse(row[7]!), e.metadata, 'metadata survives quoting');
        assert.equal(row[9], e.hash);
      }
      assert.match(csv.body as string, /"\{""/, 'quotes inside cells are doubled');

      const download = await list('?format=json&action=invitation.create&limit=2');
      assert.equal(download.status, 200);
      assert.match(download.headers.get('content-type') ?? '', /^application\/json/);
      assert.match(download.headers.get('content-disposition') ?? '', /^attachment; filename=".*\.json"$/);
      assert.equal(download.body.events.length, 2);
      assert.equal(download.headers.get('x-next-cursor'), download.body.nextCursor);

      const exports = await list('?action=audit.export');
      assert.deepEqual(
        exports.body.events.map((e: { metadata: { format: string } }) => e.metadata.format),
        ['json', 'csv'],
      );
      assert.equal(csvCell('=HYPERLINK("x")'), `"'=HYPERLINK(""x"")"`);
      assert.equal(csvCell('-1'), "'-1");
      assert.equal(csvCell('a,b'), '"a,b"');
      assert.equal(csvCell('line\nbreak'), '"line\nbreak"');
    });

    test('members without audit:read get 403 (and the attempt is recorded); another organization sees only its own', async () => {
      for (const path of ['/api/admin/audit', '/api/admin/audit/verify', '/api/admin/audit?format=csv']) {
        const res = await developer.request('GET', path, undefined, { bearer: true });
        assert.equal(res.status, 403, path);
        assert.equal(res.body.error.code, 'forbidden');
      }
      const denied = await list('?action=access.denied&outcome=denied');
      assert.ok(denied.body.events.length >= 3);
      assert.equal(denied.body.events[0].metadata.required, 'audit:read');
      const anonymous = await t.fetch('/api/admin/audit');
      assert.equal(anonymous.status, 401);

      const otherOrg = `org_${database === 'pglite' ? 'g' : 's'}bbbbbbbbbbbbbbbbbbb`;
      const otherUser = `usr_${database === 'pglite' ? 'g' : 's'}bbbbbbbbbbbbbbbbbbb`;
      const now = clock.now();
      await t.services.db.insert(organizations).values({ id: otherOrg, name: 'Other', createdAt: now });
      await t.services.db.insert(users).values({
        id: otherUser,
        email: 'boss@other.example',
        name: 'Boss',
        passwordHash: await hashPassword(PASSWORD),
        createdAt: now,
      });
      await t.services.db
        .insert(memberships)
        .values({ userId: otherUser, organizationId: otherOrg, role: 'admin', createdAt: now });
      const boss = new BrowserClient(t.fetch);
      assert.equal(
        (await boss.request('POST', '/api/auth/login', { email: 'boss@other.example', password: PASSWORD }))
          .status,
        200,
      );
      const theirs = await boss.request('GET', '/api/admin/audit?limit=1000', undefined, { bearer: true });
      assert.equal(theirs.status, 200);
      assert.deepEqual(
        theirs.body.events.map((e: { action: string; actorId: string }) => [e.action, e.actorId]),
        [['auth.login', otherUser]],
      );
      const check = await boss.request('GET', '/api/admin/audit/verify', undefined, { bearer: true });
      assert.deepEqual(check.body, { ok: true, checked: 1 });
    });

    test('failed sign-ups and sign-ins are recorded in the global chain, by e-mail hash only', async () => {
      const refused = await new BrowserClient(t.fetch).request('POST', '/api/auth/signup', {
        email: 'eve@example.com',
        password: PASSWORD,
        name: 'Eve',
      });
      assert.equal(refused.status, 403);
      const global = await t.services.db
        .select()
        .from(auditEvents)
        .where(eq(auditEvents.chain, 'global'))
        .orderBy(auditEvents.seq);
      const failures = global.map((e) => [
        e.action,
        e.outcome,
        (e.metadata as { error?: string }).error ?? null,
      ]);
      assert.deepEqual(failures, [
        ['auth.login', 'failure', null],
        ['auth.signup', 'failure', 'invitation_required'],
      ]);
      assert.doesNotMatch(JSON.stringify(global), /eve@|ann@/);
      assert.match(String((global[1]!.metadata as { emailSha256: string }).emailSha256), /^[0-9a-f]{64}$/);
    });

    test('bad query parameters are a 422 with the error body', async () => {
      for (const query of [
        '?limit=0',
        '?limit=abc',
        '?limit=5000',
        '?outcome=maybe',
        '?from=yesterday',
        `?from=${new Date(start + 60_000).toISOString()}&to=${new Date(start).toISOString()}`,
        '?cursor=abc',
        '?cursor=-1',
        '?format=xml',
        '?action=DROP%20TABLE',
        '?actorId=../../etc',
        '?sort=asc',
      ]) {
        const res = await list(query);
        assert.equal(res.status, 422, `${query}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'validation_failed', query);
        assert.match(res.body.error.requestId, /^req_/, query);
        assert.ok(res.body.error.issues.length > 0, query);
      }
    });

    test('verify: an edited, removed, reordered or removed last row, and a forged head, are caught', async () => {
      const clean = await verify();
      assert.equal(clean.ok, true);
      assert.equal(clean.checked, (await chainRows()).length - 1, 'every row before the verify event itself');
      const db = t.services.db;

      // An edited row.
      const rows = await chainRows();
      const third = rows[2]!;
      await db
        .update(auditEvents)
        .set({ outcome: 'failure' })
        .where(and(eq(auditEvents.chain, orgId), eq(auditEvents.seq, 3)));
      assert.deepEqual(await verify(), { ok: false, checked: 2, firstBadSeq: 3 });
      await db.update(auditEvents).set({ outcome: third.outcome }).where(eq(auditEvents.id, third.id));
      assert.equal((await verify()).ok, true);

      // A removed row in the middle.
      const fifth = (await chainRows())[4]!;
      await db.delete(auditEvents).where(eq(auditEvents.id, fifth.id));
      assert.deepEqual(await verify(), { ok: false, checked: 4, firstBadSeq: 5 });
      await db.insert(auditEvents).values(fifth);
      assert.equal((await verify()).ok, true);

      // Two rows swapped.
      await db.execute(sql`update audit_events set seq = -4 where chain = ${orgId} and seq = 4`);
      await db.execute(sql`update audit_events set seq = 4 where chain = ${orgId} and seq = 6`);
      await db.execute(sql`update audit_events set seq = 6 where chain = ${orgId} and seq = -4`);
      assert.deepEqual(await verify(), { ok: false, checked: 3, firstBadSeq: 4 });
      await db.execute(sql`update audit_events set seq = -4 where chain = ${orgId} and seq = 6`);
      await db.execute(sql`update audit_events set seq = 6 where chain = ${orgId} and seq = 4`);
      await db.execute(sql`update audit_events set seq = 4 where chain = ${orgId} and seq = -4`);
      assert.equal((await verify()).ok, true);

      // The last row removed: every link left is intact, only the sealed head knows.
      const last = (await chainRows()).at(-1)!;
      await db.delete(auditEvents).where(eq(auditEvents.id, last.id));
      assert.deepEqual(await verify(), { ok: false, checked: last.seq - 1, firstBadSeq: last.seq });
      // The verify event just written links past the gap, so the gap stays visible.
      assert.equal((await verify()).firstBadSeq, last.seq);
      await db.insert(auditEvents).values(last);
      assert.equal((await verify()).ok, true);

      // A head rewritten by someone without the key, here to hide the last row's removal.
      const before = (await chainRows()).at(-1)!;
      await db.delete(auditEvents).where(eq(auditEvents.id, before.id));
      const previous = (await chainRows()).at(-1)!;
      await db.execute(
        sql`update audit_heads set seq = ${previous.seq}, hash = ${previous.hash}, mac = ${`v1.${'A'.repeat(43)}`} where chain = ${orgId}`,
      );
      assert.deepEqual(await verify(), { ok: false, checked: previous.seq, firstBadSeq: previous.seq + 1 });
      // Later appends never reseal a head they cannot vouch for: the evidence stays.
      await admin.request('POST', '/api/admin/runner-tokens', {}, { bearer: true });
      assert.equal((await verify()).ok, false);
    });
  });
}
