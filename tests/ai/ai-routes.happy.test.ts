import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import { aiUsage, auditEvents } from '@keel/drizzle/schema';
import { like } from 'drizzle-orm';
import { applyToText, parsePatch } from '../../runners/src/patch/index.ts';
import { FAKE_MODEL } from '../harness/fake-openai.ts';
import { readSse } from '../harness/runner-rig.ts';
import { type AiRig, doneOf, eventually, type SseEvent, sseEvents, startAiRig, tokensOf } from './ai-rig.ts';

const sha256 = (s: string) => createHash('sha256').update(s).digest('hex');

const UTIL = 'export function add(a: number, b: number): number {\n  return a + b;\n}\n';
const MAIN = "import { add } from './util';\n\nexport const total = add(1, 2);\nconsole.log(total);\n";
const CALC = [
  'export function area(w: number, h: number) {',
  '  const a = w * h;',
  '  return a;',
  '}',
  '',
  'export const unit = "m2";',
].join('\n');

function assertIdsIncrease(events: SseEvent[]) {
  const ids = events.map((e) => e.id ?? '');
  for (const id of ids) assert.match(id, /^\d+-\d+$/);
  const key = (id: string) => id.split('-').map(BigInt) as [bigint, bigint];
  for (let i = 1; i < ids.length; i++) {
    const [a, b] = [key(ids[i - 1]!), key(ids[i]!)];
    assert.ok(a[0] < b[0] || (a[0] === b[0] && a[1] < b[1]), `ids out of order: ${ids.join(' ')}`);
  }
}

describe('AI routes end to end (process runner; fake OpenAI server standing in for vLLM)', () => {
  let ai: AiRig;
  const answers = new Map<string, { answer: string; diff?: string }>();

  before(async () => {
    ai = await startAiRig();
    await ai.writeFile('src/util.ts', UTIL);
    await ai.writeFile('src/main.ts', MAIN);
    await ai.writeFile('src/calc.ts', CALC);
  });
  after(async () => {
    await ai?.close();
  });

  test('GET /api/ai/config says a model is configured, and which', async () => {
    const res = await ai.get('/api/ai/config');
    assert.equal(res.status, 200);
    assert.deepEqual(await res.json(), { configured: true, model: FAKE_MODEL, hint: null });
    const one = await ai.get(`/api/ai/config?workspaceId=${ai.workspaceId}`);
    assert.equal(((await one.json()) as { configured: boolean }).configured, true);
  });

  test('explain streams meta, the tokens in order and done with usage; the prompt carries the file and its imports', async () => {
    const tokens = ['`total` ', 'is ', 'the ', 'sum ', 'of ', '1 ', 'and ', '2', '.'];
    ai.fake.enqueue({ tokens, tokenDelayMs: 5 });
    const res = await ai.post('/api/ai/explain', {
      workspaceId: ai.workspaceId,
      path: './src//main.ts',
      range: { startLine: 3, endLine: 3 },
      question: 'Where does add come from?',
    });
    const streamId = res.headers.get('x-keel-stream-id') ?? '';
    assert.match(streamId, /^ais_[a-z2-7]{20}$/);
    // The stream is written to the socket directly on Node: the headers every response has are there too.
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    assert.equal(res.headers.get('cache-control'), 'no-store');
    assert.ok(res.headers.get('x-request-id'));
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    assert.equal(res.headers.get('x-content-type-options'), 'nosniff');
    const events = await sseEvents(res);
    assertIdsIncrease(events);
    assert.equal(events[0]?.event, 'meta');
    assert.deepEqual(JSON.parse(events[0]!.data), { streamId, kind: 'explain', model: FAKE_MODEL });
    // Tokens that arrive while the previous write to Redis is in flight travel together.
    const pieces = events.filter((e) => e.event === 'token').map((e) => e.data);
    assert.equal(pieces.join(''), tokens.join(''), 'every token, in order');
    assert.ok(pieces.length >= 2 && pieces.length <= tokens.length);
    const done = doneOf(events);
    assert.equal(done.outcome, 'success');
    assert.equal(done.usage?.completionTokens, tokens.length);
    assert.ok((done.usage?.promptTokens ?? 0) > 0);
    answers.set(streamId, { answer: tokens.join('') });

    const request = ai.fake.requests.at(-1)!;
    assert.equal(request.body?.model, FAKE_MODEL);
    assert.equal(request.body?.stream, true);
    const prompt = request.body!.messages!.map((m) => m.content).join('\n');
    assert.ok(prompt.includes('export const total = add(1, 2);'), 'the file');
    assert.ok(prompt.includes('return a + b;'), 'the imported file');
    assert.ok(prompt.includes('Where does add come from?'), 'the question');
    assert.ok(prompt.includes('line 3 of src/main.ts'), 'the selection');
  });

  test('rewrite of a selection ends with a result whose diff applies to the file and whose baseSha256 matches it', async () => {
    const base = await ai.readFile('src/calc.ts');
    const code = '```ts\n  return w * h;\n```';
    // Split mid-line, as a model's tokens are.
    ai.fake.enqueue({ tokens: code.match(/.{1,4}/gs)! });
    const res = await ai.post('/api/ai/rewrite', {
      workspaceId: ai.workspaceId,
      path: 'src/calc.ts',
      range: { startLine: 2, endLine: 3 },
      instruction: 'Inline the variable.',
    });
    const streamId = res.headers.get('x-keel-stream-id')!;
    const events = await sseEvents(res);
    assertIdsIncrease(events);
    assert.deepEqual(
      events.map((e) => e.event).filter((e, i, all) => e !== 'token' || all[i - 1] !== 'token'),
      ['meta', 'token', 'result', 'done'],
    );
    assert.equal(tokensOf(events), code);
    const result = JSON.parse(events.find((e) => e.event === 'result')!.data);
    assert.equal(result.path, 'src/calc.ts');
    assert.equal(result.baseSha256, base.sha256);
    assert.match(result.diff, /^diff --git a\/src\/calc\.ts b\/src\/calc\.ts\n/);
    const [file] = parsePatch(result.diff).files;
    assert.equal(
      applyToText(base.content, file!),
      CALC.replace('  const a = w * h;\n  return a;', '  return w * h;'),
    );
    assert.equal(doneOf(events).outcome, 'success');
    answers.set(streamId, { answer: code, diff: result.diff });

    const prompt = ai.fake.requests
      .at(-1)!
      .body!.messages!.map((m) => m.content)
      .join('\n');
    assert.ok(prompt.includes('Inline the variable.'));
    assert.ok(prompt.includes('lines 2-3 of src/calc.ts'));
  });

  test('rewrite of a whole file keeps its final newline, and an unchanged answer gives an empty diff', async () => {
    ai.fake.enqueue({ tokens: ['```ts\n', UTIL.replace('a + b', 'b + a'), '```\n'] });
    const res = await ai.post('/api/ai/rewrite', {
      workspaceId: ai.workspaceId,
      path: 'src/util.ts',
      instruction: 'Swap the operands.',
    });
    const events = await sseEvents(res);
    const result = JSON.parse(events.find((e) => e.event === 'result')!.data);
    assert.equal(result.baseSha256, sha256(UTIL));
    assert.equal(applyToText(UTIL, parsePatch(result.diff).files[0]!), UTIL.replace('a + b', 'b + a'));

    ai.fake.enqueue({ tokens: ['```ts\n', UTIL, '```'] });
    const same = await sseEvents(
      await ai.post('/api/ai/rewrite', {
        workspaceId: ai.workspaceId,
        path: 'src/util.ts',
        instruction: 'Nothing.',
      }),
    );
    assert.equal(JSON.parse(same.find((e) => e.event === 'result')!.data).diff, '');
  });

  test('chat sends the history and the named files, and streams the answer', async () => {
    const tokens = ['It ', 'adds ', 'two ', 'numbers.'];
    ai.fake.enqueue({ tokens });
    const res = await ai.post('/api/ai/chat', {
      workspaceId: ai.workspaceId,
      messages: [
        { role: 'user', content: 'Hello' },
        { role: 'assistant', content: 'Hi! What do you need?' },
        { role: 'user', content: 'What does add do?' },
      ],
      paths: ['src/util.ts'],
    });
    const streamId = res.headers.get('x-keel-stream-id')!;
    const events = await sseEvents(res);
    assert.equal(JSON.parse(events[0]!.data).kind, 'chat');
    assert.equal(tokensOf(events), tokens.join(''));
    assert.equal(doneOf(events).outcome, 'success');
    answers.set(streamId, { answer: tokens.join('') });
    const messages = ai.fake.requests.at(-1)!.body!.messages!;
    assert.equal(messages[0]?.role, 'system');
    assert.ok(messages[0]?.content.includes('return a + b;'), 'the named file is in the system message');
    assert.deepEqual(
      messages.slice(1).map((m) => [m.role, m.content]),
      [
        ['user', 'Hello'],
        ['assistant', 'Hi! What do you need?'],
        ['user', 'What does add do?'],
      ],
    );
  });

  test('a client that reconnects with Last-Event-ID gets exactly the events it missed', async () => {
    const tokens = Array.from({ length: 12 }, (_, i) => `t${i} `);
    ai.fake.enqueue({ tokens, tokenDelayMs: 20 });
    const res = await ai.post('/api/ai/explain', { workspaceId: ai.workspaceId, path: 'src/util.ts' });
    const streamId = res.headers.get('x-keel-stream-id')!;
    // The connection drops after meta and three tokens.
    const first = await readSse(res, 4);
    assert.deepEqual(
      first.map((e) => e.event),
      ['meta', 'token', 'token', 'token'],
    );
    const resumed = await sseEvents(
      await ai.get(`/api/ai/streams/${streamId}/events`, { 'last-event-id': first.at(-1)!.id! }),
    );
    const whole = await sseEvents(await ai.get(`/api/ai/streams/${streamId}/events`));
    assert.deepEqual([...first, ...resumed], whole, 'nothing lost, nothing repeated');
    assert.equal(tokensOf(whole), tokens.join(''));
    assert.equal(doneOf(whole).outcome, 'success');
    // The query form, for clients that cannot set headers (EventSource on a fresh page).
    const viaQuery = await sseEvents(
      await ai.get(`/api/ai/streams/${streamId}/events?lastEventId=${whole.at(-2)!.id}`),
    );
    assert.deepEqual(viaQuery, [whole.at(-1)]);
    const finished = await ai.get(`/api/ai/streams/${streamId}/events`, {
      'last-event-id': whole.at(-1)!.id!,
    });
    assert.equal(finished.status, 204, 'after done there is nothing to resume');
    answers.set(streamId, { answer: tokens.join('') });
  });

  test('cancel stops the model call: the model server sees its connection closed, and done says cancelled', async () => {
    const cut = ai.fake.cutOff;
    const tokens = Array.from({ length: 100 }, (_, i) => `w${i} `);
    ai.fake.enqueue({ tokens, tokenDelayMs: 100 });
    const before = ai.fake.requests.length;
    const res = await ai.post('/api/ai/explain', { workspaceId: ai.workspaceId, path: 'src/main.ts' });
    const streamId = res.headers.get('x-keel-stream-id')!;
    const reading = sseEvents(res);
    await eventually('the model call', async () => (ai.fake.inFlight === 1 ? true : undefined));
    const cancelled = await ai.post(`/api/ai/streams/${streamId}/cancel`, {});
    assert.equal(cancelled.status, 202);
    assert.deepEqual(await cancelled.json(), { streamId, cancelling: true });
    const t = Date.now();
    await eventually('the model connection to close', async () =>
      ai.fake.inFlight === 0 ? true : undefined,
    );
    assert.equal(ai.fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
    assert.ok(Date.now() - t < 2_000, 'closed long before the answer would have ended (10 s)');
    const events = await reading;
    assert.equal(doneOf(events).outcome, 'cancelled');
    assert.ok(events.filter((e) => e.event === 'token').length < tokens.length);
    assert.equal(ai.fake.requests.length, before + 1, 'the call was not repeated');
  });

  test('every call left an audit event and a usage row with hashes, sizes and counts only', async () => {
    const db = ai.rig.app.services.db;
    const audits = await eventually('audit events', async () => {
      const rows = await db.select().from(auditEvents).where(like(auditEvents.action, 'ai.%'));
      return rows.length >= 7 ? rows : undefined;
    });
    const usage = await db.select().from(aiUsage);
    assert.equal(usage.length, audits.length, 'one usage row per audited call');
    for (const [streamId, { answer, diff }] of answers) {
      const row = audits.find((a) => a.targetId === streamId);
      assert.ok(row, `an audit event for ${streamId}`);
      const m = row.metadata as Record<string, unknown>;
      assert.equal(row.outcome, 'success');
      assert.equal(row.workspaceId, ai.workspaceId);
      assert.equal(m.answerSha256, sha256(answer));
      assert.equal(m.answerBytes, Buffer.byteLength(answer));
      assert.match(String(m.promptSha256), /^[0-9a-f]{64}$/);
      assert.ok(Number(m.promptBytes) > 0);
      assert.equal(m.model, FAKE_MODEL);
      if (diff !== undefined) {
        assert.equal(m.diffSha256, sha256(diff));
        assert.match(String(m.baseSha256), /^[0-9a-f]{64}$/);
      }
      for (const v of Object.values(m)) {
        assert.ok(typeof v !== 'string' || v.length <= 80, `no text in audit metadata: ${v}`);
      }
    }
    const cancelled = usage.filter((u) => u.outcome === 'cancelled');
    assert.equal(cancelled.length, 1);
    const explained = usage.filter((u) => u.kind === 'explain' && u.outcome === 'success');
    assert.ok(explained.length >= 2);
    for (const u of usage) {
      assert.equal(u.model, FAKE_MODEL);
      assert.ok(u.latencyMs >= 0);
    }
    const first = usage.find((u) => u.kind === 'explain' && u.completionTokens === 9);
    assert.ok(first && first.promptTokens > 0 && first.firstTokenMs !== null);

    const report = await ai.get('/api/admin/usage');
    assert.equal(report.status, 200);
    const body = (await report.json()) as {
      organization: { calls: number; completionTokens: number; cancelled: number };
      users: Array<{ email: string; calls: number }>;
      kinds: Array<{ kind: string; calls: number }>;
    };
    assert.equal(body.organization.calls, usage.length);
    assert.equal(body.organization.cancelled, 1);
    assert.equal(
      body.organization.completionTokens,
      usage.reduce((n, u) => n + u.completionTokens, 0),
    );
    assert.deepEqual(
      body.users.map((u) => [u.email, u.calls]),
      [['admin@example.com', usage.length]],
    );
    assert.equal(body.kinds.find((k) => k.kind === 'chat')?.calls, 1);
  });
});
