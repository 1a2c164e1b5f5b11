/**
 * Proves that source code, prompts and answers leave no trace outside the capped, expiring
 * answer streams: canary strings planted in workspace files, in questions, instructions and chat
 * messages, and in the model's answers and error bodies go through explain, rewrite and chat on
 * an edge and a runner running as their own processes, then every table of the PostgreSQL
 * database, every key and value in Redis (but the answer streams), the edge's and the
 * runner's data folders and everything both processes printed are searched for them.
 */
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AI_STREAM_TTL_SECONDS } from '@keel/contract/keys';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { BrowserClient } from '../harness/browser-client.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { testInfra } from '../harness/infra.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { readSse } from '../harness/runner-rig.ts';
import { testSecretKey } from '../harness/test-app.ts';

const root = new URL('../..', import.meta.url).pathname;
const C = {
  file: 'CANARY-FILE-b7f1e0',
  imported: 'CANARY-IMPORT-4c92aa',
  question: 'CANARY-QUESTION-91d3c5',
  instruction: 'CANARY-INSTRUCTION-e2a817',
  chat: 'CANARY-CHAT-5f60bd',
  history: 'CANARY-HISTORY-0a3e19',
  answer: 'CANARY-ANSWER-d41d8c',
  code: 'CANARY-CODE-77ab01',
  upstreamError: 'CANARY-UPSTREAM-ERROR-3b5f2e',
};

/** A service whose whole output is kept, not just a tail. */
interface Service {
  child: ChildProcess;
  output: string;
}

function startService(args: string[], env: NodeJS.ProcessEnv): Service {
  const child = spawn(process.execPath, args, {
    cwd: root,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const service: Service = { child, output: '' };
  child.stdout?.on('data', (d: Buffer) => {
    service.output += d.toString();
  });
  child.stderr?.on('data', (d: Buffer) => {
    service.output += d.toString();
  });
  process.once('exit', () => {
    if (child.pid && child.exitCode === null) process.kill(-child.pid, 'SIGKILL');
  });
  return service;
}

async function stopService(s: Service): Promise<void> {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once('exit', r));
  process.kill(-s.child.pid!, 'SIGTERM');
  const timer = setTimeout(() => process.kill(-s.child.pid!, 'SIGKILL'), 15_000);
  await exited;
  clearTimeout(timer);
}

describe('no source, prompt or answer reaches PostgreSQL, Redis, the data folders or the logs (edge and runner processes; fake OpenAI server standing in for vLLM)', () => {
  let fake: FakeOpenAi;
  let edge: Service;
  let runner: Service;
  let dir: string;
  let databaseUrl: string;
  let admin: BrowserClient;
  let base: string;
  let ws: string;
  let redisUrl: string;
  let redisPrefix: string;

  before(async () => {
    const infra = await testInfra();
    redisUrl = infra.redisUrl;
    databaseUrl = await infra.createPostgresDatabase();
    fake = await startFakeOpenAi();
    dir = mkdtempSync(join(tmpdir(), 'keel-canary-'));
    chmodSync(dir, 0o711);
    const port = await freePort();
    redisPrefix = `canary${port}:`;
    base = `http://127.0.0.1:${port}`;
    const bootstrap = `rbt_${'c'.repeat(40)}`;
    const env = {
      ...process.env,
      REDIS_URL: infra.redisUrl,
      KEEL_REDIS_PREFIX: redisPrefix,
      KEEL_SECRET_KEY: testSecretKey(),
    };
    edge = startService(['--import', 'tsx', 'edge/src/entry-node.ts'], {
      ...env,
      PORT: String(port),
      DATABASE_URL: databaseUrl,
      KEEL_MIGRATE_ON_START: 'true',
      KEEL_DATA_DIR: join(dir, 'edge'),
      KEEL_RUNNER_BOOTSTRAP_TOKEN: bootstrap,
    });
    await waitFor(
      'the edge',
      async () => {
        if (edge.child.exitCode !== null) throw new Error(`edge exited:\n${edge.output}`);
        return (await fetch(`${base}/readyz`).catch(() => undefined))?.ok ? true : undefined;
      },
      60_000,
      200,
    );
    runner = startService([join(root, 'runners/bin/keel-runner.mjs')], {
      ...env,
      KEEL_URL: base,
      KEEL_RUNNER_TOKEN: bootstrap,
      KEEL_RUNNER_DATA_DIR: join(dir, 'runner'),
      KEEL_RUNNER_WORKSPACES_DIR: join(dir, 'workspaces'),
      KEEL_RUNNER_DRIVER: 'process',
      KEEL_AI_BASE_URL: fake.baseUrl,
      KEEL_AI_MODEL: FAKE_MODEL,
    });
    admin = new BrowserClient((p, init) => fetch(new URL(p, base), init));
    const signup = await admin.request('POST', '/api/auth/signup', {
      email: 'canary@example.com',
      password: 'correct horse battery staple',
      name: 'Canary',
    });
    assert.equal(signup.status, 201);
    await waitFor('the runner', async () => {
      if (runner.child.exitCode !== null) throw new Error(`runner exited:\n${runner.output}`);
      const r = await admin.request('GET', '/api/ai/config', undefined, { bearer: true });
      return r.body.configured ? true : undefined;
    });
    const created = await admin.request('POST', '/api/workspaces', { name: 'canary' }, { bearer: true });
    ws = created.body.id;
    await waitFor('the workspace', async () => {
      const r = await admin.request('GET', `/api/workspaces/${ws}/status`, undefined, { bearer: true });
      return r.body.status === 'running' ? true : undefined;
    });
    for (const [path, content] of [
      ['src/lib.ts', `export const secret = "${C.imported}";\n`],
      ['src/main.ts', `import { secret } from './lib';\n// ${C.file}\nexport const x = secret;\n`],
    ]) {
      const put = await admin.request(
        'PUT',
        `/api/workspaces/${ws}/files?path=${path}`,
        { content },
        { bearer: true },
      );
      assert.equal(put.status, 200);
    }
  });

  after(async () => {
    await Promise.all([runner && stopService(runner), edge && stopService(edge)]);
    await fake?.close();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const call = async (route: string, body: unknown) => {
    const res = await fetch(new URL(route, base), {
      method: 'POST',
      headers: { authorization: `Bearer ${admin.accessToken}`, 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
    if (res.status !== 200) assert.fail(`${route}: ${res.status} ${await res.text()}`);
    return readSse(res);
  };

  test('explain, rewrite and chat (and failures) run with canaries everywhere', async () => {
    fake.enqueue({ tokens: ['This ', 'is ', C.answer, '.'] });
    const explained = await call('/api/ai/explain', {
      workspaceId: ws,
      path: 'src/main.ts',
      question: `What is ${C.question}?`,
    });
    assert.ok(
      explained.some((e) => e.data.includes(C.answer)),
      'the answer reached the client',
    );

    fake.enqueue({ tokens: ['```ts\n', `export const x = "${C.code}";\n`, '```'] });
    const rewritten = await call('/api/ai/rewrite', {
      workspaceId: ws,
      path: 'src/main.ts',
      range: { startLine: 3, endLine: 3 },
      instruction: `Use ${C.instruction}`,
    });
    assert.ok(rewritten.find((e) => e.event === 'result')?.data.includes(C.code));

    fake.enqueue({ tokens: [`Sure: ${C.answer}`] });
    const chatted = await call('/api/ai/chat', {
      workspaceId: ws,
      messages: [
        { role: 'user', content: `First ${C.history}` },
        { role: 'assistant', content: `Then ${C.history}` },
        { role: 'user', content: `Now ${C.chat}` },
      ],
      paths: ['src/lib.ts'],
    });
    assert.equal(JSON.parse(chatted.at(-1)!.data).outcome, 'success');

    fake.enqueue({ status: 500, errorMessage: `engine failed on ${C.upstreamError} ${C.question}` });
    const failed = await call('/api/ai/explain', {
      workspaceId: ws,
      path: 'src/main.ts',
      question: C.question,
    });
    assert.equal(JSON.parse(failed.at(-1)!.data).error.code, 'model_error');

    fake.enqueue({ tokens: [C.answer, C.answer, C.answer], dropAfterTokens: 1 });
    const dropped = await call('/api/ai/chat', {
      workspaceId: ws,
      messages: [{ role: 'user', content: C.chat }],
    });
    assert.equal(JSON.parse(dropped.at(-1)!.data).error.code, 'model_error');

    // The model saw every canary: they were really in play.
    const sent = JSON.stringify(fake.requests.map((r) => r.body));
    for (const canary of [C.file, C.imported, C.question, C.instruction, C.chat, C.history]) {
      assert.ok(sent.includes(canary), `the prompt carried ${canary}`);
    }
  });

  test('no table in PostgreSQL holds any canary, though the calls were recorded', async () => {
    const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
    try {
      await waitFor('five usage rows', async () => {
        const [row] = await sql`select count(*)::int as n from ai_usage`;
        return row!.n >= 5 ? true : undefined;
      });
      const tables = await sql<{ schema: string; name: string }[]>`
        select table_schema as schema, table_name as name from information_schema.tables
        where table_type = 'BASE TABLE' and table_schema not in ('pg_catalog', 'information_schema')`;
      assert.ok(tables.some((t) => t.name === 'audit_events'));
      let dumped = '';
      for (const t of tables) {
        const rows = await sql.unsafe(`select t::text as row from "${t.schema}"."${t.name}" t`);
        dumped += rows.map((r) => r.row).join('\n');
      }
      assert.ok(dumped.includes('ai.rewrite') && dumped.includes(FAKE_MODEL), 'the calls are in the dump');
      for (const canary of Object.values(C))
        assert.ok(!dumped.includes(canary), `${canary} is in the database`);
    } finally {
      await sql.end();
    }
  });

  test('no key or value in Redis holds any canary, but the answer streams, which expire', async () => {
    const redis = new Redis(redisUrl);
    try {
      // The answer streams alone may: holding the answer until the browser has read (or
      // resumed) it is what they are for, so they are exempt, and checked to expire instead.
      const answerStream = new RegExp(`^${redisPrefix}runner\\.[^:]+:ai:[^:]+$`);
      let dumped = '';
      let ours = 0;
      let exempt = 0;
      for (const key of await redis.keys('*')) {
        const type = await redis.type(key);
        if (key.startsWith(redisPrefix)) ours++;
        if (answerStream.test(key) && type === 'stream') {
          const ttl = await redis.ttl(key);
          assert.ok(ttl > 0 && ttl <= AI_STREAM_TTL_SECONDS, `${key} expires (ttl ${ttl})`);
          exempt++;
          continue;
        }
        dumped += `\n${key} ${JSON.stringify(await storedValue(redis, key, type))}`;
      }
      assert.ok(ours > 0 && exempt >= 5, `the calls left keys (${ours}) and answer streams (${exempt})`);
      for (const canary of Object.values(C)) {
        const at = dumped.split('\n').find((line) => line.includes(canary));
        assert.equal(at, undefined, `${canary} is in Redis`);
      }
    } finally {
      redis.disconnect();
    }
  });

  test("no canary is in the edge's or the runner's output or data folders", async () => {
    await Promise.all([stopService(runner), stopService(edge)]);
    assert.ok(runner.output.includes('keel-runner started'), 'the runner output was captured');
    // The data folders, once both have stopped and written what they keep (the workspaces'
    // own folder is not among them: the planted files live there).
    const kept = [...filesUnder(join(dir, 'edge')), ...filesUnder(join(dir, 'runner'))];
    assert.ok(kept.length > 0, 'the services kept files in their data folders');
    for (const file of kept) {
      const text = readFileSync(file).toString('latin1');
      for (const canary of Object.values(C)) assert.ok(!text.includes(canary), `${canary} is in ${file}`);
    }
    for (const [name, service] of [
      ['edge', edge],
      ['runner', runner],
    ] as const) {
      for (const canary of Object.values(C)) {
        assert.ok(
          !service.output.includes(canary),
          `${canary} is in the ${name}'s output:\n${service.output}`,
        );
      }
    }
  });
});

async function storedValue(redis: Redis, key: string, type: string): Promise<unknown> {
  switch (type) {
    case 'string':
      return (await redis.getBuffer(key))?.toString('latin1');
    case 'hash':
      return redis.hgetall(key);
    case 'list':
      return redis.lrange(key, 0, -1);
    case 'set':
      return redis.smembers(key);
    case 'zset':
      return redis.zrange(key, 0, -1, 'WITHSCORES');
    case 'stream':
      return redis.xrange(key, '-', '+');
    default:
      return `(${type})`;
  }
}

function filesUnder(folder: string): string[] {
  return readdirSync(folder, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath, e.name));
}
