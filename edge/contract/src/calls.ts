/**
 * Request/response work (file reads, trees, writes, patches…): the edge waits for the
 * runner's answer. Such a call does not go through BullMQ: its bookkeeping (several Lua
 * scripts and stream events per job on both sides) cost more than the work itself. The
 * edge appends the call to the runner's own list, the runner pops it, and publishes the
 * answer on a channel under its own key prefix that the waiting edge instance listens to.
 *
 * A one-way call (`reply: false`) starts work whose answer travels elsewhere: an AI call's
 * answer is its own stream. Nobody waits for it, so nothing is published back; one the
 * runner takes after its deadline is not run but handed to the runner's `expired` handler,
 * which tells whoever watches the work that it never started.
 *
 * A call is attempted once. One that waited past its deadline is dropped unanswered
 * (its caller has given up), so a write never lands long after the person saw it fail.
 * When no edge hears the answer (its connection was down), the runner leaves it in a key
 * for a minute, where the edge looks when it has waited a while.
 */
import { z } from 'zod';
import { JobOutcome } from './jobs.ts';
import { JobTrace } from './trace.ts';

/** `c-<edge instance>-<sequence>` */
const CALL_ID = /^c-([a-z0-9]{12})-(\d{1,15})$/;

export function callId(edgeInstance: string, sequence: number): string {
  return `c-${edgeInstance}-${sequence}`;
}

/** The edge instance waiting for this call. */
export function callerOf(id: string): string | undefined {
  return CALL_ID.exec(id)?.[1];
}

export const UNHEARD_REPLY_TTL_MS = 60_000;

/** One call in the runner's list; `job` is a RunnerJob, checked by the runner. */
export const CallRequest = z.object({
  id: z.string().regex(CALL_ID),
  /** Epoch milliseconds after which the caller no longer waits. */
  deadline: z.number(),
  job: z.unknown(),
  /** false: a one-way call, nobody waits for an answer. */
  reply: z.literal(false).optional(),
  /** The request it serves (contract/trace); one that does not read is left out, not the call. */
  trace: JobTrace.optional().catch(undefined),
});
export type CallRequest = z.infer<typeof CallRequest>;

/** One answer: the outcome the runner returned, or why the call failed outright. */
export const CallReply = z.union([
  z.object({ id: z.string(), outcome: JobOutcome }),
  z.object({ id: z.string(), failed: z.string() }),
]);
export type CallReply = z.infer<typeof CallReply>;
