/*
 * The plan's limits that are not request rates: workspaces and commands at once, AI tokens
 * per day. Each is checked where the thing starts, and only when the plan sets it, so an
 * unlimited organization pays nothing for them. Refusals are 429 `rate_limited` (the plan is
 * a quota, like the request limits, and waiting or stopping something frees room), counted.
 */
import { runnerKeys, STREAM_TTL_SECONDS } from '@keel/contract/keys';
import { execOutputStream } from '@keel/contract/streams';
import { aiUsage, workspaces } from '@keel/drizzle/schema';
import { and, eq, gt, gte, isNull, or, sql } from 'drizzle-orm';
import type { Context } from 'hono';
import type { Redis } from 'ioredis';
import type { AppEnv } from '../app-env.ts';
import type { Services } from '../services.ts';
import { liveStatuses } from '../workspaces/access.ts';
import { currentStatus } from '../workspaces/lifecycle-conflicts.ts';
import { planOf } from './plan-store.ts';
import { refuse } from './refusals.ts';

/** Statuses that hold (or are about to hold) a place on a runner. */
const OCCUPYING = new Set(['creating', 'starting', 'running', 'relocating', 'queued']);
/** A workspace claimed by a create or start counts until its row says so itself (or this passes). */
const CLAIM_SECONDS = 60;

const claimsKey = (services: Services, organizationId: string) =>
  `${services.config.redisPrefix}plan:ws-claims:${organizationId}`;
const commandsKey = (services: Services, organizationId: string) =>
  `${services.config.redisPrefix}plan:commands:${organizationId}`;

/** The organization's workspaces, each with whether it occupies a place now and since when its status stands. */
export async function workspacePlaces(
  services: Services,
  organizationId: string,
): Promise<{ id: string; occupying: boolean; at: number }[]> {
  // Deleted ones too while a claim may still name them: their deletion settles it.
  const since = new Date(Date.now() - CLAIM_SECONDS * 1000);
  const all = await services.db
    .select()
    .from(workspaces)
    .where(
      and(
        eq(workspaces.organizationId, organizationId),
        or(isNull(workspaces.deletedAt), gt(workspaces.deletedAt, since)),
      ),
    );
  const rows = all.filter((r) => !r.deletedAt);
  const deleted = all.flatMap((r) =>
    r.deletedAt ? [{ id: r.id, occupying: false, at: r.deletedAt.getTime() }] : [],
  );
  const live = await liveStatuses(services, rows);
  return rows
    .map((r) => {
      const l = live.get(r.id);
      const status = currentStatus(r, l);
      const at = l && status === l.status ? Date.parse(l.at) : r.updatedAt.getTime();
      return { id: r.id, occupying: OCCUPYING.has(status), at: Number.isNaN(at) ? 0 : at };
    })
    .concat(deleted);
}

/** The organization's workspaces that occupy a place now (stored row, or what the runner last wrote). */
export async function occupyingWorkspaces(services: Services, organizationId: string): Promise<string[]> {
  return (await workspacePlaces(services, organizationId)).filter((w) => w.occupying).map((w) => w.id);
}

/**
 * KEYS[1]: the organization's recent claims (workspace id → when, ms). ARGV: now (ms), the
 * claim's life (ms), the limit, the workspace to claim, how many ids follow as occupying, those
 * ids, then pairs of (id, ms) of workspaces that occupy nothing and since when. A claim counts
 * until its workspace's row speaks for itself: counted as occupying, or settled (stopped,
 * failed) after the claim was made. Two creates or starts racing each other meet here, one at
 * a time.
 */
const CLAIM_WORKSPACE = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', tonumber(ARGV[1]) - tonumber(ARGV[2]))
local occupying = tonumber(ARGV[5])
local counted = {}
for i = 6, 5 + occupying do counted[ARGV[i]] = true end
local settled = {}
for i = 6 + occupying, #ARGV, 2 do settled[ARGV[i]] = tonumber(ARGV[i + 1]) end
local total = occupying
local claims = redis.call('ZRANGE', KEYS[1], 0, -1, 'WITHSCORES')
for i = 1, #claims, 2 do
  local id, at = claims[i], tonumber(claims[i + 1])
  if not counted[id] and id ~= ARGV[4] and not (settled[id] and settled[id] > at) then total = total + 1 end
end
if total >= tonumber(ARGV[3]) then return total end
redis.call('ZADD', KEYS[1], ARGV[1], ARGV[4])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return -1`;

/**
 * KEYS[1]: the organization's running commands (output stream key → deadline, ms). ARGV: now
 * (ms), the limit, the new command's stream key and deadline. A command counts until its
 * stream's last entry is its `exit` or its deadline (timeout and a minute) passes.
 * The streams are read by name: Keel's Redis is one node (not a cluster).
 */
const CLAIM_COMMAND = `
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', ARGV[1])
for _, key in ipairs(redis.call('ZRANGE', KEYS[1], 0, -1)) do
  local last = redis.call('XREVRANGE', key, '+', '-', 'COUNT', 1)[1]
  if last and last[2][1] == 't' and last[2][2] == 'exit' then redis.call('ZREM', KEYS[1], key) end
end
local running = redis.call('ZCARD', KEYS[1])
if tonumber(ARGV[2]) > 0 then
  if running >= tonumber(ARGV[2]) then return running end
  redis.call('ZADD', KEYS[1], ARGV[4], ARGV[3])
  redis.call('PEXPIRE', KEYS[1], ${STREAM_TTL_SECONDS * 1000} + tonumber(ARGV[4]) - tonumber(ARGV[1]), 'GT')
  redis.call('PEXPIRE', KEYS[1], ${STREAM_TTL_SECONDS * 1000} + tonumber(ARGV[4]) - tonumber(ARGV[1]), 'NX')
end
return -1 - running`;

interface PlanRedis {
  keelClaimWorkspace(...keysAndArgs: Array<string | number>): Promise<number>;
  keelClaimCommand(...keysAndArgs: Array<string | number>): Promise<number>;
}
const withScripts = new WeakSet<Redis>();
function scripted(redis: Redis): Redis & PlanRedis {
  if (!withScripts.has(redis)) {
    redis.defineCommand('keelClaimWorkspace', { numberOfKeys: 1, lua: CLAIM_WORKSPACE });
    redis.defineCommand('keelClaimCommand', { numberOfKeys: 1, lua: CLAIM_COMMAND });
    withScripts.add(redis);
  }
  return redis as Redis & PlanRedis;
}

/**
 * Before a workspace is created or started: refuses when the organization already has as
 * many occupying places as its plan allows (this workspace not counted). Claims a place for it.
 */
export async function claimWorkspacePlace(c: Context<AppEnv>, organizationId: string, workspaceId: string) {
  const services = c.get('services');
  const limit = (await planOf(services, organizationId)).plan.limits.concurrentWorkspaces;
  if (limit === null) return;
  const places = (await workspacePlaces(services, organizationId)).filter((w) => w.id !== workspaceId);
  const occupying = places.filter((w) => w.occupying).map((w) => w.id);
  const settled = places.filter((w) => !w.occupying).flatMap((w) => [w.id, w.at]);
  const total = await scripted(services.redis()).keelClaimWorkspace(
    claimsKey(services, organizationId),
    Date.now(),
    CLAIM_SECONDS * 1000,
    limit,
    workspaceId,
    occupying.length,
    ...occupying,
    ...settled,
  );
  if (total >= 0) {
    await refuse(c, {
      scope: 'workspaces',
      organizationId,
      message: `The organization’s plan allows ${limit} workspace${limit === 1 ? '' : 's'} running at once; stop one first`,
    });
  }
}

/**
 * Before a command starts: refuses when the organization already runs as many as its plan
 * allows, and otherwise counts this one until it ends. Commands are tracked only while the
 * plan limits them.
 */
export async function claimCommandSlot(
  c: Context<AppEnv>,
  row: { organizationId: string; runnerId: string | null },
  executionId: string,
  timeoutMs: number,
) {
  const services = c.get('services');
  const limit = (await planOf(services, row.organizationId)).plan.limits.concurrentCommands;
  if (limit === null) return;
  const stream = execOutputStream.key(
    runnerKeys(services.config.redisPrefix, row.runnerId ?? ''),
    executionId,
  );
  const now = Date.now();
  const running = await scripted(services.redis()).keelClaimCommand(
    commandsKey(services, row.organizationId),
    now,
    limit,
    stream,
    now + timeoutMs + 60_000,
  );
  if (running >= 0) {
    await refuse(c, {
      scope: 'commands',
      organizationId: row.organizationId,
      retryAfterSeconds: 5,
      message: `The organization’s plan allows ${limit} command${limit === 1 ? '' : 's'} running at once; try again when one ends`,
    });
  }
}

/** Commands counted as running now (those started while the plan limited them). */
export async function runningCommands(services: Services, organizationId: string): Promise<number> {
  const out = await scripted(services.redis()).keelClaimCommand(
    commandsKey(services, organizationId),
    Date.now(),
    0,
    '',
    0,
  );
  return -1 - out;
}

/** Tokens (prompt and completion) the organization's model calls used since the UTC day began. */
export async function aiTokensToday(services: Services, organizationId: string): Promise<number> {
  const now = services.clock.now();
  const dayStart = new Date(Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate()));
  const [row] = await services.db
    .select({
      tokens: sql<number>`coalesce(sum(${aiUsage.promptTokens} + ${aiUsage.completionTokens}), 0)::float8`,
    })
    .from(aiUsage)
    .where(and(eq(aiUsage.organizationId, organizationId), gte(aiUsage.createdAt, dayStart)));
  return Number(row?.tokens ?? 0);
}

/** Before a model call: refuses once the organization's tokens for today are spent. */
export async function assertAiTokensLeft(c: Context<AppEnv>, organizationId: string): Promise<void> {
  const services = c.get('services');
  const limit = (await planOf(services, organizationId)).plan.limits.aiTokensPerDay;
  if (limit === null) return;
  const used = await aiTokensToday(services, organizationId);
  if (used < limit) return;
  const now = services.clock.now();
  const untilMidnight = Math.ceil(
    (Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate() + 1) - now.getTime()) / 1000,
  );
  await refuse(c, {
    scope: 'ai',
    organizationId,
    retryAfterSeconds: untilMidnight,
    message: `The organization’s plan allows ${limit} AI tokens a day and ${used} are used; more tomorrow (UTC)`,
  });
}
