import { runnerKeys } from '@keel/contract/keys';
import {
  TERMINAL_MAX_SESSIONS_PER_WORKSPACE,
  TERMINAL_STREAM_TTL_SECONDS,
  type TerminalQuery,
  TerminalSessionRecord,
} from '@keel/contract/terminal';
import type { JobTrace } from '@keel/contract/trace';
import { CONTRACT_VERSION } from '@keel/contract/version';
import type { Principal } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { newId } from '../ids.ts';
import { terminalSessionKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';
import { queueOf, type WorkspaceRow } from '../workspaces/access.ts';

/**
 * A new session: recorded (who, which workspace, which runner), counted against the workspace's cap,
 * and opened on the runner by one job. Input sent before the runner has the shell waits in the input
 * stream, so the socket can open at once.
 */
export async function openTerminalSession(
  services: Services,
  row: WorkspaceRow,
  principal: Principal,
  size: Pick<TerminalQuery, 'cols' | 'rows'>,
  /** The request it serves (http/job-trace.ts), carried to the runner. */
  trace?: JobTrace,
): Promise<{ sessionId: string; record: TerminalSessionRecord }> {
  const queue = queueOf(row);
  const runnerId = row.runnerId!;
  const redis = services.redis();
  const prefix = services.config.redisPrefix;
  const keys = runnerKeys(prefix, runnerId);
  const sessionId = newId('terminal');
  const record: TerminalSessionRecord = {
    workspaceId: row.id,
    organizationId: row.organizationId,
    userId: principal.userId,
    runnerId,
  };
  // The record first: a session counted without one would look stale to a concurrent opener.
  const recordAt = terminalSessionKey(services, sessionId);
  await redis.set(
    recordAt,
    await services.cacheSeal.seal(recordAt, JSON.stringify(record)),
    'EX',
    TERMINAL_STREAM_TTL_SECONDS,
  );
  const setKey = keys.workspaceTerminals(row.id);
  await dropStale(services, setKey);
  const [, counted] = (await redis.multi().zadd(setKey, Date.now(), sessionId).zcard(setKey).exec()) as [
    [Error | null, number],
    [Error | null, number],
  ];
  if (counted[1] > TERMINAL_MAX_SESSIONS_PER_WORKSPACE) {
    await redis.multi().zrem(setKey, sessionId).del(terminalSessionKey(services, sessionId)).exec();
    throw new ApiError(
      'rate_limited',
      `This workspace already has ${TERMINAL_MAX_SESSIONS_PER_WORKSPACE} terminals open; close one first`,
    );
  }
  await services.queue.enqueue(
    queue,
    {
      v: CONTRACT_VERSION,
      type: 'terminal.open',
      workspaceId: row.id,
      sessionId,
      cols: size.cols,
      rows: size.rows,
    },
    // One shell per session: never started twice because a delivery was retried.
    { jobId: sessionId, attempts: 1, ...(trace ? { trace } : {}) },
  );
  return { sessionId, record };
}

/**
 * The session to reattach to, if it belongs to this workspace and to this person: a session id is
 * not a secret anyone may present, and one person's shell is not another's to watch.
 */
export async function findTerminalSession(
  services: Services,
  row: WorkspaceRow,
  principal: Principal,
  sessionId: string,
): Promise<TerminalSessionRecord> {
  const recordAt = terminalSessionKey(services, sessionId);
  // Sealed (see cache-seal.ts): a record written straight into Redis is as good as absent.
  const raw = await services.cacheSeal.open(recordAt, await services.redis().get(recordAt));
  let record: TerminalSessionRecord | undefined;
  try {
    const parsed = TerminalSessionRecord.safeParse(raw ? JSON.parse(raw) : undefined);
    if (parsed.success) record = parsed.data;
  } catch {
    // Unreadable: as good as absent.
  }
  if (!record || record.workspaceId !== row.id || record.userId !== principal.userId) {
    throw new ApiError('not_found', 'No such terminal session; open a new one');
  }
  return record;
}

/** Sessions whose record expired (their runner vanished before saying they ended) no longer count. */
async function dropStale(services: Services, setKey: string): Promise<void> {
  const redis = services.redis();
  const members = await redis.zrange(setKey, 0, -1);
  if (members.length === 0) return;
  const records = await redis.mget(...members.map((m) => terminalSessionKey(services, m)));
  const stale = members.filter((_, i) => records[i] === null);
  if (stale.length > 0) await redis.zrem(setKey, ...stale);
}
