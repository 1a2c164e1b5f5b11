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

/**
 * Random bytes drawn from the CSPRNG 4 KB at a time and each used once: every request starts a
 * span, and a `getRandomValues` per id cost a tenth of a cached list request on Node (measured:
 * it is a crypto job there). Filled on first use: workerd allows no random values at module load.
 */
const POOL_BYTES = 4096;
let pool = new Uint8Array(0);
let used = 0;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

function randomHex(bytes: number): string {
  for (;;) {
    if (used + bytes > pool.length) {
      pool = crypto.getRandomValues(new Uint8Array(POOL_BYTES));
      used = 0;
    }
    let s = '';
    let zero = true;
    for (let i = used; i < used + bytes; i++) {
      s += HEX[pool[i]!];
      if (pool[i] !== 0) zero = false;
    }
    used += bytes;
    // All zeros is not a valid id (W3C); drawn again.
    if (!zero) return s;
  }
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
