import { StringDecoder } from 'node:string_decoder';
import type { RunnerJob } from '@keel/contract/jobs';
import { SEARCH_MAX_BYTES, type SearchDone, searchStreamKey } from '@keel/contract/search';
import { searchResultsStream } from '@keel/contract/streams';
import { JobError } from '../job-error.ts';
import { log } from '../log.ts';
import type { RunnerContext } from '../runner-context.ts';
import { StreamAppender } from '../streams/appender.ts';
import { RipgrepJsonReader, ripgrepArgv } from './ripgrep.ts';

type SearchStartJob = Extract<RunnerJob, { type: 'search.start' }>;

/** Results accepted but not yet in Redis before ripgrep is paused. */
const BACKLOG_BYTES = 2 * 1024 * 1024;
/** A JSON line longer than this (a huge matching line) is dropped rather than held. */
const MAX_JSON_LINE = 8 * 1024 * 1024;
/**
 * Searches running at once per workspace. Someone typing starts one per pause; past this many the
 * oldest is stopped (its results are stale), so a flood of starts cannot pile up ripgreps.
 */
const MAX_RUNNING_PER_WORKSPACE = 3;
const running = new Map<string, Array<() => void>>();

/**
 * Runs ripgrep inside the workspace, as its commands run (the driver's exec: in the container, or
 * in the process driver's sandbox), and streams each file's matches as ripgrep ends it. Answers
 * once ripgrep started; the stream's `done` says how it ended. Capped by matches, bytes of results
 * and time; past a cap ripgrep is stopped and `done.truncated` says which.
 */
export async function searchStart(job: SearchStartJob, ctx: RunnerContext): Promise<{ started: true }> {
  ctx.touch(job.workspaceId);
  const driver = await ctx.driverFor(job.workspaceId);
  const status = await driver.status(job.workspaceId);
  if (status === 'missing') throw new JobError('not_found', 'No such workspace');
  if (status !== 'running') {
    throw new JobError('workspace_not_running', 'The workspace is not running; start it to search its files');
  }
  const started = performance.now();
  const timeoutMs = ctx.config.KEEL_SEARCH_TIMEOUT_SECONDS * 1000;
  const handle = driver.exec(job.workspaceId, { argv: ripgrepArgv(job), timeoutMs: timeoutMs + 5_000 });
  let truncated: SearchDone['truncated'] = null;
  let superseded = false;
  const stop = (why: NonNullable<SearchDone['truncated']>) => {
    truncated ??= why;
    void handle.kill().catch(() => {});
  };
  const slot = `${ctx.keys.base}${job.workspaceId}`;
  const supersede = () => {
    superseded = true;
    void handle.kill().catch(() => {});
  };
  const others = running.get(slot) ?? [];
  others.push(supersede);
  running.set(slot, others);
  while (others.length > MAX_RUNNING_PER_WORKSPACE) others.shift()?.();
  const out = new StreamAppender(ctx.redis, searchStreamKey(ctx.keys, job.searchId), searchResultsStream, {
    maxBytes: SEARCH_MAX_BYTES,
    coalesce: true,
    renewTtl: true,
    stopWhenRefused: true,
    onStop: () => stop('bytes'),
  });
  const reader = new RipgrepJsonReader(
    job.maxResults,
    (file) => void out.appendText('file', `${JSON.stringify(file)}\n`),
    () => stop('matches'),
  );
  const timer = setTimeout(() => stop('time'), timeoutMs);
  const decoder = new StringDecoder('utf8');
  let pending = '';
  let skipping = false;
  let stderr = '';
  handle.stderr.on('data', (chunk: Buffer) => {
    if (stderr.length < 2048) stderr += chunk.toString('utf8');
  });
  handle.stdout.on('data', (chunk: Buffer) => {
    const lines = (pending + decoder.write(chunk)).split('\n');
    pending = lines.pop() ?? '';
    for (const line of lines) {
      if (skipping) skipping = false;
      else reader.line(line);
    }
    if (pending.length > MAX_JSON_LINE) {
      pending = '';
      skipping = true;
    }
    if (out.backlogBytes() > BACKLOG_BYTES && !handle.stdout.isPaused()) {
      handle.stdout.pause();
      void out.flush().then(() => handle.stdout.resume());
    }
  });
  const outputEnded = new Promise<void>((resolve) => {
    handle.stdout.on('end', resolve);
    handle.stdout.on('error', () => resolve());
  });
  void (async () => {
    let exitCode: number | null = null;
    let error: string | undefined;
    try {
      const result = await handle.done;
      exitCode = result.exitCode;
      if (result.timedOut) truncated ??= 'time';
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    clearTimeout(timer);
    const left = (running.get(slot) ?? []).filter((s) => s !== supersede);
    if (left.length > 0) running.set(slot, left);
    else running.delete(slot);
    if (superseded) error = 'stopped: newer searches in this workspace replaced it';
    await Promise.race([outputEnded, new Promise((r) => setTimeout(r, 2_000))]);
    if (!skipping && pending) reader.line(pending);
    reader.finish();
    // 1: nothing found. 2: an error (a bad pattern); with matches, only some file was unreadable.
    if (exitCode === 2 && truncated === null && reader.matches === 0) {
      error = stderr.trim().slice(0, 1_000) || 'ripgrep failed';
    }
    const done: SearchDone = {
      matches: reader.matches,
      files: reader.files,
      truncated,
      ...(error ? { error } : {}),
      elapsedMs: Math.round(performance.now() - started),
    };
    await out.end([['done', JSON.stringify(done)]]);
    ctx.touch(job.workspaceId);
  })().catch((err) => log('error', 'search stream failed', { error: String(err) }));
  return { started: true };
}
