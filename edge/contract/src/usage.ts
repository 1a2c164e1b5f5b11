import { z } from 'zod';
import { AiUsageResponse } from './ai-jobs.ts';
import { CONTRACT_VERSION } from './version.ts';

/**
 * Resource usage kept in PostgreSQL: what each workspace (and so each person) used, rolled up
 * per UTC hour and per UTC day. Runners sample their workspaces and report the increments;
 * the edge adds them into both rollups at once, so no separate roll-up job has to run.
 */

const count = z.number().int().min(0);
const amount = z.number().min(0).finite();
const isoTime = z.iso.datetime({ offset: true });
/** No control characters: PostgreSQL refuses NUL in text, and none belongs in an id or a name. */
const noControl = (s: string) => ![...s].some((ch) => ch.charCodeAt(0) < 0x20 || ch.charCodeAt(0) === 0x7f);
const id = z.string().min(1).max(128).refine(noControl, 'must not contain control characters');

export const UsageGranularity = z.enum(['hour', 'day']);
export type UsageGranularity = z.infer<typeof UsageGranularity>;

/** What one workspace used, or the sum over many. */
export const ResourceTotals = z.object({
  cpuSeconds: amount,
  /** Memory in use integrated over time: 1 GiB held for an hour is 1. */
  memoryGibHours: amount,
  /** Disk held integrated over time: 10 GiB kept for a day is 240. */
  storageGibHours: amount,
  /** The most disk any one workspace held at a sample in the window. */
  peakStorageBytes: count,
  /** Seconds the workspace's container was running. */
  runningSeconds: count,
  /** Commands run through the API (executions). */
  commands: count,
  aiCalls: count,
  aiPromptTokens: count,
  aiCompletionTokens: count,
});
export type ResourceTotals = z.infer<typeof ResourceTotals>;

/** One hour or day of the window (UTC), oldest first; only buckets with any use are listed. */
export const UsageBucket = ResourceTotals.extend({
  /** ISO 8601 start of the hour or day. */
  start: z.string(),
  /** Workspaces that were running at some point of the bucket. */
  workspacesRunning: count,
});
export type UsageBucket = z.infer<typeof UsageBucket>;

export const WorkspaceUsage = ResourceTotals.extend({
  workspaceId: z.string(),
  /** Null once the workspace is deleted: its usage is kept. */
  name: z.string().nullable(),
  ownerId: z.string(),
});
export type WorkspaceUsage = z.infer<typeof WorkspaceUsage>;

/** `GET /api/admin/usage`: filters narrow every part of the report, the AI part included. */
export const UsageQuery = z.strictObject({
  /** ISO 8601; default 30 days before `until`. */
  since: isoTime.optional(),
  /** ISO 8601; default now. */
  until: isoTime.optional(),
  /** The buckets' size; `hour` allows a window of at most 31 days. */
  granularity: UsageGranularity.default('day'),
  userId: id.optional(),
  workspaceId: id.optional(),
  /** A group or team name as the sign-in provider sent it. */
  team: z.string().min(1).max(256).refine(noControl, 'must not contain control characters').optional(),
  /** `csv`: one row per bucket and workspace, as a download. */
  format: z.enum(['json', 'csv']).default('json'),
});
export type UsageQuery = z.infer<typeof UsageQuery>;

/**
 * The admin report: the AI part keeps the earlier shape (totals per user, model, kind, day and
 * workspace), and `resources` adds what workspaces used.
 */
export const UsageReport = AiUsageResponse.extend({
  granularity: UsageGranularity,
  resources: z.object({
    totals: ResourceTotals,
    buckets: z.array(UsageBucket),
    /** The heaviest users first (by CPU-seconds), at most 1,000. */
    users: z.array(ResourceTotals.extend({ userId: z.string(), email: z.string().nullable() })),
    /** Per group or team; a person in two teams counts in both. */
    teams: z.array(ResourceTotals.extend({ team: z.string() })),
    /** The heaviest workspaces first (by CPU-seconds), at most 200. */
    workspaces: z.array(WorkspaceUsage),
  }),
});
export type UsageReport = z.infer<typeof UsageReport>;

/** `GET /api/me/usage`: the caller's own use. */
export const MyUsageQuery = UsageQuery.pick({ since: true, until: true, granularity: true, format: true });
export type MyUsageQuery = z.infer<typeof MyUsageQuery>;

export const MyUsageReport = z.object({
  since: z.string(),
  until: z.string(),
  granularity: UsageGranularity,
  totals: ResourceTotals,
  buckets: z.array(UsageBucket),
  workspaces: z.array(WorkspaceUsage),
  /** Per model: the caller's AI calls and tokens. */
  models: z.array(
    z.object({ model: z.string(), calls: count, promptTokens: count, completionTokens: count }),
  ),
});
export type MyUsageReport = z.infer<typeof MyUsageReport>;

/** The most samples one report may carry; a runner with more workspaces sends several. */
export const MAX_USAGE_SAMPLES = 500;

/** What one workspace used since the runner's previous sample of it. */
export const UsageSample = z.strictObject({
  workspaceId: id,
  /** When the interval began and ended; it must lie within one UTC hour (the runner splits it). */
  from: isoTime,
  to: isoTime,
  cpuSeconds: amount.max(3600 * 1024),
  /** Memory in use integrated over the interval, in byte-seconds. */
  memoryByteSeconds: amount,
  /** Disk the workspace held at `to`. */
  storageBytes: count,
  runningSeconds: count.max(3600),
});
export type UsageSample = z.infer<typeof UsageSample>;

/**
 * `POST /api/runners/usage-reports` (runner → edge). A retried report (same id) is counted once.
 * Only a malformed report is refused whole (422); a sample for a workspace not (or no longer)
 * placed on the reporting runner is refused alone (see UsageReportAnswer).
 */
export const UsageSampleReport = z.strictObject({
  v: z.literal(CONTRACT_VERSION),
  reportId: z.uuid(),
  samples: z.array(UsageSample).min(1).max(MAX_USAGE_SAMPLES),
});
export type UsageSampleReport = z.infer<typeof UsageSampleReport>;

/**
 * The edge's answer to a usage report. `recorded`: the samples written. `refused`: the workspaces
 * (ids as sent, each once) whose samples were not written because the workspace is not, or no
 * longer, placed on the reporting runner (moved, drained, unknown, or another organization's:
 * one answer for all, so it tells nothing the runner did not send). A retried report already
 * counted answers `duplicate: true` with `recorded: 0` and `refused: []`: the first answer said
 * what counted.
 */
export const UsageReportAnswer = z.object({
  recorded: count,
  refused: z.array(z.string()).max(MAX_USAGE_SAMPLES),
  duplicate: z.literal(true).optional(),
});
export type UsageReportAnswer = z.infer<typeof UsageReportAnswer>;
