import { z } from 'zod';
import { DrainProgress } from './fleet.ts';
import { idSchema } from './ids.ts';
import { ProtocolVersionString } from './protocol.ts';

/** Local drivers (`docker`, `process`) and the kinds of infrastructure servers a runner drives. */
export const DriverKind = z.enum(['docker', 'process', 'ssh', 'docker-tls', 'kubernetes']);
export type DriverKind = z.infer<typeof DriverKind>;

const LabelKey = z.string().regex(/^[a-z0-9][a-z0-9._/-]{0,62}$/, 'lower-case letters, digits, . _ / -');
export const Labels = z.record(LabelKey, z.string().max(128)).refine((l) => Object.keys(l).length <= 32, {
  message: 'at most 32 labels',
});
export type Labels = z.infer<typeof Labels>;

export const RunnerName = z
  .string()
  .trim()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'letters, digits, . _ -');

export const CreateRunnerTokenRequest = z.strictObject({
  name: RunnerName.optional(),
  labels: Labels.optional(),
  expiresInSeconds: z
    .number()
    .int()
    .min(60)
    .max(365 * 24 * 3600)
    .default(24 * 3600),
  maxUses: z.number().int().min(1).max(10_000).default(1),
});
export type CreateRunnerTokenRequest = z.infer<typeof CreateRunnerTokenRequest>;

export const RunnerTokenView = z.object({
  id: z.string(),
  name: z.string().nullable(),
  labels: Labels,
  expiresAt: z.string(),
  maxUses: z.number(),
  uses: z.number(),
  createdAt: z.string(),
});
export const CreateRunnerTokenResponse = z.object({ runnerToken: RunnerTokenView, token: z.string() });
export type CreateRunnerTokenResponse = z.infer<typeof CreateRunnerTokenResponse>;

export const RunnerCapacity = z.strictObject({
  workspaces: z.number().int().min(1).max(10_000),
  cpus: z.number().positive().max(4096),
  memoryMb: z.number().int().min(64),
});
export type RunnerCapacity = z.infer<typeof RunnerCapacity>;

export const RegisterRunnerRequest = z.strictObject({
  token: z.string().min(1).max(200),
  name: RunnerName,
  labels: Labels.default({}),
  capacity: RunnerCapacity,
  drivers: z.array(DriverKind).min(1),
  version: z.string().max(64).default('0.0.0'),
  /** The protocol the runner speaks (1.1 on); absent: 1.0. */
  protocol: ProtocolVersionString.optional(),
});
export type RegisterRunnerRequest = z.infer<typeof RegisterRunnerRequest>;

export const RegisterRunnerResponse = z.object({
  runnerId: idSchema('runner'),
  /** Shown once; the runner stores it 0600 and presents it as `Authorization: Bearer`. */
  credential: z.string(),
  /** The BullMQ queue this runner consumes, and the key prefix BullMQ and its streams use. */
  queueName: z.string(),
  bullPrefix: z.string(),
  keyPrefix: z.string(),
  /**
   * The runner's own Redis user when the edge confines runners (KEEL_REDIS_RUNNER_ACL):
   * it reaches only this runner's keys and channels. Shown once; Redis holds only its hash.
   */
  redis: z.object({ username: z.string(), password: z.string() }).optional(),
  /** The protocol agreed: the runner's major, at the lower of both minors. Absent from edges before 1.1. */
  protocol: ProtocolVersionString.optional(),
});
export type RegisterRunnerResponse = z.infer<typeof RegisterRunnerResponse>;

export const GpuStats = z.object({
  index: z.number().int(),
  name: z.string(),
  memoryTotalMb: z.number(),
  memoryUsedMb: z.number(),
  utilizationPercent: z.number(),
});

/** Written by the runner into Redis every few seconds with a TTL; absence means offline. */
export const RunnerHeartbeat = z.object({
  v: z.literal(1),
  runnerId: idSchema('runner'),
  at: z.string(),
  version: z.string(),
  driver: DriverKind,
  cpus: z.number(),
  load: z.array(z.number()).length(3),
  memory: z.object({ totalMb: z.number(), freeMb: z.number() }),
  disk: z.object({ totalMb: z.number(), freeMb: z.number() }),
  workspacesRunning: z.number().int(),
  gpus: z.array(GpuStats),
  /**
   * Whether this runner has a model (KEEL_AI_BASE_URL / KEEL_AI_MODEL) and which, so the edge
   * can refuse an AI request at once instead of queueing it. Absent from older runners: no AI.
   */
  ai: z.object({ configured: z.boolean(), model: z.string().nullable() }).optional(),
});
export type RunnerHeartbeat = z.infer<typeof RunnerHeartbeat>;

export const RunnerStatus = z.enum(['online', 'offline', 'revoked']);
export const RunnerView = z.object({
  id: idSchema('runner'),
  name: z.string(),
  labels: Labels,
  drivers: z.array(DriverKind),
  capacity: RunnerCapacity,
  status: RunnerStatus,
  /** Serves every organization; its host's stats are shown to install administrators only. */
  shared: z.boolean(),
  stats: RunnerHeartbeat.nullable(),
  createdAt: z.string(),
  revokedAt: z.string().nullable(),
  /** Its heartbeat has been gone past the deadline: its workspaces moved. Absent from older edges. */
  lost: z.boolean().optional(),
  /** Set while draining or with workspaces left from a drain. */
  drain: DrainProgress.optional(),
});
export type RunnerView = z.infer<typeof RunnerView>;
export const ListRunnersResponse = z.object({ runners: z.array(RunnerView) });

/** What a runner says when it checks in: the drivers it runs now. Absent from older runners. */
export const RunnerCheckInRequest = z.strictObject({
  drivers: z.array(DriverKind).min(1).max(8).optional(),
  /** As in registration: absent means 1.0. Checked again, for a runner or an edge upgraded since. */
  protocol: ProtocolVersionString.optional(),
});
export type RunnerCheckInRequest = z.infer<typeof RunnerCheckInRequest>;

/** What the runner learns when it checks in: stop working when revoked. */
export const RunnerCheckInResponse = z.object({
  runnerId: idSchema('runner'),
  revoked: z.boolean(),
  protocol: ProtocolVersionString.optional(),
});

/**
 * Seconds a heartbeat stays in Redis; a runner with none is offline. Short, so that a runner
 * that died is seen gone (its workspaces `unavailable`, calls refused) within seconds.
 */
export const HEARTBEAT_TTL_SECONDS = 5;
/** How often the heartbeat is written anew, with the host's stats. */
export const HEARTBEAT_INTERVAL_MS = 3_000;
/**
 * How often a live runner renews its heartbeat's expiry (one PEXPIRE, nothing collected): a slow
 * stats collection never makes a live runner look gone, and four renewals may be missed.
 */
export const HEARTBEAT_RENEW_MS = 1_000;
/**
 * How often a runner confirms over HTTPS that its credential still stands. The fleet's sweep
 * (lost runners, queued workspaces, drains) rides on these check-ins, so it sets how soon a lost
 * runner's workspaces move.
 */
export const CHECK_IN_INTERVAL_MS = 5_000;
