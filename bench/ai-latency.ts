import { fork } from 'node:child_process';
import { Agent, type IncomingMessage, request } from 'node:http';
import { createModelClient } from '../runners/src/ai/model-client.ts';
import { BrowserClient, type FetchLike } from '../tests/harness/browser-client.ts';
import { FAKE_MODEL, type FakeReply } from '../tests/harness/fake-openai.ts';
import { waitFor } from '../tests/harness/ports.ts';
import type { Figure } from './figure.ts';
import { round, summarize } from './stats.ts';
import { BENCH_ADMIN, startSystem } from './system.ts';

const N_FIRST = 200;
const N_COLD = 20;
/** A short answer: the first-token figures time its first token. */
const FIRST_REPLY = { tokens: ['Adds', ' two', ' numbers', '.'] };
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
 * Time to first token and per-token cost of an answer streamed through Keel (edge → the
 * runner's call list → runner: file read, context, model call → Redis Stream → edge → SSE)
 * against the same model server called directly with the same client the runner uses, in the
 * same run, in turns. The model server is the fake OpenAI-compatible server (standing in for
 * vLLM) in a process of its own, as a model server is, answering at once, so what remains of
 * the difference is Keel's own cost.
 */
export async function benchAiLatency(): Promise<Figure[]> {
  const fake = await startModelProcess();
  const sys = await startSystem('process', {
    runnerEnv: { KEEL_AI_BASE_URL: fake.baseUrl, KEEL_AI_MODEL: FAKE_MODEL },
    edgeEnv: { KEEL_AI_RATE_LIMIT_PER_MINUTE: '100000', KEEL_LOGIN_RATE_LIMIT_PER_MINUTE: '1000' },
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
    await waitFor('the runner to advertise its model', async () => {
      const res = await sys.admin.request('GET', '/api/ai/config', undefined, { bearer: true });
      return res.body?.configured ? true : undefined;
    });
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

    const direct = async (): Promise<Timing> => {
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
    const body = JSON.stringify({ workspaceId: ws, path: 'add.ts' });
    // The SSE client reads with node:http: fetch() takes its response through web streams,
    // which cost this client more than the model client's one request costs the baseline.
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    const url = new URL('/api/ai/explain', sys.base);
    const keelAs = (token: string): Promise<Timing> => {
      const headers = {
        authorization: `Bearer ${token}`,
        'content-type': 'application/json',
        'content-length': String(Buffer.byteLength(body)),
      };
      const t0 = performance.now();
      return new Promise<Timing>((resolve, reject) => {
        const req = request(url, { method: 'POST', headers, agent }, (res) => {
          if (res.statusCode !== 200) {
            res.resume();
            reject(new Error(`explain answered ${res.statusCode}`));
            return;
          }
          readTimed(res, t0).then(resolve, reject);
        });
        req.on('error', reject);
        req.end(body);
      });
    };
    const keel = () => keelAs(sys.admin.accessToken!);

    await fake.reply(FIRST_REPLY);
    const firstTurns = await inTurns(N_FIRST, direct, keel, (t) => t.firstMs);
    const firstDirect = summarize(firstTurns.direct);
    const firstKeel = summarize(firstTurns.keel);

    const paced = { tokens: Array.from({ length: PACED_TOKENS }, (_, i) => ` t${i}`), tokenDelayMs: 1 };
    const burst = { tokens: Array.from({ length: BURST_TOKENS }, (_, i) => ` t${i}`) };
    const perToken = async (reply: FakeReply, n: number) => {
      await fake.reply(reply);
      const turns = await inTurns(n, direct, keel, (t) => t.spanMs, 3);
      const d = summarize(turns.direct);
      const k = summarize(turns.keel);
      const count = (reply.tokens?.length ?? 1) - 1;
      return { d, k, per: (k.p50 - d.p50) / count };
    };
    const pacedCost = await perToken(paced, N_STREAM);
    const burstCost = await perToken(burst, N_STREAM);

    // A session's first call on a workspace takes the full path (session, row, runner and
    // rate read and decided, then the stream opened); later ones start in one round trip.
    await fake.reply(FIRST_REPLY);
    const cold = { direct: [] as number[], keel: [] as number[] };
    for (let i = 0; i < N_COLD; i++) {
      const token = await signIn(sys.http);
      cold.direct.push((await direct()).firstMs);
      cold.keel.push((await keelAs(token)).firstMs);
    }
    const coldDirect = summarize(cold.direct);
    const coldKeel = summarize(cold.keel);

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
      {
        name: `AI time to first token, a session's first call on a workspace, p50 (n=${N_COLD})`,
        keel: `${round(coldKeel.p50)} ms`,
        baseline: `${round(coldDirect.p50)} ms (model server direct)`,
        ratio: `+${round(coldKeel.p50 - coldDirect.p50)} ms`,
        target: 'none (the full path, for reference)',
        pass: null,
      },
      perTokenFigure('stream paced at ~1 ms/token', PACED_TOKENS, pacedCost),
      perTokenFigure('burst stream', BURST_TOKENS, burstCost),
    ];
  } finally {
    await sys.stop();
    await fake.close();
  }
}

/**
 * `n` timings of each, taken in turns (direct, Keel, direct, …) after `warmup` of each, so that
 * both see the same load on a shared machine.
 */
async function inTurns(
  n: number,
  direct: () => Promise<Timing>,
  keel: () => Promise<Timing>,
  pick: (t: Timing) => number,
  warmup = Math.min(20, n),
): Promise<{ direct: number[]; keel: number[] }> {
  for (let i = 0; i < warmup; i++) {
    await direct();
    await keel();
  }
  const out = { direct: [] as number[], keel: [] as number[] };
  for (let i = 0; i < n; i++) {
    out.direct.push(pick(await direct()));
    out.keel.push(pick(await keel()));
  }
  return out;
}

/** Reads an AI SSE answer to its `done`, noting when the first and the last token event arrived. */
function readTimed(res: IncomingMessage, t0: number): Promise<Timing> {
  return new Promise((resolve, reject) => {
    res.setEncoding('utf8');
    let buffer = '';
    let first = 0;
    let last = 0;
    let tokens = 0;
    let timing: Timing | undefined;
    res.on('data', (text: string) => {
      const now = performance.now();
      buffer += text;
      const frames = buffer.split('\n\n');
      buffer = frames.pop() ?? '';
      for (const frame of frames) {
        if (frame.includes('\nevent: token\n')) {
          tokens++;
          if (first === 0) first = now;
          last = now;
        } else if (frame.includes('\nevent: done\n')) {
          if (!frame.includes('"outcome":"success"')) reject(new Error(`the call failed: ${frame}`));
          timing = { firstMs: first - t0, spanMs: last - first, tokens };
        }
      }
    });
    // The answer ends with the response, which leaves the connection for the next request.
    res.on('end', () => (timing ? resolve(timing) : reject(new Error('the stream ended without done'))));
    res.on('error', reject);
  });
}

/** The fake model server in a process of its own (bench/fake-model-process.ts). */
async function startModelProcess(): Promise<{
  baseUrl: string;
  pid: number;
  reply(reply: FakeReply): Promise<void>;
  close(): Promise<void>;
}> {
  const child = fork(new URL('./fake-model-process.ts', import.meta.url), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const next = () =>
    new Promise<Record<string, unknown>>((resolve, reject) => {
      child.once('message', (m) => resolve(m as Record<string, unknown>));
      child.once('exit', (code) => reject(new Error(`the model server exited (${code})`)));
    });
  const { baseUrl } = (await next()) as { baseUrl: string };
  return {
    baseUrl,
    pid: child.pid!,
    async reply(reply) {
      const answered = next();
      child.send({ reply });
      await answered;
    },
    async close() {
      const exited = new Promise((r) => child.once('exit', r));
      child.disconnect();
      await exited;
    },
  };
}

/** A new session of the benchmark's admin (see bench/system.ts). */
async function signIn(http: FetchLike): Promise<string> {
  const client = new BrowserClient(http);
  const res = await client.request('POST', '/api/auth/login', BENCH_ADMIN);
  if (res.status !== 200 || !client.accessToken) throw new Error(`sign-in answered ${res.status}`);
  return client.accessToken;
}
