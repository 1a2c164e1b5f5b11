/*
 * A runner in the servers' network, against real parts: a real edge (PGlite, real Redis) for
 * registration and jobs, the real Docker engine behind a stand-in "server driver", and the two
 * edge routes a runner fetches servers from (the list and the access) served by a small fake
 * edge in front of the real one, since those routes are another part's work; the fake also
 * answers the placements check (the workspaces here have no row at the real edge). The runner's own
 * driver is the process driver, so whatever lands in Docker went through the server's driver.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import {
  chmodSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { JobOutcome, RunnerJob } from '@keel/contract/jobs';
import { type RunnerKeys, runnerKeys } from '@keel/contract/keys';
import type { ConnectionTestResult, ServerAccess, ServerResources } from '@keel/contract/servers';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { Redis } from 'ioredis';
import { parseRunnerEnv, type RunnerConfig } from '../../runners/src/env.ts';
import { register, type SavedCredential } from '../../runners/src/registration.ts';
import { Runner } from '../../runners/src/runner.ts';
import type { ServerOptions } from '../../runners/src/runner-context.ts';
import type { ServerProbes } from '../../runners/src/servers/probes.ts';
import type { ServerDriver, ServerDriverFactories } from '../../runners/src/servers/server-drivers.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { WorkloadError, type WorkloadSpec } from '../../runners/src/workloads/types.ts';
import { type EdgeOnPort, edgeOnPort } from '../harness/edge-on-port.ts';
import { testInfra } from '../harness/infra.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { dockerCli, ensureDockerAndImage, removeStale } from './docker-helper.ts';

const SERVER = 'srv_standinaaaaaaaaaaaaa';
const OTHER_SERVER = 'srv_standinbbbbbbbbbbbbb';
const WS = 'ws_srvdrvaaaaaaaaaaaaaa';
const CLONED = 'ws_srvdrvbbbbbbbbbbbbbb';
const STRANDED = 'ws_srvdrvcccccccccccccc';
const SECRET = 'stand-in private key material that must never land anywhere';
const v = CONTRACT_VERSION;

/** What the fake edge serves, and what the stand-ins were asked; each test turns its knobs. */
const world = {
  credential: '',
  servers: [{ id: SERVER, kind: 'ssh' as const, updatedAt: '2025-01-01T00:00:00.000Z' }],
  accessFails: false,
  accessFetches: [] as Array<{ serverId: string; purpose: string }>,
  /** The stand-in server's engine cannot be reached. */
  down: false,
  made: [] as ServerAccess[],
  closed: 0,
  specs: [] as WorkloadSpec[],
  probe: 'throw' as 'ok' | 'throw' | 'hang' | 'unreadable',
};

function accessOf(id: string): ServerAccess {
  return {
    kind: 'ssh',
    id,
    host: '198.51.100.7',
    port: 22,
    user: 'keel',
    privateKey: `-----BEGIN OPENSSH PRIVATE KEY-----\n${SECRET}\n-----END OPENSSH PRIVATE KEY-----`,
    hostKey: null,
    storage: { kind: 'volume' },
  };
}

/**
 * A stand-in server driver: the local Docker engine, seen as a remote server would be (no host
 * path for its files: they go through `files`), that can be made unreachable.
 */
function standInServerDriver(): ServerDriver {
  const engine = new DockerDriver();
  const unreachable = () => new Error('connect ECONNREFUSED 198.51.100.7:22 (stand-in server is down)');
  const standIn = Object.create(engine) as DockerDriver & ServerDriver;
  Object.assign(standIn, {
    kind: 'ssh',
    async create(spec: WorkloadSpec) {
      world.specs.push(spec);
      return engine.create(spec);
    },
    async workspaceRoot() {
      throw new WorkloadError('DRIVER_UNAVAILABLE', 'a remote server has no path on the runner host');
    },
    files: (id: string) => engine.files(id),
    async states() {
      if (world.down) throw unreachable();
      return engine.states();
    },
    async status(id: string) {
      if (world.down) throw unreachable();
      return engine.status(id);
    },
    async start(id: string, opts?: Parameters<DockerDriver['start']>[1]) {
      if (world.down) throw unreachable();
      return engine.start(id, opts);
    },
    async stop(id: string, opts?: Parameters<DockerDriver['stop']>[1]) {
      if (world.down) throw unreachable();
      return engine.stop(id, opts);
    },
    async close() {
      world.closed++;
    },
  });
  return standIn;
}

const factories: ServerDriverFactories = {
  async docker(access) {
    world.made.push(access);
    return standInServerDriver();
  },
  async kubernetes() {
    throw new Error('no Kubernetes server in this test');
  },
};

const resourcesOk: ServerResources = {
  at: new Date().toISOString(),
  ok: true,
  cpus: 4,
  memoryMb: 8192,
  memoryFreeMb: 4096,
  disk: { path: '/var/lib/docker', totalMb: 100_000, freeMb: 50_000 },
  gpus: 0,
  workspacesRunning: 1,
};

const probes: ServerProbes = {
  async test(access) {
    if (world.probe === 'throw') throw new Error('the stand-in test broke');
    if (world.probe === 'hang') return new Promise(() => {});
    if (world.probe === 'unreadable') return { ok: 'yes' } as unknown as ConnectionTestResult;
    return {
      ok: true,
      message: `reached ${access.kind}`,
      at: new Date().toISOString(),
      durationMs: 1,
      runnerId: null,
      reachable: true,
      authenticated: true,
    };
  },
  async collect(access) {
    if (access.id === OTHER_SERVER) throw Object.assign(new Error('refused'), { code: 'auth_failed' });
    return resourcesOk;
  },
};

const serverOptions: ServerOptions = { factories, probes, probeTimeoutMs: 300, resourcesIntervalMs: 500 };

/** The fake edge: the two server routes itself, everything else forwarded to the real edge. */
async function fakeEdge(real: EdgeOnPort): Promise<{ base: string; close(): Promise<void> }> {
  const server: Server = createServer((req, res) => {
    void (async () => {
      const url = new URL(req.url ?? '/', 'http://edge');
      const json = (status: number, body: unknown) => {
        res.writeHead(status, { 'content-type': 'application/json' });
        res.end(JSON.stringify(body));
      };
      const refusal = (status: number, code: string) =>
        json(status, { error: { code, message: code, requestId: 'req_standin' } });
      if (url.pathname.startsWith('/api/runners/servers')) {
        if (req.headers.authorization !== `Bearer ${world.credential}`) return refusal(401, 'unauthorized');
        if (url.pathname === '/api/runners/servers') return json(200, { servers: world.servers });
        const m = /^\/api\/runners\/servers\/([^/]+)\/access$/.exec(url.pathname);
        const id = m?.[1] ?? '';
        if (!world.servers.some((s) => s.id === id)) return refusal(404, 'not_found');
        world.accessFetches.push({ serverId: id, purpose: url.searchParams.get('purpose') ?? '' });
        if (world.accessFails) return refusal(503, 'internal_error');
        return json(200, { access: accessOf(id) });
      }
      // The workspaces here are made by jobs sent straight to the runner, with no row at the
      // real edge, which would call every one of them stale: none moved away.
      if (url.pathname === '/api/runners/placements/check') {
        if (req.headers.authorization !== `Bearer ${world.credential}`) return refusal(401, 'unauthorized');
        await readBody(req);
        return json(200, { stale: [] });
      }
      const body = await readBody(req);
      const headers = new Headers();
      for (const [k, val] of Object.entries(req.headers)) {
        if (typeof val === 'string' && !['host', 'content-length', 'connection'].includes(k))
          headers.set(k, val);
      }
      const answer = await fetch(new URL(req.url ?? '/', real.base), {
        method: req.method ?? 'GET',
        headers,
        ...(body.length ? { body: new Uint8Array(body) } : {}),
      });
      const out: Record<string, string> = {};
      answer.headers.forEach((val, k) => {
        if (!['content-encoding', 'content-length', 'transfer-encoding', 'connection'].includes(k))
          out[k] = val;
      });
      res.writeHead(answer.status, out);
      res.end(Buffer.from(await answer.arrayBuffer()));
    })().catch((err) => {
      res.writeHead(502);
      res.end(String(err));
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
  return {
    base: `http://127.0.0.1:${port}`,
    close: () => new Promise<void>((r) => server.close(() => r())),
  };
}

async function readBody(req: IncomingMessage): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks);
}

/** A repository with a plain file, an executable, and links inside and outside it. */
function makeRepo(): string {
  const dir = mkdtempSync(join(tmpdir(), 'keel-srv-repo-'));
  const git = (...args: string[]) =>
    execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@t', ...args], {
      cwd: dir,
      stdio: 'ignore',
    });
  git('init', '-q', '-b', 'main');
  writeFileSync(join(dir, 'hello.txt'), 'hello from the repository\n');
  writeFileSync(join(dir, 'run.sh'), '#!/bin/sh\necho ran\n', { mode: 0o755 });
  symlinkSync('/etc/passwd', join(dir, 'outside-link'));
  symlinkSync('hello.txt', join(dir, 'inside-link'));
  git('add', '.');
  git('commit', '-qm', 'first');
  return dir;
}

describe('a runner drives workspaces on its assigned servers', () => {
  let edge: EdgeOnPort;
  let fake: Awaited<ReturnType<typeof fakeEdge>>;
  let dataDir: string;
  let repo: string;
  let config: RunnerConfig;
  let credential: SavedCredential;
  let local: ProcessDriver;
  let runner: Runner;
  let redis: Redis;
  let keys: RunnerKeys;

  const call = async (job: RunnerJob, timeoutMs = 60_000): Promise<JobOutcome> =>
    edge.app.services.queue.call(credential.queueName, job, timeoutMs);
  const ok = async (job: RunnerJob, timeoutMs?: number): Promise<any> => {
    const outcome = await call(job, timeoutMs);
    if (!outcome.ok) throw new Error(`${job.type} refused: ${outcome.error.code} ${outcome.error.message}`);
    return outcome.result;
  };
  const status = async (id: string) => JSON.parse((await redis.get(keys.workspaceStatus(id))) ?? 'null');
  const waitForStatus = (id: string, want: string, timeoutMs = 20_000) =>
    waitFor(
      `${id} to read ${want}`,
      async () => {
        const s = await status(id);
        return s?.status === want ? s : undefined;
      },
      timeoutMs,
      100,
    );
  let executions = 0;
  /** Runs a command through exec.start and reads its stream to the exit. */
  const run = async (id: string, argv: string[]): Promise<{ text: string; exit: any }> => {
    const executionId = `exe_srvdrv${String(++executions).padStart(13, 'a')}`;
    await ok({ v, type: 'exec.start', workspaceId: id, executionId, argv, timeoutMs: 20_000 });
    return waitFor(
      `the exit of ${argv.join(' ')}`,
      async () => {
        const entries = (await redis.xrange(keys.execStream(executionId), '-', '+')) as Array<
          [string, string[]]
        >;
        let text = '';
        // Entries are `t` (stdout, stderr, exit) and `d`.
        for (const [, fields] of entries) {
          if (fields[1] === 'exit') return { text, exit: JSON.parse(fields[3]!) };
          text += fields[3] ?? '';
        }
        return undefined;
      },
      20_000,
      100,
    );
  };
  const startRunner = async () => {
    runner = new Runner(config, credential, local, serverOptions);
    await runner.start();
  };

  before(async () => {
    await ensureDockerAndImage();
    await removeStale('ws_srvdrv');
    const infra = await testInfra();
    // The runner works through its own Redis user: the server keys must be within its reach.
    edge = await edgeOnPort({ env: { REDIS_URL: infra.redisUrl, KEEL_REDIS_RUNNER_ACL: 'true' } });
    fake = await fakeEdge(edge);
    dataDir = mkdtempSync(join(tmpdir(), 'keel-runner-servers-'));
    chmodSync(dataDir, 0o711);
    repo = makeRepo();
    const token = await edge.admin.request('POST', '/api/admin/runner-tokens', {}, { bearer: true });
    config = parseRunnerEnv({
      KEEL_URL: fake.base,
      KEEL_RUNNER_TOKEN: token.body.token,
      KEEL_RUNNER_NAME: 'servers-runner',
      KEEL_RUNNER_DATA_DIR: dataDir,
      KEEL_RUNNER_ALLOW_LOCAL_GIT: 'true',
      KEEL_IDLE_STOP_SECONDS: '0',
      REDIS_URL: infra.redisUrl,
    });
    credential = await register(config, {
      drivers: ['process'],
      capacity: { workspaces: 5, cpus: 2, memoryMb: 4096 },
    });
    assert.ok(credential.redis, 'the runner got a Redis user of its own');
    world.credential = credential.credential;
    keys = runnerKeys(credential.keyPrefix, credential.runnerId);
    redis = edge.app.services.redis();
    local = new ProcessDriver({ root: join(dataDir, 'workspaces') });
    await startRunner();
  });

  after(async () => {
    await runner?.stop();
    await removeStale('ws_srvdrv').catch(() => {});
    await fake?.close();
    await edge?.close();
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(repo, { recursive: true, force: true });
  });

  test('a workspace created with spec.serverId runs on its server driver, with the organization and disk passed through', async () => {
    await ok({
      v,
      type: 'workspace.create',
      workspaceId: WS,
      spec: {
        cpus: 1,
        memoryMb: 256,
        network: false,
        driver: 'ssh',
        serverId: SERVER,
        organizationId: 'org_standinaaaaaaaaaaaaa',
        diskGb: 3,
      },
      source: { type: 'empty' },
    });
    assert.equal((await status(WS)).status, 'running');
    assert.equal((await dockerCli('inspect', '-f', '{{.State.Running}}', `keel-ws-${WS}`)).trim(), 'true');
    assert.equal(await local.status(WS), 'missing', 'the runner’s own driver never saw it');
    assert.equal(await redis.hget(keys.workspaceServers, WS), SERVER);
    assert.equal(await redis.hget(keys.workspaceDrivers, WS), 'ssh');
    const spec = world.specs.find((s) => s.workspaceId === WS)!;
    assert.equal(spec.diskGb, 3);
    assert.equal(spec.organizationId, 'org_standinaaaaaaaaaaaaa');
    assert.equal(world.made.length, 1);
    assert.ok(world.accessFetches.some((f) => f.serverId === SERVER && f.purpose === 'workspace'));
  });

  test('files, commands and the terminal go to the server driver', async () => {
    await ok({
      v,
      type: 'files.write',
      workspaceId: WS,
      path: 'notes.txt',
      contentBase64: Buffer.from('on the server\n').toString('base64'),
    });
    const read = await ok({ v, type: 'files.read', workspaceId: WS, path: 'notes.txt', maxBytes: 1024 });
    assert.equal(Buffer.from(read.contentBase64, 'base64').toString(), 'on the server\n');
    const inContainer = await dockerCli('exec', `keel-ws-${WS}`, 'cat', '/workspace/notes.txt');
    assert.equal(inContainer, 'on the server\n');

    const out = await run(WS, ['sh', '-c', 'cat /workspace/notes.txt; hostname']);
    assert.equal(out.exit.exitCode, 0);
    assert.match(out.text, /on the server/);

    const sessionId = 'trm_srvdrvaaaaaaaaaaaaaa';
    const opened = await ok({ v, type: 'terminal.open', workspaceId: WS, sessionId, cols: 80, rows: 24 });
    assert.equal(opened.started, true);
    await redis.set(keys.terminalAttached(sessionId), '1', 'EX', 60);
    await redis.xadd(
      keys.terminalInput(sessionId),
      '*',
      't',
      'input',
      'd',
      'cat /workspace/notes.txt; exit\n',
    );
    const seen = await waitFor(
      'the terminal to print the file and exit',
      async () => {
        const entries = (await redis.xrange(keys.terminalOutput(sessionId), '-', '+')) as Array<
          [string, string[]]
        >;
        const text = entries.map(([, f]) => (f[1] === 'output' ? f[3] : '')).join('');
        return entries.some(([, f]) => f[1] === 'exit') ? text : undefined;
      },
      20_000,
      100,
    );
    assert.match(seen, /on the server/);
  });

  test('stop and start go to the server driver', async () => {
    await ok({ v, type: 'workspace.stop', workspaceId: WS });
    assert.equal((await status(WS)).status, 'stopped');
    assert.equal((await dockerCli('inspect', '-f', '{{.State.Running}}', `keel-ws-${WS}`)).trim(), 'false');
    await ok({ v, type: 'workspace.start', workspaceId: WS });
    assert.equal((await status(WS)).status, 'running');
    assert.equal((await dockerCli('inspect', '-f', '{{.State.Running}}', `keel-ws-${WS}`)).trim(), 'true');
  });

  test('a git source is cloned on the runner and copied in through the server driver’s files', async () => {
    await ok({
      v,
      type: 'workspace.create',
      workspaceId: CLONED,
      spec: { cpus: 1, memoryMb: 256, network: false, driver: 'ssh', serverId: SERVER },
      source: { type: 'git', url: repo },
    });
    const out = await run(CLONED, [
      'sh',
      '-c',
      'cat hello.txt && ./run.sh && test ! -e outside-link && test ! -e inside-link && git -c safe.directory=* log --oneline | wc -l',
    ]);
    assert.equal(out.exit.exitCode, 0, out.text);
    assert.match(out.text, /hello from the repository\nran\n1\n/);
    const logs = (await redis.xrange(keys.workspaceLogs(CLONED), '-', '+')) as Array<[string, string[]]>;
    assert.ok(logs.some(([, f]) => /2 symbolic link\(s\)/.test(f[3] ?? '')));
    // The temporary checkout is gone from the runner.
    assert.ok(
      !readdirSync(tmpdir()).some(
        (n) => n.startsWith('keel-clone-') && statSync(join(tmpdir(), n)).mtimeMs > Date.now() - 60_000,
      ),
    );
    await ok({ v, type: 'workspace.delete', workspaceId: CLONED });
  });

  test('an unreachable server makes its workspaces unavailable, not failed, and they come back', async () => {
    world.down = true;
    try {
      const seen = await waitForStatus(WS, 'unavailable');
      assert.match(seen.reason, /its server cannot be reached/);
      const out = await run(WS, ['true']);
      assert.match(out.exit.error, /^unavailable: /);
      const refused = await call({ v, type: 'workspace.stop', workspaceId: WS });
      assert.equal(refused.ok, false);
      assert.equal((await status(WS)).status, 'unavailable', 'a refused stop leaves it as it was');
    } finally {
      world.down = false;
    }
    await waitForStatus(WS, 'running');
    assert.equal((await run(WS, ['true'])).exit.exitCode, 0);
    const logs = (await redis.xrange(keys.workspaceLogs(WS), '-', '+')) as Array<[string, string[]]>;
    assert.ok(!logs.some(([, f]) => /^failed/.test(f[3] ?? '')), 'it never read failed');
  });

  test('the access of a server is fetched, kept in memory only, and never written', async () => {
    const files = readdirSync(dataDir, { recursive: true, withFileTypes: true }).filter((e) => e.isFile());
    for (const f of files) {
      assert.ok(
        !readFileSync(join(f.parentPath, f.name), 'utf8').includes(SECRET),
        `${f.name} holds the secret`,
      );
    }
    for (const key of [keys.workspaceServers, keys.serverResources, keys.workspaceStatus(WS)]) {
      const type = await redis.type(key);
      const value =
        type === 'hash'
          ? JSON.stringify(await redis.hgetall(key))
          : type === 'string'
            ? await redis.get(key)
            : '';
      assert.ok(!(value ?? '').includes(SECRET));
    }
  });

  test('a runner restart reattaches a server’s workspace through a fresh driver', async () => {
    const madeBefore = world.made.length;
    await runner.stop();
    assert.ok(world.closed >= 1, 'the driver was closed with the runner');
    await redis.set(
      keys.workspaceStatus(WS),
      JSON.stringify({ status: 'unavailable', reason: 'the runner was away', at: new Date().toISOString() }),
    );
    await startRunner();
    assert.equal((await status(WS)).status, 'running');
    assert.ok(world.made.length > madeBefore);
    const read = await ok({ v, type: 'files.read', workspaceId: WS, path: 'notes.txt', maxBytes: 1024 });
    assert.equal(Buffer.from(read.contentBase64, 'base64').toString(), 'on the server\n');
  });

  test('a server whose access fails at a restart reads unavailable until it can be reached', async () => {
    await runner.stop();
    world.accessFails = true;
    try {
      await startRunner();
      const seen = await waitForStatus(WS, 'unavailable');
      assert.match(seen.reason, /its server/);
      assert.doesNotMatch(seen.reason, new RegExp(SECRET));
    } finally {
      world.accessFails = false;
    }
    await waitForStatus(WS, 'running', 30_000);
  });

  test('an updated server gets a fresh driver, and an unassigned one loses it', async () => {
    const made = world.made.length;
    const closed = world.closed;
    world.servers = [{ ...world.servers[0]!, updatedAt: new Date().toISOString() }];
    // The next collection round lists the servers and drops the driver made from the old access.
    await waitFor(
      'the old driver to close',
      async () => (world.closed > closed ? true : undefined),
      10_000,
      50,
    );
    const read = await ok({ v, type: 'files.read', workspaceId: WS, path: 'notes.txt', maxBytes: 1024 });
    assert.equal(Buffer.from(read.contentBase64, 'base64').toString(), 'on the server\n');
    assert.equal(world.made.length, made + 1);

    // A workspace on a server this runner no longer serves is refused, not reported missing.
    await ok({
      v,
      type: 'workspace.create',
      workspaceId: STRANDED,
      spec: { cpus: 1, memoryMb: 256, network: false, driver: 'ssh', serverId: SERVER },
      source: { type: 'empty' },
    });
    const keep = world.servers;
    world.servers = [];
    try {
      await waitFor(
        'the driver to close',
        async () => (world.closed > closed + 1 ? true : undefined),
        10_000,
        50,
      );
      const seen = await waitForStatus(STRANDED, 'unavailable');
      assert.match(seen.reason, /not assigned to this runner/);
      const refused = await call({ v, type: 'files.read', workspaceId: STRANDED, path: 'x', maxBytes: 10 });
      assert.equal(refused.ok, false);
      assert.equal(!refused.ok && refused.error.code, 'unavailable');
    } finally {
      world.servers = keep;
    }
    await waitForStatus(STRANDED, 'running');
    await ok({ v, type: 'workspace.delete', workspaceId: STRANDED });
  });

  test('server.test answers a result for every failure, and the result of a test that passed', async () => {
    const test = async () =>
      (await ok({ v, type: 'server.test', serverId: SERVER }, 10_000)) as ConnectionTestResult;
    world.probe = 'throw';
    let r = await test();
    assert.equal(r.ok, false);
    assert.equal(r.code, 'internal');
    assert.match(r.message, /stand-in test broke/);
    world.probe = 'hang';
    const started = Date.now();
    r = await test();
    assert.equal(r.code, 'timeout');
    assert.ok(Date.now() - started < 5_000);
    world.probe = 'unreadable';
    r = await test();
    assert.equal(r.code, 'internal');
    world.probe = 'ok';
    world.accessFails = true;
    r = await test();
    assert.equal(r.code, 'internal');
    assert.match(r.message, /could not fetch the server's access/);
    world.accessFails = false;
    r = await test();
    assert.equal(r.ok, true);
    assert.ok(world.accessFetches.some((f) => f.purpose === 'test'));
    const unknown = await ok({ v, type: 'server.test', serverId: 'srv_notassignedaaaaaaaaa' }, 10_000);
    assert.equal(unknown.ok, false);
  });

  test('server resources land in Redis with a lifetime; failures say why; unassigned servers leave', async () => {
    world.servers = [
      ...world.servers,
      { id: OTHER_SERVER, kind: 'ssh', updatedAt: new Date().toISOString() },
    ];
    const both = await waitFor(
      'both servers’ figures',
      async () => {
        const all = await redis.hgetall(keys.serverResources);
        return all[SERVER] && all[OTHER_SERVER] ? all : undefined;
      },
      10_000,
      100,
    );
    assert.equal(JSON.parse(both[SERVER]!).cpus, 4);
    assert.deepEqual(
      { ok: JSON.parse(both[OTHER_SERVER]!).ok, code: JSON.parse(both[OTHER_SERVER]!).code },
      { ok: false, code: 'auth_failed' },
    );
    const ttl = await redis.ttl(keys.serverResources);
    assert.ok(ttl > 0 && ttl <= 180, `ttl ${ttl}`);
    assert.ok(world.accessFetches.some((f) => f.purpose === 'resources'));
    world.servers = world.servers.filter((s) => s.id !== OTHER_SERVER);
    await waitFor(
      'the unassigned server’s figures to go',
      async () => ((await redis.hexists(keys.serverResources, OTHER_SERVER)) ? undefined : true),
      10_000,
      100,
    );
  });

  test('deleting a server’s workspace removes it there and forgets where it lived', async () => {
    await ok({ v, type: 'workspace.delete', workspaceId: WS });
    await assert.rejects(dockerCli('inspect', `keel-ws-${WS}`));
    assert.equal(await redis.hget(keys.workspaceServers, WS), null);
  });
});
