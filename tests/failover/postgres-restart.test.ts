/**
 * PostgreSQL restarted under a running Keel: while it is down requests are refused with 503 in
 * bounded time; once it is back the same edge and runner serve again; and a multi-row write
 * in flight at the shutdown (a signup by invitation: user, membership, invitation spent)
 * either committed whole or left nothing.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { sql } from 'drizzle-orm';
import postgres from 'postgres';
import { isStoreUnavailable } from '../../edge/src/http/store-unavailable.ts';
import { connectPostgres } from '../../edge/src/services/database.ts';
import { waitFor } from '../harness/ports.ts';
import { type PostgresServer, startPostgresServer } from '../harness/postgres-server.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import {
  type Answer,
  askThroughout,
  assertRefusedFast,
  assertServesAgain,
  execute,
  OUTAGE_ANSWER_MS,
  outageSummary,
  outputOf,
  runningWorkspace,
  timedRequest,
} from './outage.ts';

const DOWN_MS = 3_000;
const SIGNUPS = 4;

describe('PostgreSQL restart', () => {
  let pg: PostgresServer;
  let databaseUrl: string;
  let rig: Rig;
  before(async () => {
    pg = await startPostgresServer();
    databaseUrl = await pg.createDatabase();
    rig = await startRig('process', { databaseUrl });
  });
  after(async () => {
    await rig?.close();
    await pg?.stop();
  });

  test('requests get 503 fast while it is down, a write in flight is whole or absent, and the same edge serves again', async () => {
    const ws = await runningWorkspace(rig, 'through-pg-restart');
    const before = await execute(rig, ws, 'echo written before');
    const beforeEvents = await outputOf(rig, ws, before);
    const invites: string[] = [];
    for (let i = 0; i < SIGNUPS; i++) {
      const inv = await rig.admin.request(
        'POST',
        `/api/orgs/${rig.orgId}/invitations`,
        { role: 'developer' },
        { bearer: true },
      );
      assert.equal(inv.status, 201, JSON.stringify(inv.body));
      invites.push(inv.body.token);
    }

    // Signups in flight as the server stops: each takes the signup lock in turn, so some are
    // inside their transaction when the connection is cut.
    const signups = invites.map(async (token, i): Promise<Answer> => {
      const began = Date.now();
      const res = await rig
        .http('/api/auth/signup', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({
            email: `late${i}@example.com`,
            password: 'correct horse battery staple',
            name: `Late ${i}`,
            inviteToken: token,
          }),
          signal: AbortSignal.timeout(15_000),
        })
        .catch((err: unknown) => err as Error);
      if (res instanceof Error) return { status: 0, ms: Date.now() - began, body: String(res) };
      return { status: res.status, ms: Date.now() - began, body: await res.json() };
    });
    const restart = (async () => {
      await new Promise((r) => setTimeout(r, 150));
      await pg.down();
      await new Promise((r) => setTimeout(r, DOWN_MS));
      await pg.up();
      await waitFor('the edge to answer again', async () => {
        const a = await timedRequest(rig, 'GET', `/api/workspaces/${ws}`);
        return a.status === 200 ? true : undefined;
      });
    })();
    // A write: reads may be answered from what the edge caches in Redis.
    const invite = () => timedRequest(rig, 'POST', `/api/orgs/${rig.orgId}/invitations`, { role: 'viewer' });
    const answers = await askThroughout(invite, restart);
    assertRefusedFast(answers, 'while PostgreSQL was down');
    console.log(`postgres restart: ${outageSummary(answers)}`);

    const signedUp = await Promise.all(signups);
    for (const a of signedUp) {
      assert.ok(a.status === 201 || a.status === 503, JSON.stringify(a));
      if (a.status === 503)
        assert.equal((a.body as { error: { code: string } }).error.code, 'store_unavailable');
    }
    // Whatever the answer, each signup's rows are all there or none is.
    const direct = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      for (let i = 0; i < SIGNUPS; i++) {
        const email = `late${i}@example.com`;
        const [row] = await direct`
          select
            (select count(*)::int from users where email = ${email}) as users,
            (select count(*)::int from memberships m join users u on u.id = m.user_id where u.email = ${email}) as memberships,
            (select count(*)::int from invitations i join users u on u.id = i.accepted_by where u.email = ${email}) as accepted`;
        assert.ok(
          (row!.users === 1 && row!.memberships === 1 && row!.accepted === 1) ||
            (row!.users === 0 && row!.memberships === 0 && row!.accepted === 0),
          `${email}: ${JSON.stringify(row)}`,
        );
        if (signedUp[i]!.status === 201) assert.equal(row!.users, 1, `${email} was answered 201`);
      }
    } finally {
      await direct.end();
    }
    console.log(`signups at the shutdown: ${signedUp.map((a) => `${a.status} in ${a.ms} ms`).join(', ')}`);

    await assertServesAgain(rig, ws, 'pg-restart');
    assert.deepEqual(await outputOf(rig, ws, before), beforeEvents);
    // A request that needs PostgreSQL works again on the same edge.
    const more = await rig.admin.request(
      'POST',
      `/api/orgs/${rig.orgId}/invitations`,
      { role: 'developer' },
      { bearer: true },
    );
    assert.equal(more.status, 201, JSON.stringify(more.body));
  });

  test('a transaction in flight at the shutdown fails as store_unavailable, leaves no row, and the process lives on', async () => {
    const handle = connectPostgres(databaseUrl, { max: 2 });
    try {
      await handle.db.execute(sql`create table failover_rows (n int)`);
      const outcome = handle.db
        .transaction(async (tx) => {
          await tx.execute(sql`insert into failover_rows values (1)`);
          await tx.execute(sql`select pg_sleep(10)`);
          await tx.execute(sql`insert into failover_rows values (2)`);
        })
        .then(
          () => 'committed',
          (err: unknown) => err,
        );
      await new Promise((r) => setTimeout(r, 300));
      // postgres.js used to throw from a timer here (its ROLLBACK written to the closed
      // socket), which no caller could catch: the whole edge exited.
      await pg.down();
      const err = await outcome;
      assert.ok(isStoreUnavailable(err), String(err));
      await pg.up();
      const began = Date.now();
      // postgres.js answers a list of rows; the Database type leaves it open to both drivers.
      const [row] = (await handle.db.execute(
        sql`select count(*)::int as n from failover_rows`,
      )) as unknown as Array<{
        n: number;
      }>;
      assert.equal(row!.n, 0, 'the first insert was rolled back with the rest');
      assert.ok(
        Date.now() - began <= OUTAGE_ANSWER_MS,
        `the first query after took ${Date.now() - began} ms`,
      );
    } finally {
      await handle.close();
    }
  });
});
