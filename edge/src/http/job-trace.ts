import { type JobTrace, jobTrace } from '@keel/contract/trace';
import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';

/** What a job sent for this request carries of it: its id and span (contract/trace). */
export function jobTraceOf(c: Context<AppEnv>): JobTrace | undefined {
  const span = c.get('trace');
  return span ? jobTrace(c.get('requestId'), span) : undefined;
}
