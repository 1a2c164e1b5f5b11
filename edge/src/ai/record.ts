import type { AiCallReport } from '@keel/contract/ai-jobs';
import { AI_STREAM_TTL_SECONDS } from '@keel/contract/keys';
import { aiUsage } from '@keel/drizzle/schema';
import { appendAudit } from '../audit/audit-log.ts';
import { aiReportedKey } from '../redis-keys.ts';
import type { Database } from '../services/database.ts';
import type { Services } from '../services.ts';
import { addAiCallUsage } from '../usage/ai-usage-rollup.ts';
import type { AiStreamRecord } from './stream-record.ts';

/**
 * Records a call's report unless one was recorded already: one claim per stream, so a runner's
 * retry, or a runner that reports after the edge closed its stream as offline, never counts a
 * call twice. False when the stream was already recorded.
 */
export async function recordAiCallOnce(
  services: Services,
  record: AiStreamRecord,
  report: AiCallReport,
): Promise<boolean> {
  const claim = aiReportedKey(services, report.streamId);
  const claimed = await services.redis().set(claim, '1', 'EX', AI_STREAM_TTL_SECONDS, 'NX');
  if (claimed !== 'OK') return false;
  try {
    await recordAiCall(services, record, report);
  } catch (err) {
    // Nothing was written (one transaction): a retry may claim it again.
    await services.redis().del(claim);
    throw err;
  }
  return true;
}

/**
 * Writes what one finished model call leaves behind: its `ai_usage` row and its audit event,
 * in one transaction so a retried report can never count a call twice or half. Both hold
 * values only (ids, counts, timings, SHA-256 hashes and sizes), never the prompt, the code or
 * the answer. Who and where come from the edge's own record of the stream.
 */
export async function recordAiCall(
  services: Services,
  record: AiStreamRecord,
  report: AiCallReport,
): Promise<void> {
  await services.db.transaction(async (tx) => {
    await tx.insert(aiUsage).values({
      organizationId: record.organizationId,
      userId: record.userId,
      workspaceId: record.workspaceId,
      kind: report.kind,
      model: report.model,
      promptTokens: report.promptTokens,
      completionTokens: report.completionTokens,
      firstTokenMs: report.firstTokenMs,
      latencyMs: report.latencyMs,
      outcome: report.outcome,
      createdAt: services.clock.now(),
    });
    await addAiCallUsage(tx as unknown as Database, record, report, services.clock.now());
    // A nested transaction (a savepoint): the audit append takes its chain lock inside this one.
    await appendAudit(
      { db: tx as unknown as Database, clock: services.clock, auditSeal: services.auditSeal },
      {
        action: `ai.${report.kind}`,
        outcome: report.outcome === 'success' ? 'success' : 'failure',
        actorId: record.userId,
        organizationId: record.organizationId,
        workspaceId: record.workspaceId,
        targetId: report.streamId,
        metadata: {
          result: report.outcome,
          errorCode: report.errorCode ?? null,
          runnerId: record.runnerId,
          model: report.model,
          pathSha256: record.pathSha256,
          paths: record.paths,
          promptSha256: report.promptSha256 ?? null,
          promptBytes: report.promptBytes,
          answerSha256: report.answerSha256,
          answerBytes: report.answerBytes,
          diffSha256: report.diffSha256 ?? null,
          diffBytes: report.diffBytes ?? null,
          baseSha256: report.baseSha256 ?? null,
          contextFiles: report.contextFiles,
          promptTokens: report.promptTokens,
          completionTokens: report.completionTokens,
          tokensEstimated: report.tokensEstimated,
          firstTokenMs: report.firstTokenMs,
          latencyMs: report.latencyMs,
        },
      },
    );
  });
}
