/**
 * One JSON line per job or call a runner runs: its type, outcome and time, with the request it
 * serves (its id and trace, carried from the edge: contract/trace) so that one id finds a click's
 * whole path, the edge's line and the runner's. Nothing of a job's content (paths, commands,
 * prompts) is logged: only its type and the workspace it is for.
 */

import type { JobOutcome } from '@keel/contract/jobs';
import type { OtlpExporter } from '@keel/contract/otlp';
import { childSpan, JobTrace, parseTraceparent, type TraceSpan } from '@keel/contract/trace';
import { log } from './log.ts';

export interface JobSpan {
  requestId?: string;
  span: TraceSpan;
}

/** The job's own span, continuing its request's trace when it carries a readable one. */
export function jobSpanOf(trace: unknown): JobSpan {
  const parsed = JobTrace.safeParse(trace);
  if (!parsed.success) return { span: childSpan(undefined) };
  return { requestId: parsed.data.requestId, span: childSpan(parseTraceparent(parsed.data.traceparent)) };
}

/** What a job's data carries beside the job (the edge puts `trace` there: services/queue.ts). */
export function traceOfJobData(data: unknown): unknown {
  return data && typeof data === 'object' && 'trace' in data ? (data as { trace: unknown }).trace : undefined;
}

/** Where each job also goes as a span (OTLP), when an endpoint is configured. */
let spans: OtlpExporter | undefined;

export function exportJobSpansTo(exporter: OtlpExporter | undefined): void {
  spans = exporter;
}

export function logJob(
  job: { type: string; workspaceId?: string } | undefined,
  span: JobSpan,
  outcome: JobOutcome | 'threw',
  ms: number,
): void {
  const now = Date.now();
  const outcomeName = outcome === 'threw' ? 'error' : outcome.ok ? 'ok' : outcome.error.code;
  spans?.add({
    traceId: span.span.traceId,
    spanId: span.span.spanId,
    parentSpanId: span.span.parentSpanId,
    name: `job ${job?.type ?? 'unreadable'}`,
    kind: 'consumer',
    startMs: now - ms,
    endMs: now,
    attributes: {
      'keel.job.type': job?.type ?? 'unreadable',
      'keel.job.outcome': outcomeName,
      'keel.workspace_id': job?.workspaceId,
      'keel.request_id': span.requestId,
    },
    error: outcomeName === 'error' || outcomeName === 'internal',
  });
  log('info', 'job', {
    type: job?.type ?? 'unreadable',
    outcome: outcomeName,
    ms: Math.round(ms * 100) / 100,
    ...(job?.workspaceId ? { workspaceId: job.workspaceId } : {}),
    ...(span.requestId ? { requestId: span.requestId } : {}),
    traceId: span.span.traceId,
    spanId: span.span.spanId,
    ...(span.span.parentSpanId ? { parentSpanId: span.span.parentSpanId } : {}),
  });
}
