/**
 * W3C Trace Context (https://www.w3.org/TR/trace-context/), as Keel carries it: a request's
 * `traceparent` (taken from the caller when well formed, made here otherwise) goes with the jobs
 * and calls it sends through Redis to a runner, whose log lines and own calls to the edge carry it
 * on. With the request id beside it, one id finds a click's whole path in the logs.
 */
import { z } from 'zod';

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const ALL_ZERO = /^0+$/;
/** A request id a caller or load balancer gave that is safe to log and to pass on. */
export const SAFE_REQUEST_ID = /^[A-Za-z0-9_.:-]{1,128}$/;

/** One span of a trace: this process's part of the work. */
export interface TraceSpan {
  traceId: string;
  spanId: string;
  /** The span this one continues (the caller's), when there was one. */
  parentSpanId?: string;
  sampled: boolean;
}

/** What a job or call carries from its request: the request's id and its span as `traceparent`. */
export const JobTrace = z.object({
  requestId: z.string().regex(SAFE_REQUEST_ID),
  traceparent: z.string().regex(TRACEPARENT),
});
export type JobTrace = z.infer<typeof JobTrace>;

function randomHex(bytes: number): string {
  const b = new Uint8Array(bytes);
  crypto.getRandomValues(b);
  let s = '';
  for (const x of b) s += (x < 16 ? '0' : '') + x.toString(16);
  return ALL_ZERO.test(s) ? randomHex(bytes) : s;
}

/** Reads a `traceparent` header; anything else than a valid version-00 value is no parent. */
export function parseTraceparent(header: string | undefined | null): TraceSpan | undefined {
  if (!header) return undefined;
  const m = TRACEPARENT.exec(header.trim());
  if (!m || ALL_ZERO.test(m[1]!) || ALL_ZERO.test(m[2]!)) return undefined;
  return { traceId: m[1]!, spanId: m[2]!, sampled: (Number.parseInt(m[3]!, 16) & 1) === 1 };
}

/** A new span: continuing `parent`'s trace when there is one, a new trace otherwise. */
export function childSpan(parent: TraceSpan | undefined): TraceSpan {
  if (!parent) return { traceId: randomHex(16), spanId: randomHex(8), sampled: true };
  return {
    traceId: parent.traceId,
    spanId: randomHex(8),
    parentSpanId: parent.spanId,
    sampled: parent.sampled,
  };
}

export function formatTraceparent(span: TraceSpan): string {
  return `00-${span.traceId}-${span.spanId}-${span.sampled ? '01' : '00'}`;
}

/** The trace a job carries, for the request it serves. */
export function jobTrace(requestId: string, span: TraceSpan): JobTrace {
  return { requestId, traceparent: formatTraceparent(span) };
}
