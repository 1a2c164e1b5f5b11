import type { AiCallReport } from '@keel/contract/ai-jobs';

export interface ReportTarget {
  /** The edge's URL (KEEL_URL). */
  edgeUrl: string;
  /** The runner's credential, presented as a bearer token. */
  credential: string;
}

export type ReportVerdict = 'delivered' | 'rejected' | 'unreachable';

/** How long one delivery may take before it counts as unreachable (and is retried). */
const REPORT_TIMEOUT_MS = 5_000;

/**
 * Sends the summary of one finished model call to the edge, which writes the audit event and
 * the usage row. The runner, not the edge's SSE handler, reports because the runner is the only
 * party sure to see every call end: the browser may have gone away long before. 'rejected' (a
 * 4xx) is final: the edge already has it, or does not know the stream; anything else may be retried.
 */
export async function sendAiReport(target: ReportTarget, report: AiCallReport): Promise<ReportVerdict> {
  // A timer of its own, cleared on the answer: AbortSignal.timeout fires after every report,
  // long after it was delivered, and each firing costs an exception and an abort walk.
  const abort = new AbortController();
  const timer = setTimeout(() => abort.abort(), REPORT_TIMEOUT_MS);
  try {
    const res = await fetch(new URL('/api/runners/ai-reports', target.edgeUrl), {
      method: 'POST',
      headers: { authorization: `Bearer ${target.credential}`, 'content-type': 'application/json' },
      body: JSON.stringify(report),
      signal: abort.signal,
    });
    await res.body?.cancel().catch(() => {});
    if (res.ok) return 'delivered';
    return res.status >= 400 && res.status < 500 && res.status !== 429 ? 'rejected' : 'unreachable';
  } catch {
    return 'unreachable';
  } finally {
    clearTimeout(timer);
  }
}

/** Waits between retries of an undelivered report: about a minute in all, then it is given up (and logged). */
export const REPORT_RETRY_DELAYS_MS = [1_000, 3_000, 10_000, 45_000];
