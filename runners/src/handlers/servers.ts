import type { ConnectionTestResult, ServerKind } from '@keel/contract/servers';
import { ConnectionTestResult as ConnectionTestResultSchema } from '@keel/contract/servers';
import { log } from '../log.ts';
import { recorder } from '../metrics/recorder.ts';
import type { RunnerContext } from '../runner-context.ts';
import { ServerAccessError } from '../servers/access.ts';
import { errorMessage, failureCode, PROBE_TIMEOUT_MS, within } from '../servers/probes.ts';
import type { JobHandlers, JobOf } from './table.ts';

/** Jobs about the infrastructure servers assigned to this runner. */
export const serverHandlers: Pick<JobHandlers, 'server.test'> = {
  'server.test': (job, ctx) => testServer(job, ctx),
};

/**
 * A connection test from this runner: always a result, never a refusal or a throw, so the
 * admin reads what failed. The access fetched for it is dropped when the test ends.
 */
export async function testServer(
  job: JobOf<'server.test'>,
  ctx: RunnerContext,
): Promise<ConnectionTestResult> {
  // The kind is known once the access is fetched; a test that fails before that counts as `unknown`.
  const seen: { kind: ServerKind | 'unknown' } = { kind: 'unknown' };
  const result = await runTest(job, ctx, seen);
  recorder().serverChecked({ check: 'test', kind: seen.kind, ok: result.ok, code: result.code });
  return result;
}

async function runTest(
  job: JobOf<'server.test'>,
  ctx: RunnerContext,
  seen: { kind: ServerKind | 'unknown' },
): Promise<ConnectionTestResult> {
  const started = Date.now();
  const timeoutMs = ctx.serverOptions.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
  const base = { runnerId: ctx.credential.runnerId, reachable: false, authenticated: false };
  try {
    const access = await ctx.serverAccess(job.serverId, 'test');
    seen.kind = access.kind;
    const result = await within(
      ctx.serverOptions.probes.test(access, {
        image: ctx.workspaceImage,
        timeoutMs,
        runnerId: ctx.credential.runnerId,
      }),
      // The test has its own limit; this one answers for a test that ignores it.
      timeoutMs + 2_000,
      'the connection test',
    );
    const checked = ConnectionTestResultSchema.safeParse(result);
    if (checked.success) return checked.data;
    log('warn', 'a connection test answered an unreadable result', { serverId: job.serverId });
    return failed(base, started, 'internal', 'the connection test answered an unreadable result');
  } catch (err) {
    const code = err instanceof ServerAccessError ? 'internal' : failureCode(err);
    const message =
      err instanceof ServerAccessError
        ? `this runner could not fetch the server's access: ${err.message}`
        : errorMessage(err);
    if (code === 'internal')
      log('warn', 'connection test failed', { serverId: job.serverId, error: message });
    return failed(base, started, code, message);
  }
}

function failed(
  base: Pick<ConnectionTestResult, 'runnerId' | 'reachable' | 'authenticated'>,
  started: number,
  code: NonNullable<ConnectionTestResult['code']>,
  message: string,
): ConnectionTestResult {
  return {
    ok: false,
    code,
    message,
    at: new Date().toISOString(),
    durationMs: Date.now() - started,
    ...base,
  };
}
