/**
 * Where a workspace runs. An organization's placement policy (or the install's default) picks
 * among the eligible runners: online, not revoked, not draining, not lost, with the free CPU,
 * memory, disk and GPUs the workspace asks for. Each decision is recorded with every candidate
 * and why it was chosen or refused, so `GET /api/workspaces/:id/placement` can explain it.
 */
import { z } from 'zod';
import { idSchema } from './ids.ts';
import { Labels } from './runners.ts';

/**
 * `least-loaded`: the candidate with the most room left (free CPU, memory and disk from its
 * heartbeat, less what its workspaces asked for) after the workspace is placed;
 * `round-robin`: the next eligible candidate in id order, one counter per organization.
 */
export const PlacementStrategy = z.enum(['least-loaded', 'round-robin']);
export type PlacementStrategy = z.infer<typeof PlacementStrategy>;

/** An organization's policy; labels narrow (required) or order (preferred) the candidates. */
export const PlacementPolicy = z.strictObject({
  strategy: PlacementStrategy.default('least-loaded'),
  /** Every one must match a runner's label (`region` is a label like any other). */
  requiredLabels: Labels.default({}),
  /** Candidates matching more of these come first; the strategy orders within a tie. */
  preferredLabels: Labels.default({}),
  /**
   * How many CPUs workspaces may ask for per CPU of a runner. A workspace's CPUs are a ceiling,
   * not a reservation, CPU time is shared (too many makes them slower, never broken) and most of
   * a developer's day is idle: 8 by default.
   */
  cpuOvercommit: z.number().min(1).max(64).default(8),
  /** Likewise for memory (a ceiling too, but memory once used is not given back as CPU is): 1.5. */
  memoryOvercommit: z.number().min(1).max(16).default(1.5),
});
export type PlacementPolicy = z.infer<typeof PlacementPolicy>;
export const DEFAULT_PLACEMENT_POLICY: PlacementPolicy = {
  strategy: 'least-loaded',
  requiredLabels: {},
  preferredLabels: {},
  cpuOvercommit: 8,
  memoryOvercommit: 1.5,
};

/** What one workspace asks of placement, on top of its organization's policy. */
export const WorkspacePlacementRequest = z.strictObject({
  /** Shorthand for `requiredLabels.region`. */
  region: z.string().trim().min(1).max(64).optional(),
  requiredLabels: Labels.optional(),
  preferredLabels: Labels.optional(),
});
export type WorkspacePlacementRequest = z.infer<typeof WorkspacePlacementRequest>;

/** `GET /api/admin/placement-policy`: the organization's own policy (null: the install's default) and what applies. */
export const OrgPlacementPolicyResponse = z.object({
  policy: PlacementPolicy.nullable(),
  installDefault: PlacementPolicy,
  effective: PlacementPolicy,
});
/** `PUT /api/admin/placement-policy`: `policy: null` goes back to the install's default. */
export const UpdateOrgPlacementPolicyRequest = z.strictObject({ policy: PlacementPolicy.nullable() });

/** Why a candidate was not chosen. */
export const RefusalCode = z.enum([
  'offline',
  'lost',
  'draining',
  'revoked',
  'driver',
  'labels',
  'cpu',
  'memory',
  'disk',
  'gpu',
  'capacity',
  'excluded',
]);
export type RefusalCode = z.infer<typeof RefusalCode>;

export const PlacementCandidate = z.object({
  runnerId: idSchema('runner'),
  runnerName: z.string(),
  verdict: z.enum(['chosen', 'eligible', 'refused']),
  /** Set when refused. */
  refusal: RefusalCode.nullable(),
  /** A sentence for people: "needs 2 CPUs, 0.5 free". */
  detail: z.string().nullable(),
  /** least-loaded: the room left after placing (0..1, higher is emptier); null otherwise. */
  score: z.number().nullable(),
});
export type PlacementCandidate = z.infer<typeof PlacementCandidate>;

export const PlacementReason = z.enum(['create', 'queued', 'relocation', 'drain', 'manual', 'restore']);
export type PlacementReason = z.infer<typeof PlacementReason>;

/** One decision, as recorded. `runnerId` null: nothing fitted (the workspace waits `queued`). */
export const PlacementDecision = z.object({
  id: idSchema('placement'),
  workspaceId: idSchema('workspace'),
  generation: z.number().int(),
  reason: PlacementReason,
  strategy: PlacementStrategy.nullable(),
  /** `policy`: the organization's or install's policy; `server`: the person chose a server; `admin`: placed by hand. */
  decidedBy: z.enum(['policy', 'server', 'admin']),
  runnerId: z.string().nullable(),
  serverId: z.string().nullable(),
  /** For people: why this one, or why none. */
  summary: z.string(),
  candidates: z.array(PlacementCandidate),
  decidedAt: z.string(),
});
export type PlacementDecision = z.infer<typeof PlacementDecision>;
export const WorkspacePlacementResponse = z.object({
  current: PlacementDecision.nullable(),
  /** Earlier decisions, newest first (at most 20). */
  history: z.array(PlacementDecision),
});

/** `POST /api/admin/workspaces/:id/place`: move it there (stop → snapshot → restore there → start). */
export const AdminPlaceRequest = z.union([
  z.strictObject({ runnerId: idSchema('runner') }),
  z.strictObject({ serverId: idSchema('server') }),
]);
export type AdminPlaceRequest = z.infer<typeof AdminPlaceRequest>;
