/**
 * The fleet's whole path with real parts, through the API only: a real edge (PostgreSQL, Redis)
 * and a real runner; a real OpenSSH server in front of the real Docker engine; a second real
 * dockerd behind mutual TLS; the Kubernetes API stand-in (the only stand-in) behind a kubeconfig.
 * An admin registers each server, tests it (an SSH host key is confirmed first), sees its
 * resources collected; a developer places a workspace on it, writes and reads a file, runs a
 * command and follows its output, opens a terminal, stops and starts it (the file stays) and
 * deletes it. A host that comes back with another host key is refused, its workspace reads
 * unavailable and the pinned key stays. Every access the runner made to a server's credential
 * is in the audit trail. Then the secret is rotated, and the server still tests ok.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { and, eq } from 'drizzle-orm';
import { containerName } from '../../runners/src/workloads/docker.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { startTlsDockerEngine, type TlsDockerEngine } from '../harness/docker-tls.ts';
import { ADMIN_EMAIL, DEVELOPER_EMAIL, type Fleet, startFleet } from '../harness/fleet-rig.ts';
import {
  type KubernetesApiStandin,
  startKubernetesApiStandin,
} from '../harness/kubernetes-api-standin/server.ts';
import { waitFor } from '../harness/ports.ts';
import { readSse } from '../harness/runner-rig.ts';
import { type SshdServer, startSshd } from '../harness/sshd.ts';
import { readmeClusterRole } from '../kubernetes/readme-rbac.ts';
import { dockerCli } from '../runner/docker-helper.ts';
import { connectTerminal } from '../terminal/terminal-client.ts';

const root = new URL('../..', import.meta.url).pathname;

let fleet: Fleet;
let sshd: SshdServer;
let tls: TlsDockerEngine;
let standin: KubernetesApiStandin;
const ids = { ssh: '', tls: '', k8s: '' };
/** The ssh server's workspace, kept for the changed-host-key test. */
let sshWorkspace = '';

const admin = (method: string, path: string, body?: unknown) =>
  fleet.admin.request(method, path, body, { bearer: true });
const dev = (method: string, path: string, body?: unknown) =>
  fleet.developer.request(method, path, body, { bearer: true });

async function testServer(id: string) {
  const res = await admin('POST', `/api/admin/servers/${id}/test`);
  assert.equal(res.status, 200, JSON.stringify(res.body));
  return res.body as { server: any; result: any };
}

function assertDockerResult(result: any): void {
  assert.equal(result.ok, true, JSON.stringify(result));
  assert.equal(result.code, undefined);
  assert.equal(result.reachable, true);
  assert.equal(result.authenticated, true);
  assert.equal(result.runnerId, fleet.runnerId);
  assert.ok(result.system.os.length > 0, 'an OS');
  assert.ok(result.system.kernel.length > 0, 'a kernel');
  assert.ok(result.system.cpus >= 1, 'CPUs');
  assert.ok(result.system.memoryMb > 0, 'memory');
  assert.ok(result.system.disk && result.system.disk.totalMb > 0, `disk: ${JSON.stringify(result.system)}`);
  assert.match(result.docker.version, /^\d+\.\d+/);
  assert.equal(result.docker.imagePresent, true, 'the workspace image is there');
}

/** The server's resources, once the runner has collected them since `since`. */
async function collectedResources(id: string, since: number) {
  return waitFor(
    `resources of ${id} in GET /api/admin/servers`,
    async () => {
      const res = await admin('GET', '/api/admin/servers');
      const server = res.body.servers.find((s: { id: string }) => s.id === id);
      const r = server?.resources;
      return r && Date.parse(r.at) >= since && r.ok ? r : undefined;
    },
    // The rig collects every second; a round waits for the slowest server.
    20_000,
    200,
  );
}

async function runCommand(client: BrowserClient, id: string, command: string) {
  const started = await client.request(
    'POST',
    `/api/workspaces/${id}/execute`,
    { command },
    { bearer: true },
  );
  assert.equal(started.status, 202, JSON.stringify(started.body));
  const res = await fleet.http(`/api/workspaces/${id}/executions/${started.body.executionId}/events`, {
    headers: { authorization: `Bearer ${client.accessToken}` },
  });
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
  const events = await readSse(res);
  const stdout = events
    .filter((e) => e.event === 'stdout')
    .map((e) => e.data)
    .join('');
  const exit = events.find((e) => e.event === 'exit');
  assert.ok(exit, `an exit event: ${JSON.stringify(events)}`);
  return { stdout, exit: JSON.parse(exit.data) as { exitCode: number | null } };
}

/**
 * A developer's whole use of a workspace on the server: it is listed, placed, runs, files and
 * commands and a terminal work, a stop and start keep the file; `inspect` looks at what the
 * server's engine made. Returns the workspace id (deleted unless `keep`).
 */
/** Workspaces placed on the local engine through a server: removed at the end, whatever the tests left. */
const placed: string[] = [];

async function developerTour(
  serverId: string,
  name: string,
  inspect: (workspaceId: string) => Promise<void>,
  opts: { keep?: boolean } = {},
): Promise<string> {
  const listed = await dev('GET', '/api/servers');
  assert.equal(listed.status, 200, JSON.stringify(listed.body));
  assert.ok(
    listed.body.servers.some((s: { id: string }) => s.id === serverId),
    `the developer sees the server: ${JSON.stringify(listed.body)}`,
  );
  const created = await dev('POST', '/api/workspaces', {
    name,
    serverId,
    resources: { cpus: 1, memoryMb: 512 },
  });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const id = created.body.id as string;
  placed.push(id);
  assert.equal(created.body.serverId, serverId);
  assert.equal(created.body.runnerId, fleet.runnerId);
  await fleet.waitForStatus(fleet.developer, id, 'running');
  await inspect(id);

  const content = `hello from ${name}\n`;
  const written = await dev('PUT', `/api/workspaces/${id}/files?path=notes/hello.txt`, { content });
  // The folder does not exist yet: a write makes the file only, in an existing folder.
  if (written.status !== 200) {
    const made = await dev('POST', `/api/workspaces/${id}/files/mkdir`, { path: 'notes' });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const again = await dev('PUT', `/api/workspaces/${id}/files?path=notes/hello.txt`, { content });
    assert.equal(again.status, 200, JSON.stringify(again.body));
  }
  const read = await dev('GET', `/api/workspaces/${id}/files?path=notes/hello.txt`);
  assert.equal(read.status, 200, JSON.stringify(read.body));
  assert.equal(read.body.content, content);

  const ran = await runCommand(fleet.developer, id, 'cat notes/hello.txt; id -u; echo sum=$((6*7))');
  assert.equal(ran.exit.exitCode, 0, JSON.stringify(ran));
  assert.equal(ran.stdout, `${content}1000\nsum=42\n`);

  const term = await connectTerminal(fleet.base, fleet.developer, id);
  try {
    term.type('echo term-$((6*7))\r');
    await term.waitForOutput('term-42', 30_000);
  } finally {
    await term.close();
  }

  const stop = await dev('POST', `/api/workspaces/${id}/stop`);
  assert.ok([200, 202].includes(stop.status), JSON.stringify(stop.body));
  await fleet.waitForStatus(fleet.developer, id, 'stopped');
  const start = await dev('POST', `/api/workspaces/${id}/start`);
  assert.ok([200, 202].includes(start.status), JSON.stringify(start.body));
  await fleet.waitForStatus(fleet.developer, id, 'running');
  const kept = await dev('GET', `/api/workspaces/${id}/files?path=notes/hello.txt`);
  assert.equal(kept.status, 200, JSON.stringify(kept.body));
  assert.equal(kept.body.content, content, 'the file outlives stop and start');

  if (!opts.keep) {
    const deleted = await dev('DELETE', `/api/workspaces/${id}`);
    assert.ok([200, 202, 204].includes(deleted.status), JSON.stringify(deleted.body));
  }
  return id;
}

function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env) {
  return new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(cmd, args, { cwd: root, env, timeout: 120_000 }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : -1) : 0, stdout, stderr });
    });
  });
}

describe('the fleet end to end: ssh, docker-tls and kubernetes servers with a real edge and runner', {
  timeout: 900_000,
}, () => {
  before(async () => {
    [fleet, sshd, tls] = await Promise.all([startFleet(), startSshd(), startTlsDockerEngine()]);
    standin = await startKubernetesApiStandin({
      instance: `k8s-e2e-${process.pid}`,
      users: [{ name: 'keel-runner', rules: readmeClusterRole() }],
    });
  });
  after(async () => {
    await fleet?.close();
    await Promise.allSettled([sshd?.stop(), tls?.stop(), standin?.stop()]);
    // The ssh server fronts this host's engine: a workspace its runner could no longer reach (a
    // changed host key) is still there.
    for (const id of placed) {
      await dockerCli('rm', '-f', containerName(id)).catch(() => {});
      await dockerCli('volume', 'rm', '-f', containerName(id)).catch(() => {});
    }
  });

  test('ssh: host key confirmed at the first test, resources collected, a workspace lives there', async () => {
    const created = await admin('POST', '/api/admin/servers', {
      kind: 'ssh',
      name: 'ssh-1',
      host: sshd.host,
      port: sshd.port,
      user: sshd.user,
      privateKey: sshd.userKey.privateKey,
      capacity: { workspaces: 4 },
      assignment: { runnerId: fleet.runnerId },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ids.ssh = created.body.server.id;

    const first = await testServer(ids.ssh);
    assert.equal(first.result.ok, false);
    assert.equal(first.result.code, 'host_key_unconfirmed', JSON.stringify(first.result));
    assert.equal(first.result.hostKey.fingerprint, sshd.hostKey.fingerprint);
    assert.equal(first.result.hostKey.pinned, false);
    assert.equal(first.server.status, 'host_key_unconfirmed');

    const pinned = await admin('POST', `/api/admin/servers/${ids.ssh}/host-key`, {
      fingerprint: first.result.hostKey.fingerprint,
    });
    assert.equal(pinned.status, 200, JSON.stringify(pinned.body));
    assert.equal(pinned.body.server.endpoint.hostKeyFingerprint, sshd.hostKey.fingerprint);

    const since = Date.now();
    const second = await testServer(ids.ssh);
    assertDockerResult(second.result);
    assert.equal(second.result.hostKey.pinned, true);
    assert.equal(second.result.hostKey.changed, false);
    assert.equal(second.server.status, 'ok');

    const resources = await collectedResources(ids.ssh, since);
    assert.ok(resources.cpus >= 1 && resources.memoryMb > 0, JSON.stringify(resources));

    sshWorkspace = await developerTour(
      ids.ssh,
      'on-ssh',
      async (id) => {
        // The ssh driver drove the real engine through sshd: the container is there, hardened.
        const [info] = JSON.parse(await dockerCli('inspect', containerName(id)));
        const hc = info.HostConfig;
        assert.equal(info.State.Running, true);
        assert.deepEqual(hc.CapDrop, ['ALL']);
        assert.equal(hc.Privileged, false);
        assert.equal(hc.ReadonlyRootfs, true);
        assert.deepEqual(hc.SecurityOpt, ['no-new-privileges']);
        assert.equal(info.Config.User, '1000:1000');
        assert.equal(hc.NetworkMode, 'none');
        assert.equal(hc.Memory, 512 * 1024 * 1024);
        assert.equal(hc.NanoCpus, 1_000_000_000);
        assert.equal(info.Config.Labels['keel.workspace'], id);
        assert.ok(!JSON.stringify(info.Mounts).includes('docker.sock'), 'no Docker socket inside');
      },
      { keep: true },
    );
  });

  test('docker-tls: tested, resources collected, a workspace lives on the TLS engine', async () => {
    const created = await admin('POST', '/api/admin/servers', {
      kind: 'docker-tls',
      name: 'tls-1',
      host: tls.host,
      port: tls.port,
      ...tls.client,
      capacity: { workspaces: 4 },
      assignment: { runnerId: fleet.runnerId },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ids.tls = created.body.server.id;
    const since = Date.now();
    const tested = await testServer(ids.tls);
    assertDockerResult(tested.result);
    assert.equal(tested.server.status, 'ok');
    await collectedResources(ids.tls, since);

    await developerTour(ids.tls, 'on-tls', async (id) => {
      const [info] = JSON.parse(await tls.cli('inspect', containerName(id)));
      assert.equal(info.State.Running, true);
      assert.deepEqual(info.HostConfig.CapDrop, ['ALL']);
      assert.equal(info.HostConfig.ReadonlyRootfs, true);
      assert.equal(info.Config.User, '1000:1000');
      // Not on the runner's own engine.
      await assert.rejects(dockerCli('inspect', containerName(id)));
    });
  });

  test('kubernetes: a kubeconfig with its CA and token; tested, a workspace is a pod with its claim', async () => {
    const access = await standin.access('keel-runner');
    const kubeconfig = JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      'current-context': 'standin',
      contexts: [{ name: 'standin', context: { cluster: 'standin', user: 'keel-runner' } }],
      clusters: [
        {
          name: 'standin',
          cluster: {
            server: access.url,
            'certificate-authority-data': Buffer.from(standin.ca).toString('base64'),
          },
        },
      ],
      users: [{ name: 'keel-runner', user: { token: standin.token('keel-runner') } }],
    });
    const created = await admin('POST', '/api/admin/servers', {
      kind: 'kubernetes',
      name: 'k8s-1',
      kubeconfig,
      namespacePrefix: 'keele2e',
      storage: { kind: 'pvc', sizeGb: 1 },
      capacity: { workspaces: 4 },
      assignment: { runnerId: fleet.runnerId },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ids.k8s = created.body.server.id;
    const since = Date.now();
    const tested = await testServer(ids.k8s);
    assert.equal(tested.result.ok, true, JSON.stringify(tested.result));
    assert.match(tested.result.kubernetes.version, /^v1\./);
    assert.ok(tested.result.kubernetes.nodes.length > 0);
    assert.deepEqual(tested.result.kubernetes.can, {
      createPods: true,
      createPersistentVolumeClaims: true,
      createNetworkPolicies: true,
      createNamespaces: true,
    });
    assert.equal(tested.server.status, 'ok');
    await collectedResources(ids.k8s, since);

    await developerTour(ids.k8s, 'on-k8s', async (id) => {
      const pods = standin.store.list('pods').filter((p: any) => JSON.stringify(p).includes(id));
      assert.equal(pods.length, 1, 'one pod for the workspace');
      const pod = pods[0] as any;
      assert.match(pod.metadata.namespace, /^keele2e-/);
      assert.equal(pod.spec.automountServiceAccountToken, false);
      const container = pod.spec.containers[0];
      assert.equal(container.securityContext.readOnlyRootFilesystem, true);
      assert.deepEqual(container.securityContext.capabilities.drop, ['ALL']);
      const claims = standin.store
        .list('persistentvolumeclaims')
        .filter((c: any) => JSON.stringify(c).includes(id));
      assert.equal(claims.length, 1, 'a claim for /workspace');
    });
    assert.deepEqual(standin.refused, [], 'every object the driver sent was valid');
    assert.deepEqual(standin.denied, [], 'the README’s rights were enough');
  });

  test('the ssh host comes back with another key: refused, the workspace is unavailable (not failed), the pin stays', async () => {
    const pinned = (await admin('GET', `/api/admin/servers/${ids.ssh}`)).body.server.endpoint
      .hostKeyFingerprint;
    const oldKey = sshd.hostKey.fingerprint;
    await sshd.restart({ newHostKey: true });
    assert.notEqual(sshd.hostKey.fingerprint, oldKey);

    const tested = await testServer(ids.ssh);
    assert.equal(tested.result.ok, false);
    assert.equal(tested.result.code, 'host_key_changed', JSON.stringify(tested.result));
    assert.equal(tested.result.hostKey.fingerprint, sshd.hostKey.fingerprint);
    assert.equal(tested.result.hostKey.changed, true);
    assert.equal(tested.server.status, 'failing');
    assert.equal(tested.server.endpoint.hostKeyFingerprint, pinned, 'the pinned key is unchanged');
    const confirm = await admin('POST', `/api/admin/servers/${ids.ssh}/host-key`, {
      fingerprint: sshd.hostKey.fingerprint,
    });
    assert.equal(confirm.status, 409, 'a changed key cannot be confirmed');

    const seen = await waitFor(
      'the workspace on the ssh server to read unavailable',
      async () => {
        const res = await dev('GET', `/api/workspaces/${sshWorkspace}/status`);
        assert.notEqual(res.body.status, 'failed', JSON.stringify(res.body));
        return res.body.status === 'unavailable' ? res.body : undefined;
      },
      60_000,
      250,
    );
    assert.ok(seen.reason, 'it says why');
    const refused = await dev('GET', `/api/workspaces/${sshWorkspace}/files?path=notes/hello.txt`);
    assert.equal(refused.status, 503, JSON.stringify(refused.body));
    assert.equal(refused.body.error.code, 'runner_unavailable');
    const after = (await admin('GET', `/api/admin/servers/${ids.ssh}`)).body.server;
    assert.equal(after.endpoint.hostKeyFingerprint, pinned);
  });

  test('every access the runner made to a credential is audited as server.credential.used', async () => {
    // The runner goes on working meanwhile: the requests and the rows are read again until they
    // agree (an access answered just before the rows were read), and the last reading is checked.
    const read = async () => {
      const fetched = fleet.requests.filter(
        (r) => r.method === 'GET' && /^\/api\/runners\/servers\/[^/]+\/access/.test(r.path),
      );
      const rows = await fleet
        .services()
        .db.select()
        .from(auditEvents)
        .where(eq(auditEvents.action, 'server.credential.used'));
      const agree = Object.values(ids).every(
        (id) =>
          rows.filter((r) => r.targetId === id && r.outcome === 'success').length ===
          fetched.filter((r) => r.path.includes(`/${id}/`) && r.status === 200).length,
      );
      return { fetched, rows, agree };
    };
    let last: Awaited<ReturnType<typeof read>> | undefined;
    await waitFor(
      'the audited accesses to match the answered ones',
      async () => {
        last = await read();
        return last.agree ? true : undefined;
      },
      10_000,
    ).catch(() => {});
    const { fetched, rows } = last ?? (await read());
    assert.ok(fetched.length >= 6, `accesses: ${fetched.length}`);
    const byServer = (id: string, outcome: string) =>
      rows.filter((r) => r.targetId === id && r.outcome === outcome).length;
    for (const id of Object.values(ids)) {
      const answered = fetched.filter((r) => r.path.includes(`/${id}/`) && r.status === 200).length;
      assert.ok(answered > 0, `the runner fetched ${id}`);
      assert.equal(
        byServer(id, 'success'),
        answered,
        `each of ${id}'s accesses is audited: ${JSON.stringify({
          requests: fetched.filter((r) => r.path.includes(`/${id}/`)),
          rows: rows
            .filter((r) => r.targetId === id)
            .map((r) => ({ seq: r.seq, outcome: r.outcome, metadata: r.metadata, at: r.createdAt })),
        })}`,
      );
      for (const purpose of ['test', 'resources', 'workspace']) {
        assert.ok(
          rows.some(
            (r) => r.targetId === id && (r.metadata as { purpose?: string } | null)?.purpose === purpose,
          ),
          `${id}: an access for ${purpose}`,
        );
      }
    }
    const denied = fetched.filter((r) => r.status !== 200).length;
    assert.equal(rows.filter((r) => r.outcome !== 'success').length, denied);
  });

  test('rotating KEEL_SECRET_KEY: sign-in, the audit chain and the server test hold', async () => {
    // The ssh host is trusted again: its key is pinned anew by an admin (unpin, test, confirm).
    const unpinned = await admin('PATCH', `/api/admin/servers/${ids.ssh}`, { hostKey: null });
    assert.equal(unpinned.status, 200, JSON.stringify(unpinned.body));
    const offered = await testServer(ids.ssh);
    assert.equal(offered.result.code, 'host_key_unconfirmed', JSON.stringify(offered.result));
    const confirmed = await admin('POST', `/api/admin/servers/${ids.ssh}/host-key`, {
      fingerprint: sshd.hostKey.fingerprint,
    });
    assert.equal(confirmed.status, 200, JSON.stringify(confirmed.body));
    assertDockerResult((await testServer(ids.ssh)).result);

    const A = fleet.secret;
    const { testSecretKey } = await import('../harness/test-app.ts');
    const B = testSecretKey();
    await fleet.restartEdge({ KEEL_SECRET_KEY: B, KEEL_SECRET_KEY_PREVIOUS: A });
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      DATABASE_URL: fleet.databaseUrl,
      KEEL_SECRET_KEY: B,
      KEEL_SECRET_KEY_PREVIOUS: A,
    };
    delete env.KEEL_SECRET_KEY_NEXT;
    const rotated = await sh(`${root}scripts/rotate-secret`, [], env);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.match(rotated.stdout, /servers\.credential_sealed\s+3 re-sealed/);
    await fleet.restartEdge({ KEEL_SECRET_KEY: B });

    const signedIn = await fleet.signIn(ADMIN_EMAIL);
    const verify = await signedIn.request('GET', '/api/admin/audit/verify', undefined, { bearer: true });
    assert.equal(verify.status, 200, JSON.stringify(verify.body));
    assert.equal(verify.body.ok, true, JSON.stringify(verify.body));
    const tested = await signedIn.request('POST', `/api/admin/servers/${ids.ssh}/test`, undefined, {
      bearer: true,
    });
    assert.equal(tested.status, 200, JSON.stringify(tested.body));
    assertDockerResult(tested.body.result);
    // The workspace that was unavailable reads what its engine says again, with its file.
    await fleet.waitForStatus(fleet.developer, sshWorkspace, 'running');
    const developer = await fleet.signIn(DEVELOPER_EMAIL);
    const read = await developer.request(
      'GET',
      `/api/workspaces/${sshWorkspace}/files?path=notes/hello.txt`,
      undefined,
      { bearer: true },
    );
    assert.equal(read.status, 200, JSON.stringify(read.body));
    assert.equal(read.body.content, 'hello from on-ssh\n');
    const deleted = await developer.request('DELETE', `/api/workspaces/${sshWorkspace}`, undefined, {
      bearer: true,
    });
    assert.ok([200, 202, 204].includes(deleted.status), JSON.stringify(deleted.body));
    const used = await fleet
      .services()
      .db.select()
      .from(auditEvents)
      .where(and(eq(auditEvents.action, 'server.credential.used'), eq(auditEvents.targetId, ids.ssh)));
    assert.ok(used.length > 0);
  });
});
