import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TERMINAL_MAX_SESSIONS_PER_WORKSPACE } from '@keel/contract/terminal';
import { memberships, organizations, users } from '@keel/drizzle/schema';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { Runner } from '../../runners/src/runner.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { DRIVER_KINDS, type Rig, startRig } from '../harness/runner-rig.ts';
import { connectTerminal, plainGet, refusedStatus, type TerminalSocket } from './terminal-client.ts';

const PASSWORD = 'correct horse battery staple';

/** A signed-in super admin of a second organization. */
async function otherOrganization(rig: Rig, tag: string): Promise<BrowserClient> {
  const db = rig.app.services.db;
  const now = new Date();
  const orgId = `org_${tag}bbbbbbbbbbbbbbbbbbb`;
  const userId = `usr_${tag}bbbbbbbbbbbbbbbbbbb`;
  await db.insert(organizations).values({ id: orgId, name: 'Other', createdAt: now });
  await db.insert(users).values({
    id: userId,
    email: `other-${tag}@example.org`,
    name: 'Other',
    passwordHash: await hashPassword(PASSWORD),
    createdAt: now,
  });
  await db.insert(memberships).values({ userId, organizationId: orgId, role: 'super_admin', createdAt: now });
  const other = new BrowserClient(rig.http);
  const login = await other.request('POST', '/api/auth/login', {
    email: `other-${tag}@example.org`,
    password: PASSWORD,
  });
  assert.equal(login.status, 200);
  return other;
}

async function workspace(rig: Rig, client: BrowserClient, name: string): Promise<string> {
  const created = await client.request('POST', '/api/workspaces', { name }, { bearer: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  await rig.waitForStatus(client, created.body.id, 'running');
  return created.body.id;
}

function assertErrorBody(res: { status: number; body: any }, status: number, code: string): void {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body.error.code, code);
  assert.equal(typeof res.body.error.message, 'string');
  assert.match(res.body.error.requestId, /\S/);
}

for (const kind of DRIVER_KINDS) {
  describe(`who may open a terminal (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    const open: TerminalSocket[] = [];
    const keep = (socket: TerminalSocket) => {
      open.push(socket);
      return socket;
    };

    before(async () => {
      rig = await startRig(kind);
      ws = await workspace(rig, rig.admin, 'access');
    });
    after(async () => {
      for (const socket of open) socket.ws.terminate();
      await rig.close();
    });

    test('without credentials: 401 before any upgrade, with the error body on a plain request', async () => {
      assert.equal(await refusedStatus(rig.base, undefined, ws, { auth: 'none' }), 401);
      assertErrorBody(await plainGet(rig.base, undefined, ws, { auth: 'none' }), 401, 'unauthorized');
      const forged = new BrowserClient(rig.http);
      forged.accessToken = 'not.a.token';
      assert.equal(await refusedStatus(rig.base, forged, ws), 401);
    });

    test('cookie sessions need an Origin of this server: other sites and no Origin are refused', async () => {
      assert.equal(await refusedStatus(rig.base, rig.admin, ws, { auth: 'cookie' }), 403);
      assert.equal(
        await refusedStatus(rig.base, rig.admin, ws, { auth: 'cookie', origin: 'https://evil.example' }),
        403,
      );
      assertErrorBody(
        await plainGet(rig.base, rig.admin, ws, { auth: 'cookie', origin: 'https://evil.example' }),
        403,
        'csrf_failed',
      );
      const term = keep(await connectTerminal(rig.base, rig.admin, ws, { auth: 'cookie', origin: rig.base }));
      await term.waitFor('ready', () => term.session);
      await term.close();
    });

    test('another organization gets 404; a same-organization developer who does not own it too', async () => {
      const other = await otherOrganization(rig, kind === 'docker' ? 'd' : 'p');
      assert.equal(await refusedStatus(rig.base, other, ws), 404);
      assertErrorBody(await plainGet(rig.base, other, ws), 404, 'not_found');
      const developer = await rig.member('developer', `dev-${kind}@example.com`);
      assert.equal(await refusedStatus(rig.base, developer, ws), 404);
      const viewer = await rig.member('viewer', `viewer-${kind}@example.com`);
      assert.equal(await refusedStatus(rig.base, viewer, ws), 403);
    });

    test('a bad query is a 422 with the error body; a plain GET is told to upgrade', async () => {
      const queries: Array<Record<string, string | number>> = [
        { cols: 0 },
        { rows: 100_000 },
        { cols: 'wide' },
        { session: 'trm_x' },
        { session: 'exe_abcdefghijklmnopqrst' },
        { lastSeq: 'latest' },
      ];
      for (const query of queries) {
        assert.equal(await refusedStatus(rig.base, rig.admin, ws, { query }), 422, JSON.stringify(query));
        assertErrorBody(await plainGet(rig.base, rig.admin, ws, { query }), 422, 'validation_failed');
      }
      assertErrorBody(await plainGet(rig.base, rig.admin, ws), 426, 'upgrade_required');
    });

    test('a session cannot be attached through another workspace, or by another person', async () => {
      const term = keep(await connectTerminal(rig.base, rig.admin, ws));
      const session = await term.waitFor('ready', () => term.session);
      const second = await workspace(rig, rig.admin, 'second');
      assert.equal(await refusedStatus(rig.base, rig.admin, second, { query: { session } }), 404);
      assertErrorBody(await plainGet(rig.base, rig.admin, second, { query: { session } }), 404, 'not_found');
      const unknown = 'trm_abcdefghijklmnopqrst';
      assert.equal(await refusedStatus(rig.base, rig.admin, ws, { query: { session: unknown } }), 404);

      // An admin may open terminals in a member's workspace, but not take over the member's own shell.
      const developer = await rig.member('developer', `owner-${kind}@example.com`);
      const owned = await workspace(rig, developer, 'owned');
      const mine = keep(await connectTerminal(rig.base, developer, owned));
      const mySession = await mine.waitFor('ready', () => mine.session);
      assert.equal(await refusedStatus(rig.base, rig.admin, owned, { query: { session: mySession } }), 404);
      const adminTerm = keep(await connectTerminal(rig.base, rig.admin, owned));
      await adminTerm.waitFor('ready', () => adminTerm.session);
      await Promise.all([term.close(), mine.close(), adminTerm.close()]);
    });
  });
}

describe('terminal sessions are bounded (process driver)', () => {
  let rig: Rig;
  let ws: string;
  const open: TerminalSocket[] = [];
  before(async () => {
    rig = await startRig('process', { runnerEnv: { KEEL_TERMINAL_IDLE_SECONDS: '1' } });
    ws = await workspace(rig, rig.admin, 'bounded');
  });
  after(async () => {
    for (const socket of open) socket.ws.terminate();
    await rig.close();
  });

  test('a session with no socket ends after the idle time, and says so on reattach', async () => {
    const term = await connectTerminal(rig.base, rig.admin, ws);
    const session = await term.waitFor('ready', () => term.session);
    term.type('echo idle-$((6*7))\r');
    await term.waitForOutput('idle-42');
    await term.close();
    await new Promise((r) => setTimeout(r, 3_000));
    const again = await connectTerminal(rig.base, rig.admin, ws, { query: { session } });
    const error = await again.waitFor('the idle end', () => again.frames.find((f) => f.type === 'error'));
    assert.equal(error.type === 'error' && error.code, 'idle');
    assert.match(again.output(), /idle-42/, 'what was shown is still replayed');
  });

  test(`at most ${TERMINAL_MAX_SESSIONS_PER_WORKSPACE} live sessions per workspace`, async () => {
    for (let i = 0; i < TERMINAL_MAX_SESSIONS_PER_WORKSPACE; i++) {
      const term = await connectTerminal(rig.base, rig.admin, ws);
      open.push(term);
      await term.waitFor('ready', () => term.session);
    }
    assert.equal(await refusedStatus(rig.base, rig.admin, ws), 429);
    // One shell exits: its place is free again.
    const first = open[0]!;
    first.type('exit\r');
    await first.waitFor('exit', () => first.frames.find((f) => f.type === 'exit'));
    const next = await connectTerminal(rig.base, rig.admin, ws);
    open.push(next);
    await next.waitFor('ready', () => next.session);
  });

  test('a runner that restarts after a crash ends the sessions it lost, and says why', async () => {
    // Sessions outlive their sockets: the previous test's ones free their places once idle.
    for (const socket of open.splice(0)) socket.ws.terminate();
    await new Promise((r) => setTimeout(r, 3_000));
    const term = await connectTerminal(rig.base, rig.admin, ws);
    open.push(term);
    await term.waitFor('ready', () => term.session);
    term.type('echo before-crash-$((6*7))\r');
    await term.waitForOutput('before-crash-42');
    // A second start with the same credential is what a runner finds after a crash: streams of
    // sessions it does not have.
    const restarted = new Runner(rig.config, rig.credential, rig.driver);
    await restarted.start();
    try {
      const error = await term.waitFor('the lost session', () => term.frames.find((f) => f.type === 'error'));
      assert.equal(error.type === 'error' && error.code, 'runner_unavailable');
    } finally {
      await restarted.stop();
    }
  });

  test('a stopped workspace opens no terminal', async () => {
    for (const socket of open) socket.ws.terminate();
    // The previous test's second runner took the shared heartbeat with it when it stopped: the
    // workspace reads unavailable until the rig's runner beats again.
    await rig.waitForStatus(rig.admin, ws, 'running');
    const stop = await rig.admin.request('POST', `/api/workspaces/${ws}/stop`, undefined, { bearer: true });
    assert.equal(stop.status, 202);
    await rig.waitForStatus(rig.admin, ws, 'stopped');
    assert.equal(await refusedStatus(rig.base, rig.admin, ws), 409);
  });
});
