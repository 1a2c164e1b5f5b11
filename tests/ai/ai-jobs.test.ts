import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { AiCallJob, AiCallReport } from '@keel/contract/ai-jobs';
import { runnerKeys } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Redis } from 'ioredis';
import { AiJobs } from '../../runners/src/ai/jobs.ts';
import { ConfinedFs } from '../../runners/src/files/confined-fs.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { testInfra } from '../harness/infra.ts';
import { eventually } from './ai-rig.ts';

/**
 * The runner's AI jobs against a real Redis and the fake OpenAI server (standing in for vLLM),
 * without an edge: claims, cancel markers, stopping mid-call and closing streams a crashed
 * process left open.
 */
describe('runner AI jobs (real Redis; fake OpenAI server standing in for vLLM)', () => {
  let redis: Redis;
  let fake: FakeOpenAi;
  let dir: string;
  const keys = runnerKeys(`aijobs${process.pid}:`, 'rnr_aaaaaaaaaaaaaaaaaaaa');
  const reports: AiCallReport[] = [];
  let n = 0;

  const jobs = () =>
    new AiJobs({
      redis,
      keys,
      config: {
        baseUrl: fake.baseUrl,
        model: FAKE_MODEL,
        apiKey: undefined,
        maxConcurrency: 2,
        timeoutMs: 10_000,
        firstTokenTimeoutMs: 5_000,
        maxOutputTokens: 256,
        contextTokens: 4096,
      },
      files: async () => new ConfinedFs(dir),
      touch: () => {},
      report: async (r) => {
        reports.push(r);
        return 'delivered';
      },
      log: () => {},
    });
  const job = (): AiCallJob => ({
    v: CONTRACT_VERSION,
    type: 'ai.explain',
    streamId: `ais_${String(n++)
      .padStart(20, 'a')
      .replace(/\d/g, (d) => 'bcdefghijk'[Number(d)]!)}`,
    workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa',
    path: 'a.ts',
  });
  const entries = async (streamId: string) =>
    (await redis.xrange(keys.aiStream(streamId), '-', '+')).map(([, f]) => ({ t: f[1], d: f[3] }));
  const doneOf = async (streamId: string) =>
    eventually('done', async () => {
      const last = (await entries(streamId)).at(-1);
      return last?.t === 'done' ? JSON.parse(last.d!) : undefined;
    });

  before(async () => {
    redis = new Redis((await testInfra()).redisUrl);
    fake = await startFakeOpenAi();
    dir = await mkdtemp(join(tmpdir(), 'keel-aijobs-'));
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'a.ts'), 'export const a = 1;\n');
  });
  after(async () => {
    redis.disconnect();
    await fake.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('a job delivered twice calls the model once', async () => {
    const ai = jobs();
    const j = job();
    fake.enqueue({ tokens: ['once'] });
    const before = fake.requests.length;
    assert.deepEqual(await ai.start(j), { started: true });
    assert.deepEqual(await ai.start(j), { started: false, duplicate: true });
    assert.equal((await doneOf(j.streamId)).outcome, 'success');
    assert.equal(fake.requests.length, before + 1);
    assert.deepEqual(
      (await redis.smembers(keys.aiActive)).filter((m) => m.startsWith(j.streamId)),
      [],
      'no longer in flight',
    );
    const report = reports.find((r) => r.streamId === j.streamId);
    assert.equal(report?.outcome, 'success');
    assert.equal(report?.completionTokens, 1);
  });

  test('a cancel that arrives before the job ends it before any token; a model request already sent is aborted', async () => {
    const cut = fake.cutOff;
    const ai = jobs();
    const j = job();
    await redis.set(keys.aiCancel(j.streamId), '1', 'EX', 60);
    // The model call starts while the claim (which sees the cancel) is on its way: a slow
    // answer here stands for a model busy with the prompt when the cancel is seen.
    // (The fallback, not a queued reply: a request that was never sent must not leave one behind.)
    const fallback = fake.fallback;
    fake.fallback = { tokens: ['never', ' shown'], firstTokenDelayMs: 300 };
    try {
      await ai.start(j);
      assert.equal((await doneOf(j.streamId)).outcome, 'cancelled');
    } finally {
      fake.fallback = fallback;
    }
    assert.deepEqual(
      (await entries(j.streamId)).filter((e) => e.t === 'token'),
      [],
      'no token reached the stream',
    );
    await eventually('the model connection to close', async () => (fake.inFlight === 0 ? true : undefined));
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  test('stopping the runner mid-call closes the model connection and ends the stream', async () => {
    const cut = fake.cutOff;
    const ai = jobs();
    const j = job();
    fake.enqueue({ tokens: Array.from({ length: 100 }, () => 'x'), tokenDelayMs: 100 });
    await ai.start(j);
    await eventually('the first token', async () =>
      (await entries(j.streamId)).some((e) => e.t === 'token') ? true : undefined,
    );
    await ai.stop();
    const done = await doneOf(j.streamId);
    assert.deepEqual([done.outcome, done.error.code], ['failure', 'runner_restarted']);
    await eventually('the model connection to close', async () => (fake.inFlight === 0 ? true : undefined));
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  test('a call in flight is listed with its kind while it runs', async () => {
    const ai = jobs();
    const j = job();
    fake.enqueue({ tokens: ['slow'], firstTokenDelayMs: 300 });
    await ai.start(j);
    assert.equal(await redis.sismember(keys.aiActive, `${j.streamId} explain`), 1);
    assert.equal((await doneOf(j.streamId)).outcome, 'success');
    await eventually('the call to leave the list', async () =>
      (await redis.sismember(keys.aiActive, `${j.streamId} explain`)) === 0 ? true : undefined,
    );
  });

  test('after a crash, the restarted runner reports and closes the calls the old process left open', async () => {
    const lost = job().streamId;
    const older = job().streamId;
    await redis.xadd(keys.aiStream(lost), '*', 't', 'token', 'd', 'half an ans');
    await redis.sadd(keys.aiActive, `${lost} rewrite`);
    // Listed by an older runner, without its kind: closed, but it cannot be reported.
    await redis.sadd(keys.aiActive, older);
    await jobs().closeOrphans();
    for (const id of [lost, older]) {
      assert.equal((await doneOf(id)).error.code, 'runner_restarted');
      assert.ok((await redis.ttl(keys.aiStream(id))) > 0, 'the stream still expires');
    }
    assert.equal(await redis.exists(keys.aiActive), 0);
    const report = reports.find((r) => r.streamId === lost);
    assert.deepEqual(
      [report?.kind, report?.outcome, report?.errorCode, report?.completionTokens, report?.firstTokenMs],
      ['rewrite', 'failure', 'runner_restarted', 0, null],
    );
    assert.equal(
      reports.some((r) => r.streamId === older),
      false,
    );
  });

  test('a call taken past its deadline never reaches the model; its stream ends with runner_busy', async () => {
    const ai = jobs();
    const j = job();
    const before = fake.requests.length;
    await ai.expired(j);
    const done = await doneOf(j.streamId);
    assert.deepEqual([done.outcome, done.error.code], ['failure', 'runner_busy']);
    assert.equal(fake.requests.length, before);
    // Still a call for usage and audit: reported as failed, nothing sent or answered.
    const report = reports.find((r) => r.streamId === j.streamId);
    assert.deepEqual(
      [report?.kind, report?.outcome, report?.errorCode, report?.promptBytes, report?.model],
      ['explain', 'failure', 'runner_busy', 0, FAKE_MODEL],
    );
    assert.equal(
      report?.answerSha256,
      createHash('sha256').update('').digest('hex'),
      'the hash of no answer',
    );
  });

  test('a runner without a model answers every job with ai_not_configured', async () => {
    const ai = new AiJobs({
      redis,
      keys,
      config: undefined,
      files: async () => new ConfinedFs(dir),
      touch: () => {},
      report: async () => 'delivered',
      log: () => {},
    });
    assert.deepEqual(ai.status, { configured: false, model: null });
    const j = job();
    await ai.start(j);
    assert.equal((await doneOf(j.streamId)).error.code, 'ai_not_configured');
  });
});
