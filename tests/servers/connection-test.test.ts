import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ConnectionTestResult } from '@keel/contract/servers';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { sshFingerprint } from '../../edge/src/servers/host-key.ts';
import { type RegisteredRunner, type ServerRig, sshKeyPair, startServerRig } from './server-rig.ts';

const userKey = sshKeyPair();

/** What a runner's test of a reachable SSH host reports, shaped by `extra`. */
function result(extra: Partial<ConnectionTestResult>): ConnectionTestResult {
  return {
    ok: true,
    message: 'connected',
    at: new Date().toISOString(),
    durationMs: 42,
    runnerId: null,
    reachable: true,
    authenticated: true,
    ...extra,
  };
}

function hostKeyReport(line: string, pinned: boolean, changed: boolean) {
  return { fingerprint: sshFingerprint(line)!, algorithm: 'ssh-ed25519', publicKey: line, pinned, changed };
}

describe('connection tests through the assigned runner, and host keys (real PostgreSQL and Redis)', () => {
  let rig: ServerRig;
  let runner: RegisteredRunner;
  let serverId: string;
  /** What the stand-in runner answers next, and the jobs it was sent. */
  let answer: (job: any) => unknown = () => result({});
  const jobs: any[] = [];
  const post = (path: string, body?: unknown) => rig.admin.request('POST', path, body, { bearer: true });

  before(async () => {
    rig = await startServerRig();
    runner = await rig.registerRunner(rig.admin, { site: 'lab' });
    rig.answerCalls(runner.runnerId, async (job) => {
      jobs.push(job);
      return { ok: true, result: answer(job) };
    });
    const created = await post('/api/admin/servers', {
      kind: 'ssh',
      name: 'lab-1',
      host: '198.51.100.30',
      user: 'keel',
      privateKey: userKey.privateKey,
      capacity: { workspaces: 2 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    serverId = created.body.server.id;
  });
  after(async () => {
    await rig?.close();
  });

  test('an unassigned server, or one whose runner is offline, tests as no_runner at once', async () => {
    const unassigned = await post(`/api/admin/servers/${serverId}/test`);
    assert.equal(unassigned.status, 200, JSON.stringify(unassigned.body));
    assert.equal(unassigned.body.result.ok, false);
    assert.equal(unassigned.body.result.code, 'no_runner');
    assert.match(unassigned.body.result.message, /not assigned/);
    assert.equal(unassigned.body.server.status, 'failing');
    assert.deepEqual(unassigned.body.server.lastTest, unassigned.body.result);

    const assigned = await rig.admin.request(
      'PATCH',
      `/api/admin/servers/${serverId}`,
      { assignment: { runnerLabels: { site: 'lab' } } },
      { bearer: true },
    );
    assert.equal(assigned.status, 200, JSON.stringify(assigned.body));
    const offline = await post(`/api/admin/servers/${serverId}/test`);
    assert.equal(offline.body.result.code, 'no_runner');
    assert.match(offline.body.result.message, /online/);
    assert.equal(jobs.length, 0, 'nothing was sent to an offline runner');
  });

  test('the runner that carries the labels gets the call; no key pinned: the host’s key waits for an admin', async () => {
    await rig.setOnline(runner.runnerId, true);
    const host = sshKeyPair('host');
    answer = () =>
      result({
        ok: false,
        code: 'host_key_unconfirmed',
        message: 'the host offers a key; confirm it',
        authenticated: false,
        hostKey: hostKeyReport(host.publicLine, false, false),
      });
    const res = await post(`/api/admin/servers/${serverId}/test`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(jobs.at(-1), { v: 1, type: 'server.test', serverId });
    assert.equal(res.body.result.code, 'host_key_unconfirmed');
    assert.equal(res.body.result.runnerId, runner.runnerId, 'the answering runner is named');
    assert.equal(res.body.server.status, 'host_key_unconfirmed');
    assert.equal(res.body.server.endpoint.hostKeyFingerprint, null, 'a test pins nothing');

    const wrong = sshFingerprint(sshKeyPair().publicLine);
    const refused = await post(`/api/admin/servers/${serverId}/host-key`, { fingerprint: wrong });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'conflict');
    for (const bad of [{}, { fingerprint: 'md5:aa' }, { fingerprint: wrong, extra: 1 }]) {
      const r = await post(`/api/admin/servers/${serverId}/host-key`, bad);
      assert.equal(r.status, 422, JSON.stringify(r.body));
    }

    const pinned = await post(`/api/admin/servers/${serverId}/host-key`, {
      fingerprint: sshFingerprint(host.publicLine),
    });
    assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
    assert.equal(pinned.body.server.endpoint.hostKeyFingerprint, sshFingerprint(host.publicLine));
    assert.equal(pinned.body.server.status, 'new', 'pinned, not yet tested with it');
    const again = await post(`/api/admin/servers/${serverId}/host-key`, {
      fingerprint: sshFingerprint(host.publicLine),
    });
    assert.equal(again.status, 409, 'nothing waits for confirmation any more');

    answer = () => result({ hostKey: hostKeyReport(host.publicLine, true, false) });
    const ok = await post(`/api/admin/servers/${serverId}/test`);
    assert.equal(ok.body.result.ok, true);
    assert.equal(ok.body.server.status, 'ok');
  });

  test('a changed host key fails the test and is never pinned or offered', async () => {
    const before = (
      await rig.admin.request('GET', `/api/admin/servers/${serverId}`, undefined, { bearer: true })
    ).body.server;
    const impostor = sshKeyPair('impostor');
    for (const code of ['host_key_changed', 'host_key_unconfirmed'] as const) {
      answer = () =>
        result({
          ok: false,
          code,
          message: 'the host presented another key',
          authenticated: false,
          hostKey: hostKeyReport(impostor.publicLine, false, true),
        });
      const res = await post(`/api/admin/servers/${serverId}/test`);
      assert.equal(res.body.result.code, code);
      assert.equal(res.body.server.status, 'failing');
      assert.equal(res.body.server.endpoint.hostKeyFingerprint, before.endpoint.hostKeyFingerprint);
      const confirm = await post(`/api/admin/servers/${serverId}/host-key`, {
        fingerprint: sshFingerprint(impostor.publicLine),
      });
      assert.equal(confirm.status, 409, 'the impostor’s key cannot be confirmed');
    }
  });

  test('a runner answer of the wrong shape, or a runner error, is a failed result, not a 5xx', async () => {
    answer = () => ({ nonsense: true });
    const odd = await post(`/api/admin/servers/${serverId}/test`);
    assert.equal(odd.status, 200);
    assert.equal(odd.body.result.code, 'internal');
    answer = () => {
      throw new Error('boom');
    };
    const thrown = await post(`/api/admin/servers/${serverId}/test`);
    assert.equal(thrown.status, 200, JSON.stringify(thrown.body));
    assert.equal(thrown.body.result.code, 'internal');
  });

  test('each test and pin is audited; another organization and a developer cannot test', async () => {
    const rows = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.targetId, serverId)));
    const actions = rows.map((r) => r.action);
    assert.ok(actions.filter((a) => a === 'server.test').length >= 6);
    assert.ok(actions.includes('server.host_key.pin'));
    const outsider = await rig.outsider.request('POST', `/api/admin/servers/${serverId}/test`, undefined, {
      bearer: true,
    });
    assert.equal(outsider.status, 404);
    const dev = await rig.developer.request('POST', `/api/admin/servers/${serverId}/test`, undefined, {
      bearer: true,
    });
    assert.equal(dev.status, 403);
    assert.equal(dev.body.error.code, 'forbidden');
    const all = rig.bodies.join('\n');
    assert.ok(!all.includes(userKey.privateKey.split('\n')[1]!), 'the private key is never answered');
  });
});
