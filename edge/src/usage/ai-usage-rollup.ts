import type { AiCallReport } from '@keel/contract/ai-jobs';
import { workspaces } from '@keel/drizzle/schema';
import { eq } from 'drizzle-orm';
import type { AiStreamRecord } from '../ai/stream-record.ts';
import type { Database } from '../services/database.ts';
import { addUsage } from './rollup-write.ts';

/**
 * Adds one finished model call into its workspace's hour and day, inside the transaction that
 * records the call (so a report counts in both places or neither). The rollup row is the
 * workspace owner's, like the rest of the workspace's usage; who asked is in `ai_usage`.
 */
export async function addAiCallUsage(
  tx: Database,
  record: AiStreamRecord,
  report: AiCallReport,
  at: Date,
): Promise<void> {
  const [workspace] = await tx
    .select({ ownerId: workspaces.ownerId, organizationId: workspaces.organizationId })
    .from(workspaces)
    .where(eq(workspaces.id, record.workspaceId))
    .limit(1);
  if (!workspace || workspace.organizationId !== record.organizationId) return;
  await addUsage(tx, [
    {
      owner: {
        workspaceId: record.workspaceId,
        organizationId: record.organizationId,
        userId: workspace.ownerId,
      },
      at,
      add: { aiCalls: 1, aiPromptTokens: report.promptTokens, aiCompletionTokens: report.completionTokens },
    },
  ]);
}
