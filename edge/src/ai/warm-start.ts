import type { Role } from '@keel/contract/auth';
import type { RunnerJob } from '@keel/contract/jobs';
import { AI_STREAM_TTL_SECONDS, runnerKeys } from '@keel/contract/keys';
import type { JobTrace } from '@keel/contract/trace';
import type { Redis } from 'ioredis';
import type { VerifiedCaller } from '../middleware/authenticate.ts';
import { sessionCacheKey, workspaceRowKey } from '../redis-keys.ts';
import { setBounded } from '../services/bounded-map.ts';
import { rateWindowKey } from '../services/rate-limit.ts';
import type { Services } from '../services.ts';
import type { OutputEntry, OutputReader } from '../workspaces/output-reader.ts';
import { AI_READ } from './relay.ts';
import {
  AI_META_ENTRY_ID,
  AI_START_WAIT_MS,
  type AiStreamRecord,
  metaOf,
  recordKey,
  sealedRecord,
  streamKeyOf,
} from './stream-record.ts';

/**
 * What the full path approved for one session on one workspace: the session's and the row's
 * cache entries as they read then, the caller's role (as the session entry says), the
 * workspace's runner and that runner's model. Made only once the full path has confirmed the
 * session and the role a call needs; a role that changes changes the session entry too.
 */
export interface Approval {
  sessionEntry: string;
  rowEntry: string;
  userId: string;
  organizationId: string;
  role: Role;
  installAdmin: boolean;
  runnerId: string;
  model: string;
}

/**
 * Checks, inside Redis, that nothing the full path decided on has changed, and only then
 * opens the stream and sends the call, exactly as the full path does; otherwise it does
 * nothing at all (nil).
 * KEYS: session entry, workspace row entry, heartbeat, workspace status, rate counter,
 *       stream, stream record, the runner's call list.
 * ARGV: session entry, row entry, runner id, model, rate limit, rate window (s),
 *       stream lifetime (s), meta, record, call, call list lifetime (ms), meta's entry id.
 * The stream is written first: an XADD that fails (a stream that already exists) leaves
 * nothing else written. The rate counter's key names its window, so its expiry is set once,
 * by the call that made it.
 */
const WARM_START = `
if redis.call('GET', KEYS[1]) ~= ARGV[1] then return false end
if redis.call('GET', KEYS[2]) ~= ARGV[2] then return false end
local beat = redis.call('GET', KEYS[3])
if not beat then return false end
local ok, hb = pcall(cjson.decode, beat)
if not ok or type(hb) ~= 'table' or hb.runnerId ~= ARGV[3] or type(hb.ai) ~= 'table'
  or hb.ai.configured ~= true or hb.ai.model ~= ARGV[4] then return false end
local status = redis.call('GET', KEYS[4])
if not status then return false end
local ok2, st = pcall(cjson.decode, status)
if not ok2 or type(st) ~= 'table' or st.status ~= 'running' then return false end
local used = tonumber(redis.call('GET', KEYS[5]) or '0')
if used == nil or used >= tonumber(ARGV[5]) then return false end
redis.call('XADD', KEYS[6], ARGV[12], 't', 'meta', 'd', ARGV[8])
redis.call('EXPIRE', KEYS[6], ARGV[7])
if redis.call('INCR', KEYS[5]) == 1 then redis.call('EXPIRE', KEYS[5], ARGV[6]) end
redis.call('SET', KEYS[7], ARGV[9], 'EX', ARGV[7])
redis.call('RPUSH', KEYS[8], ARGV[10])
redis.call('PEXPIRE', KEYS[8], ARGV[11], 'NX')
redis.call('PEXPIRE', KEYS[8], ARGV[11], 'GT')
return 1`;

interface WarmStartRedis {
  keelAiWarmStart(...keysAndArgs: Array<string | number>): Promise<number | null>;
}

const withScript = new WeakSet<Redis>();
function scripted(redis: Redis): Redis & WarmStartRedis {
  // EVALSHA, and the script itself once after Redis lost it (restart, SCRIPT FLUSH).
  if (!withScript.has(redis)) {
    redis.defineCommand('keelAiWarmStart', { numberOfKeys: 8, lua: WARM_START });
    withScript.add(redis);
  }
  return redis as Redis & WarmStartRedis;
}

/** Session and workspace → what the full path approved; only ever a hint, re-checked in Redis. */
const approvals = new Map<string, Approval>();
const REMEMBERED_APPROVALS = 10_000;
const approvalKey = (sessionId: string, workspaceId: string) => `${sessionId} ${workspaceId}`;

export function rememberApproval(sessionId: string, workspaceId: string, approval: Approval): void {
  setBounded(approvals, approvalKey(sessionId, workspaceId), approval, REMEMBERED_APPROVALS);
}

export function approvalFor(caller: VerifiedCaller, workspaceId: string): Approval | undefined {
  const a = approvals.get(approvalKey(caller.sessionId, workspaceId));
  return a && a.userId === caller.userId && a.organizationId === caller.organizationId ? a : undefined;
}

export interface WarmStarted {
  /**
   * The stream's first read after `meta` (see AI_META_ENTRY_ID), sent with the script where
   * the reader can; undefined where the caller reads as usual.
   */
  firstRead: Promise<OutputEntry[] | null> | undefined;
}

/**
 * A repeat call's start in one round trip: what a person waits for is the first token, and
 * the full path's reads (session, row, runner, rate) and its writes cost three. With a lean
 * reader the script goes on the reader's own connection, followed in the same write by the
 * stream's first XREAD, which Redis takes up once the script is done: no second round trip
 * before the read waits for the first token. Null when anything differed from the approval:
 * then nothing was written, the reader must be given back (a read waiting on a stream that
 * never came makes the pool close it), and the full path must decide.
 */
export async function warmStart(
  services: Services,
  input: {
    caller: VerifiedCaller;
    approval: Approval;
    record: AiStreamRecord;
    job: RunnerJob;
    /** The caller's rate counter, as the full path counts it (see rate-limit.ts). */
    rate: { key: string; limit: number; windowSeconds: number };
    /** The request it serves (http/job-trace.ts), carried to the runner. */
    trace?: JobTrace | undefined;
  },
  reader: OutputReader,
): Promise<WarmStarted | null> {
  const { caller, approval, record } = input;
  const prefix = services.config.redisPrefix;
  const keys = runnerKeys(prefix, approval.runnerId);
  const call = services.queue.oneWayCall(
    `runner.${approval.runnerId}`,
    input.job,
    AI_START_WAIT_MS,
    input.trace,
  );
  const streamKey = streamKeyOf(services, record);
  const sealed = await sealedRecord(services, record);
  const scriptKeys = [
    sessionCacheKey(services, caller.sessionId),
    workspaceRowKey(services, record.workspaceId),
    keys.heartbeat,
    keys.workspaceStatus(record.workspaceId),
    rateWindowKey(input.rate.key, input.rate.windowSeconds),
    streamKey,
    recordKey(services, record.streamId),
    call.list,
  ];
  const args = [
    approval.sessionEntry,
    approval.rowEntry,
    approval.runnerId,
    approval.model,
    input.rate.limit,
    input.rate.windowSeconds,
    AI_STREAM_TTL_SECONDS,
    metaOf(record),
    sealed,
    call.payload,
    call.ttlMs,
    AI_META_ENTRY_ID,
  ];
  const pipelined = reader.evalThenRead(WARM_START, scriptKeys, args, {
    key: streamKey,
    from: AI_META_ENTRY_ID,
    ...AI_READ,
  });
  if (!pipelined) {
    const done = await scripted(services.redis()).keelAiWarmStart(...scriptKeys, ...args);
    return done === 1 ? { firstRead: undefined } : null;
  }
  // Settled here too: when the script refuses or fails, the reader is closed under it.
  pipelined.entries.catch(() => {});
  return (await pipelined.result) === 1 ? { firstRead: pipelined.entries } : null;
}
