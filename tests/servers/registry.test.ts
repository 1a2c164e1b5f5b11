import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { auditEvents, servers, workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { sshFingerprint } from '../../edge/src/servers/host-key.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { b64, kubeconfig, pem, type ServerRig, sshKeyPair, startServerRig } from './server-rig.ts';

const SECRET = {
  sshKey: sshKeyPair(),
  passphrase: 'PASSPHRASE-never-shown-4711',
  tlsKey: pem('PRIVATE KEY', 'TLS-CLIENT-KEY'),
  kubeToken: 'KUBE-TOKEN-never-shown-0815',
  kubeKey: pem('EC PRIVATE KEY', 'KUBE-CLIENT-KEY'),
  replacement: sshKeyPair(),
};
/** Lines of each secret long enough to be unmistakable (a PEM's body, not its armour). */
const secretNeedles = () => [
  ...SECRET.sshKey.privateKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')),
  ...SECRET.replacement.privateKey.split('\n').filter((l) => l.length > 20 && !l.startsWith('-----')),
  SECRET.passphrase,
  SECRET.tlsKey.split('\n')[1]!,
  SECRET.kubeToken,
  SECRET.kubeKey.split('\n')[1]!,
  b64(SECRET.kubeKey),
];

const sshBody = (name: string, extra: Record<string, unknown> = {}) => ({
  kind: 'ssh',
  name,
  host: '198.51.100.20',
  user: 'keel',
  privateKey: SECRET.sshKey.privateKey,
  passphrase: SECRET.passphrase,
  capacity: { workspaces: 10 },
  ...extra,
});

async function expectError(
  res: { status: number; body: any },
  status: number,
  code: string,
): Promise<{ message: string; issues?: Array<{ path: string; message: string }> }> {
  assert.equal(res.status, status, JSON.stringify(res.body));
  assert.equal(res.body?.error?.code, code, JSON.stringify(res.body));
  assert.match(res.body.error.requestId, /\S/);
  return res.body.error;
}

describe('the server registry (admins; real PostgreSQL and Redis)', () => {
  let rig: ServerRig;
  let admin: BrowserClient;
  const req = (client: BrowserClient, method: string, path: string, body?: unknown) =>
    client.request(method, path, body, { bearer: true });

  before(async () => {
    rig = await startServerRig();
    admin = rig.admin;
  });
  after(async () => {
    await rig?.close();
  });

  let sshId: string;

  test('an SSH server is registered: its secrets sealed, its credential shown as a fingerprint only', async () => {
    const res = await req(admin, 'POST', '/api/admin/servers', sshBody('build-1', { labels: { zone: 'a' } }));
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const s = res.body.server;
    sshId = s.id;
    assert.match(s.id, /^srv_/);
    assert.equal(s.kind, 'ssh');
    assert.deepEqual(s.endpoint, { host: '198.51.100.20', port: 22, user: 'keel', hostKeyFingerprint: null });
    assert.match(s.credential.fingerprint, /^SHA256:[A-Za-z0-9+/]{43}$/);
    assert.equal(s.status, 'new');
    assert.deepEqual(s.storage, { kind: 'volume' });
    assert.equal(s.workspaces, 0);
    assert.equal(s.lastTest, null);
    const [row] = await rig.app.services.db.select().from(servers).where(eq(servers.id, sshId));
    for (const needle of secretNeedles()) {
      assert.ok(!row!.credentialSealed.includes(needle), 'the sealed column holds no plaintext');
      assert.ok(!JSON.stringify(row!.endpoint).includes(needle), 'the endpoint holds no secret');
    }
  });

  test('a given host key is pinned, and its fingerprint is the one ssh-keygen prints', async () => {
    const host = sshKeyPair('host');
    const res = await req(
      admin,
      'POST',
      '/api/admin/servers',
      sshBody('pinned', { hostKey: host.publicLine }),
    );
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const dir = mkdtempSync(join(tmpdir(), 'keel-hostkey-'));
    try {
      writeFileSync(join(dir, 'key.pub'), `${host.publicLine}\n`);
      const printed = execFileSync('ssh-keygen', [
        '-l',
        '-E',
        'sha256',
        '-f',
        join(dir, 'key.pub'),
      ]).toString();
      assert.equal(res.body.server.endpoint.hostKeyFingerprint, printed.split(' ')[1]);
      assert.equal(sshFingerprint(host.publicLine), printed.split(' ')[1]);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('docker-tls and kubernetes servers (token, client certificate, YAML) are registered', async () => {
    const tls = await req(admin, 'POST', '/api/admin/servers', {
      kind: 'docker-tls',
      name: 'tls-1',
      host: 'docker.example.com',
      ca: pem('CERTIFICATE', 'CA'),
      cert: pem('CERTIFICATE', 'CLIENT-CERT'),
      key: SECRET.tlsKey,
      capacity: { workspaces: 3 },
      storage: { kind: 'hostDir', path: '/srv/keel' },
    });
    assert.equal(tls.status, 201, JSON.stringify(tls.body));
    assert.deepEqual(tls.body.server.endpoint, { host: 'docker.example.com', port: 2376 });

    const token = await req(admin, 'POST', '/api/admin/servers', {
      kind: 'kubernetes',
      name: 'k8s-token',
      kubeconfig: kubeconfig({ user: { token: SECRET.kubeToken } }),
      capacity: { workspaces: 50 },
      storage: { kind: 'pvc', sizeGb: 20, storageClass: 'fast' },
    });
    assert.equal(token.status, 201, JSON.stringify(token.body));
    assert.deepEqual(token.body.server.endpoint, {
      url: 'https://198.51.100.10:6443',
      namespacePrefix: 'keel',
    });

    const yaml = [
      'apiVersion: v1',
      'kind: Config',
      'current-context: second',
      'contexts:',
      '- name: first',
      '  context: { cluster: nowhere, user: nobody }',
      '- name: second',
      '  context: { cluster: c2, user: u2 }',
      'clusters:',
      '- name: c2',
      '  cluster:',
      '    server: https://k8s.example.com',
      'users:',
      '- name: u2',
      '  user:',
      `    client-certificate-data: ${b64(pem('CERTIFICATE', 'KUBE-CLIENT-CERT'))}`,
      `    client-key-data: ${b64(SECRET.kubeKey)}`,
    ].join('\n');
    const cert = await req(admin, 'POST', '/api/admin/servers', {
      kind: 'kubernetes',
      name: 'k8s-cert',
      kubeconfig: yaml,
      namespacePrefix: 'dev',
      capacity: { workspaces: 50 },
      storage: { kind: 'pvc', sizeGb: 5 },
    });
    assert.equal(cert.status, 201, JSON.stringify(cert.body));
    assert.deepEqual(cert.body.server.endpoint, { url: 'https://k8s.example.com', namespacePrefix: 'dev' });
  });

  test('unusable kubeconfigs are refused with 422 and say why', async () => {
    const cases: Array<[string, string, RegExp]> = [
      ['exec', kubeconfig({ user: { exec: { command: 'aws', apiVersion: 'x' } } }), /exec/],
      ['auth-provider', kubeconfig({ user: { 'auth-provider': { name: 'gcp' } } }), /auth-provider/],
      ['ca file', kubeconfig({ cluster: { 'certificate-authority': '/etc/ca.pem' } }), /file path/],
      [
        'key file',
        kubeconfig({ user: { 'client-certificate': '/a.crt', 'client-key': '/a.key' } }),
        /file path/,
      ],
      ['token file', kubeconfig({ user: { tokenFile: '/var/run/token' } }), /file path/],
      ['insecure', kubeconfig({ cluster: { 'insecure-skip-tls-verify': true } }), /insecure-skip-tls-verify/],
      ['http', kubeconfig({ cluster: { server: 'http://198.51.100.10:8080' } }), /https/],
      ['no credential', kubeconfig({ user: {} }), /neither a token/],
      ['basic auth', kubeconfig({ user: { username: 'a', password: 'b' } }), /basic/],
      [
        'half a certificate',
        kubeconfig({ user: { 'client-certificate-data': b64(pem('CERTIFICATE', 'X')) } }),
        /go together/,
      ],
      [
        'not base64 PEM',
        kubeconfig({ user: { 'client-certificate-data': 'bm9wZQ==', 'client-key-data': 'bm9wZQ==' } }),
        /PEM/,
      ],
      ['missing context', kubeconfig({ current: 'elsewhere' }), /current context/],
      ['not YAML', '{{{: [', /neither YAML nor JSON|not usable/],
      ['not a kubeconfig', 'just a string', /not usable/],
    ];
    for (const [what, config, reason] of cases) {
      const res = await req(admin, 'POST', '/api/admin/servers', {
        kind: 'kubernetes',
        name: `bad-${what.replace(/\W+/g, '-')}`,
        kubeconfig: config,
        capacity: { workspaces: 1 },
        storage: { kind: 'pvc', sizeGb: 1 },
      });
      const error = await expectError(res, 422, 'validation_failed');
      assert.match(error.message, reason, what);
      assert.equal(error.issues?.[0]?.path, 'kubeconfig', what);
    }
  });

  test('bad create bodies are 422 with the error body; a taken name is 409', async () => {
    const bad: unknown[] = [
      {},
      { kind: 'ftp', name: 'x', capacity: { workspaces: 1 } },
      sshBody('x', { privateKey: 'not a pem' }),
      sshBody('x', { host: 'a/b' }),
      sshBody('x', { host: 'user@host' }),
      sshBody('x', { port: 0 }),
      sshBody('x', { user: 'Root;rm' }),
      sshBody('x', { hostKey: 'ssh-ed25519 !!!' }),
      sshBody('x', { storage: { kind: 'hostDir', path: '/srv/../etc' } }),
      sshBody('x', { storage: { kind: 'hostDir', path: '/' } }),
      sshBody('x', { storage: { kind: 'pvc', sizeGb: 1 } }),
      sshBody('x', { capacity: { workspaces: 0 } }),
      sshBody('x', { assignment: { runnerLabels: {} } }),
      sshBody('x', { assignment: { runnerId: 'nope' } }),
      sshBody('x', { surprise: true }),
      {
        kind: 'kubernetes',
        name: 'k',
        kubeconfig: kubeconfig(),
        capacity: { workspaces: 1 },
        storage: { kind: 'volume' },
      },
    ];
    for (const body of bad) {
      await expectError(await req(admin, 'POST', '/api/admin/servers', body), 422, 'validation_failed');
    }
    await expectError(await req(admin, 'POST', '/api/admin/servers', sshBody('build-1')), 409, 'conflict');
  });

  test('an assignment to another organization’s runner, or a made-up one, is refused', async () => {
    const theirs = await rig.registerRunner(rig.outsider);
    for (const runnerId of [theirs.runnerId, `rnr_${'z'.repeat(20)}`]) {
      const error = await expectError(
        await req(admin, 'POST', '/api/admin/servers', sshBody('assigned', { assignment: { runnerId } })),
        422,
        'validation_failed',
      );
      assert.equal(error.issues?.[0]?.path, 'assignment.runnerId');
    }
    const ours = await rig.registerRunner(admin);
    const shared = await rig.registerRunner('shared');
    for (const [name, runnerId] of [
      ['own-runner', ours.runnerId],
      ['shared-runner', shared.runnerId],
    ] as const) {
      const res = await req(admin, 'POST', '/api/admin/servers', sshBody(name, { assignment: { runnerId } }));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const moved = await req(admin, 'PATCH', `/api/admin/servers/${sshId}`, {
      assignment: { runnerId: theirs.runnerId },
    });
    await expectError(moved, 422, 'validation_failed');
  });

  test('the list shows every server by name, with its workspaces and the resources its runner reported', async () => {
    const runner = await rig.registerRunner(admin);
    const patched = await req(admin, 'PATCH', `/api/admin/servers/${sshId}`, {
      assignment: { runnerId: runner.runnerId },
    });
    assert.equal(patched.status, 200, JSON.stringify(patched.body));
    const resources = {
      at: new Date().toISOString(),
      ok: true,
      cpus: 8,
      memoryMb: 16_384,
      memoryFreeMb: 8_000,
      disk: { path: '/var/lib/docker', totalMb: 100_000, freeMb: 50_000 },
      gpus: 0,
      workspacesRunning: 1,
    };
    const prefix = rig.app.services.config.redisPrefix;
    await rig.redis.hset(
      runnerKeys(prefix, runner.runnerId).serverResources,
      sshId,
      JSON.stringify(resources),
    );
    // A report for a server this runner does not serve is not shown.
    const [pinned] = await rig.app.services.db.select().from(servers).where(eq(servers.name, 'pinned'));
    await rig.redis.hset(
      runnerKeys(prefix, runner.runnerId).serverResources,
      pinned!.id,
      JSON.stringify(resources),
    );
    const me = (await req(admin, 'GET', '/api/auth/me')).body;
    await rig.app.services.db.insert(workspaces).values({
      id: `ws_${'q'.repeat(20)}`,
      organizationId: rig.orgId,
      ownerId: me.user.id,
      name: 'on it',
      source: { type: 'empty' },
      resources: { cpus: 1, memoryMb: 512 },
      runnerId: runner.runnerId,
      serverId: sshId,
      driver: 'ssh',
      status: 'running',
    });
    const list = await req(admin, 'GET', '/api/admin/servers');
    assert.equal(list.status, 200, JSON.stringify(list.body));
    const names = list.body.servers.map((s: { name: string }) => s.name);
    assert.deepEqual(names, [...names].sort());
    const one = list.body.servers.find((s: { id: string }) => s.id === sshId);
    assert.deepEqual(one.resources, resources);
    assert.equal(one.workspaces, 1);
    assert.equal(list.body.servers.find((s: { id: string }) => s.id === pinned!.id).resources, null);
  });

  test('a server that workspaces live on cannot be deleted (409); once they are gone it can', async () => {
    await expectError(await req(admin, 'DELETE', `/api/admin/servers/${sshId}`), 409, 'conflict');
    await rig.app.services.db
      .update(workspaces)
      .set({ deletedAt: new Date() })
      .where(eq(workspaces.serverId, sshId));
    const gone = await req(admin, 'DELETE', `/api/admin/servers/${sshId}`);
    assert.equal(gone.status, 204);
    await expectError(await req(admin, 'GET', `/api/admin/servers/${sshId}`), 404, 'not_found');
    await expectError(await req(admin, 'DELETE', `/api/admin/servers/${sshId}`), 404, 'not_found');
  });

  test('PATCH changes only what is sent; a new secret replaces the credential and its fingerprint', async () => {
    const created = await req(admin, 'POST', '/api/admin/servers', sshBody('patched'));
    const before = created.body.server;
    const renamed = await req(admin, 'PATCH', `/api/admin/servers/${before.id}`, {
      name: 'patched-2',
      labels: { gpu: 'no' },
      region: 'eu-west',
    });
    assert.equal(renamed.status, 200, JSON.stringify(renamed.body));
    const after1 = renamed.body.server;
    assert.equal(after1.name, 'patched-2');
    assert.deepEqual(after1.labels, { gpu: 'no' });
    assert.equal(after1.region, 'eu-west');
    assert.deepEqual(after1.endpoint, before.endpoint);
    assert.deepEqual(after1.capacity, before.capacity);
    assert.deepEqual(after1.credential, before.credential, 'the credential did not change');

    await new Promise((r) => setTimeout(r, 5));
    const rekeyed = await req(admin, 'PATCH', `/api/admin/servers/${before.id}`, {
      privateKey: SECRET.replacement.privateKey,
      passphrase: null,
    });
    assert.equal(rekeyed.status, 200, JSON.stringify(rekeyed.body));
    const after2 = rekeyed.body.server;
    assert.notEqual(after2.credential.fingerprint, before.credential.fingerprint);
    assert.ok(after2.credential.updatedAt > before.credential.updatedAt);
    assert.equal(after2.name, 'patched-2');

    const host = sshKeyPair('host');
    const pinned = await req(admin, 'PATCH', `/api/admin/servers/${before.id}`, {
      hostKey: host.publicLine,
      port: 2222,
      storage: { kind: 'hostDir', path: '/srv/work' },
      disabled: true,
    });
    assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
    assert.equal(pinned.body.server.endpoint.hostKeyFingerprint, sshFingerprint(host.publicLine));
    assert.equal(pinned.body.server.endpoint.port, 2222);
    assert.equal(pinned.body.server.status, 'disabled');
    assert.deepEqual(pinned.body.server.credential, after2.credential);

    const cases: Array<[unknown, string]> = [
      [{}, '(root)'],
      [{ kubeconfig: kubeconfig() }, 'kubeconfig'],
      [{ key: pem('PRIVATE KEY', 'X') }, 'key'],
      [{ storage: { kind: 'pvc', sizeGb: 1 } }, 'storage'],
      [{ name: '' }, 'name'],
      [{ hostKey: 'nonsense' }, 'hostKey'],
      [{ port: 70_000 }, 'port'],
      [{ surprise: 1 }, '(root)'],
    ];
    for (const [body, path] of cases) {
      const error = await expectError(
        await req(admin, 'PATCH', `/api/admin/servers/${before.id}`, body),
        422,
        'validation_failed',
      );
      assert.ok(
        error.issues?.some((i) => i.path === path),
        `${JSON.stringify(body)}: ${JSON.stringify(error.issues)}`,
      );
    }
    await expectError(
      await req(admin, 'PATCH', `/api/admin/servers/${before.id}`, { name: 'pinned' }),
      409,
      'conflict',
    );
  });

  test('a kubernetes server takes a new kubeconfig and storage of its kind', async () => {
    const list = (await req(admin, 'GET', '/api/admin/servers')).body.servers;
    const k8s = list.find((s: { name: string }) => s.name === 'k8s-token');
    const res = await req(admin, 'PATCH', `/api/admin/servers/${k8s.id}`, {
      kubeconfig: kubeconfig({
        cluster: { server: 'https://198.51.100.11' },
        user: { token: `${SECRET.kubeToken}-2` },
      }),
      namespacePrefix: 'team',
      storage: { kind: 'pvc', sizeGb: 40 },
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.deepEqual(res.body.server.endpoint, { url: 'https://198.51.100.11', namespacePrefix: 'team' });
    assert.notEqual(res.body.server.credential.fingerprint, k8s.credential.fingerprint);
    await expectError(
      await req(admin, 'PATCH', `/api/admin/servers/${k8s.id}`, {
        kubeconfig: kubeconfig({ user: { exec: {} } }),
      }),
      422,
      'validation_failed',
    );
    await expectError(
      await req(admin, 'PATCH', `/api/admin/servers/${k8s.id}`, { storage: { kind: 'volume' } }),
      422,
      'validation_failed',
    );
    await expectError(
      await req(admin, 'PATCH', `/api/admin/servers/${k8s.id}`, { host: 'example.com' }),
      422,
      'validation_failed',
    );
  });

  test('a developer is refused every admin route with 403; another organization sees none of ours', async () => {
    const list = (await req(admin, 'GET', '/api/admin/servers')).body.servers;
    const id = list[0].id as string;
    const routes: Array<[string, string, unknown?]> = [
      ['GET', '/api/admin/servers'],
      ['POST', '/api/admin/servers', sshBody('dev-made')],
      ['GET', `/api/admin/servers/${id}`],
      ['PATCH', `/api/admin/servers/${id}`, { name: 'dev-renamed' }],
      ['DELETE', `/api/admin/servers/${id}`],
      ['POST', `/api/admin/servers/${id}/test`],
      ['POST', `/api/admin/servers/${id}/host-key`, { fingerprint: `SHA256:${'A'.repeat(43)}` }],
    ];
    for (const [method, path, body] of routes) {
      await expectError(await req(rig.developer, method, path, body), 403, 'forbidden');
    }
    const theirs = await req(rig.outsider, 'GET', '/api/admin/servers');
    assert.equal(theirs.status, 200);
    assert.deepEqual(theirs.body.servers, []);
    for (const [method, path, body] of routes.slice(2)) {
      await expectError(await req(rig.outsider, method, path, body), 404, 'not_found');
    }
    for (const bad of ['nope', `srv_${'a'.repeat(20)}`, `ws_${'a'.repeat(20)}`, '%00']) {
      await expectError(await req(admin, 'GET', `/api/admin/servers/${bad}`), 404, 'not_found');
    }
    const unchanged = (await req(admin, 'GET', '/api/admin/servers')).body.servers;
    assert.deepEqual(
      unchanged.map((s: { name: string }) => s.name),
      list.map((s: { name: string }) => s.name),
    );
    const denied = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.action, 'access.denied'));
    assert.ok(denied.length >= routes.length, 'refusals are in the audit trail');
  });

  test('every change is audited, without a secret', async () => {
    const rows = await rig.app.services.db
      .select()
      .from(auditEvents)
      .where(eq(auditEvents.organizationId, rig.orgId));
    const actions = new Set(rows.map((r) => r.action));
    for (const action of ['server.create', 'server.update', 'server.delete'])
      assert.ok(actions.has(action), action);
    const text = JSON.stringify(rows);
    for (const needle of secretNeedles()) assert.ok(!text.includes(needle), 'no secret in the audit trail');
  });

  test('no answer of this suite carries a secret', () => {
    assert.ok(rig.bodies.length > 50);
    const all = rig.bodies.join('\n');
    for (const needle of secretNeedles())
      assert.ok(!all.includes(needle), `a secret leaked: ${needle.slice(0, 12)}…`);
  });
});
