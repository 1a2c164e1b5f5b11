import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { type ServerType, serve } from '@hono/node-server';
import { CONTRACT_VERSION } from '@keel/contract/version';
import {
  identityProviders,
  memberships,
  organizations,
  usageDaily,
  usageHourly,
  userIdentities,
  users,
  workspaces,
} from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { recordAiCall } from '../../edge/src/ai/record.ts';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { newId } from '../../edge/src/ids.ts';
import { countCommand } from '../../edge/src/usage/command-count.ts';
import { pruneUsage, pruneUsageOnce } from '../../edge/src/usage/retention.ts';
import type { RunnerContext } from '../../runners/src/runner-context.ts';
import { sendUsageReport } from '../../runners/src/usage/usage-reporting.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { freePort } from '../harness/ports.ts';
import { createTestApp, DATABASE_KINDS, manualClock, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const GIB = 1024 ** 3;
/** A fixed hour, so buckets are known: 2026-03-10 14:00 UTC, the clock at 14:30. */
const HOUR = Date.parse('2026-03-10T14:00:00Z');
const iso = (ms: number) => new Date(ms).toISOString();
/** Two days before: samples there stay out of the windows the report tests read. */
const EARLIER = HOUR - 2 * 86400_000;

/**
 * The usage rollups through the API, on PGlite and on PostgreSQL: runners' reports land in the
 * hour and day rows at once, a retried report counts once, a sample naming a workspace not on
 * the reporting runner (moved away, another organization's, unknown) is refused alone while the
 * others count, and the admin and personal reports read them back, filtered, as JSON and CSV,
 * never across organizations.
 */
for (const database of DATABASE_KINDS) {
  describe(`usage rollups (${database})`, () => {
    let t: TestApp;
    const clock = manualClock(new Date(HOUR + 30 * 60_000));
    let admin: BrowserClient;
    let dev: BrowserClient;
    let outsider: BrowserClient;
    let orgId: string;
    let adminId: string;
    let devId: string;
    let runner: { runnerId: string; credential: string };
    let otherRunner: { runnerId: string; credential: string };
    let outsiderRunner: { runnerId: string; credential: string };
    let adminWs: string;
    let devWs: string;
    let otherRunnersWs: string;
    let outsiderWs: string;

    const client = () => new BrowserClient((path, init) => t.fetch(path, init));
    const signup = async (email: string, organization?: string, inviteToken?: string) => {
      const c = client();
      const res = await c.request('POST', '/api/auth/signup', {
        email,
        password: PASSWORD,
        name: email.split('@')[0],
        ...(organization ? { organization } : {}),
        ...(inviteToken ? { inviteToken } : {}),
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const me = await c.request('GET', '/api/auth/me', undefined, { bearer: true });
      return { c, userId: me.body.user.id as string, orgId: me.body.organization.id as string };
    };
    const register = async (c: BrowserClient, name: string) => {
      const tok = await c.request('POST', '/api/admin/runner-tokens', {}, { bearer: true });
      assert.equal(tok.status, 201, JSON.stringify(tok.body));
      const res = await t.fetch('/api/runners/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({
          token: tok.body.token,
          name,
          capacity: { workspaces: 4, cpus: 2, memoryMb: 2048 },
          drivers: ['process'],
        }),
      });
      assert.equal(res.status, 201);
      return (await res.json()) as { runnerId: string; credential: string };
    };
    const workspace = async (organizationId: string, ownerId: string, runnerId: string, name: string) => {
      const id = newId('workspace');
      await t.services.db.insert(workspaces).values({
        id,
        organizationId,
        ownerId,
        name,
        source: { type: 'empty' },
        resources: { cpus: 1, memoryMb: 1024 },
        runnerId,
        status: 'running',
      });
      return id;
    };
    const report = (credential: string, body: unknown) =>
      t.fetch('/api/runners/usage-reports', {
        method: 'POST',
        headers: { authorization: `Bearer ${credential}`, 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const sample = (
      workspaceId: string,
      fromMs: number,
      toMs: number,
      extra: Record<string, number> = {},
    ) => ({
      workspaceId,
      from: iso(fromMs),
      to: iso(toMs),
      cpuSeconds: 1.5,
      memoryByteSeconds: 60 * GIB,
      storageBytes: 2 * GIB,
      runningSeconds: Math.round((toMs - fromMs) / 1000),
      ...extra,
    });
    const hourRows = (id: string) =>
      t.services.db.select().from(usageHourly).where(eq(usageHourly.workspaceId, id));
    const dayRows = (id: string) =>
      t.services.db.select().from(usageDaily).where(eq(usageDaily.workspaceId, id));
    const get = (c: BrowserClient, path: string) => c.request('GET', path, undefined, { bearer: true });

    before(async () => {
      t = await createTestApp({ database, clock });
      const a = await signup('ann@usage.example', 'Acme');
      admin = a.c;
      adminId = a.userId;
      orgId = a.orgId;
      const inv = await admin.request(
        'POST',
        `/api/orgs/${orgId}/invitations`,
        { role: 'developer' },
        { bearer: true },
      );
      const d = await signup('dev@usage.example', undefined, inv.body.token);
      dev = d.c;
      devId = d.userId;
      // Another organization, with its own admin and runner.
      const o = { orgId: newId('organization'), userId: newId('user') };
      await t.services.db.insert(organizations).values({ id: o.orgId, name: 'Elsewhere' });
      await t.services.db.insert(users).values({
        id: o.userId,
        email: 'oz@elsewhere.example',
        name: 'Oz',
        passwordHash: await hashPassword(PASSWORD),
      });
      await t.services.db
        .insert(memberships)
        .values({ userId: o.userId, organizationId: o.orgId, role: 'admin' });
      outsider = client();
      const login = await outsider.request('POST', '/api/auth/login', {
        email: 'oz@elsewhere.example',
        password: PASSWORD,
      });
      assert.equal(login.status, 200);
      runner = await register(admin, 'usage-a');
      otherRunner = await register(admin, 'usage-b');
      outsiderRunner = await register(outsider, 'usage-o');
      adminWs = await workspace(orgId, adminId, runner.runnerId, 'ann-ws');
      devWs = await workspace(orgId, devId, runner.runnerId, 'dev-ws');
      otherRunnersWs = await workspace(orgId, adminId, otherRunner.runnerId, 'elsewhere-ws');
      outsiderWs = await workspace(o.orgId, o.userId, outsiderRunner.runnerId, 'oz-ws');
      // Dev is in the SSO group "platform".
      const providerId = `idp_${database}`;
      await t.services.db.insert(identityProviders).values({
        id: providerId,
        organizationId: orgId,
        kind: 'oidc',
        name: 'Test IdP',
        slug: 'test',
        config: {},
      });
      await t.services.db
        .insert(userIdentities)
        .values({ providerId, subject: 'dev-sub', userId: devId, groups: ['platform', 'web'] });
    });
    after(() => t?.close());

    test('a report lands in the hour and the day row; a retry with the same id counts once', async () => {
      const body = {
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: [
          sample(adminWs, HOUR + 60_000, HOUR + 120_000),
          sample(adminWs, HOUR + 120_000, HOUR + 180_000, { storageBytes: 3 * GIB }),
          sample(devWs, HOUR + 60_000, HOUR + 120_000, { cpuSeconds: 10 }),
        ],
      };
      const first = await report(runner.credential, body);
      assert.equal(first.status, 200, await first.clone().text());
      assert.deepEqual(await first.json(), { recorded: 3, refused: [] });
      const again = await report(runner.credential, body);
      assert.equal(again.status, 200);
      assert.deepEqual(await again.json(), { recorded: 0, refused: [], duplicate: true }, 'counted once');
      const [hour] = await hourRows(adminWs);
      assert.ok(hour);
      assert.equal(hour.bucketStart.getTime(), HOUR);
      assert.equal(hour.organizationId, orgId);
      assert.equal(hour.userId, adminId);
      assert.equal(hour.cpuSeconds, 3);
      assert.equal(hour.memoryByteSeconds, 120 * GIB);
      assert.equal(hour.storageByteSeconds, 60 * 2 * GIB + 60 * 3 * GIB);
      assert.equal(Number(hour.peakStorageBytes), 3 * GIB);
      assert.equal(Number(hour.runningSeconds), 120);
      const [day] = await dayRows(adminWs);
      assert.equal(day?.bucketStart.toISOString(), '2026-03-10T00:00:00.000Z');
      assert.equal(day?.cpuSeconds, 3);
      assert.equal((await hourRows(devWs))[0]?.userId, devId, 'the row is the workspace owner’s');

      // The next hour adds a second hourly row and into the same day.
      const next = await report(runner.credential, {
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: [sample(adminWs, HOUR - 60_000, HOUR)],
      });
      assert.equal(next.status, 200);
      assert.equal((await hourRows(adminWs)).length, 2);
      assert.equal((await dayRows(adminWs))[0]?.cpuSeconds, 4.5);
    });

    test('a sample for a workspace of another runner or organization, or of none, is refused alone', async () => {
      const all = async () =>
        (await t.services.db.select().from(usageHourly)).filter((r) => r.workspaceId !== kept);
      const kept = await workspace(orgId, adminId, runner.runnerId, 'kept-ws');
      const before = await all();
      const foreign = [otherRunnersWs, outsiderWs, 'wsp_nonexistent'];
      for (const [i, ws] of foreign.entries()) {
        const at = EARLIER + i * 120_000;
        const res = await report(runner.credential, {
          v: CONTRACT_VERSION,
          reportId: randomUUID(),
          samples: [
            sample(ws, at, at + 60_000),
            sample(kept, at, at + 60_000),
            sample(ws, at + 60_000, at + 120_000),
          ],
        });
        assert.equal(res.status, 200, ws);
        assert.deepEqual(await res.json(), { recorded: 1, refused: [ws] }, 'the id as sent, once');
      }
      // Only foreign samples: nothing written, the same answer shape.
      const none = await report(runner.credential, {
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: foreign.map((ws) => sample(ws, EARLIER, EARLIER + 60_000)),
      });
      assert.equal(none.status, 200);
      assert.deepEqual(await none.json(), { recorded: 0, refused: foreign });
      // Another organization's runner naming this organization's workspace writes nothing either.
      const intruder = await report(outsiderRunner.credential, {
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: [sample(kept, EARLIER + 600_000, EARLIER + 660_000)],
      });
      assert.equal(intruder.status, 200);
      assert.deepEqual(await intruder.json(), { recorded: 0, refused: [kept] });

      assert.deepEqual(
        await all(),
        before,
        'nothing written for another runner’s or organization’s workspace',
      );
      assert.deepEqual(await hourRows(outsiderWs), []);
      assert.deepEqual(await dayRows(outsiderWs), []);
      const [row] = await hourRows(kept);
      assert.equal(row?.cpuSeconds, 3 * 1.5, 'the valid samples of each report were recorded');
      assert.equal(Number(row?.runningSeconds), 180);
      assert.equal(row?.organizationId, orgId);
      const noAuth = await report('rnc_forged_credential_value_123', {
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: [sample(adminWs, HOUR, HOUR + 60_000)],
      });
      assert.equal(noAuth.status, 401);
      const asPerson = await t.fetch('/api/runners/usage-reports', {
        method: 'POST',
        headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' },
        body: '{}',
      });
      assert.equal(asPerson.status, 401, 'a person’s token is no runner credential');
    });

    test('a drained workspace: a report naming it and one still on the runner records only the one still there', async () => {
      const staying = await workspace(orgId, adminId, runner.runnerId, 'staying-ws');
      const moved = await workspace(orgId, adminId, runner.runnerId, 'moved-ws');
      // Moved as a drain's relocation does (fleet/relocate.ts): placed on the other runner, one
      // generation on. The first runner has not yet stopped it, so it still reports it.
      await t.services.db
        .update(workspaces)
        .set({ runnerId: otherRunner.runnerId, generation: 2, status: 'relocating' })
        .where(eq(workspaces.id, moved));
      const at = EARLIER + 3600_000;
      // Through the runner's own client over HTTP, as a runner sends it.
      const port = await freePort();
      const server: ServerType = await new Promise((resolve) => {
        const s = serve({ fetch: t.app.fetch, port, hostname: '127.0.0.1' }, () => resolve(s));
      });
      try {
        const asRunner = (r: { credential: string }) =>
          ({ edge: { edgeUrl: `http://127.0.0.1:${port}`, credential: r.credential } }) as RunnerContext;
        const outcome = await sendUsageReport(asRunner(runner), {
          v: CONTRACT_VERSION,
          reportId: randomUUID(),
          samples: [sample(staying, at, at + 60_000), sample(moved, at, at + 60_000)],
        });
        assert.deepEqual(outcome, { refusedWorkspaces: [moved] }, 'delivered; the moved one refused');
        assert.equal((await hourRows(staying))[0]?.cpuSeconds, 1.5, 'the one still on the runner counts');
        assert.deepEqual(await hourRows(moved), [], 'nothing for the one that moved');
        // Its new runner reports it from now on, and that counts.
        const fromNew = await sendUsageReport(asRunner(otherRunner), {
          v: CONTRACT_VERSION,
          reportId: randomUUID(),
          samples: [sample(moved, at + 60_000, at + 120_000)],
        });
        assert.equal(fromNew, 'delivered');
        assert.equal((await hourRows(moved))[0]?.cpuSeconds, 1.5);
      } finally {
        await new Promise<void>((r) => server.close(() => r()));
      }
    });

    test('bad reports answer 4xx with the error body, writing nothing', async () => {
      const before = await t.services.db.select().from(usageHourly);
      const ok = (s: unknown[]) => ({ v: CONTRACT_VERSION, reportId: randomUUID(), samples: s });
      const cases: [string, unknown, number][] = [
        ['malformed', '{', 400],
        ['no samples', ok([]), 422],
        ['too many', ok(Array.from({ length: 501 }, () => sample(adminWs, HOUR, HOUR + 1000))), 422],
        ['unknown key', { ...ok([sample(adminWs, HOUR, HOUR + 1000)]), extra: 1 }, 422],
        ['sample key', ok([{ ...sample(adminWs, HOUR, HOUR + 1000), gpu: 1 }]), 422],
        ['bad report id', { ...ok([sample(adminWs, HOUR, HOUR + 1000)]), reportId: 'x' }, 422],
        ['bad version', { ...ok([sample(adminWs, HOUR, HOUR + 1000)]), v: 99 }, 422],
        ['from after to', ok([sample(adminWs, HOUR + 2000, HOUR + 1000)]), 422],
        ['across an hour', ok([sample(adminWs, HOUR - 1000, HOUR + 1000)]), 422],
        ['in the future', ok([sample(adminWs, HOUR + 3 * 3600_000, HOUR + 3 * 3600_000 + 1000)]), 422],
        ['too old', ok([sample(adminWs, HOUR - 40 * 86400_000, HOUR - 40 * 86400_000 + 1000)]), 422],
        ['running > interval', ok([sample(adminWs, HOUR, HOUR + 1000, { runningSeconds: 100 })]), 422],
        ['negative', ok([sample(adminWs, HOUR, HOUR + 1000, { cpuSeconds: -1 })]), 422],
        ['bad date', ok([{ ...sample(adminWs, HOUR, HOUR + 1000), from: 'yesterday' }]), 422],
      ];
      for (const [what, body, status] of cases) {
        const sent = await t.fetch('/api/runners/usage-reports', {
          method: 'POST',
          headers: { authorization: `Bearer ${runner.credential}`, 'content-type': 'application/json' },
          body: typeof body === 'string' ? body : JSON.stringify(body),
        });
        assert.equal(sent.status, status, what);
        const err = ((await sent.json()) as any).error;
        assert.ok(err.code && err.message && err.requestId, what);
      }
      assert.deepEqual(await t.services.db.select().from(usageHourly), before, 'nothing written');
    });

    test('commands and AI calls land in the rollups', async () => {
      const [row] = await t.services.db.select().from(workspaces).where(eq(workspaces.id, devWs));
      await countCommand(t.services, row!);
      await countCommand(t.services, row!);
      await recordAiCall(
        t.services,
        {
          streamId: `ais_${randomUUID().replaceAll('-', '').slice(0, 20)}`,
          kind: 'explain',
          runnerId: runner.runnerId,
          organizationId: orgId,
          userId: adminId,
          workspaceId: devWs,
          pathSha256: null,
          paths: 0,
          model: 'test-model',
        } as never,
        {
          v: CONTRACT_VERSION,
          streamId: 'x',
          kind: 'explain',
          outcome: 'success',
          model: 'test-model',
          promptBytes: 10,
          answerSha256: 'a'.repeat(64),
          answerBytes: 10,
          contextFiles: 0,
          promptTokens: 120,
          completionTokens: 30,
          tokensEstimated: false,
          firstTokenMs: 5,
          latencyMs: 9,
        } as never,
      );
      const [hour] = await hourRows(devWs);
      assert.equal(Number(hour?.commands), 2);
      assert.equal(Number(hour?.aiCalls), 1);
      assert.equal(Number(hour?.aiPromptTokens), 120);
      assert.equal(Number(hour?.aiCompletionTokens), 30);
      assert.equal(hour?.userId, devId, 'the workspace owner’s row, whoever asked');
      assert.equal(Number((await dayRows(devWs))[0]?.commands), 2);
    });

    test('the admin report: totals, buckets, people, teams, workspaces; filters narrow every part', async () => {
      const q = `since=${iso(HOUR - 3600_000)}&until=${iso(HOUR + 3600_000)}`;
      const res = await get(admin, `/api/admin/usage?${q}&granularity=hour`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const r = res.body;
      assert.equal(r.granularity, 'hour');
      assert.equal(r.resources.totals.cpuSeconds, 4.5 + 10);
      assert.equal(r.resources.totals.commands, 2);
      assert.equal(r.resources.totals.aiCalls, 1);
      assert.equal(r.resources.totals.peakStorageBytes, 3 * GIB);
      assert.deepEqual(
        r.resources.buckets.map((b: any) => [b.start, b.workspacesRunning]),
        [
          [iso(HOUR - 3600_000), 1],
          [iso(HOUR), 2],
        ],
      );
      const annHour = r.resources.buckets[1];
      assert.ok(Math.abs(annHour.memoryGibHours - (120 + 60) / 3600) < 1e-9);
      assert.deepEqual(
        r.resources.users.map((u: any) => [u.email, u.cpuSeconds]),
        [
          ['dev@usage.example', 10],
          ['ann@usage.example', 4.5],
        ],
      );
      assert.deepEqual(r.resources.teams.map((x: any) => [x.team, x.cpuSeconds]).sort(), [
        ['platform', 10],
        ['web', 10],
      ]);
      assert.deepEqual(
        r.resources.workspaces.map((w: any) => [w.name, w.ownerId]),
        [
          ['dev-ws', devId],
          ['ann-ws', adminId],
        ],
      );
      assert.equal(r.organization.calls, 1, 'the AI part keeps its fields');

      const byUser = (await get(admin, `/api/admin/usage?${q}&userId=${devId}`)).body;
      assert.equal(byUser.resources.totals.cpuSeconds, 10);
      assert.equal(byUser.organization.calls, 0, 'the AI call was asked by ann: the filter narrows it out');
      const byWs = (await get(admin, `/api/admin/usage?${q}&workspaceId=${adminWs}`)).body;
      assert.equal(byWs.resources.totals.cpuSeconds, 4.5);
      assert.equal(byWs.organization.calls, 0);
      const byTeam = (await get(admin, `/api/admin/usage?${q}&team=platform`)).body;
      assert.equal(byTeam.resources.totals.cpuSeconds, 10);
      assert.deepEqual(
        byTeam.resources.users.map((u: any) => u.userId),
        [devId],
      );
      const noTeam = (await get(admin, `/api/admin/usage?${q}&team=nobody`)).body;
      assert.equal(noTeam.resources.totals.cpuSeconds, 0);
      assert.deepEqual(noTeam.resources.buckets, []);

      const daily = (await get(admin, `/api/admin/usage?${q}`)).body;
      assert.equal(daily.granularity, 'day');
      assert.deepEqual(
        daily.resources.buckets.map((b: any) => b.start),
        ['2026-03-10T00:00:00.000Z'],
      );
      assert.equal(daily.resources.totals.cpuSeconds, 14.5);
    });

    test('CSV: one row per bucket and workspace, with a header line, as a download', async () => {
      const q = `since=${iso(HOUR - 3600_000)}&until=${iso(HOUR + 3600_000)}&granularity=hour&format=csv`;
      const res = await t.fetch(`/api/admin/usage?${q}`, {
        headers: { authorization: `Bearer ${admin.accessToken}` },
      });
      assert.equal(res.status, 200);
      assert.match(res.headers.get('content-type') ?? '', /^text\/csv/);
      assert.match(res.headers.get('content-disposition') ?? '', /^attachment; filename="keel-usage-hour-/);
      const lines = (await res.text()).trim().split('\r\n');
      assert.equal(
        lines[0],
        'bucket_start,workspace_id,workspace_name,owner_id,cpu_seconds,memory_gib_hours,storage_gib_hours,peak_storage_bytes,running_seconds,commands,ai_calls,ai_prompt_tokens,ai_completion_tokens',
      );
      assert.equal(lines.length, 1 + 3);
      const cells = lines.map((l) => l.split(','));
      assert.deepEqual(
        cells.slice(1).map((c) => [c[0], c[2], c[4]]),
        [
          [iso(HOUR - 3600_000), 'ann-ws', '1.5'],
          ...[
            [iso(HOUR), 'ann-ws', '3'],
            [iso(HOUR), 'dev-ws', '10'],
          ].sort((a, b) =>
            cells.find((c) => c[2] === a[1])![1]! < cells.find((c) => c[2] === b[1])![1]! ? -1 : 1,
          ),
        ],
      );
      const mine = await t.fetch('/api/me/usage?format=csv&granularity=day&since=2026-03-01T00:00:00Z', {
        headers: { authorization: `Bearer ${dev.accessToken}` },
      });
      assert.equal(mine.status, 200);
      const mineLines = (await mine.text()).trim().split('\r\n');
      assert.equal(mineLines.length, 2);
      assert.match(mineLines[1]!, new RegExp(`,dev-ws,${devId},10,`));
    });

    test('/api/me/usage shows only the caller’s workspaces; a personal access token may read it', async () => {
      const mine = await get(dev, `/api/me/usage?since=${iso(HOUR - 86400_000)}`);
      assert.equal(mine.status, 200, JSON.stringify(mine.body));
      assert.equal(mine.body.totals.cpuSeconds, 10);
      assert.equal(mine.body.totals.commands, 2);
      assert.deepEqual(
        mine.body.workspaces.map((w: any) => w.workspaceId),
        [devWs],
      );
      assert.deepEqual(mine.body.models, [], 'ann asked the AI, not dev');
      const annMine = (
        await get(admin, `/api/me/usage?since=${iso(HOUR - 86400_000)}&until=${iso(HOUR + 3600_000)}`)
      ).body;
      assert.deepEqual(annMine.models, [
        { model: 'test-model', calls: 1, promptTokens: 120, completionTokens: 30 },
      ]);
      assert.deepEqual(
        annMine.workspaces.map((w: any) => w.workspaceId),
        [adminWs],
      );

      const pat = await dev.request(
        'POST',
        '/api/account/tokens',
        { name: 'usage script', permissions: ['workspaces:read'] },
        { bearer: true },
      );
      assert.equal(pat.status, 201, JSON.stringify(pat.body));
      const viaPat = await t.fetch(`/api/me/usage?since=${iso(HOUR - 86400_000)}`, {
        headers: { authorization: `Bearer ${pat.body.token}` },
      });
      assert.equal(viaPat.status, 200);
      assert.equal(((await viaPat.json()) as any).totals.cpuSeconds, 10);
      assert.equal((await t.fetch('/api/me/usage')).status, 401);
    });

    test('a developer gets 403 on the admin report; another organization’s admin sees none of it', async () => {
      const refused = await get(dev, '/api/admin/usage');
      assert.equal(refused.status, 403);
      assert.equal(refused.body.error.code, 'forbidden');
      const q = `since=${iso(HOUR - 3600_000)}&until=${iso(HOUR + 3600_000)}`;
      for (const filter of ['', `&userId=${devId}`, `&workspaceId=${adminWs}`, '&team=platform']) {
        const other = await get(outsider, `/api/admin/usage?${q}${filter}`);
        assert.equal(other.status, 200);
        assert.equal(other.body.resources.totals.cpuSeconds, 0, filter);
        assert.deepEqual(other.body.resources.workspaces, []);
        assert.deepEqual(other.body.resources.users, []);
      }
      const csv = await t.fetch(`/api/admin/usage?${q}&format=csv&workspaceId=${adminWs}`, {
        headers: { authorization: `Bearer ${outsider.accessToken}` },
      });
      assert.equal((await csv.text()).trim().split('\r\n').length, 1, 'the header alone');
    });

    test('bad queries answer 4xx with the error body', async () => {
      for (const path of ['/api/admin/usage', '/api/me/usage']) {
        for (const [query, status] of [
          ['since=yesterday', 422],
          ['until=2026-13-45T00:00:00Z', 422],
          [`since=${iso(HOUR)}&until=${iso(HOUR)}`, 422],
          [`since=${iso(HOUR)}&until=${iso(HOUR - 1000)}`, 422],
          [`granularity=hour&since=${iso(HOUR - 32 * 86400_000)}&until=${iso(HOUR)}`, 422],
          [`since=${iso(HOUR - 367 * 86400_000)}&until=${iso(HOUR)}`, 422],
          ['granularity=minute', 422],
          ['format=xml', 422],
          ['color=red', 422],
          ['userId=%00', 422],
          ['workspaceId=a%00b', 422],
          ['team=%00', 422],
        ] as const) {
          const res = await get(admin, `${path}?${query}`);
          assert.equal(res.status, status, `${path}?${query}: ${JSON.stringify(res.body)}`);
          assert.ok(res.body.error.code && res.body.error.message && res.body.error.requestId);
        }
      }
      const userOnMe = await get(admin, `/api/me/usage?userId=${devId}`);
      assert.equal(userOnMe.status, 422, 'no one else’s usage through /api/me');
      const ok = await get(
        admin,
        `/api/admin/usage?granularity=hour&since=${iso(HOUR - 31 * 86400_000)}&until=${iso(HOUR)}`,
      );
      assert.equal(ok.status, 200, '31 days of hours is allowed');
    });

    test('a deleted workspace’s usage stays, without its name', async () => {
      const gone = await workspace(orgId, adminId, runner.runnerId, 'gone-ws');
      const res = await report(runner.credential, {
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: [sample(gone, HOUR + 300_000, HOUR + 360_000)],
      });
      assert.equal(res.status, 200);
      await t.services.db
        .update(workspaces)
        .set({ deletedAt: clock.now(), status: 'deleting' })
        .where(eq(workspaces.id, gone));
      const late = await report(runner.credential, {
        v: CONTRACT_VERSION,
        reportId: randomUUID(),
        samples: [sample(gone, HOUR + 360_000, HOUR + 420_000)],
      });
      assert.equal(late.status, 200);
      assert.deepEqual(
        await late.json(),
        { recorded: 1, refused: [] },
        'its last minutes on the runner still count',
      );
      const r = (await get(admin, `/api/admin/usage?workspaceId=${gone}&since=${iso(HOUR - 3600_000)}`)).body;
      assert.deepEqual(
        r.resources.workspaces.map((w: any) => [w.workspaceId, w.name, w.cpuSeconds]),
        [[gone, null, 3]],
      );
    });

    test('retention deletes old rows only, once an hour of all edges', async () => {
      // Rows of 35 and 500 days ago, beside the recent ones.
      const old = (days: number) => new Date(HOUR - days * 86400_000);
      const base = { workspaceId: adminWs, organizationId: orgId, userId: adminId, cpuSeconds: 1 };
      await t.services.db.insert(usageHourly).values([{ ...base, bucketStart: old(35) }]);
      await t.services.db.insert(usageDaily).values([
        { ...base, bucketStart: old(35) },
        { ...base, bucketStart: old(500) },
      ]);
      const hoursBefore = (await hourRows(adminWs)).length;
      await t.services.redis().del(`${t.services.config.redisPrefix}usage:retention:lock`);
      assert.equal(await pruneUsageOnce(t.services, t.services.config.usageRetention), true);
      assert.equal(
        await pruneUsageOnce(t.services, t.services.config.usageRetention),
        false,
        'locked for the hour',
      );
      const hours = await hourRows(adminWs);
      assert.equal(hours.length, hoursBefore - 1);
      assert.ok(hours.every((h) => h.bucketStart.getTime() >= HOUR - 3600_000));
      const days = (await dayRows(adminWs)).map((d) => d.bucketStart.getTime()).sort();
      assert.deepEqual(days, [old(35).getTime(), Date.parse('2026-03-10T00:00:00Z')]);
      // Shorter settings delete more, and still only what is older.
      await pruneUsage(t.services, { hourlyDays: 1, days: 1 });
      assert.equal((await dayRows(adminWs)).length, 1);
      assert.ok((await hourRows(adminWs)).length >= 1);
    });
  });
}
