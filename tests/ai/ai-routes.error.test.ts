import assert from 'node:assert/strict';
import { symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { EMPTY_SHA256, unansweredReport } from '@keel/contract/ai-jobs';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { aiUsage, auditEvents, memberships, organizations, users } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { recordAiCallOnce } from '../../edge/src/ai/record.ts';
import {
  AI_META_ENTRY_ID,
  metaOf,
  readStreamRecord,
  recordKey,
  sealedRecord,
  streamKeyOf,
} from '../../edge/src/ai/stream-record.ts';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { FAKE_MODEL } from '../harness/fake-openai.ts';
import { withinOneRateWindow } from '../harness/rate-window.ts';
import { type AiRig, doneOf, eventually, sseEvents, startAiRig, tokensOf } from './ai-rig.ts';

/** Text a model server might echo in its error body; it must never reach a client. */
const ECHO = 'ECHOED-PROMPT-TEXT-7Q';

async function errorOf(res: Response): Promise<{ status: number; code: string; message: string }> {
  const body = (await res.json()) as { error: { code: string; message: string; requestId: string } };
  assert.ok(body.error?.requestId, `an error body: ${JSON.stringify(body)}`);
  return { status: res.status, code: body.error.code, message: body.error.message };
}

describe('AI routes refuse and fail cleanly (process runner; fake OpenAI server standing in for vLLM)', () => {
  let ai: AiRig;
  let ws: string;
  before(async () => {
    ai = await startAiRig();
    ws = ai.workspaceId;
    await ai.writeFile('src/a.ts', 'export const a = 1;\nexport const b = 2;\n');
  });
  after(async () => {
    await ai?.close();
  });

  const failedWith = async (reply: Parameters<AiRig['fake']['enqueue']>[0], code: string) => {
    ai.fake.enqueue(reply);
    const events = await sseEvents(await ai.post('/api/ai/explain', { workspaceId: ws, path: 'src/a.ts' }));
    const done = doneOf(events);
    assert.equal(done.outcome, 'failure');
    assert.equal(done.error?.code, code, JSON.stringify(done));
    const everything = JSON.stringify(events);
    assert.ok(!everything.includes(ECHO), 'the model server’s error text is not passed on');
    assert.ok(!everything.includes('export const a'), 'the prompt is not passed on');
    return { events, done };
  };

  test('a model server error ends the stream with done failure model_error, without its text', async () => {
    const { done } = await failedWith({ status: 500, errorMessage: `bad: ${ECHO}` }, 'model_error');
    assert.match(done.error!.message, /500/);
  });

  test('no first token in time ends with model_timeout, and the call is dropped', async () => {
    const t = Date.now();
    await failedWith({ hang: true }, 'model_timeout');
    assert.ok(Date.now() - t < 4_000);
    await eventually('the hung call to close', async () => (ai.fake.inFlight === 0 ? true : undefined));
  });

  test('a dropped connection mid-answer ends with model_error after the tokens that came', async () => {
    const { events } = await failedWith(
      { tokens: ['one ', 'two ', 'three '], dropAfterTokens: 2 },
      'model_error',
    );
    assert.equal(tokensOf(events), 'one two ');
  });

  test('an error event mid-stream (vLLM engine failure) ends with model_error', async () => {
    await failedWith(
      { tokens: ['a', 'b', 'c'], errorEventAfterTokens: 1, errorMessage: ECHO },
      'model_error',
    );
  });

  test('a rewrite cut off at the token limit gives no result, and done says too_large', async () => {
    ai.fake.enqueue({ tokens: ['```ts\n', 'export const a'], finishReason: 'length' });
    const events = await sseEvents(
      await ai.post('/api/ai/rewrite', { workspaceId: ws, path: 'src/a.ts', instruction: 'Rename a.' }),
    );
    assert.equal(
      events.find((e) => e.event === 'result'),
      undefined,
    );
    assert.equal(doneOf(events).error?.code, 'too_large');
  });

  test('failures the runner finds in the workspace: missing file, range past the end, symlink, binary', async () => {
    const root = await ai.rig.driver.workspaceRoot(ws);
    symlinkSync('/etc/hostname', join(root, 'leak.ts'));
    writeFileSync(join(root, 'blob.bin'), Buffer.from([0xff, 0xfe, 0x00, 0x81]));
    const calls = ai.fake.requests.length;
    const cases: Array<[Record<string, unknown>, string]> = [
      [{ path: 'src/missing.ts' }, 'not_found'],
      [{ path: 'src/a.ts', range: { startLine: 10, endLine: 12 } }, 'invalid_range'],
      [{ path: 'leak.ts' }, 'invalid_path'],
      [{ path: 'src' }, 'invalid_path'],
      [{ path: 'blob.bin' }, 'not_text'],
    ];
    for (const [input, code] of cases) {
      const events = await sseEvents(await ai.post('/api/ai/explain', { workspaceId: ws, ...input }));
      assert.equal(doneOf(events).error?.code, code, JSON.stringify(input));
    }
    assert.equal(ai.fake.requests.length, calls, 'the model was not called');
  });

  test('bad input to each route is a 4xx error body, before any stream opens', async () => {
    const cases: Array<[string, unknown, number, string]> = [
      ['/api/ai/explain', { path: 'a.ts' }, 422, 'validation_failed'],
      ['/api/ai/explain', { workspaceId: ws }, 422, 'validation_failed'],
      [
        '/api/ai/explain',
        { workspaceId: ws, path: 'a.ts', range: { startLine: 5, endLine: 2 } },
        422,
        'validation_failed',
      ],
      [
        '/api/ai/explain',
        { workspaceId: ws, path: 'a.ts', range: { startLine: 0, endLine: 2 } },
        422,
        'validation_failed',
      ],
      [
        '/api/ai/explain',
        { workspaceId: ws, path: 'a.ts', range: { startLine: 1 } },
        422,
        'validation_failed',
      ],
      ['/api/ai/explain', { workspaceId: ws, path: 'a.ts', extra: true }, 422, 'validation_failed'],
      ['/api/ai/explain', { workspaceId: ws, path: '../../etc/passwd' }, 400, 'invalid_path'],
      ['/api/ai/explain', { workspaceId: ws, path: '/etc/passwd' }, 400, 'invalid_path'],
      ['/api/ai/explain', { workspaceId: ws, path: 'src/../../x' }, 400, 'invalid_path'],
      ['/api/ai/explain', { workspaceId: ws, path: 'C:\\x' }, 400, 'invalid_path'],
      [
        '/api/ai/explain',
        { workspaceId: ws, path: 'a.ts', question: 'q'.repeat(8_001) },
        422,
        'validation_failed',
      ],
      ['/api/ai/rewrite', { workspaceId: ws, path: 'a.ts' }, 422, 'validation_failed'],
      ['/api/ai/rewrite', { workspaceId: ws, path: 'a.ts', instruction: '' }, 422, 'validation_failed'],
      ['/api/ai/rewrite', { workspaceId: ws, path: '..', instruction: 'x' }, 400, 'invalid_path'],
      ['/api/ai/chat', { workspaceId: ws, messages: [] }, 422, 'validation_failed'],
      [
        '/api/ai/chat',
        { workspaceId: ws, messages: [{ role: 'system', content: 'x' }] },
        422,
        'validation_failed',
      ],
      [
        '/api/ai/chat',
        { workspaceId: ws, messages: [{ role: 'assistant', content: 'x' }] },
        422,
        'validation_failed',
      ],
      [
        '/api/ai/chat',
        { workspaceId: ws, messages: [{ role: 'user', content: 'x' }], paths: ['../x'] },
        400,
        'invalid_path',
      ],
      ['/api/ai/chat', { messages: [{ role: 'user', content: 'x' }] }, 422, 'validation_failed'],
      ['/api/ai/explain', { workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa', path: 'a.ts' }, 404, 'not_found'],
      ['/api/ai/explain', { workspaceId: 'nonsense', path: 'a.ts' }, 404, 'not_found'],
    ];
    for (const [route, body, status, code] of cases) {
      const e = await errorOf(await ai.post(route, body));
      assert.deepEqual([e.status, e.code], [status, code], `${route} ${JSON.stringify(body)}: ${e.message}`);
    }
    const notJson = await ai.rig.http('/api/ai/explain', {
      method: 'POST',
      headers: { authorization: `Bearer ${ai.rig.admin.accessToken}`, 'content-type': 'application/json' },
      body: '{"workspaceId":',
    });
    assert.deepEqual(Object.values(await errorOf(notJson)).slice(0, 2), [400, 'invalid_json']);
    const wrongType = await ai.rig.http('/api/ai/explain', {
      method: 'POST',
      headers: { authorization: `Bearer ${ai.rig.admin.accessToken}`, 'content-type': 'text/plain' },
      body: JSON.stringify({ workspaceId: ws, path: 'a.ts' }),
    });
    assert.equal(wrongType.status, 415);
  });

  test('unauthenticated calls get 401 on every AI route; viewers may not start calls', async () => {
    const routes: Array<[string, string]> = [
      ['POST', '/api/ai/explain'],
      ['POST', '/api/ai/rewrite'],
      ['POST', '/api/ai/chat'],
      ['GET', '/api/ai/config'],
      ['GET', '/api/ai/streams/ais_aaaaaaaaaaaaaaaaaaaa/events'],
      ['POST', '/api/ai/streams/ais_aaaaaaaaaaaaaaaaaaaa/cancel'],
      ['GET', '/api/admin/usage'],
    ];
    for (const [method, path] of routes) {
      const res = await ai.rig.http(path, {
        method,
        headers: { 'content-type': 'application/json' },
        ...(method === 'POST' ? { body: JSON.stringify({ workspaceId: ws, path: 'src/a.ts' }) } : {}),
      });
      assert.equal((await errorOf(res)).status, 401, `${method} ${path}`);
    }
    const viewer = await ai.rig.member('viewer', 'viewer@example.com');
    const res = await ai.post('/api/ai/explain', { workspaceId: ws, path: 'src/a.ts' }, viewer);
    assert.equal((await errorOf(res)).status, 403);
    const usage = await ai.get('/api/admin/usage', {}, viewer);
    assert.equal(usage.status, 403);
  });

  test("another organization's workspace and streams are 404; so are a colleague's", async () => {
    ai.fake.enqueue({ tokens: ['ok'] });
    const mine = await ai.post('/api/ai/explain', { workspaceId: ws, path: 'src/a.ts' });
    const streamId = mine.headers.get('x-keel-stream-id')!;
    await sseEvents(mine);

    const db = ai.rig.app.services.db;
    const now = new Date();
    await db.insert(organizations).values({ id: 'org_aaaaaaaaaaaaaaaaaaaa', name: 'Other', createdAt: now });
    await db.insert(users).values({
      id: 'usr_aaaaaaaaaaaaaaaaaaaa',
      email: 'other@example.org',
      name: 'Other',
      passwordHash: await hashPassword('correct horse battery staple'),
      createdAt: now,
    });
    await db.insert(memberships).values({
      userId: 'usr_aaaaaaaaaaaaaaaaaaaa',
      organizationId: 'org_aaaaaaaaaaaaaaaaaaaa',
      role: 'super_admin',
      createdAt: now,
    });
    const other = new BrowserClient(ai.rig.http);
    const login = await other.request('POST', '/api/auth/login', {
      email: 'other@example.org',
      password: 'correct horse battery staple',
    });
    assert.equal(login.status, 200);
    const colleague = await ai.rig.member('developer', 'dev@example.com');
    for (const client of [other, colleague]) {
      for (const [route, body] of [
        ['/api/ai/explain', { workspaceId: ws, path: 'src/a.ts' }],
        ['/api/ai/rewrite', { workspaceId: ws, path: 'src/a.ts', instruction: 'x' }],
      ] as const) {
        const res = await ai.post(route, body, client);
        assert.equal((await errorOf(res)).status, 404, route);
      }
      const chat = await ai.post(
        '/api/ai/chat',
        { workspaceId: ws, messages: [{ role: 'user', content: 'x' }] },
        client,
      );
      assert.equal((await errorOf(chat)).status, 404);
      assert.equal((await ai.get(`/api/ai/streams/${streamId}/events`, {}, client)).status, 404);
      assert.equal((await ai.post(`/api/ai/streams/${streamId}/cancel`, {}, client)).status, 404);
    }
    const config = await ai.get(`/api/ai/config?workspaceId=${ws}`, {}, other);
    assert.equal(config.status, 404);
    const usage = (await (await ai.get('/api/admin/usage', {}, other)).json()) as {
      organization: { calls: number };
    };
    assert.equal(usage.organization.calls, 0, "another organization's usage is not shown");
    for (const id of ['ais_bbbbbbbbbbbbbbbbbbbb', 'nonsense']) {
      assert.equal((await ai.get(`/api/ai/streams/${id}/events`)).status, 404);
      assert.equal((await ai.post(`/api/ai/streams/${id}/cancel`, {})).status, 404);
    }
  });

  test('a stopped workspace is 409 workspace_not_running, and nothing is queued', async () => {
    const created = await ai.rig.admin.request(
      'POST',
      '/api/workspaces',
      { name: 'stopped' },
      { bearer: true },
    );
    await ai.rig.waitForStatus(ai.rig.admin, created.body.id, 'running');
    await ai.rig.admin.request('POST', `/api/workspaces/${created.body.id}/stop`, undefined, {
      bearer: true,
    });
    await ai.rig.waitForStatus(ai.rig.admin, created.body.id, 'stopped');
    const calls = ai.fake.requests.length;
    const e = await errorOf(await ai.post('/api/ai/explain', { workspaceId: created.body.id, path: 'a.ts' }));
    assert.deepEqual([e.status, e.code], [409, 'workspace_not_running']);
    assert.equal(ai.fake.requests.length, calls);
  });

  test('past the per-person rate the answer is 429 with Retry-After', async () => {
    const dev = await ai.rig.member('admin', 'busy@example.com');
    const me = await dev.request('GET', '/api/auth/me', undefined, { bearer: true });
    const services = ai.rig.app.services;
    await withinOneRateWindow(20);
    const window = Math.floor(Date.now() / 1000 / 60);
    await services
      .redis()
      .set(
        `${services.config.redisPrefix}rl:ai:${me.body.user.id}:${window}`,
        String(services.config.aiRateLimitPerMinute),
        'EX',
        60,
      );
    const res = await ai.post('/api/ai/explain', { workspaceId: ws, path: 'src/a.ts' }, dev);
    assert.equal((await errorOf(res)).code, 'rate_limited');
    assert.match(res.headers.get('retry-after') ?? '', /^\d+$/);
  });

  test('after a call was let through, a repeat call meets every check again: the rate, then a session ended since', async () => {
    // A repeat call of the same session on the same workspace starts in one Redis round trip
    // (edge/src/ai/warm-start.ts); it must refuse what the first call's full checks would.
    const member = await ai.rig.member('admin', 'repeat@example.com');
    const ask = (token: string) =>
      ai.rig.http('/api/ai/explain', {
        method: 'POST',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workspaceId: ws, path: 'src/a.ts' }),
      });
    const token = member.accessToken!;
    for (let i = 0; i < 2; i++) {
      ai.fake.enqueue({ tokens: ['ok'] });
      assert.equal(doneOf(await sseEvents(await ask(token))).outcome, 'success');
    }
    const me = await member.request('GET', '/api/auth/me', undefined, { bearer: true });
    const services = ai.rig.app.services;
    await withinOneRateWindow(20);
    const window = Math.floor(Date.now() / 1000 / 60);
    const rateKey = `${services.config.redisPrefix}rl:ai:${me.body.user.id}:${window}`;
    await services.redis().set(rateKey, String(services.config.aiRateLimitPerMinute), 'EX', 60);
    const calls = ai.fake.requests.length;
    const limited = await ask(token);
    assert.equal((await errorOf(limited)).code, 'rate_limited');
    assert.match(limited.headers.get('retry-after') ?? '', /^\d+$/);
    await services.redis().del(rateKey);

    assert.equal((await member.request('POST', '/api/auth/logout', undefined, { bearer: true })).status, 204);
    const ended = await errorOf(await ask(token));
    assert.deepEqual([ended.status, ended.code], [401, 'invalid_token']);
    assert.equal(ai.fake.requests.length, calls, 'no model call after the refusals');
  });

  test('usage reports: only with the runner credential, only for its own streams, once per stream', async () => {
    ai.fake.enqueue({ tokens: ['fine'] });
    const res = await ai.post('/api/ai/explain', { workspaceId: ws, path: 'src/a.ts' });
    const streamId = res.headers.get('x-keel-stream-id')!;
    await sseEvents(res);
    const db = ai.rig.app.services.db;
    const rowsFor = async () => (await db.select().from(aiUsage).where(eq(aiUsage.workspaceId, ws))).length;
    const before = await rowsFor();
    const report = {
      v: CONTRACT_VERSION,
      streamId,
      kind: 'explain',
      outcome: 'success',
      model: 'forged',
      promptBytes: 1,
      answerSha256: 'a'.repeat(64),
      answerBytes: 1,
      contextFiles: 0,
      promptTokens: 1_000_000,
      completionTokens: 1_000_000,
      tokensEstimated: false,
      firstTokenMs: 1,
      latencyMs: 1,
    };
    const send = (body: unknown, auth?: string) =>
      ai.rig.http('/api/runners/ai-reports', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...(auth ? { authorization: auth } : {}) },
        body: JSON.stringify(body),
      });
    const runnerAuth = `Bearer ${ai.rig.credential.credential}`;
    assert.equal((await send(report)).status, 401);
    assert.equal((await send(report, `Bearer ${ai.rig.admin.accessToken}`)).status, 401);
    const again = await send(report, runnerAuth);
    assert.deepEqual(
      await again.json(),
      { recorded: false, duplicate: true },
      'the runner already reported it',
    );
    const unknown = await send({ ...report, streamId: 'ais_cccccccccccccccccccc' }, runnerAuth);
    assert.equal(unknown.status, 404);
    const bad = await send({ ...report, promptSha256: 'the prompt text' }, runnerAuth);
    assert.equal(bad.status, 422);
    assert.equal(await rowsFor(), before);

    // A call that ended unanswered (taken too late, or cut off by a runner restart) is
    // reported as the runner reports it, and counted and audited as a failed call.
    const services = ai.rig.app.services;
    const lost = 'ais_dddddddddddddddddddd';
    const record = (await readStreamRecord(services, streamId))!;
    await services
      .redis()
      .set(
        recordKey(services, lost),
        await sealedRecord(services, { ...record, streamId: lost, kind: 'rewrite' }),
        'EX',
        60,
      );
    const unanswered = await send(
      unansweredReport(lost, 'rewrite', FAKE_MODEL, 'runner_restarted'),
      runnerAuth,
    );
    assert.deepEqual(await unanswered.json(), { recorded: true });
    assert.equal(await rowsFor(), before + 1);
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.targetId, lost));
    assert.ok(event, 'an audit event for the unanswered call');
    assert.deepEqual(
      [event.action, event.outcome, (event.metadata as { errorCode?: string }).errorCode],
      ['ai.rewrite', 'failure', 'runner_restarted'],
    );
  });

  test('a call whose runner goes offline ends with runner_offline, and is counted and audited once', async () => {
    const services = ai.rig.app.services;
    await ai.writeFile('gone.ts', 'export const gone = 1;\n');
    const res = await ai.post('/api/ai/explain', { workspaceId: ws, path: 'gone.ts' });
    const real = (await readStreamRecord(services, res.headers.get('x-keel-stream-id')!))!;
    await sseEvents(res);
    // A stream of a runner that has no heartbeat any more, its call still unanswered.
    const gone = 'ais_eeeeeeeeeeeeeeeeeeee';
    const record = { ...real, streamId: gone, runnerId: 'run_gone' };
    await services.redis().set(recordKey(services, gone), await sealedRecord(services, record), 'EX', 60);
    await services
      .redis()
      .xadd(streamKeyOf(services, record), AI_META_ENTRY_ID, 't', 'meta', 'd', metaOf(record));
    const db = services.db;
    const rowsFor = async () => (await db.select().from(aiUsage).where(eq(aiUsage.workspaceId, ws))).length;
    const before = await rowsFor();

    // The relay waits one read (5 s) for the runner, then finds its heartbeat gone.
    const events = await sseEvents(await ai.get(`/api/ai/streams/${gone}/events`));
    const done = doneOf(events);
    assert.deepEqual([done.outcome, done.error?.code], ['failure', 'runner_offline']);
    assert.equal(await rowsFor(), before + 1, 'a usage row for the call');
    const [event] = await db.select().from(auditEvents).where(eq(auditEvents.targetId, gone));
    assert.ok(event, 'an audit event for the call');
    const metadata = event.metadata as Record<string, unknown>;
    assert.deepEqual(
      [event.action, event.outcome, metadata.errorCode, metadata.answerSha256, metadata.answerBytes],
      ['ai.explain', 'failure', 'runner_offline', EMPTY_SHA256, 0],
    );

    // Read again from its `done`, the stream is over (204); a report that comes later counts
    // nothing more.
    const after = await ai.get(`/api/ai/streams/${gone}/events`, { 'last-event-id': events.at(-1)!.id! });
    assert.equal(after.status, 204);
    const late = unansweredReport(gone, 'explain', FAKE_MODEL, 'runner_restarted');
    assert.equal(await recordAiCallOnce(services, record, late), false);
    assert.equal(await rowsFor(), before + 1);
  });
});

describe('AI without a model configured (process runner)', () => {
  let ai: AiRig;
  before(async () => {
    ai = await startAiRig({ ai: false });
    await ai.writeFile('a.ts', 'x\n');
  });
  after(async () => {
    await ai?.close();
  });

  test('every call is 503 ai_not_configured saying how to configure it, and nothing is queued', async () => {
    const services = ai.rig.app.services;
    for (const [route, body] of [
      ['/api/ai/explain', { workspaceId: ai.workspaceId, path: 'a.ts' }],
      ['/api/ai/rewrite', { workspaceId: ai.workspaceId, path: 'a.ts', instruction: 'x' }],
      ['/api/ai/chat', { workspaceId: ai.workspaceId, messages: [{ role: 'user', content: 'x' }] }],
    ] as const) {
      const e = await errorOf(await ai.post(route, body));
      assert.deepEqual([e.status, e.code], [503, 'ai_not_configured'], route);
      assert.match(e.message, /KEEL_AI_BASE_URL/);
      assert.match(e.message, /KEEL_AI_MODEL/);
    }
    const streams = await services.redis().keys(`${services.config.redisPrefix}ai:*`);
    assert.deepEqual(streams, [], 'no stream was opened');
    const queued = await services.redis().keys(`${services.config.redisPrefix}runner.*:ai:*`);
    assert.deepEqual(queued, []);
    assert.equal(ai.fake.requests.length, 0);
  });

  test('GET /api/ai/config says so, with the hint', async () => {
    const res = await ai.get('/api/ai/config');
    const body = (await res.json()) as { configured: boolean; model: string | null; hint: string };
    assert.equal(body.configured, false);
    assert.equal(body.model, null);
    assert.match(body.hint, /KEEL_AI_BASE_URL/);
  });
});
