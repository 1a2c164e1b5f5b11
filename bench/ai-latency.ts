import { createModelClient } from '../runners/src/ai/model-client.ts';
import { FAKE_MODEL, type FakeReply, startFakeOpenAi } from '../tests/harness/fake-openai.ts';
import type { Figure } from './run.ts';
import { round, summarize } from './stats.ts';
import { startSystem } from './system.ts';

const N_FIRST = 200;
const N_STREAM = 15;
const PACED_TOKENS = 300;
const BURST_TOKENS = 2_000;

interface Timing {
  /** From the request to the first token. */
  firstMs: number;
  /** From the first token to the end of the answer. */
  spanMs: number;
  tokens: number;
}

/**
 * Time to first token and per-token cost of an answer streamed through Keel (edge → BullMQ →
 * runner: file read, context, model call → Redis Stream → edge → SSE) against the same model
 * server called directly with the same client the runner uses, in the same run. The model server
 * is the fake OpenAI-compatible server (standing in for vLLM) in this process, answering at once,
 * so what remains of the difference is Keel's own cost.
 */
export async function benchAiLatency(): Promise<Figure[]> {
  const fake = await startFakeOpenAi();
  const sys = await startSystem('process', {
    runnerEnv: { KEEL_AI_BASE_URL: fake.baseUrl, KEEL_AI_MODEL: FAKE_MODEL },
    edgeEnv: { KEEL_AI_RATE_LIMIT_PER_MINUTE: '100000' },
  });
  try {
    const ws = await sys.workspace('bench-ai');
    const file = 'export function add(a: number, b: number) {\n  return a + b;\n}\n';
    await sys.admin.request(
      'PUT',
      `/api/workspaces/${ws}/files?path=add.ts`,
      { content: file },
      { bearer: true },
    );
    await waitForAi(sys.admin.accessToken!, sys.http);
    const client = createModelClient({
      baseUrl: fake.baseUrl,
      model: FAKE_MODEL,
      apiKey: undefined,
      maxConcurrency: 4,
      timeoutMs: 60_000,
      firstTokenTimeoutMs: 30_000,
      maxOutputTokens: 4096,
      contextTokens: 32_768,
    });
    // About the prompt the runner builds for this file, so both sides send the same amount.
    const messages = [
      { role: 'system' as const, content: 'You explain code to a developer in their editor. '.repeat(4) },
      { role: 'user' as const, content: `add.ts (3 lines)\n\`\`\`ts\n${file}\`\`\`\n\nExplain add.ts.` },
    ];

    const direct = async (reply: FakeReply): Promise<Timing> => {
      fake.enqueue(reply);
      const t0 = performance.now();
      let first = 0;
      let last = 0;
      let tokens = 0;
      for await (const e of client.streamChat({ messages })) {
        if (e.type !== 'token') continue;
        last = performance.now();
        if (tokens++ === 0) first = last;
      }
      return { firstMs: first - t0, spanMs: last - first, tokens };
    };
    const headers = {
      authorization: `Bearer ${sys.admin.accessToken}`,
      'content-type': 'application/json',
    };
    const body = JSON.stringify({ workspaceId: ws, path: 'add.ts' });
    const keel = async (reply: FakeReply): Promise<Timing> => {
      fake.enqueue(reply);
      const t0 = performance.now();
      const res = await sys.http('/api/ai/explain', { method: 'POST', headers, body });
      if (res.status !== 200) throw new Error(`explain answered ${res.status}: ${await res.text()}`);
      return readTimed(res, t0);
    };

    const first = { tokens: ['Adds', ' two', ' numbers', '.'] };
    const firstDirect = summarize(
      await timings(
        N_FIRST,
        () => direct(first),
        (t) => t.firstMs,
      ),
    );
    const firstKeel = summarize(
      await timings(
        N_FIRST,
        () => keel(first),
        (t) => t.firstMs,
      ),
    );

    const paced = { tokens: Array.from({ length: PACED_TOKENS }, (_, i) => ` t${i}`), tokenDelayMs: 1 };
    const burst = { tokens: Array.from({ length: BURST_TOKENS }, (_, i) => ` t${i}`) };
    const perToken = async (reply: FakeReply, n: number) => {
      const d = summarize(
        await timings(
          n,
          () => direct(reply),
          (t) => t.spanMs,
          3,
        ),
      );
      const k = summarize(
        await timings(
          n,
          () => keel(reply),
          (t) => t.spanMs,
          3,
        ),
      );
      const count = (reply.tokens?.length ?? 1) - 1;
      return { d, k, per: (k.p50 - d.p50) / count };
    };
    const pacedCost = await perToken(paced, N_STREAM);
    const burstCost = await perToken(burst, N_STREAM);

    const added = firstKeel.p50 - firstDirect.p50;
    const perTokenFigure = (
      label: string,
      tokens: number,
      r: Awaited<ReturnType<typeof perToken>>,
    ): Figure => ({
      name: `AI ${label}: added time per token, ${tokens} tokens (n=${N_STREAM})`,
      keel: `${round(r.k.p50)} ms first→last token`,
      baseline: `${round(r.d.p50)} ms (model server direct)`,
      ratio: `${r.per >= 0 ? '+' : ''}${round(r.per, 3)} ms/token`,
      target: '≤ 0.5 ms',
      pass: r.per <= 0.5,
    });
    return [
      {
        name: `AI time to first token, p50 (n=${N_FIRST})`,
        keel: `${round(firstKeel.p50)} ms (p90 ${round(firstKeel.p90)})`,
        baseline: `${round(firstDirect.p50)} ms (model server direct)`,
        ratio: `+${round(added)} ms`,
        target: '≤ 3 ms added',
        pass: added <= 3,
      },
      perTokenFigure('stream paced at ~1 ms/token', PACED_TOKENS, pacedCost),
      perTokenFigure('burst stream', BURST_TOKENS, burstCost),
    ];
  } finally {
    await sys.stop();
    await fake.close();
  }
}

async function timings(
  n: number,
  run: () => Promise<Timing>,
  pick: (t: Timing) => number,
  warmup = Math.min(20, n),
): Promise<number[]> {
  for (let i = 0; i < warmup; i++) await run();
  const out: number[] = [];
  for (let i = 0; i < n; i++) out.push(pick(await run()));
  return out;
}

/** Reads an AI SSE answer to its `done`, noting when the first and the last token event arrived. */
async function readTimed(res: Response, t0: number): Promise<Timing> {
  const reader = res.body!.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  let first = 0;
  let last = 0;
  let tokens = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    const now = performance.now();
    buffer += decoder.decode(value, { stream: true });
    const frames = buffer.split('\n\n');
    buffer = frames.pop() ?? '';
    for (const frame of frames) {
      if (frame.includes('\nevent: token\n')) {
        tokens++;
        if (first === 0) first = now;
        last = now;
      } else if (frame.includes('\nevent: done\n')) {
        if (!frame.includes('"outcome":"success"')) throw new Error(`the call failed: ${frame}`);
        await reader.cancel();
        return { firstMs: first - t0, spanMs: last - first, tokens };
      }
    }
  }
  throw new Error('the stream ended without done');
}

async function waitForAi(token: string, http: (p: string, init?: RequestInit) => Promise<Response>) {
  for (let i = 0; i < 100; i++) {
    const res = await http('/api/ai/config', { headers: { authorization: `Bearer ${token}` } });
    if (((await res.json()) as { configured: boolean }).configured) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error('the runner never advertised its model');
}
