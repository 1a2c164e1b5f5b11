/*
 * GET /api/admin/audit/export and the trail's newer filters (actionPrefix), and the usage
 * report's days and workspaces, on the real app over PGlite and PostgreSQL: streamed downloads
 * in JSON Lines and CSV with formula-safe cells, the row cap and where to go on, bad input
 * refused with the error body, another organization's rows never present, a developer refused.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { aiUsage, memberships, organizations, users } from '@keel/drizzle/schema';
import { appendAudit } from '../../edge/src/audit/audit-log.ts';
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

const jsonLines = (text: string) =>
  text
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { seq: number; action: string; targetId: string | null; actorId: string });

for (const database of DATABASE_KINDS) {
  describe(`audit export and filters (${database})`, () => {
    let t: TestApp;
    let admin: BrowserClient;
    let orgId: string;
    let adminId: string;
    let developer: BrowserClient;
    let other: BrowserClient;
    let otherOrgId: string;
    const clock = manualClock(new Date('2031-03-01T10:00:00Z'));
    const get = (client: BrowserClient, path: string) =>
      client.request('GET', path, undefined, { bearer: true });

    before(async () => {
      t = await createTestApp({ database, clock });
      admin = new BrowserClient(t.fetch);
      const signup = await admin.request('POST', '/api/auth/signup', {
        email: 'ada@example.com',
        password: PASSWORD,
        name: 'Ada',
        organization: 'Analytical',
      });
      orgId = signup.body.organization.id;
      adminId = signup.body.user.id;
      const invite = await admin.request('POST', `/api/orgs/${orgId}/invitations`, {}, { bearer: true });
      developer = new BrowserClient(t.fetch);
      assert.equal(
        (
          await developer.request('POST', '/api/auth/signup', {
            email: 'dev@example.com',
            password: PASSWORD,
            name: 'Dev',
            inviteToken: invite.body.token,
          })
        ).status,
        201,
      );
      // Another organization, made in the database (sign-up makes only the install's first one).
      otherOrgId = `org_${database === 'pglite' ? 'g' : 's'}bbbbbbbbbbbbbbbbbbb`;
      const otherUser = `usr_${database === 'pglite' ? 'g' : 's'}bbbbbbbbbbbbbbbbbbb`;
      const now = clock.now();
      await t.services.db.insert(organizations).values({ id: otherOrgId, name: 'Other', createdAt: now });
      await t.services.db.insert(users).values({
        id: otherUser,
        email: 'boss@other.example',
        name: 'Boss',
        passwordHash: await hashPassword(PASSWORD),
        createdAt: now,
      });
      await t.services.db
        .insert(memberships)
        .values({ userId: otherUser, organizationId: otherOrgId, role: 'admin', createdAt: now });
      other = new BrowserClient(t.fetch);
      assert.equal(
        (await other.request('POST', '/api/auth/login', { email: 'boss@other.example', password: PASSWORD }))
          .status,
        200,
      );
      // Rows whose cells a spreadsheet would run, and an action with `_` (not a LIKE wildcard).
      for (const [i, targetId] of ['=HYPERLINK("http://x")', '+1', '-2', '@SUM(A1)', 'plain'].entries()) {
        clock.advance(60);
        await appendAudit(t.services, {
          action: i % 2 ? 'runner_token.create' : 'runnerxtoken.create',
          outcome: i === 4 ? 'failure' : 'success',
          actorId: adminId,
          organizationId: orgId,
          targetId,
          metadata: { note: i === 0 ? '=cmd|calc' : 'fine' },
        });
      }
      await appendAudit(t.services, {
        action: 'runner_token.create',
        outcome: 'success',
        actorId: otherUser,
        organizationId: otherOrgId,
        targetId: 'theirs',
      });
      clock.advance(60);
    });
    after(() => t.close());

    test('actionPrefix matches literally; filters combine', async () => {
      const prefixed = await get(admin, '/api/admin/audit?actionPrefix=runner_&limit=1000');
      assert.equal(prefixed.status, 200, JSON.stringify(prefixed.body));
      assert.deepEqual(
        prefixed.body.events.map((e: { action: string }) => e.action),
        ['runner_token.create', 'runner_token.create'],
      );
      const failed = await get(admin, '/api/admin/audit?actionPrefix=runner&outcome=failure');
      assert.deepEqual(
        failed.body.events.map((e: { targetId: string }) => e.targetId),
        ['plain'],
      );
      const invitations = await get(admin, '/api/admin/audit?actionPrefix=invitation.');
      assert.ok(invitations.body.events.length >= 1, 'the invitation is listed');
      assert.ok(
        invitations.body.events.every((e: { action: string }) => e.action.startsWith('invitation.')),
        'only invitation actions',
      );
    });

    test('CSV export: streamed, formula-safe cells, the same rows as the list, recorded', async () => {
      const listed = await get(admin, '/api/admin/audit?actionPrefix=runner&limit=1000');
      const res = await get(admin, '/api/admin/audit/export?format=csv&actionPrefix=runner');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'text/csv; charset=utf-8');
      assert.match(
        res.headers.get('content-disposition') ?? '',
        /^attachment; filename="keel-audit-\d+T\d+Z\.csv"$/,
      );
      assert.equal(res.headers.get('cache-control'), 'no-store');
      assert.equal(res.headers.get('x-next-cursor'), null);
      const rows = parseCsv(res.body as string);
      assert.equal(rows[0]![0], 'seq');
      assert.deepEqual(
        rows.slice(1).map((r) => Number(r[0])),
        listed.body.events.map((e: { seq: number }) => e.seq),
      );
      const targets = rows.slice(1).map((r) => r[6]);
      assert.deepEqual(targets, ['plain', "'@SUM(A1)", "'-2", "'+1", `'=HYPERLINK("http://x")`]);
      for (const row of rows)
        for (const cell of row) assert.doesNotMatch(cell, /^[=+\-@]/, `cell ${cell} is inert`);
      assert.doesNotMatch(res.body as string, /theirs/, 'another organization’s rows are never present');

      const recorded = await get(admin, '/api/admin/audit?action=audit.export');
      assert.equal(recorded.body.events[0].metadata.format, 'csv');
      assert.equal(recorded.body.events[0].metadata.filtered, true);
      assert.equal(recorded.body.events[0].actorId, adminId);
    });

    test('JSON Lines export: every row of the chain, newest first; the cap says where to go on', async () => {
      const all = await get(admin, '/api/admin/audit?limit=1000');
      const res = await get(admin, '/api/admin/audit/export?format=jsonl');
      assert.equal(res.status, 200);
      assert.equal(res.headers.get('content-type'), 'application/x-ndjson; charset=utf-8');
      const events = jsonLines(res.body as string);
      // The export's own record is newer than the pinned top, so it is not in the file.
      assert.deepEqual(
        events.map((e) => e.seq),
        all.body.events.map((e: { seq: number }) => e.seq),
      );
      assert.ok(
        events.every((e) => e.targetId !== 'theirs'),
        'no row of another organization',
      );

      const first = await get(admin, '/api/admin/audit/export?format=jsonl&limit=3');
      const head = jsonLines(first.body as string);
      assert.equal(head.length, 3);
      const cursor = first.headers.get('x-next-cursor');
      assert.equal(cursor, String(head[2]!.seq));
      const rest = await get(admin, `/api/admin/audit/export?format=jsonl&cursor=${cursor}`);
      assert.deepEqual(
        jsonLines(rest.body as string)
          .slice(0, 2)
          .map((e) => e.seq),
        [head[2]!.seq - 1, head[2]!.seq - 2],
      );

      const theirs = await get(other, '/api/admin/audit/export?format=jsonl');
      const theirEvents = jsonLines(theirs.body as string);
      assert.ok(theirEvents.length >= 1, 'the other organization has its own rows');
      assert.ok(
        theirEvents.every((e) => e.actorId !== adminId && e.targetId !== 'plain'),
        'and none of ours',
      );
    });

    test('bad input is refused with the error body, before anything is streamed', async () => {
      for (const query of [
        '',
        '?format=xlsx',
        '?format=csv&limit=0',
        '?format=csv&limit=100001',
        '?format=csv&actionPrefix=DROP%20TABLE',
        '?format=csv&actorId=nobody',
        '?format=csv&from=2031-03-02T00:00:00Z&to=2031-03-01T00:00:00Z',
        '?format=csv&cursor=-1',
        '?format=csv&chain=global',
        '?format=csv&organizationId=x',
      ]) {
        const res = await get(admin, `/api/admin/audit/export${query}`);
        assert.equal(res.status, 422, `${query}: ${JSON.stringify(res.body)}`);
        assert.equal(res.body.error.code, 'validation_failed');
        assert.equal(typeof res.body.error.requestId, 'string');
      }
      const bad = await get(admin, '/api/admin/audit?actionPrefix=a%25');
      assert.equal(bad.status, 422);
    });

    test('a developer is refused (403) on the export, and the refusal is recorded', async () => {
      for (const path of ['/api/admin/audit/export?format=csv', '/api/admin/usage']) {
        const res = await get(developer, path);
        assert.equal(res.status, 403, path);
        assert.equal(res.body.error.code, 'forbidden');
      }
      const anonymous = await t.fetch('/api/admin/audit/export?format=csv');
      assert.equal(anonymous.status, 401);
      const denied = await get(admin, '/api/admin/audit?action=access.denied');
      const refusals = denied.body.events.filter(
        (e: { metadata: { role: string; required: string } }) =>
          e.metadata.role === 'developer' &&
          (e.metadata.required === 'audit:read' || e.metadata.required === 'usage:read'),
      );
      assert.equal(refusals.length, 2, 'each refusal is recorded');
    });

    test('usage: days and workspaces of the organization only', async () => {
      const at = (day: number, hour: number) => new Date(Date.UTC(2031, 1, day, hour));
      const row = (organizationId: string, workspaceId: string | null, createdAt: Date, tokens: number) => ({
        organizationId,
        userId: adminId,
        workspaceId,
        kind: 'chat',
        model: 'test-model',
        promptTokens: tokens,
        completionTokens: 1,
        latencyMs: 10,
        outcome: 'success',
        createdAt,
      });
      await t.services.db
        .insert(aiUsage)
        .values([
          row(orgId, 'ws_aaaa', at(10, 1), 5),
          row(orgId, 'ws_aaaa', at(10, 23), 7),
          row(orgId, null, at(12, 8), 11),
          row(otherOrgId, 'ws_bbbb', at(10, 2), 1000),
        ]);
      const res = await get(admin, '/api/admin/usage?since=2031-02-01T00:00:00Z&until=2031-03-01T00:00:00Z');
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.deepEqual(
        res.body.days.map((d: { day: string; promptTokens: number }) => [d.day, d.promptTokens]),
        [
          ['2031-02-10', 12],
          ['2031-02-12', 11],
        ],
      );
      assert.deepEqual(
        res.body.workspaces.map((w: { workspaceId: string | null; calls: number }) => [
          w.workspaceId,
          w.calls,
        ]),
        [
          ['ws_aaaa', 2],
          [null, 1],
        ],
      );
      assert.equal(res.body.organization.promptTokens, 23);
    });
  });
}
