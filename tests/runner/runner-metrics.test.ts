/*
 * The runner's Prometheus metrics against real parts: a real runner (Docker driver, real
 * dockerd, Redis, the edge on a port) with its metrics listener on, a scripted workload (a
 * workspace, a command that burns CPU and writes a file, a file read, an AI call to the fake
 * OpenAI-compatible model server standing in for vLLM), then scrapes over HTTP: the values,
 * `promtool check metrics`, the bearer token, and the workspace's series gone once it is.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { runnerKeys } from '../../edge/contract/src/keys.ts';
import { RUNNER_METRICS } from '../../edge/contract/src/metrics.ts';
import { parseRunnerEnv } from '../../runners/src/env.ts';
import { NO_METRICS } from '../../runners/src/metrics/recorder.ts';
import { startRunnerMetrics } from '../../runners/src/metrics/runner-metrics.ts';
import type { RunnerContext } from '../../runners/src/runner-context.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';

const TOKEN = 'metrics-test-token-0123456789';

/** One sample of the text format: `name{labels} value`. */
function sample(text: string, name: string, labels: Record<string, string> = {}): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (\S+)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const have = Object.fromEntries(
      [...(m[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => have[k] === v)) return Number(m[4]);
  }
  return undefined;
}

function promtoolCheck(text: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn('/usr/bin/promtool', ['check', 'metrics'], { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (c) => (out += c));
    p.stderr.on('data', (c) => (out += c));
    p.on('close', (code) => resolve({ code, out }));
    p.stdin.end(text);
  });
}

const refused = (port: number) =>
  new Promise<boolean>((resolve) => {
    const s = connect(port, '127.0.0.1');
    s.once('connect', () => {
      s.destroy();
      resolve(false);
    });
    s.once('error', () => resolve(true));
  });

describe('runner metrics (docker driver, real dockerd and Redis)', () => {
  let rig: Rig;
  let fake: FakeOpenAi;
  let port: number;
  let workspaceId: string;
  const scrape = (
    headers: Record<string, string> = { authorization: `Bearer ${TOKEN}` },
    path = '/metrics',
  ) => fetch(`http://127.0.0.1:${port}${path}`, { headers });
  const text = async () => {
    const res = await scrape();
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  before(async () => {
    fake = await startFakeOpenAi();
    port = await freePort();
    rig = await startRig('docker', {
      runnerEnv: {
        KEEL_RUNNER_METRICS_PORT: String(port),
        KEEL_RUNNER_METRICS_TOKEN: TOKEN,
        KEEL_AI_BASE_URL: fake.baseUrl,
        KEEL_AI_MODEL: FAKE_MODEL,
        KEEL_AI_TIMEOUT_MS: '4000',
        KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: '2000',
      },
    });
    assert.equal(rig.runner.metricsPort, port);
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'metrics' }, { bearer: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    workspaceId = created.body.id;
    await rig.waitForStatus(rig.admin, workspaceId, 'running');
  });

  after(async () => {
    await rig?.close();
    await fake?.close();
    // The runner stopped: its metrics listener went with it.
    assert.equal(await refused(port), true);
  });

  test('a scripted workload shows in the jobs, calls, streams, AI and workspace usage figures', async () => {
    // CPU burnt inside the container, and a file written.
    const run = await rig.admin.request(
      'POST',
      `/api/workspaces/${workspaceId}/execute`,
      { command: 'head -c 40000000 /dev/urandom | sha256sum > burn.txt; cat burn.txt', timeoutMs: 30_000 },
      { bearer: true },
    );
    assert.equal(run.status, 202, JSON.stringify(run.body));
    const events = await readSse(
      await rig.http(`/api/workspaces/${workspaceId}/executions/${run.body.executionId}/events`, {
        headers: { authorization: `Bearer ${rig.admin.accessToken}` },
      }),
    );
    assert.deepEqual(JSON.parse(events.at(-1)!.data), { exitCode: 0 });
    const read = await rig.admin.request(
      'GET',
      `/api/workspaces/${workspaceId}/files?path=burn.txt`,
      undefined,
      { bearer: true },
    );
    assert.equal(read.status, 200, JSON.stringify(read.body));

    fake.enqueue({ tokens: ['A ', 'hash ', 'of ', 'noise.'] });
    const ai = await rig.http('/api/ai/explain', {
      method: 'POST',
      headers: { authorization: `Bearer ${rig.admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ workspaceId, path: 'burn.txt' }),
    });
    assert.equal(ai.status, 200);
    const answer = await readSse(ai);
    assert.equal(JSON.parse(answer.at(-1)!.data).outcome, 'success');

    // The AI report and the stream's last write land just after the answer's end: poll briefly.
    const body = await waitFor(
      'the AI call and the workspace usage in a scrape',
      async () => {
        const t = await text();
        const ready =
          (sample(t, 'keel_ai_calls_total', { model: FAKE_MODEL, outcome: 'ok' }) ?? 0) >= 1 &&
          (sample(t, 'keel_workspace_cpu_seconds_total', { workspace: workspaceId }) ?? 0) > 0;
        return ready ? t : undefined;
      },
      15_000,
      250,
    );

    assert.ok(
      (sample(body, 'keel_runner_jobs_total', { type: 'workspace.create', outcome: 'ok' }) ?? 0) >= 1,
    );
    const execs =
      (sample(body, 'keel_runner_jobs_total', { type: 'exec.start', outcome: 'ok' }) ?? 0) +
      (sample(body, 'keel_runner_calls_total', { type: 'exec.start', outcome: 'ok' }) ?? 0);
    assert.ok(execs >= 1, 'the command counted as started');
    assert.ok((sample(body, 'keel_runner_calls_total', { type: 'files.read', outcome: 'ok' }) ?? 0) >= 1);
    assert.ok((sample(body, 'keel_runner_call_duration_seconds_count', { type: 'files.read' }) ?? 0) >= 1);
    assert.ok(
      (sample(body, 'keel_runner_job_duration_seconds_count', { type: 'workspace.create' }) ?? 0) >= 1,
    );
    assert.ok((sample(body, 'keel_runner_queue_wait_seconds_count', { queue: 'jobs' }) ?? 0) >= 1);
    assert.equal(sample(body, 'keel_runner_queue_depth', { queue: 'jobs' }), 0);
    assert.equal(sample(body, 'keel_runner_queue_depth', { queue: 'calls' }), 0);
    assert.equal(sample(body, 'keel_runner_workspaces', { state: 'running' }), 1);
    assert.equal(sample(body, 'keel_runner_workspaces', { state: 'failed' }), 0);
    assert.equal(sample(body, 'keel_runner_terminal_sessions'), 0);

    // The command's 65 bytes of output (and the AI answer) went through the stream appender.
    assert.ok((sample(body, 'keel_runner_stream_bytes_total', { kind: 'exec_output' }) ?? 0) >= 65);
    assert.ok((sample(body, 'keel_runner_stream_lag_seconds_count', { kind: 'exec_output' }) ?? 0) >= 1);
    assert.ok((sample(body, 'keel_runner_stream_bytes_total', { kind: 'ai_answer' }) ?? 0) > 0);

    assert.ok((sample(body, 'keel_ai_tokens_total', { model: FAKE_MODEL, direction: 'in' }) ?? 0) > 0);
    assert.ok((sample(body, 'keel_ai_tokens_total', { model: FAKE_MODEL, direction: 'out' }) ?? 0) > 0);
    assert.equal(sample(body, 'keel_ai_time_to_first_token_seconds_count', { model: FAKE_MODEL }), 1);

    // sha256sum over 40 MB of urandom takes a good part of a CPU second.
    assert.ok((sample(body, 'keel_workspace_cpu_seconds_total', { workspace: workspaceId }) ?? 0) > 0.05);
    assert.ok((sample(body, 'keel_workspace_memory_bytes', { workspace: workspaceId }) ?? 0) > 0);
    // The rig's default workspace asks for a memory limit, which the container has.
    assert.ok((sample(body, 'keel_workspace_memory_limit_bytes', { workspace: workspaceId }) ?? 0) > 0);
    // A workspace without network: only loopback, so nothing in or out.
    assert.equal(sample(body, 'keel_workspace_network_receive_bytes_total', { workspace: workspaceId }), 0);

    const disk = sample(body, 'keel_runner_disk_used_ratio') ?? -1;
    assert.ok(disk > 0 && disk <= 1, `disk ratio ${disk}`);
    const memory = sample(body, 'keel_runner_memory_used_ratio') ?? -1;
    assert.ok(memory > 0 && memory <= 1, `memory ratio ${memory}`);

    // Every contract name is exported, with its help.
    for (const name of Object.keys(RUNNER_METRICS)) assert.match(body, new RegExp(`^# HELP ${name} `, 'm'));
    const lint = await promtoolCheck(body);
    assert.equal(lint.code, 0, lint.out);
  });

  test('the folder size is measured in the background and shown at a later scrape', async () => {
    await text();
    const bytes = await waitFor(
      'the workspace disk size',
      async () => sample(await text(), 'keel_workspace_disk_bytes', { workspace: workspaceId }),
      15_000,
      250,
    );
    assert.ok(bytes > 0);
  });

  test('a scrape without the token, or with another, is refused; other paths are not found', async () => {
    for (const headers of [
      {} as Record<string, string>,
      { authorization: 'Bearer wrong-token-0123456789' },
      { authorization: TOKEN },
    ]) {
      const res = await scrape(headers);
      assert.equal(res.status, 401);
      assert.equal(res.headers.get('www-authenticate'), 'Bearer');
      const body = (await res.json()) as { error: { code: string; requestId: string } };
      assert.equal(body.error.code, 'unauthorized');
      assert.ok(body.error.requestId);
    }
    assert.equal((await scrape(undefined, '/')).status, 404);
    const post = await fetch(`http://127.0.0.1:${port}/metrics`, { method: 'POST' });
    assert.equal(post.status, 405);
  });

  test("ids that are no workspace id, put in the runner's Redis set, never reach Docker or a label", async () => {
    const redis = new Redis(rig.config.REDIS_URL);
    const key = runnerKeys(rig.credential.keyPrefix, rig.credential.runnerId).workspaces;
    const bad = ['../../containers/json', 'x y', 'a'.repeat(200)];
    try {
      assert.ok((await redis.smembers(key)).includes(workspaceId), "the runner's own set");
      await redis.sadd(key, ...bad);
      const body = await text();
      for (const id of bad) assert.ok(!body.includes(id), id);
      assert.equal(sample(body, 'keel_runner_workspaces', { state: 'unknown' }), undefined);
    } finally {
      await redis.srem(key, ...bad);
      redis.disconnect();
    }
  });

  test("a deleted workspace's series are gone from the next scrape", async () => {
    const del = await rig.admin.request('DELETE', `/api/workspaces/${workspaceId}`, undefined, {
      bearer: true,
    });
    assert.ok(del.status === 202 || del.status === 204, JSON.stringify(del.body));
    const body = await waitFor(
      'the workspace series to go',
      async () => {
        const t = await text();
        return t.includes(`workspace="${workspaceId}"`) ? undefined : t;
      },
      20_000,
      250,
    );
    assert.equal(sample(body, 'keel_runner_workspaces', { state: 'running' }), 0);
    assert.ok(
      (sample(body, 'keel_runner_jobs_total', { type: 'workspace.delete', outcome: 'ok' }) ?? 0) >= 1,
    );
  });
});

describe('runner metrics (process driver with its own Redis user: usage from the workspace cgroup)', () => {
  let rig: Rig;
  let port: number;

  before(async () => {
    port = await freePort();
    // With a Redis user of its own, the scrape's reads (queues, statuses) stay within its rights.
    rig = await startRig('process', {
      edgeEnv: { KEEL_REDIS_RUNNER_ACL: 'true' },
      runnerEnv: { KEEL_RUNNER_METRICS_PORT: String(port) },
    });
  });

  after(async () => {
    await rig?.close();
  });

  test('CPU time and memory of a sandboxed workspace, when the runner could give it a cgroup', async (t) => {
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'cg' }, { bearer: true });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await rig.waitForStatus(rig.admin, id, 'running');
    const run = await rig.admin.request(
      'POST',
      `/api/workspaces/${id}/execute`,
      { command: 'head -c 20000000 /dev/urandom | sha256sum', timeoutMs: 30_000 },
      { bearer: true },
    );
    assert.equal(run.status, 202, JSON.stringify(run.body));
    await readSse(
      await rig.http(`/api/workspaces/${id}/executions/${run.body.executionId}/events`, {
        headers: { authorization: `Bearer ${rig.admin.accessToken}` },
      }),
    );
    // No token configured: a plain GET scrapes.
    const body = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    assert.equal(sample(body, 'keel_runner_workspaces', { state: 'running' }), 1);
    assert.equal(sample(body, 'keel_runner_queue_depth', { queue: 'jobs' }), 0);
    assert.equal(sample(body, 'keel_runner_queue_depth', { queue: 'calls' }), 0);
    assert.ok((sample(body, 'keel_runner_jobs_total', { type: 'exec.start', outcome: 'ok' }) ?? 0) >= 1);
    if (process.getuid?.() !== 0) {
      t.skip('not root: the process driver makes no cgroup, so it has no usage to read');
      return;
    }
    assert.ok((sample(body, 'keel_workspace_cpu_seconds_total', { workspace: id }) ?? 0) > 0.01, body);
    assert.ok((sample(body, 'keel_workspace_memory_limit_bytes', { workspace: id }) ?? 0) > 0);
    assert.ok(sample(body, 'keel_workspace_memory_bytes', { workspace: id }) !== undefined);
  });
});

describe('runner metrics settings', () => {
  const base = { KEEL_URL: 'http://127.0.0.1:1', REDIS_URL: 'redis://127.0.0.1:1' };

  test('unset or empty: off, with no listener and a recorder that records nothing', async () => {
    for (const env of [base, { ...base, KEEL_RUNNER_METRICS_PORT: '', KEEL_RUNNER_METRICS_TOKEN: '' }]) {
      const config = parseRunnerEnv(env);
      assert.equal(config.KEEL_RUNNER_METRICS_PORT, undefined);
      const handle = await startRunnerMetrics({ config } as RunnerContext);
      assert.equal(handle.port, undefined);
      assert.equal(handle.recorder, NO_METRICS);
      await handle.close();
    }
  });

  test('defaults and refusals', () => {
    const config = parseRunnerEnv({ ...base, KEEL_RUNNER_METRICS_PORT: '9464' });
    assert.equal(config.KEEL_RUNNER_METRICS_PORT, 9464);
    assert.equal(config.KEEL_RUNNER_METRICS_HOST, '127.0.0.1');
    for (const bad of [
      { KEEL_RUNNER_METRICS_PORT: 'abc' },
      { KEEL_RUNNER_METRICS_PORT: '70000' },
      { KEEL_RUNNER_METRICS_PORT: '9464', KEEL_RUNNER_METRICS_TOKEN: 'short' },
    ]) {
      assert.throws(() => parseRunnerEnv({ ...base, ...bad }), /KEEL_RUNNER_METRICS_/);
    }
  });
});
