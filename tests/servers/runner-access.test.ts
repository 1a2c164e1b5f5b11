import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import {
  kubeconfig,
  pem,
  type RegisteredRunner,
  type ServerRig,
  sshKeyPair,
  startServerRig,
} from './server-rig.ts';

const KEY = sshKeyPair();
const PASSPHRASE = 'runner-only-passphrase-99';
const TOKEN = 'runner-only-kube-token-77';
const TLS_KEY = pem('PRIVATE KEY', 'RUNNER-ONLY-TLS');

describe('runners fetch the servers assigned to them, and only those (real PostgreSQL and Redis)', () => {
  let rig: ServerRig;
  let assigned: RegisteredRunner;
  let labelled: RegisteredRunner;
  let shared: RegisteredRunner;
  let other: RegisteredRunner;
  let foreign: RegisteredRunner;
  const ids = { ssh: '', k8s: '', tls: '' };

  const create = async (body: Record<string, unknown>) => {
    const res = await rig.admin.request('POST', '/api/admin/servers', body, { bearer: true });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    return res.body.server.id as string;
  };
  const listOf = async (runner: RegisteredRunner) => {
    const res = await rig.runnerFetch(runner, '/api/runners/servers');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    return ((await res.json()) as { servers: Array<{ id: string }> }).servers.map((s) => s.id).sort();
  };
  const access = (runner: RegisteredRunner, id: string, purpose = 'test') =>
    rig.runnerFetch(runner, `/api/runners/servers/${id}/access?purpose=${purpose}`);

  before(async () => {
    rig = await startServerRig();
    assigned = await rig.registerRunner(rig.admin);
    labelled = await rig.registerRunner(rig.admin, { net: 'dmz' });
    shared = await rig.registerRunner('shared', { net: 'dmz' });
    other = await rig.registerRunner(rig.admin, { net: 'office' });
    foreign = await rig.registerRunner(rig.outsider, { net: 'dmz' });
    ids.ssh = await create({
      kind: 'ssh',
      name: 'by-id',
      host: 'ssh.example.com',
      port: 2200,
      user: 'deploy',
      privateKey: KEY.privateKey,
      passphrase: PASSPHRASE,
      hostKey: sshKeyPair('host').publicLine,
      capacity: { workspaces: 5 },
      storage: { kind: 'hostDir', path: '/srv/keel' },
      assignment: { runnerId: assigned.runnerId },
    });
    ids.k8s = await create({
      kind: 'kubernetes',
      name: 'by-label',
      kubeconfig: kubeconfig({ user: { token: TOKEN } }),
      capacity: { workspaces: 5 },
      storage: { kind: 'pvc', sizeGb: 8 },
      assignment: { runnerLabels: { net: 'dmz' } },
    });
    ids.tls = await create({
      kind: 'docker-tls',
      name: 'unassigned',
      host: 'docker.example.com',
      ca: pem('CERTIFICATE', 'CA'),
      cert: pem('CERTIFICATE', 'CERT'),
      key: TLS_KEY,
      capacity: { workspaces: 5 },
    });
  });
  after(async () => {
    await rig?.close();
  });

  test('each runner lists the servers assigned to it, by id or by its labels; never another organization’s', async () => {
    assert.deepEqual(await listOf(assigned), [ids.ssh]);
    assert.deepEqual(await listOf(labelled), [ids.k8s]);
    assert.deepEqual(await listOf(shared), [ids.k8s], 'a shared runner with the labels serves it too');
    assert.deepEqual(await listOf(other), []);
    assert.deepEqual(await listOf(foreign), [], 'another organization’s runner, whatever its labels');
  });

  test('the assigned runner gets the access with its secrets opened, uncached, and the use is audited', async () => {
    const res = await access(assigned, ids.ssh, 'workspace');
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('cache-control'), 'no-store');
    const { access: a } = (await res.json()) as { access: Record<string, unknown> };
    assert.equal(a.kind, 'ssh');
    assert.equal(a.privateKey, KEY.privateKey);
    assert.equal(a.passphrase, PASSPHRASE);
    assert.equal(a.host, 'ssh.example.com');
    assert.equal(a.port, 2200);
    assert.match(String(a.hostKey), /^ssh-ed25519 /);
    assert.deepEqual(a.storage, { kind: 'hostDir', path: '/srv/keel' });

    const k = await access(shared, ids.k8s, 'resources');
    assert.equal(k.status, 200);
    const kube = ((await k.json()) as { access: Record<string, unknown> }).access;
    assert.equal(kube.token, TOKEN);
    assert.equal(kube.url, 'https://198.51.100.10:6443');
    assert.match(String(kube.ca), /BEGIN CERTIFICATE/);
    assert.deepEqual(kube.storage, { kind: 'pvc', sizeGb: 8 });

    const used = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'server.credential.used'), eq(auditEvents.outcome, 'success')));
    assert.deepEqual(
      used
        .map((u) => [
          u.targetId,
          u.organizationId,
          (u.metadata as Record<string, unknown>)?.runnerId,
          (u.metadata as Record<string, unknown>)?.purpose,
        ])
        .sort(),
      [
        [ids.k8s, rig.orgId, shared.runnerId, 'resources'],
        [ids.ssh, rig.orgId, assigned.runnerId, 'workspace'],
      ].sort(),
    );
    const text = JSON.stringify(used);
    for (const secret of [KEY.privateKey.split('\n')[1]!, PASSPHRASE, TOKEN])
      assert.ok(!text.includes(secret));
  });

  test('any other runner gets 404 for the same server, and the attempt is audited', async () => {
    for (const [runner, id] of [
      [other, ids.ssh],
      [labelled, ids.ssh],
      [foreign, ids.k8s],
      [assigned, ids.tls],
      [shared, ids.ssh],
    ] as const) {
      const res = await access(runner, id);
      assert.equal(res.status, 404);
      const body = (await res.json()) as { error: { code: string; requestId: string } };
      assert.equal(body.error.code, 'not_found');
      assert.ok(!JSON.stringify(body).includes('BEGIN'));
    }
    const denied = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'server.credential.used'), eq(auditEvents.outcome, 'denied')));
    assert.ok(
      denied.some(
        (d) =>
          (d.metadata as Record<string, unknown>)?.runnerId === foreign.runnerId && d.targetId === ids.k8s,
      ),
    );
  });

  test('bad purposes, ids and credentials are 4xx with the error body', async () => {
    const cases: Array<[Promise<Response>, number]> = [
      [access(assigned, ids.ssh, 'curiosity'), 422],
      [rig.runnerFetch(assigned, `/api/runners/servers/${ids.ssh}/access`), 422],
      [rig.runnerFetch(assigned, `/api/runners/servers/${ids.ssh}/access?purpose=test&x=1`), 422],
      [access(assigned, 'srv_nope'), 404],
      [access(assigned, `srv_${'a'.repeat(20)}`), 404],
      [rig.app.fetch(`/api/runners/servers/${ids.ssh}/access?purpose=test`), 401],
      [
        rig.app.fetch('/api/runners/servers', { headers: { authorization: `Bearer rnc_${'x'.repeat(40)}` } }),
        401,
      ],
    ];
    for (const [pending, status] of cases) {
      const res = await pending;
      const body = (await res.json()) as { error?: { code: string; requestId: string } };
      assert.equal(res.status, status, JSON.stringify(body));
      assert.match(body.error?.requestId ?? '', /\S/);
    }
    // A person's session is not a runner credential.
    const person = await rig.admin.request(
      'GET',
      `/api/runners/servers/${ids.ssh}/access?purpose=test`,
      undefined,
      {
        bearer: true,
      },
    );
    assert.equal(person.status, 401);
  });

  test('a revoked runner loses its servers at once', async () => {
    const revoked = await rig.admin.request('DELETE', `/api/admin/runners/${assigned.runnerId}`, undefined, {
      bearer: true,
    });
    assert.equal(revoked.status, 204);
    const res = await access(assigned, ids.ssh);
    assert.equal(res.status, 401);
  });

  test('no answer to a person carries a secret', () => {
    const all = rig.bodies.join('\n');
    for (const secret of [KEY.privateKey.split('\n')[1]!, PASSPHRASE, TOKEN, TLS_KEY.split('\n')[1]!]) {
      assert.ok(!all.includes(secret));
    }
  });
});
