/**
 * Previews' direct path into a workspace's network namespace (runners/src/preview/netns-ports.ts)
 * with the real nsenter, a namespace the test makes (`ip netns`) and a real Docker container:
 * connections reach only the namespace's loopback, the helper is nobody with nothing of the
 * runner's, and a namespace that changed (a workspace stopped or restarted) is noticed.
 */
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, readlinkSync, statSync } from 'node:fs';
import { request as httpRequest } from 'node:http';
import { createServer, type Server } from 'node:net';
import type { Duplex } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { ForwarderError } from '../../runners/src/preview/forwarder.ts';
import { NetnsPorts } from '../../runners/src/preview/netns-ports.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import type { ExecHandle } from '../../runners/src/workloads/types.ts';
import { openNamespace } from '../../runners/src/workloads/workspace-network.ts';
import { waitFor } from '../harness/ports.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import { forwardersIn } from '../preview/forwarders.ts';
import { workspaceIdFor } from '../snapshots/engine-tree.ts';
import { dockerCli, ensureDockerAndImage, removeStale } from './docker-helper.ts';

const NS = `keel-pvtest-${process.pid}`;
const PORT = 4471;
const SERVER = `require('http').createServer((q, r) => r.end('inside ' + q.url)).listen(+process.argv[1], '127.0.0.1', () => console.log('up'))`;

function get(o: { socket?: Duplex; agent?: ReturnType<NetnsPorts['agentFor']>; path: string }) {
  return new Promise<{ body: string; reused: boolean }>((resolve, reject) => {
    const req = httpRequest(
      {
        ...(o.agent ? { agent: o.agent } : { createConnection: () => o.socket as never }),
        path: o.path,
        headers: { host: 'x' },
      },
      (res) => {
        let body = '';
        res.on('data', (c: Buffer) => (body += c));
        res.on('end', () => resolve({ body, reused: req.reusedSocket }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

async function enter(file: string): Promise<NetnsPorts> {
  const fd = await openNamespace(file);
  assert.ok(fd !== undefined, `${file} opens`);
  return NetnsPorts.enter({ fd, witness: file });
}

describe('preview direct path: a namespace made by the test', () => {
  let inside: ReturnType<typeof spawn>;
  let hostServer: Server;
  let hostPort = 0;
  let ports: NetnsPorts;
  const file = `/run/netns/${NS}`;

  before(async () => {
    execFileSync('ip', ['netns', 'add', NS]);
    execFileSync('ip', ['-n', NS, 'link', 'set', 'lo', 'up']);
    inside = spawn('ip', ['netns', 'exec', NS, process.execPath, '-e', SERVER, String(PORT)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((r) => inside.stdout!.once('data', r));
    // A server on the host's loopback: the namespace's connections must never reach it.
    hostServer = createServer((s) => s.end('host'));
    await new Promise<void>((r) => hostServer.listen(0, '127.0.0.1', r));
    hostPort = (hostServer.address() as { port: number }).port;
    ports = await enter(file);
  });
  after(() => {
    ports?.end('the test is over');
    inside?.kill();
    hostServer?.close();
    execFileSync('ip', ['netns', 'delete', NS]);
  });

  test('a connection reaches the server inside; kept-alive requests reuse one', async () => {
    assert.deepEqual(await get({ socket: await ports.connect(PORT), path: '/one' }), {
      body: 'inside /one',
      reused: false,
    });
    const agent = ports.agentFor(PORT);
    assert.equal((await get({ agent, path: '/a' })).body, 'inside /a');
    const again = await get({ agent, path: '/b' });
    assert.deepEqual(again, { body: 'inside /b', reused: true });
    assert.equal(ports.agentFor(PORT), agent);
  });

  test("nothing listening, and the host's own loopback server, are both port_closed", async () => {
    for (const port of [PORT + 1, hostPort]) {
      await assert.rejects(
        ports.connect(port),
        (err: unknown) => err instanceof ForwarderError && err.code === 'port_closed',
      );
    }
  });

  test('the listening ports are those of the namespace', async () => {
    const listed = await ports.ports();
    assert.deepEqual(listed, [{ port: PORT, address: 'loopback' }]);
  });

  test("the helper is nobody, without capabilities or the runner's environment, in the namespace only", () => {
    const pid = ports.helperPid!;
    const status = readFileSync(`/proc/${pid}/status`, 'utf8');
    assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(status, /^Gid:\s+65534\s+65534\s+65534\s+65534$/m);
    assert.match(status, /^CapEff:\s+0+$/m);
    assert.match(status, /^Groups:\s*$/m);
    const env = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0').filter(Boolean);
    assert.deepEqual(env.map((e) => e.split('=')[0]).sort(), [
      'NODE_CHANNEL_FD',
      'NODE_CHANNEL_SERIALIZATION_MODE',
      'PATH',
    ]);
    assert.equal(statSync(`/proc/${pid}/ns/net`).ino, statSync(file).ino);
    // Every other namespace is the runner's own: it shares nothing else with a workspace.
    for (const kind of ['mnt', 'pid', 'user', 'uts', 'ipc'])
      assert.equal(readlinkSync(`/proc/${pid}/ns/${kind}`), readlinkSync(`/proc/self/ns/${kind}`));
  });

  test('a namespace made again under the same name is not the same: current() says so', async () => {
    const name = `${NS}-b`;
    const other = `/run/netns/${name}`;
    execFileSync('ip', ['netns', 'add', name]);
    const p = await enter(other);
    try {
      assert.equal(p.current(), true);
      execFileSync('ip', ['netns', 'delete', name]);
      assert.equal(p.current(), false);
      execFileSync('ip', ['netns', 'add', name]);
      assert.equal(p.current(), false);
    } finally {
      p.end('done');
      execFileSync('ip', ['netns', 'delete', name]);
    }
    const pid = p.helperPid!;
    await waitFor('the helper gone', async () => {
      try {
        return readFileSync(`/proc/${pid}/stat`, 'utf8').split(' ')[2] === 'Z' ? true : undefined;
      } catch {
        return true;
      }
    });
  });
});

describe('preview direct path: a Docker container (real dockerd)', () => {
  const driver = new DockerDriver();
  const id = workspaceIdFor('pvnetns');
  let server: ExecHandle | undefined;

  const startServer = async () => {
    server = driver.exec(id, { argv: ['node', '-e', SERVER, String(PORT)] });
    await new Promise((r) => server!.stdout.once('data', r));
  };

  before(async () => {
    await ensureDockerAndImage();
    await removeStale('ws_pvnetns');
    await driver.create({
      workspaceId: id,
      cpus: 1,
      memoryMb: 256,
      network: false,
      storage: { kind: 'volume' },
    });
    await driver.start(id);
    await startServer();
  });
  after(async () => {
    await server?.kill().catch(() => {});
    await driver.remove(id, { keepData: false }).catch(() => {});
  });

  test("the container's namespace, checked by its cgroup; a restart is a new one; a stopped one has none", async () => {
    const ns = await driver.previewNetns(id);
    assert.ok(ns);
    const pid = Number(/^\/proc\/(\d+)\/ns\/net$/.exec(ns.witness)?.[1]);
    const inspected = JSON.parse(await dockerCli('inspect', `keel-ws-${id}`)) as [{ State: { Pid: number } }];
    assert.equal(pid, inspected[0].State.Pid);
    const ports = await NetnsPorts.enter(ns);
    try {
      assert.equal((await get({ socket: await ports.connect(PORT), path: '/c' })).body, 'inside /c');
      assert.deepEqual(
        (await ports.ports()).find((p) => p.port === PORT),
        { port: PORT, address: 'loopback' },
      );
      await driver.stop(id, { timeoutMs: 1000 });
      assert.equal(ports.current(), false);
      assert.equal(await driver.previewNetns(id), undefined);
      await driver.start(id);
      await startServer();
      const again = await driver.previewNetns(id);
      assert.ok(again);
      const fresh = await NetnsPorts.enter(again);
      try {
        assert.equal(fresh.current(), true);
        assert.equal(ports.current(), false);
        assert.equal((await get({ socket: await fresh.connect(PORT), path: '/d' })).body, 'inside /d');
      } finally {
        fresh.end('done');
      }
    } finally {
      ports.end('done');
    }
  });
});

describe('previews through the forwarder when the direct path is off (docker rig)', () => {
  let rig: Rig;
  let ws: string;
  let server: ExecHandle | undefined;
  before(async () => {
    rig = await startRig('docker', { runnerEnv: { KEEL_RUNNER_PREVIEW_DIRECT: 'false' } });
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'fw' }, { bearer: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    ws = created.body.id;
    await rig.waitForStatus(rig.admin, ws, 'running');
    server = rig.driver.exec(ws, { argv: ['node', '-e', SERVER, String(PORT)] });
    await new Promise((r) => server!.stdout.once('data', r));
  });
  after(async () => {
    await server?.kill().catch(() => {});
    await rig?.close();
  });

  test('a GET and the port list go through a forwarder inside the workspace', async () => {
    assert.equal(await forwardersIn(rig, ws), 0);
    const res = await rig.http(`/w/${ws}/p/${PORT}/via`, {
      headers: { authorization: `Bearer ${rig.admin.accessToken}` },
    });
    assert.equal(res.status, 200);
    assert.equal(await res.text(), 'inside /via');
    const listed = await rig.admin.request('GET', `/api/workspaces/${ws}/ports`, undefined, { bearer: true });
    assert.equal(listed.status, 200);
    assert.ok(listed.body.ports.some((p: { port: number }) => p.port === PORT));
    // (Its process, and on Docker the exec wrapper's shell above it, carry the loader.)
    assert.ok((await forwardersIn(rig, ws)) > 0);
  });
});
