/*
 * A search's caps and streaming, on the runner's search job with real Redis and real processes on
 * the host (a host folder stands in for the workspace: the drivers' exec is tested in
 * search-api.test.ts): results reach the stream before ripgrep ends, the byte cap and the time cap
 * stop it and say so, and a fourth search in a workspace stops the oldest.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { runnerKeys } from '@keel/contract/keys';
import { type SearchDone, searchStreamKey } from '@keel/contract/search';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { Redis } from 'ioredis';
import type { RunnerContext } from '../../runners/src/runner-context.ts';
import { searchStart } from '../../runners/src/search/search-job.ts';
import type { ExecHandle, ExecRequest } from '../../runners/src/workloads/types.ts';
import { testInfra } from '../harness/infra.ts';

/** Runs argv on the host in `cwd` (or `replace(argv)` instead), as a driver's exec would in the workspace. */
function hostExec(cwd: string, replace?: (argv: string[]) => string[]) {
  return (_id: string, req: ExecRequest): ExecHandle => {
    const argv = replace ? replace(req.argv) : req.argv;
    const child = spawn(argv[0]!, argv.slice(1), { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    const done = new Promise<{ exitCode: number | null; signal?: string }>((resolve) =>
      child.on('close', (code, signal) => resolve({ exitCode: code, ...(signal ? { signal } : {}) })),
    );
    return {
      id: String(child.pid),
      stdout: child.stdout!,
      stderr: child.stderr!,
      done,
      kill: async () => {
        child.kill('SIGKILL');
        await done;
      },
    };
  };
}

describe('search caps and streaming (runner search job, real Redis and ripgrep on a host folder)', () => {
  let redis: Redis;
  let dir: string;
  const keys = runnerKeys('test:', `search-caps-${process.pid}`);
  let n = 0;
  const made: string[] = [];

  function context(timeoutSeconds: number, exec: ReturnType<typeof hostExec>): RunnerContext {
    return {
      redis,
      keys,
      config: { KEEL_SEARCH_TIMEOUT_SECONDS: timeoutSeconds },
      touch: () => {},
      driverFor: async () => ({ status: async () => 'running', exec }),
    } as unknown as RunnerContext;
  }

  async function start(ctx: RunnerContext, query: string, workspaceId = 'ws-caps') {
    const searchId = `sch_test${++n}`;
    await searchStart(
      {
        v: CONTRACT_VERSION,
        type: 'search.start',
        workspaceId,
        searchId,
        query,
        regex: false,
        caseSensitive: true,
        wholeWord: false,
        include: [],
        exclude: [],
        maxResults: 20_000,
      },
      ctx,
    );
    const key = searchStreamKey(keys, searchId);
    made.push(key);
    return key;
  }

  async function finished(key: string, timeoutMs = 20_000) {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      const rows = (await redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
      const last = rows.at(-1);
      if (last?.[1][1] === 'done') {
        const files = rows.filter(([, f]) => f[1] === 'file');
        return { done: JSON.parse(last[1][3]!) as SearchDone, fileEntries: files.length, rows };
      }
      await new Promise((r) => setTimeout(r, 50));
    }
    throw new Error(`no done in ${key}`);
  }

  before(async () => {
    redis = new Redis((await testInfra()).redisUrl);
    dir = mkdtempSync(join(tmpdir(), 'keel-search-caps-'));
    // 20,000 matching lines whose previews are three-byte characters: more than the 8 MiB byte cap.
    const line = `needle ${'€'.repeat(300)}\n`;
    for (let f = 0; f < 6; f++) writeFileSync(join(dir, `wide${f}.txt`), line.repeat(3_400));
  });
  after(async () => {
    if (made.length > 0) await redis.del(...made);
    await redis.quit();
    rmSync(dir, { recursive: true, force: true });
  });

  test('past 8 MiB of results, ripgrep is stopped and the end says bytes', async () => {
    const { done, fileEntries } = await finished(await start(context(30, hostExec(dir)), 'needle'));
    assert.equal(done.truncated, 'bytes', JSON.stringify(done));
    assert.ok(done.matches > 0 && done.matches < 20_400, JSON.stringify(done));
    assert.ok(fileEntries > 1, 'results came in several entries');
  });

  test('results are in the stream before ripgrep ends; the time cap stops it and says time', async () => {
    const match = JSON.stringify({
      type: 'match',
      data: {
        path: { text: './a.ts' },
        lines: { text: 'needle\n' },
        line_number: 1,
        submatches: [{ start: 0, end: 6 }],
      },
    });
    const lines = [
      JSON.stringify({ type: 'begin', data: { path: { text: './a.ts' } } }),
      match,
      JSON.stringify({ type: 'end', data: { path: { text: './a.ts' } } }),
    ].join('\n');
    // A ripgrep that finds one file, then never ends (stand-in: nothing real searches that long here).
    const slow = hostExec(dir, () => ['sh', '-c', `printf '%s\\n' '${lines}'; exec sleep 30`]);
    const key = await start(context(1.5, slow), 'needle');
    const started = Date.now();
    let early: Array<[string, string[]]> = [];
    while (Date.now() - started < 1_000 && early.length === 0) {
      early = (await redis.xrange(key, '-', '+')) as Array<[string, string[]]>;
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.equal(early[0]?.[1][1], 'file', 'the file was streamed while the search ran');
    const { done } = await finished(key);
    assert.equal(done.truncated, 'time');
    assert.equal(done.matches, 1);
    assert.ok(Date.now() - started < 5_000, 'stopped at the time cap');
  });

  test('a fourth search in one workspace stops the oldest', async () => {
    const slow = hostExec(dir, () => ['sh', '-c', 'exec sleep 30']);
    const ctx = context(10, slow);
    const keysOf = [];
    for (let i = 0; i < 4; i++) keysOf.push(await start(ctx, 'x', 'ws-busy'));
    const { done } = await finished(keysOf[0]!, 5_000);
    assert.match(done.error ?? '', /newer searches/);
    for (const key of keysOf.slice(1)) assert.equal((await redis.xlen(key)) ?? 0, 0, 'the others still run');
    // Stop the rest: three more searches replace them.
    for (let i = 0; i < 3; i++) await start(context(10, hostExec(dir)), 'nothing-matches-this', 'ws-busy');
    for (const key of keysOf.slice(1)) assert.match((await finished(key, 5_000)).done.error ?? '', /newer/);
  });
});
