/**
 * The snapshot jobs as a runner serves them (real Redis, real bubblewrap, folder store): the
 * edge's side is a small fake HTTP server inside this test that hands out the store's access
 * and records the reports; the real edge routes are tested end to end with them.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { processJob } from '../../runners/src/handlers/index.ts';
import { RunnerContext } from '../../runners/src/runner-context.ts';
import { ServerAccessError } from '../../runners/src/servers/access.ts';
import { beginSnapshot, fetchSnapshotStore } from '../../runners/src/snapshots/edge-calls.ts';
import { describeAge } from '../../runners/src/snapshots/index.ts';
import { forgetStore } from '../../runners/src/snapshots/store-access.ts';
import { ProcessDriver } from '../../runners/src/workloads/process.ts';
import { stopIdle } from '../../runners/src/workspaces/idle-stop.ts';
import { testInfra } from '../harness/infra.ts';
import { newSnapshotId, sh, workspaceIdFor } from './engine-tree.ts';

const CREDENTIAL = `cred-${randomBytes(8).toString('hex')}`;
const v = CONTRACT_VERSION;

interface FakeEdge {
  url: string;
  server: Server;
  reports: { snapshotId: string; body: any }[];
  begun: any[];
  /** What GET /api/runners/snapshot-store answers. */
  store: () => unknown;
  hang: boolean;
}

async function startFakeEdge(): Promise<FakeEdge> {
  const edge: FakeEdge = {
    url: '',
    server: undefined as unknown as Server,
    reports: [],
    begun: [],
    store: () => ({}),
    hang: false,
  };
  edge.server = createServer(async (req, res) => {
    if (edge.hang) return;
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = chunks.length ? JSON.parse(Buffer.concat(chunks).toString()) : undefined;
    const send = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (req.headers.authorization !== `Bearer ${CREDENTIAL}`)
      return send(401, { error: { code: 'unauthorized', message: 'no', requestId: 'r' } });
    if (req.method === 'GET' && req.url === '/api/runners/snapshot-store') return send(200, edge.store());
    if (req.method === 'POST' && req.url === '/api/runners/snapshots') {
      edge.begun.push(body);
      return send(201, { snapshotId: newSnapshotId() });
    }
    const m = /^\/api\/runners\/snapshots\/([^/]+)\/complete$/.exec(req.url ?? '');
    if (req.method === 'POST' && m) {
      edge.reports.push({ snapshotId: m[1]!, body });
      return send(200, { recorded: true });
    }
    send(404, { error: { code: 'not_found', message: 'no route', requestId: 'r' } });
  });
  await new Promise<void>((r) => edge.server.listen(0, '127.0.0.1', r));
  const addr = edge.server.address();
  edge.url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return edge;
}

describe('snapshot jobs on a runner (real Redis, real bubblewrap, folder store, edge faked in the test)', () => {
  let base: string;
  let driver: ProcessDriver;
  let ctx: RunnerContext;
  let edge: FakeEdge;
  const source = workspaceIdFor('snapjobs');
  const spec = { cpus: 1, memoryMb: 128, network: false };
  const statusOf = async (id: string) =>
    JSON.parse((await ctx.redis.get(ctx.keys.workspaceStatus(id))) ?? '{}');
  const logOf = async (id: string) =>
    (await ctx.redis.xrange(ctx.keys.workspaceLogs(id), '-', '+')).map(([, f]) => f[3]).join('\n');

  before(async () => {
    base = mkdtempSync('/tmp/keel-snap-jobs-');
    chmodSync(base, 0o711);
    edge = await startFakeEdge();
    edge.store = () => ({ access: { kind: 'folder', path: null }, onStop: true });
    const infra = await testInfra();
    const config = parseRunnerEnv({
      KEEL_URL: edge.url,
      REDIS_URL: infra.redisUrl,
      KEEL_RUNNER_DATA_DIR: base,
      KEEL_IDLE_STOP_SECONDS: '0',
    });
    driver = new ProcessDriver({ root: join(base, 'workspaces') });
    const prefix = `snapjobs${randomBytes(4).toString('hex')}:`;
    ctx = new RunnerContext(
      config,
      {
        runnerId: `rnr_${'a'.repeat(20)}`,
        credential: CREDENTIAL,
        queueName: `runner.${prefix}`,
        bullPrefix: prefix,
        keyPrefix: prefix,
        edgeUrl: edge.url,
      },
      driver,
    );
    const created = await processJob(
      { v, type: 'workspace.create', workspaceId: source, spec, source: { type: 'empty' } },
      ctx,
    );
    assert.deepEqual(created, { ok: true, result: {} });
    await sh(
      driver,
      source,
      'mkdir -p src && echo "first" > src/a.txt && head -c 100000 /dev/urandom > src/r.bin',
    );
  });

  after(async () => {
    for (const id of await driver.list()) await driver.remove(id, { keepData: false }).catch(() => {});
    await ctx?.terminals.stop().catch(() => {});
    ctx?.redis.disconnect();
    edge?.server.close();
    rmSync(base, { recursive: true, force: true });
  });

  it('workspace.snapshot of a stopped workspace starts it for the read, stops it again, and reports', async () => {
    await driver.stop(source);
    const snapshotId = newSnapshotId();
    const out = await processJob(
      { v, type: 'workspace.snapshot', workspaceId: source, generation: 3, snapshotId, reason: 'manual' },
      ctx,
    );
    assert.equal(out.ok, true, JSON.stringify(out));
    const result = (out as { result: any }).result;
    assert.equal(result.snapshotId, snapshotId);
    assert.equal(result.files, 2);
    assert.equal(await driver.status(source), 'stopped');
    const report = edge.reports.at(-1)!;
    assert.equal(report.snapshotId, snapshotId);
    assert.deepEqual(report.body, {
      ok: true,
      workspaceId: source,
      generation: 3,
      files: 2,
      bytes: result.bytes,
      bytesWritten: result.bytesWritten,
      takenAt: result.takenAt,
    });
    assert.match(await logOf(source), /snapshot snp_\w+ saved \(manual\): 2 file\(s\)/);
    await driver.start(source);
  });

  it('a create from a snapshot restores it while `relocating`, says how old it is, and starts it', async () => {
    const snapshotId = newSnapshotId();
    await processJob({ v, type: 'workspace.snapshot', workspaceId: source, snapshotId, reason: 'move' }, ctx);
    const moved = workspaceIdFor('snapjobs');
    const seen: string[] = [];
    const watch = setInterval(async () => seen.push((await statusOf(moved)).status), 5);
    const takenAt = new Date(Date.now() - 5 * 60_000).toISOString();
    const out = await processJob(
      {
        v,
        type: 'workspace.create',
        workspaceId: moved,
        generation: 2,
        spec,
        source: { type: 'snapshot', snapshotId },
        snapshotTakenAt: takenAt,
        relocation: { reason: 'lost' },
      },
      ctx,
    );
    clearInterval(watch);
    assert.deepEqual(out, { ok: true, result: {} });
    assert.equal((await statusOf(moved)).status, 'running');
    assert.ok(seen.includes('relocating'), seen.join());
    assert.ok(!seen.includes('creating') && !seen.includes('starting'), seen.join());
    assert.equal(await sh(driver, moved, 'cat src/a.txt'), 'first\n');
    const log = await logOf(moved);
    assert.match(log, /relocating: moving here: its host was lost/);
    assert.match(log, /restored snapshot snp_\w+ \(2 file\(s\)\); its files are 5 minutes old/);

    const stopped = workspaceIdFor('snapjobs');
    const out2 = await processJob(
      {
        v,
        type: 'workspace.create',
        workspaceId: stopped,
        spec,
        source: { type: 'snapshot', snapshotId },
        start: false,
      },
      ctx,
    );
    assert.deepEqual(out2, { ok: true, result: {} });
    assert.equal((await statusOf(stopped)).status, 'stopped');
    assert.equal(await driver.status(stopped), 'stopped');
  });

  it('workspace.restore refuses a hostile snapshot and leaves the workspace running as it was', async () => {
    const snapshotId = newSnapshotId();
    const { FolderStore } = await import('../../runners/src/snapshots/folder-store.ts');
    const store = new FolderStore(join(base, 'snapshots'));
    await store.put(
      `manifests/${snapshotId}.json`,
      Buffer.from(
        JSON.stringify({
          v: 1,
          snapshotId,
          workspaceId: source,
          takenAt: '',
          chunkBytes: 4 * 1024 * 1024,
          entries: [{ type: 'symlink', path: 'x', target: '/etc' }],
        }),
      ),
    );
    const out = await processJob({ v, type: 'workspace.restore', workspaceId: source, snapshotId }, ctx);
    assert.equal(out.ok, false);
    assert.equal((out as any).error.code, 'invalid');
    assert.equal((await statusOf(source)).status, 'running');
    assert.equal(await sh(driver, source, 'cat src/a.txt'), 'first\n');
  });

  it('workspace.restore replaces the files and keeps it running; a stop with a snapshot saves first', async () => {
    const snapshotId = newSnapshotId();
    await processJob(
      { v, type: 'workspace.snapshot', workspaceId: source, snapshotId, reason: 'manual' },
      ctx,
    );
    await sh(driver, source, 'echo "second" > src/a.txt && echo new > extra.txt');
    const out = await processJob({ v, type: 'workspace.restore', workspaceId: source, snapshotId }, ctx);
    assert.equal(out.ok, true, JSON.stringify(out));
    assert.equal((await statusOf(source)).status, 'running');
    assert.equal(await sh(driver, source, 'cat src/a.txt; ls'), 'first\nsrc\n');

    await sh(driver, source, 'echo "before stop" > src/a.txt');
    const stopId = newSnapshotId();
    const stop = await processJob(
      { v, type: 'workspace.stop', workspaceId: source, generation: 4, snapshotId: stopId },
      ctx,
    );
    assert.equal(stop.ok, true);
    assert.equal((stop as any).result.snapshot.snapshotId, stopId);
    assert.equal(await driver.status(source), 'stopped');
    assert.equal(edge.reports.at(-1)!.body.generation, 4);
    const back = workspaceIdFor('snapjobs');
    await processJob(
      {
        v,
        type: 'workspace.create',
        workspaceId: back,
        spec,
        source: { type: 'snapshot', snapshotId: stopId },
      },
      ctx,
    );
    assert.equal(await sh(driver, back, 'cat src/a.txt'), 'before stop\n');
    await processJob({ v, type: 'workspace.start', workspaceId: source }, ctx);
  });

  it('the idle stop begins a snapshot at the edge when stops save one, then stops', async () => {
    const idle = workspaceIdFor('snapjobs');
    await processJob(
      { v, type: 'workspace.create', workspaceId: idle, spec, source: { type: 'empty' } },
      ctx,
    );
    await sh(driver, idle, 'echo idle > idle.txt');
    await ctx.redis.hset(ctx.keys.workspaceGenerations, idle, '7');
    const begunBefore = edge.begun.length;
    await stopIdle(ctx);
    const mine = edge.begun.slice(begunBefore).find((b) => b.workspaceId === idle);
    assert.deepEqual(mine, { workspaceId: idle, generation: 7, reason: 'stop' });
    const report = edge.reports.find((r) => r.body.workspaceId === idle);
    assert.equal(report?.body.ok, true);
    assert.equal(report?.body.files, 1);
    assert.equal(await driver.status(idle), 'stopped');
  });

  it('a failed snapshot is reported failed, with the reason', async () => {
    forgetStore(ctx);
    // A folder under a file: every write fails.
    const { writeFileSync } = await import('node:fs');
    writeFileSync(join(base, 'a-file'), 'x');
    edge.store = () => ({ access: { kind: 'folder', path: join(base, 'a-file', 'store') }, onStop: false });
    const snapshotId = newSnapshotId();
    const out = await processJob(
      { v, type: 'workspace.snapshot', workspaceId: source, snapshotId, reason: 'manual' },
      ctx,
    );
    assert.equal(out.ok, false);
    const report = edge.reports.at(-1)!;
    assert.equal(report.snapshotId, snapshotId);
    assert.equal(report.body.ok, false);
    assert.match(report.body.error, /snapshot failed/);
    forgetStore(ctx);
    edge.store = () => ({ access: { kind: 'folder', path: null }, onStop: true });
  });

  it('edge calls: answers are parsed (the secret never in an error), a hung edge answers in bounded time', async () => {
    const caller = { edgeUrl: edge.url, credential: CREDENTIAL, timeoutMs: 300 };
    edge.store = () => ({
      access: { kind: 's3', endpoint: 'x', secretAccessKey: 'very-secret-value' },
      onStop: 1,
    });
    await assert.rejects(
      fetchSnapshotStore(caller),
      (e: unknown) =>
        e instanceof ServerAccessError && e.reason === 'invalid' && !e.message.includes('very-secret'),
    );
    await assert.rejects(
      fetchSnapshotStore({ ...caller, credential: 'wrong' }),
      (e: unknown) => e instanceof ServerAccessError && e.reason === 'refused' && e.status === 401,
    );
    edge.hang = true;
    const t = Date.now();
    await assert.rejects(
      beginSnapshot(caller, { workspaceId: source, generation: 1, reason: 'stop' }),
      (e: unknown) => e instanceof ServerAccessError && e.reason === 'unreachable',
    );
    assert.ok(Date.now() - t < 3000);
    edge.hang = false;
    edge.store = () => ({ access: { kind: 'folder', path: null }, onStop: true });
  });

  it('says how old restored files are', () => {
    const now = Date.parse('2026-01-02T00:00:00Z');
    assert.equal(describeAge('2026-01-01T23:59:30Z', now), '30 seconds old');
    assert.equal(describeAge('2026-01-01T22:00:00Z', now), '2 hours old');
    assert.equal(describeAge('2025-12-30T00:00:00Z', now), '3 days old');
    assert.equal(describeAge(undefined, now), 'of unknown age');
  });
});
