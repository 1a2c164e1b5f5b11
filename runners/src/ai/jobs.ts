import { type AiDone, AiKind, type LineRange, type RewriteResult } from '@keel/contract/ai';
import {
  type AiCallJob,
  type AiCallReport,
  type AiFailureCode,
  unansweredReport,
} from '@keel/contract/ai-jobs';
import type { runnerKeys } from '@keel/contract/keys';
import { AI_STREAM_TTL_SECONDS } from '@keel/contract/keys';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { Redis } from 'ioredis';
import { ConfinedFsError } from '../files/confined-fs.ts';
import type { WorkspaceFiles } from '../files/workspace-files.ts';
import { recorder } from '../metrics/recorder.ts';
import { sha256 } from '../sha256.ts';
import { AnswerStream } from './answer-stream.ts';
import type { AiConfig } from './config.ts';
import { confinedReader, decodeText, MAX_TARGET_BYTES, NotText } from './confined-reader.ts';
import { type BuiltContext, buildContext, buildFilesContext, splitLines } from './context-builder.ts';
import { AiCancelled, AiTimeout, AiUnavailable, AiUpstreamError } from './errors.ts';
import { type ChatMessage, createModelClient, type ModelClient } from './model-client.ts';
import { chatPrompt, explainPrompt, extractCode, RewriteTargetTooLarge, rewritePrompt } from './prompts.ts';
import { REPORT_RETRY_DELAYS_MS, type ReportVerdict } from './report.ts';
import { type RewriteTarget, rewriteDiff } from './rewrite.ts';
import { estimateTokens } from './tokens.ts';
import { normalizeWorkspacePath } from './workspace-path.ts';

/** What the runner lends the AI jobs: its Redis, its keys, and its confined view of workspaces. */
export interface AiJobsDeps {
  redis: Redis;
  keys: ReturnType<typeof runnerKeys>;
  config: AiConfig | undefined;
  files(workspaceId: string): Promise<WorkspaceFiles>;
  touch(workspaceId: string): void;
  report(report: AiCallReport): Promise<ReportVerdict>;
  log(level: 'info' | 'warn' | 'error', msg: string, fields?: Record<string, unknown>): void;
  /** Tests and benchmarks may bring their own; by default one is made from `config`. */
  client?: ModelClient;
}

/** Room for the fixed prompt text (instructions, block headers, fences) beyond what is counted. */
const PROMPT_OVERHEAD_TOKENS = 256;

/**
 * One round trip at the start of a call: claim it (a job BullMQ delivers twice runs once), list
 * it as in flight (so a restart can close its stream), and see whether it was cancelled before
 * it started. -1: already claimed; 1: cancelled; 0: go.
 */
const CLAIM = `
if not redis.call('SET', KEYS[1], '1', 'EX', ARGV[1], 'NX') then return -1 end
redis.call('SADD', KEYS[2], ARGV[2])
return redis.call('EXISTS', KEYS[3])`;

interface ClaimCommand {
  keelAiClaim(
    claimed: string,
    active: string,
    cancel: string,
    ttl: number,
    /** The call's entry in the in-flight set (see `inFlight`). */
    member: string,
  ): Promise<number>;
}

/** A refusal of the request itself, with one of the contract's codes and fixed text. */
class AiJobFailure extends Error {
  constructor(
    readonly code: AiFailureCode,
    message: string,
  ) {
    super(message);
  }
}

interface Prepared {
  messages: ChatMessage[];
  contextFiles: number;
  rewrite?: RewriteTarget & { baseSha256: string };
}

interface Call {
  abort: AbortController;
  finished: Promise<void>;
}

const fail = (code: AiFailureCode, message: string): AiDone => ({
  outcome: 'failure',
  error: { code, message },
});
const kindOf = (job: AiCallJob): AiKind =>
  job.type === 'ai.explain' ? 'explain' : job.type === 'ai.rewrite' ? 'rewrite' : 'chat';
/**
 * A call's entry in the in-flight set: its stream and its kind, so that after a crash the
 * restarted runner can report each call it closes (a report names the kind).
 */
const inFlight = (job: AiCallJob) => `${job.streamId} ${kindOf(job)}`;

/**
 * Explain, rewrite and chat on a runner: read the file(s) through the confined file layer,
 * build the context and the prompt, stream the model's answer into the call's Redis Stream,
 * and for a rewrite turn the model's code into a unified diff against the file as read.
 *
 * A job only starts the call and returns, like a command: the call may run for minutes, and
 * BullMQ must not hand it to another runner when a lock renewal is late. A job delivered
 * twice is claimed once. When the call ends, a summary (hashes, sizes, tokens, timings, never
 * text) goes to the edge before `done` is written, so a client that sees `done` can rely on
 * the audit event and the usage row being there; an edge that does not answer is retried in
 * the background and does not hold `done` back.
 */
export class AiJobs {
  readonly #deps: AiJobsDeps;
  readonly #client: ModelClient;
  readonly #calls = new Map<string, Call>();
  readonly #retries = new Set<NodeJS.Timeout>();
  #stopping = false;

  constructor(deps: AiJobsDeps) {
    this.#deps = deps;
    this.#client = deps.client ?? createModelClient(deps.config);
    // EVALSHA: the script's text goes to Redis once, not with every call.
    deps.redis.defineCommand('keelAiClaim', { numberOfKeys: 3, lua: CLAIM });
  }

  /** The configured model, as reports name it when none answered. */
  get #model(): string {
    return this.#deps.config?.model ?? 'none';
  }

  /** What the heartbeat advertises, so the edge can refuse requests to a runner without a model. */
  get status(): { configured: boolean; model: string | null } {
    return { configured: this.#deps.config !== undefined, model: this.#deps.config?.model ?? null };
  }

  async start(job: AiCallJob): Promise<{ started: boolean; duplicate?: boolean }> {
    const started = performance.now();
    const { redis, keys } = this.#deps;
    if (this.#calls.has(job.streamId)) return { started: false, duplicate: true };
    // Time to first token is what a person waits for: reading the files, building the prompt
    // and sending it to the model come before the claim, which is then on its way while the
    // model works. Nothing reaches the stream before the claim holds; a call that loses it
    // (delivered twice) is dropped without a word.
    const preparing = this.#prepare(job).then(
      (prepared) => ({ prepared }),
      (error: unknown) => ({ error }),
    );
    const abort = new AbortController();
    let settle!: (claimed: boolean) => void;
    const claimed = new Promise<boolean>((r) => {
      settle = r;
    });
    let sent!: () => void;
    const requestSent = new Promise<void>((r) => {
      sent = r;
    });
    const finished = this.#run(job, abort, preparing, started, claimed, sent)
      .catch((err) =>
        this.#deps.log('error', 'AI stream could not be closed', {
          streamId: job.streamId,
          error: err instanceof Error ? err.name : 'unknown',
        }),
      )
      .finally(() => this.#calls.delete(job.streamId));
    this.#calls.set(job.streamId, { abort, finished });
    await requestSent;
    let state: number;
    try {
      state = await (redis as Redis & ClaimCommand).keelAiClaim(
        keys.aiClaimed(job.streamId),
        keys.aiActive,
        keys.aiCancel(job.streamId),
        AI_STREAM_TTL_SECONDS,
        inFlight(job),
      );
    } catch (err) {
      abort.abort();
      settle(false);
      throw err;
    }
    if (state === -1) {
      abort.abort();
      settle(false);
      return { started: false, duplicate: true };
    }
    if (state === 1) abort.abort();
    settle(true);
    return { started: true };
  }

  /**
   * A call that waited past its deadline for this runner: its stream ends without an answer,
   * and its report says so (usage and audit count it as a failed call).
   */
  async expired(job: AiCallJob): Promise<void> {
    const { redis, keys } = this.#deps;
    recorder().aiCall({ outcome: 'error', tokensIn: 0, tokensOut: 0, firstTokenSeconds: null });
    await this.#deliver(unansweredReport(job.streamId, kindOf(job), this.#model, 'runner_busy'), 0);
    await new AnswerStream(redis, keys.aiStream(job.streamId)).end(
      undefined,
      fail('runner_busy', 'the runner could not take the call in time; ask again'),
    );
  }

  cancel(streamId: string): { cancelled: boolean } {
    const call = this.#calls.get(streamId);
    call?.abort.abort();
    return { cancelled: call !== undefined };
  }

  /**
   * After a restart: the calls the last process was running are gone; each is reported as a
   * failure and its stream closed. What they had streamed is not known any more: the report
   * counts only that the call ended.
   */
  async closeOrphans(): Promise<void> {
    const { redis, keys } = this.#deps;
    const lost = await redis.smembers(keys.aiActive);
    for (const member of lost) {
      const [streamId = member, kind] = member.split(' ');
      const known = AiKind.safeParse(kind);
      if (known.success) {
        await this.#deliver(unansweredReport(streamId, known.data, this.#model, 'runner_restarted'), 0);
      }
      await new AnswerStream(redis, keys.aiStream(streamId)).end(
        undefined,
        fail('runner_restarted', 'the runner restarted during the call; ask again'),
      );
    }
    if (lost.length > 0) await redis.del(keys.aiActive);
  }

  /** Ends every call (their streams get a `done` that says why) and drops reports still waiting. */
  async stop(): Promise<void> {
    this.#stopping = true;
    for (const call of this.#calls.values()) call.abort.abort();
    const all = Promise.allSettled([...this.#calls.values()].map((c) => c.finished));
    await Promise.race([all, new Promise((r) => setTimeout(r, 5_000).unref())]);
    for (const t of this.#retries) clearTimeout(t);
    if (this.#retries.size > 0) {
      this.#deps.log('warn', 'AI usage reports not delivered before stopping', { count: this.#retries.size });
    }
    this.#retries.clear();
  }

  async #run(
    job: AiCallJob,
    abort: AbortController,
    preparing: Promise<{ prepared: Prepared } | { error: unknown }>,
    /** When the runner took the job: first-token and total times count from here. */
    started: number,
    /** Whether this delivery of the call is the one that runs it. */
    claimed: Promise<boolean>,
    /** Called once the model request is on its way (or will not be made): the claim may go. */
    sent: () => void,
  ): Promise<void> {
    const { redis, keys } = this.#deps;
    const out = new AnswerStream(redis, keys.aiStream(job.streamId));
    let model = this.#model;
    let messages: ChatMessage[] | undefined;
    let answer = '';
    let chunks = 0;
    let contextFiles = 0;
    let firstTokenMs: number | null = null;
    let usage: { promptTokens: number; completionTokens: number; estimated: boolean } | undefined;
    let result: RewriteResult | undefined;
    let done: AiDone;
    try {
      const ready = await preparing;
      if ('error' in ready) throw ready.error;
      const { prepared } = ready;
      contextFiles = prepared.contextFiles;
      messages = prepared.messages;
      if (abort.signal.aborted) throw new AiCancelled();
      // The SDK builds and sends the request within this turn of the event loop: the claim's
      // round trip then does not delay it (on a busy host, waking Redis can cost the runner its CPU).
      setImmediate(sent);
      let finishReason = '';
      for await (const event of this.#client.streamChat({
        messages: prepared.messages,
        signal: abort.signal,
      })) {
        if (event.type === 'token') {
          if (firstTokenMs === null && !(await claimed)) break;
          firstTokenMs ??= Math.round(performance.now() - started);
          answer += event.text;
          chunks++;
          if (!out.token(event.text)) {
            throw new AiJobFailure(
              'too_large',
              'the answer passed the size an answer may have and was cut there',
            );
          }
        } else {
          usage = event.usage;
          model = event.model;
          finishReason = event.finishReason;
        }
      }
      if (prepared.rewrite) result = rewriteResult(prepared.rewrite, answer, finishReason);
      done = {
        outcome: 'success',
        ...(usage
          ? { usage: { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens } }
          : {}),
      };
    } catch (err) {
      done = this.#failure(job, err);
    }
    sent();
    if (!(await claimed)) return;
    if (out.full && done.outcome === 'success') {
      done = fail('too_large', 'the answer passed the size an answer may have and was cut there');
    }
    if (out.lostTokens && done.outcome === 'success') {
      done = fail('internal', 'part of the answer could not be stored; ask again');
    }

    // Serialised for its hash and size only now: a long prompt's copy would delay the first token.
    const prompt = messages === undefined ? undefined : JSON.stringify(messages);
    const report: AiCallReport = {
      v: CONTRACT_VERSION,
      streamId: job.streamId,
      kind: kindOf(job),
      outcome: done.outcome,
      ...(done.error ? { errorCode: done.error.code as AiFailureCode } : {}),
      model,
      ...(prompt === undefined ? {} : { promptSha256: sha256(prompt) }),
      promptBytes: prompt === undefined ? 0 : Buffer.byteLength(prompt),
      answerSha256: sha256(answer),
      answerBytes: Buffer.byteLength(answer),
      ...(result
        ? {
            diffSha256: sha256(result.diff),
            diffBytes: Buffer.byteLength(result.diff),
            baseSha256: result.baseSha256,
          }
        : {}),
      contextFiles,
      promptTokens: usage?.promptTokens ?? (prompt === undefined ? 0 : estimateTokens(prompt)),
      completionTokens: usage?.completionTokens ?? chunks,
      tokensEstimated: usage?.estimated ?? true,
      firstTokenMs,
      latencyMs: Math.round(performance.now() - started),
    };
    recorder().aiCall({
      outcome: report.outcome === 'success' ? 'ok' : report.outcome === 'cancelled' ? 'cancelled' : 'error',
      tokensIn: report.promptTokens,
      tokensOut: report.completionTokens,
      firstTokenSeconds: firstTokenMs === null ? null : firstTokenMs / 1000,
    });
    await this.#deliver(report, 0);
    await out.end(result, done);
    await redis.srem(keys.aiActive, inFlight(job));
    this.#deps.touch(job.workspaceId);
  }

  async #prepare(job: AiCallJob): Promise<Prepared> {
    const { config } = this.#deps;
    if (!config) throw new AiUnavailable('not_configured');
    this.#deps.touch(job.workspaceId);
    const fs = await this.#deps.files(job.workspaceId);
    const reader = confinedReader(fs);
    if (job.type === 'ai.chat') {
      const budget = budgetFor(config, job.messages.map((m) => m.content).join('\n'));
      const context = job.paths?.length
        ? await buildFilesContext({ reader, paths: job.paths, budgetTokens: budget })
        : undefined;
      return {
        messages: chatPrompt({ history: job.messages, ...(context ? { context } : {}) }),
        contextFiles: context ? filesIn(context) : 0,
      };
    }
    const target = await readTarget(fs, job.path, job.range);
    const userText = job.type === 'ai.explain' ? (job.question ?? '') : job.instruction;
    const context = await buildContext({
      reader,
      path: target.path,
      content: target.content,
      ...(target.range ? { selection: target.range } : {}),
      budgetTokens: budgetFor(config, userText),
    });
    const selection = target.range ? { selection: target.range } : {};
    if (job.type === 'ai.explain') {
      return {
        messages: explainPrompt({
          path: target.path,
          context,
          ...selection,
          ...(job.question ? { question: job.question } : {}),
        }),
        contextFiles: filesIn(context),
      };
    }
    const { bytes, ...rewrite } = target;
    return {
      messages: rewritePrompt({ path: target.path, context, instruction: job.instruction, ...selection }),
      contextFiles: filesIn(context),
      // Hashed only for a rewrite, whose diff names its base; explain needs no hash.
      rewrite: { ...rewrite, baseSha256: sha256(bytes) },
    };
  }

  #failure(job: AiCallJob, err: unknown): AiDone {
    if (err instanceof AiCancelled) {
      return this.#stopping
        ? fail('runner_restarted', 'the runner stopped during the call; ask again')
        : { outcome: 'cancelled' };
    }
    // The messages of these errors are fixed text by design (see errors.ts): safe to pass on.
    if (err instanceof AiUnavailable) {
      return fail(err.reason === 'not_configured' ? 'ai_not_configured' : 'model_unavailable', err.message);
    }
    if (err instanceof AiTimeout) return fail('model_timeout', err.message);
    if (err instanceof AiUpstreamError) return fail('model_error', err.message);
    if (err instanceof AiJobFailure) return fail(err.code, err.message);
    if (err instanceof RewriteTargetTooLarge) return fail('too_large', err.message);
    if (err instanceof NotText) return fail('not_text', err.message);
    if (err instanceof ConfinedFsError) {
      if (err.code === 'NOT_FOUND') return fail('not_found', 'no such file in the workspace');
      if (err.code === 'TOO_LARGE') {
        return fail('too_large', `the file is larger than ${MAX_TARGET_BYTES} bytes; select part of it`);
      }
      return fail('invalid_path', 'the path is not a regular file inside the workspace');
    }
    // The runner's own refusal when the workspace is gone from this host.
    if (err instanceof Error && (err as { code?: unknown }).code === 'not_found') {
      return fail('not_found', 'the workspace is not on this runner');
    }
    // Unexpected: the name only, as a message could quote what it was working on.
    this.#deps.log('error', 'AI call failed', {
      streamId: job.streamId,
      error: err instanceof Error ? err.name : 'unknown',
    });
    return fail('internal', 'the AI request failed on the runner');
  }

  async #deliver(report: AiCallReport, attempt: number): Promise<void> {
    const verdict = await this.#deps.report(report);
    if (verdict === 'delivered') return;
    const delay = REPORT_RETRY_DELAYS_MS[attempt];
    if (verdict === 'rejected' || delay === undefined || this.#stopping) {
      this.#deps.log('warn', 'AI usage report not recorded', { streamId: report.streamId, verdict });
      return;
    }
    const timer = setTimeout(() => {
      this.#retries.delete(timer);
      void this.#deliver(report, attempt + 1);
    }, delay);
    this.#retries.add(timer);
  }
}

/** What is left of the context window for file context once the user's own text and the answer are counted. */
function budgetFor(config: AiConfig, userText: string): number {
  const left =
    config.contextTokens - config.maxOutputTokens - PROMPT_OVERHEAD_TOKENS - estimateTokens(userText);
  if (left <= 0) {
    throw new AiJobFailure('too_large', "the request is too long for the model's context window");
  }
  return left;
}

function filesIn(context: BuiltContext): number {
  return new Set(context.blocks.map((b) => b.path)).size;
}

async function readTarget(
  fs: WorkspaceFiles,
  rawPath: string,
  range: LineRange | undefined,
): Promise<RewriteTarget & { bytes: Buffer }> {
  const path = normalizeWorkspacePath(rawPath);
  if (path === undefined) {
    throw new AiJobFailure('invalid_path', 'the path must be relative and inside the workspace');
  }
  const bytes = await fs.readFile(path, { maxBytes: MAX_TARGET_BYTES });
  const content = decodeText(bytes);
  if (range) {
    const total = content === '' ? 0 : splitLines(content).length;
    if (range.startLine > total) {
      throw new AiJobFailure(
        'invalid_range',
        `the selection starts after the end of the file (${total} lines)`,
      );
    }
  }
  return { path, content, bytes, ...(range ? { range } : {}) };
}

function rewriteResult(
  target: RewriteTarget & { baseSha256: string },
  answer: string,
  finishReason: string,
): RewriteResult {
  // An answer cut off at the token limit is half a file: applying it would delete the rest.
  if (finishReason === 'length') {
    throw new AiJobFailure(
      'too_large',
      'the answer was cut off at KEEL_AI_MAX_OUTPUT_TOKENS; select fewer lines or raise the limit',
    );
  }
  const code = extractCode(answer);
  return { path: target.path, diff: rewriteDiff(target, code), baseSha256: target.baseSha256 };
}
