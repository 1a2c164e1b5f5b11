import { z } from 'zod';

/**
 * The admin console's Health page: the fleet and the edges at a glance. Request figures are
 * counted by every edge (Node or workerd) into per-minute buckets in Redis, so the page and the
 * `keel-edge-stats` exporter see all edges together, not only the one that answers.
 */

const count = z.number().int().min(0);

/** `GET /api/admin/health?minutes=`: the last `minutes` (default 15) of request figures. */
export const HealthQuery = z.strictObject({
  minutes: z.coerce.number().int().min(1).max(180).default(15),
});
export type HealthQuery = z.infer<typeof HealthQuery>;

/** Requests of one UTC minute, across every edge. */
export const HealthMinute = z.object({
  /** ISO 8601 start of the minute. */
  start: z.string(),
  requests: count,
  /** Answers with a 5xx status. */
  errors: count,
  /** From the minute's latency histogram; null when it had no requests. */
  p50Ms: z.number().nullable(),
  p99Ms: z.number().nullable(),
});
export type HealthMinute = z.infer<typeof HealthMinute>;

export const HealthQueue = z.object({
  /** The queue's name as operators know it (e.g. `jobs`, `calls`). */
  name: z.string(),
  waiting: count,
  active: count,
  delayed: count,
  failed: count,
  /** Age of the oldest waiting job; null when none waits. */
  oldestWaitingSeconds: z.number().nullable(),
});
export type HealthQueue = z.infer<typeof HealthQueue>;

export const HealthReport = z.object({
  generatedAt: z.string(),
  runners: z.object({
    total: count,
    /** With a live heartbeat. */
    online: count,
    /** The oldest heartbeat among live runners; null with none. */
    maxHeartbeatAgeSeconds: z.number().nullable(),
  }),
  servers: z.object({
    total: count,
    /** By the server's state (e.g. `ready`, `draining`, `unreachable`). */
    byState: z.record(z.string(), count),
  }),
  workspaces: z.object({
    /** By status (e.g. `running`, `stopped`, `unavailable`). */
    byStatus: z.record(z.string(), count),
  }),
  queues: z.array(HealthQueue),
  requests: z.object({
    minutes: z.array(HealthMinute),
    /** Over the whole window. */
    requests: count,
    errorRate: z.number().min(0).max(1).nullable(),
    p99Ms: z.number().nullable(),
  }),
  /** The last scheduled audit-chain check; null when none has run. */
  auditChain: z.object({ ok: z.boolean(), checkedAt: z.string() }).nullable(),
});
export type HealthReport = z.infer<typeof HealthReport>;
