import { z } from 'zod';

/**
 * An organization's plan: what it may use at once and per day, set by its super_admin within
 * the install's maximums (docs/CONFIGURATION.md, "Rate limits and plans"). Each limit is a
 * positive whole number, or null for no limit. Stored in `organizations.plan`; an organization
 * without one has the install's default plan.
 */
export const PlanLimit = z.number().int().positive().max(1_000_000_000).nullable();
export type PlanLimit = z.infer<typeof PlanLimit>;

export const PlanLimits = z.strictObject({
  /** Model tokens (prompt and completion) the organization may spend per UTC day. */
  aiTokensPerDay: PlanLimit,
  /** Workspaces creating, starting, running, moving or queued at once. */
  concurrentWorkspaces: PlanLimit,
  /** Commands running at once across the organization's workspaces. */
  concurrentCommands: PlanLimit,
  /** API requests per minute from all of the organization's people together. */
  apiRequestsPerMinute: PlanLimit,
});
export type PlanLimits = z.infer<typeof PlanLimits>;

export const PLAN_LIMIT_NAMES = [
  'aiTokensPerDay',
  'concurrentWorkspaces',
  'concurrentCommands',
  'apiRequestsPerMinute',
] as const satisfies readonly (keyof PlanLimits)[];

export const Plan = z.strictObject({
  name: z.string().trim().min(1).max(80),
  limits: PlanLimits,
});
export type Plan = z.infer<typeof Plan>;

/** What a refusal is counted under, for the dashboards. */
export const RateLimitScope = z.enum(['ip', 'person', 'plan', 'ai', 'workspaces', 'commands']);
export type RateLimitScope = z.infer<typeof RateLimitScope>;

/** The install's ceilings: a plan above one is refused; null: no ceiling. */
export const PlanMaximums = PlanLimits;
export type PlanMaximums = PlanLimits;

/** What the organization uses now, next to its plan. */
export const PlanUsage = z.object({
  workspacesRunning: z.number().int().nonnegative(),
  /** Commands tracked as running (only counted while the plan limits them). */
  commandsRunning: z.number().int().nonnegative(),
  aiTokensToday: z.number().nonnegative(),
  /** Refusals counted today (UTC) for the organization, by scope. */
  refusalsToday: z.record(RateLimitScope, z.number().int().nonnegative()),
});
export type PlanUsage = z.infer<typeof PlanUsage>;

export const PlanResponse = z.object({
  plan: Plan,
  /** `organization`: set for it; `install`: the install's default plan. */
  source: z.enum(['organization', 'install']),
  maximums: PlanMaximums,
  /** The limits every request meets regardless of plan, per minute. */
  requestLimits: z.object({
    perAddressPerMinute: z.number().int().positive(),
    perPersonPerMinute: z.number().int().positive(),
  }),
  usage: PlanUsage,
});
export type PlanResponse = z.infer<typeof PlanResponse>;

/** A new plan for the organization, or `{ plan: null }` to go back to the install's default. */
export const UpdatePlanRequest = z.strictObject({ plan: Plan.nullable() });
export type UpdatePlanRequest = z.infer<typeof UpdatePlanRequest>;
