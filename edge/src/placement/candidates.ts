/**
 * The runners a workspace could go to, with what each has free: the organization's runners and
 * the shared ones, their heartbeats (one MGET), and what their live workspaces already asked for
 * (one grouped query). Each is then judged against the ask: eligible, or refused with a code and
 * a sentence that says why.
 */

import { runnerKeys } from '@keel/contract/keys';
import type { RefusalCode } from '@keel/contract/placement';
import { DriverKind } from '@keel/contract/runners';
import { runners, workspaces } from '@keel/drizzle/schema';
import { eq, isNull, or, sql } from 'drizzle-orm';
import { z } from 'zod';
import { setBounded } from '../services/bounded-map.ts';
import type { Database } from '../services/database.ts';
import type { Services } from '../services.ts';
import { loadPolicy, type PolicyView, policyColumns, policyView } from './policy.ts';

export type RunnerRow = typeof runners.$inferSelect;

/**
 * Stored statuses of workspaces that hold no CPU or memory of their runner (the edge's stored
 * status; a running workspace reads `creating` or `starting` there until it is stopped).
 */
export const RELEASED_STATUSES = ['stopped', 'stopping', 'failed', 'deleting', 'queued'];

/** What a runner's live workspaces asked for, together. */
export interface Committed {
  workspaces: number;
  cpus: number;
  memoryMb: number;
  diskMb: number;
  gpus: number;
}

const NOTHING: Committed = { workspaces: 0, cpus: 0, memoryMb: 0, diskMb: 0, gpus: 0 };

export interface Candidate {
  runner: RunnerRow;
  heartbeat: PlacementBeat | undefined;
  committed: Committed;
}

const RELEASED_SQL = sql.raw(RELEASED_STATUSES.map((x) => `'${x}'`).join(', '));

/**
 * What each runner's live workspaces asked for, every organization's counted (a shared runner's
 * room is shared too): a correlated aggregate per runner row, read through the workspaces'
 * runner index, so the runners and their commitments come back in one round trip. (The outer
 * id is written out: drizzle leaves columns of a one-table query unqualified, which here would
 * name the workspace's own id.)
 */
const committedColumn = sql<unknown>`(select array[
    count(*)::float8,
    coalesce(sum((w.resources->>'cpus')::float8), 0),
    coalesce(sum((w.resources->>'memoryMb')::float8), 0),
    coalesce(sum((w.resources->>'diskMb')::float8), 0),
    coalesce(sum((w.resources->>'gpus')::float8), 0)
  ] from ${workspaces} w
  where w.runner_id = "runners"."id" and w.deleted_at is null and w.status not in (${RELEASED_SQL}))`;

function toCommitted(value: unknown): Committed {
  const list =
    typeof value === 'string'
      ? value.replace(/[{}]/g, '').split(',').map(Number)
      : (value as number[] | null);
  if (!Array.isArray(list) || list.length !== 5 || list.some((x) => !Number.isFinite(Number(x))))
    return NOTHING;
  const [n, cpus, memoryMb, diskMb, gpus] = list.map(Number) as [number, number, number, number, number];
  return { workspaces: n, cpus, memoryMb, diskMb, gpus };
}

function candidatesQuery(db: Database) {
  const org = sql.placeholder('organizationId');
  return db
    .select({ runner: runners, committed: committedColumn, ...policyColumns(org) })
    .from(runners)
    .where(or(eq(runners.organizationId, org), isNull(runners.organizationId)))
    .orderBy(runners.id)
    .prepare('placement_candidates');
}

/**
 * Prepared once per database handle: building a query of this size in drizzle costs about as
 * much as PostgreSQL takes to answer it (measured with bench/placement.ts).
 */
const prepared = new WeakMap<Database, ReturnType<typeof candidatesQuery>>();

export interface PlacementInputs {
  policy: PolicyView;
  candidates: Candidate[];
}

/**
 * The runner ids each organization's last decision read, so the next reads their heartbeats
 * while PostgreSQL answers (see loadCandidates). Process-local and only a guess: a runner it
 * lacks is read after the query, one it names that is gone is dropped.
 */
const lastRunnerIds = new Map<string, string[]>();
const LAST_RUNNER_IDS_MAX = 1_000;

/**
 * The runners with their commitments and the policy that applies (one query), and their
 * heartbeats (one MGET, sent beside the query for the runners the organization's last decision
 * read, and after it only for runners that were not among them). With no runner at all, the
 * policy is read on its own.
 */
export async function loadCandidates(services: Services, organizationId: string): Promise<PlacementInputs> {
  let query = prepared.get(services.db);
  if (!query) {
    query = candidatesQuery(services.db);
    prepared.set(services.db, query);
  }
  const guessed = lastRunnerIds.get(organizationId) ?? [];
  const [rows, early] = await Promise.all([
    query.execute({ organizationId }),
    placementHeartbeats(services, guessed),
  ]);
  const policy = rows[0]
    ? policyView(rows[0].orgPolicy, rows[0].installSettings)
    : await loadPolicy(services, organizationId);
  const ids = rows.filter((r) => !r.runner.revokedAt).map((r) => r.runner.id);
  setBounded(lastRunnerIds, organizationId, ids, LAST_RUNNER_IDS_MAX);
  const known = new Set(guessed);
  const late = await placementHeartbeats(
    services,
    ids.filter((id) => !known.has(id)),
  );
  return {
    policy,
    candidates: rows.map(({ runner, committed }) => ({
      runner,
      heartbeat: runner.revokedAt ? undefined : (early.get(runner.id) ?? late.get(runner.id)),
      committed: toCommitted(committed),
    })),
  };
}

/**
 * The part of a heartbeat placement reads, checked with a schema of just that part: the full
 * one (every GPU's stats) costs more than the rest of a decision with 50 runners.
 */
const PlacementBeat = z.object({
  runnerId: z.string(),
  driver: DriverKind,
  cpus: z.number(),
  memory: z.object({ totalMb: z.number(), freeMb: z.number() }),
  disk: z.object({ totalMb: z.number(), freeMb: z.number() }),
  gpus: z.array(z.unknown()).max(256),
});
export type PlacementBeat = z.infer<typeof PlacementBeat>;

async function placementHeartbeats(services: Services, ids: string[]): Promise<Map<string, PlacementBeat>> {
  const out = new Map<string, PlacementBeat>();
  if (ids.length === 0) return out;
  const prefix = services.config.redisPrefix;
  const raw = await services.redis().mget(...ids.map((id) => runnerKeys(prefix, id).heartbeat));
  raw.forEach((value, i) => {
    if (!value) return;
    try {
      const parsed = PlacementBeat.safeParse(JSON.parse(value));
      // A heartbeat under another runner's key counts as none.
      if (parsed.success && parsed.data.runnerId === ids[i]) out.set(ids[i]!, parsed.data);
    } catch {
      // A malformed heartbeat counts as none.
    }
  });
  return out;
}

export interface Need {
  cpus: number;
  memoryMb: number;
  diskMb?: number | undefined;
  gpus?: number | undefined;
  /** Every pair must match; the policy's and the workspace's are both kept, so one cannot lift the other. */
  labels: ReadonlyArray<readonly [string, string]>;
  exclude: ReadonlySet<string>;
  drivers: readonly DriverKind[] | undefined;
  /** CPUs and memory workspaces may ask for per CPU / MB of the runner (the policy's). */
  cpuOvercommit: number;
  memoryOvercommit: number;
}

export type Judgement =
  | { eligible: true; driver: DriverKind; score: number }
  | { eligible: false; refusal: RefusalCode; detail: string };

const refuse = (refusal: RefusalCode, detail: string): Judgement => ({ eligible: false, refusal, detail });
const fmt = (n: number) => (Number.isInteger(n) ? String(n) : n.toFixed(2).replace(/0+$/, ''));
const plural = (n: number, one: string) => `${fmt(n)} ${one}${n === 1 ? '' : 's'}`;

/**
 * One candidate against the ask. Free CPU and memory are the runner's (its capacity, bounded by
 * its host as the heartbeat reports it, times the policy's overcommit) less what its live
 * workspaces asked for; disk is the
 * host's free disk less the disk its workspaces reserved; GPUs are the ones `nvidia-smi` lists
 * less those its workspaces hold. The score is the room left after placing, the lowest share of
 * CPU, memory and (when the workspace reserves disk) disk: 0..1, higher is emptier.
 */
export function judge(c: Candidate, need: Need): Judgement {
  const { runner, heartbeat: beat, committed } = c;
  if (runner.revokedAt) return refuse('revoked', 'its credential was revoked');
  if (runner.lostAt) return refuse('lost', 'its heartbeat was gone past the deadline');
  if (!beat) return refuse('offline', 'no heartbeat');
  if (runner.drainingAt) return refuse('draining', 'it is being drained');
  if (need.exclude.has(runner.id)) return refuse('excluded', 'the workspace is leaving it');
  if (need.drivers && !need.drivers.includes(beat.driver)) {
    return refuse('driver', `it runs ${beat.driver}; needs ${need.drivers.join(' or ')}`);
  }
  if (need.gpus && beat.driver === 'process') {
    return refuse('driver', 'the process driver cannot give a workspace GPUs');
  }
  const missing = need.labels.filter(([k, v]) => runner.labels[k] !== v);
  if (missing.length > 0) {
    return refuse('labels', `lacks ${missing.map(([k, v]) => `${k}=${v}`).join(', ')}`);
  }
  const cpuTotal =
    Math.min(runner.capacity.cpus, beat.cpus > 0 ? beat.cpus : runner.capacity.cpus) * need.cpuOvercommit;
  const cpuFree = cpuTotal - committed.cpus;
  if (cpuFree < need.cpus)
    return refuse('cpu', `needs ${plural(need.cpus, 'CPU')}, ${fmt(Math.max(0, cpuFree))} free`);
  const memTotal =
    Math.min(runner.capacity.memoryMb, beat.memory.totalMb > 0 ? beat.memory.totalMb : Infinity) *
    need.memoryOvercommit;
  // What the host has free now bounds it too: overcommitting a host already short of memory is not room.
  const memFree = Math.min(memTotal - committed.memoryMb, beat.memory.freeMb * need.memoryOvercommit);
  if (memFree < need.memoryMb) {
    return refuse(
      'memory',
      `needs ${need.memoryMb} MB of memory, ${Math.max(0, Math.floor(memFree))} MB free`,
    );
  }
  const diskFree = beat.disk.freeMb - committed.diskMb;
  const diskNeed = need.diskMb ?? 0;
  if (diskFree < diskNeed) {
    return refuse('disk', `needs ${diskNeed} MB of disk, ${Math.max(0, Math.floor(diskFree))} MB free`);
  }
  const gpuNeed = need.gpus ?? 0;
  const gpuFree = beat.gpus.length - committed.gpus;
  if (gpuFree < gpuNeed) {
    return refuse('gpu', `needs ${plural(gpuNeed, 'GPU')}, ${fmt(Math.max(0, gpuFree))} free`);
  }
  if (committed.workspaces >= runner.capacity.workspaces) {
    return refuse('capacity', `holds its most workspaces (${runner.capacity.workspaces})`);
  }
  const shares = [(cpuFree - need.cpus) / cpuTotal, (memFree - need.memoryMb) / memTotal];
  // Disk counts when the workspace reserves some: hosts' disks fill with more than workspaces.
  if (diskNeed > 0 && beat.disk.totalMb > 0) shares.push((diskFree - diskNeed) / beat.disk.totalMb);
  const score = Math.max(0, Math.min(1, ...shares));
  return { eligible: true, driver: beat.driver, score: Math.round(score * 1e4) / 1e4 };
}
