import { runnerQueueName } from '@keel/contract/keys';
import { type ConnectionTestCode, ConnectionTestResult, SshPublicKey } from '@keel/contract/servers';
import type { JobTrace } from '@keel/contract/trace';
import { CONTRACT_VERSION } from '@keel/contract/version';
import { servers } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import { RunnerGoneError } from '../services/queue.ts';
import type { Services } from '../services.ts';
import { onlineRunnerFor } from './assignment.ts';
import { endpointSchema } from './credential.ts';
import type { ServerRow } from './store.ts';

/** How long the edge waits for the runner's answer; the runner's own checks end well before. */
export const SERVER_TEST_DEADLINE_MS = 20_000;

/**
 * Asks the runner the server is assigned to to test it, and records what came back: the
 * result, the status it gives the server, and (only while no key is pinned) the host key the
 * test met, for an admin to confirm. A test never pins a key, least of all a changed one.
 * Every way of failing (no runner, no answer, a runner error, an answer of the wrong shape)
 * is a result with a code, not an error.
 */
export async function runConnectionTest(
  services: Services,
  row: ServerRow,
  trace?: JobTrace,
): Promise<{ result: ConnectionTestResult; row: ServerRow }> {
  const started = services.clock.now();
  const runner = await onlineRunnerFor(services, row);
  const result = runner
    ? await askRunner(services, row.id, runner.id, started, trace)
    : failed(services, started, null, 'no_runner', noRunnerMessage(row));
  const pinned = row.kind === 'ssh' ? endpointSchema.ssh.parse(row.endpoint).hostKey : null;
  let status: string = result.ok ? 'ok' : 'failing';
  let offeredHostKey = row.offeredHostKey;
  if (!result.ok && result.code === 'host_key_unconfirmed' && row.kind === 'ssh' && !pinned) {
    const offered = SshPublicKey.safeParse(result.hostKey?.publicKey);
    if (offered.success) {
      status = 'host_key_unconfirmed';
      offeredHostKey = offered.data;
    }
  }
  const [updated] = await services.db
    .update(servers)
    .set({ lastTest: result, status, offeredHostKey, updatedAt: services.clock.now() })
    .where(eq(servers.id, row.id))
    .returning();
  return { result, row: updated ?? row };
}

function noRunnerMessage(row: ServerRow): string {
  if (!row.assignment) return 'The server is not assigned to a runner; assign it to one in its network';
  return 'No runner the server is assigned to is online';
}

async function askRunner(
  services: Services,
  serverId: string,
  runnerId: string,
  started: Date,
  trace: JobTrace | undefined,
): Promise<ConnectionTestResult> {
  let outcome: Awaited<ReturnType<Services['queue']['call']>>;
  try {
    outcome = await services.queue.call(
      runnerQueueName(runnerId),
      { v: CONTRACT_VERSION, type: 'server.test', serverId },
      SERVER_TEST_DEADLINE_MS,
      trace,
    );
  } catch (err) {
    if (err instanceof RunnerGoneError) {
      return failed(
        services,
        started,
        runnerId,
        'no_runner',
        'The runner went offline before it took the test',
      );
    }
    // The call's own deadline passed (see CallReplies), or the runner failed the call outright.
    if (err instanceof Error && /had no answer/.test(err.message)) {
      return failed(
        services,
        started,
        runnerId,
        'timeout',
        `The runner did not answer within ${SERVER_TEST_DEADLINE_MS / 1000} s`,
      );
    }
    return failed(services, started, runnerId, 'internal', 'The runner failed to run the test');
  }
  if (!outcome.ok) {
    return failed(
      services,
      started,
      runnerId,
      'internal',
      `The runner could not run the test: ${outcome.error.code}`,
    );
  }
  const parsed = ConnectionTestResult.safeParse(outcome.result);
  if (!parsed.success)
    return failed(services, started, runnerId, 'internal', 'The runner answered in an unexpected shape');
  // The runner that answered is the one named, whatever it wrote.
  return { ...parsed.data, runnerId };
}

function failed(
  services: Services,
  started: Date,
  runnerId: string | null,
  code: ConnectionTestCode,
  message: string,
): ConnectionTestResult {
  return {
    ok: false,
    code,
    message,
    at: started.toISOString(),
    durationMs: Math.max(0, services.clock.now().getTime() - started.getTime()),
    runnerId,
    reachable: false,
    authenticated: false,
  };
}
