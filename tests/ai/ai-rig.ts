import assert from 'node:assert/strict';
import type { BrowserClient } from '../harness/browser-client.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';

export type SseEvent = { id?: string; event: string; data: string };

export interface AiRig {
  rig: Rig;
  /** The model server the runner talks to: a fake OpenAI-compatible server standing in for vLLM. */
  fake: FakeOpenAi;
  /** A running workspace of the admin's. */
  workspaceId: string;
  writeFile(path: string, content: string, workspaceId?: string): Promise<string>;
  readFile(path: string, workspaceId?: string): Promise<{ content: string; sha256: string }>;
  /** POST to an AI route as `client` (the admin by default), answer unread. */
  post(route: string, body: unknown, client?: BrowserClient): Promise<Response>;
  get(route: string, headers?: Record<string, string>, client?: BrowserClient): Promise<Response>;
  close(): Promise<void>;
}

export interface StartAiRigOptions {
  /** false: a runner without any KEEL_AI_* settings. */
  ai?: boolean;
  runnerEnv?: Record<string, string>;
}

/**
 * The real edge and a real runner (process driver) with AI pointed at the fake model server,
 * and one running workspace.
 */
export async function startAiRig(options: StartAiRigOptions = {}): Promise<AiRig> {
  const fake = await startFakeOpenAi();
  const rig = await startRig('process', {
    runnerEnv: {
      ...(options.ai === false
        ? {}
        : {
            KEEL_AI_BASE_URL: fake.baseUrl,
            KEEL_AI_MODEL: FAKE_MODEL,
            KEEL_AI_TIMEOUT_MS: '4000',
            KEEL_AI_FIRST_TOKEN_TIMEOUT_MS: '1500',
          }),
      ...options.runnerEnv,
    },
  });
  const created = await rig.admin.request('POST', '/api/workspaces', { name: 'ai' }, { bearer: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  const workspaceId = created.body.id as string;
  await rig.waitForStatus(rig.admin, workspaceId, 'running');
  const auth = (client: BrowserClient) => ({ authorization: `Bearer ${client.accessToken}` });
  return {
    rig,
    fake,
    workspaceId,
    async writeFile(path, content, id = workspaceId) {
      const res = await rig.admin.request(
        'PUT',
        `/api/workspaces/${id}/files?path=${encodeURIComponent(path)}`,
        { content },
        { bearer: true },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.sha256 as string;
    },
    async readFile(path, id = workspaceId) {
      const res = await rig.admin.request(
        'GET',
        `/api/workspaces/${id}/files?path=${encodeURIComponent(path)}`,
        undefined,
        { bearer: true },
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body;
    },
    post(route, body, client = rig.admin) {
      return rig.http(route, {
        method: 'POST',
        headers: { ...auth(client), 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    },
    get(route, headers = {}, client = rig.admin) {
      return rig.http(route, { headers: { ...auth(client), ...headers } });
    },
    async close() {
      await rig.close();
      await fake.close();
    },
  };
}

/** The whole SSE answer, after checking it is one. */
export async function sseEvents(res: Response): Promise<SseEvent[]> {
  assert.equal(res.status, 200, res.status === 200 ? '' : await res.text());
  assert.match(res.headers.get('content-type') ?? '', /^text\/event-stream/);
  return readSse(res);
}

export const tokensOf = (events: SseEvent[]) =>
  events
    .filter((e) => e.event === 'token')
    .map((e) => e.data)
    .join('');

export function doneOf(events: SseEvent[]): {
  outcome: string;
  usage?: { promptTokens: number; completionTokens: number };
  error?: { code: string; message: string };
} {
  const last = events.at(-1);
  assert.equal(last?.event, 'done', `the last event should be done: ${JSON.stringify(events)}`);
  assert.equal(events.filter((e) => e.event === 'done').length, 1);
  return JSON.parse(last.data);
}

/** Polls until `fn` returns a value. */
export async function eventually<T>(what: string, fn: () => Promise<T | undefined>, ms = 5_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await fn();
    if (v !== undefined) return v;
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
