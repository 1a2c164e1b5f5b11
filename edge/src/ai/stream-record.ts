import { AiKind, AiStreamId } from '@keel/contract/ai';
import type { RunnerJob } from '@keel/contract/jobs';
import { AI_STREAM_TTL_SECONDS, runnerKeys } from '@keel/contract/keys';
import { AI_META_ENTRY_ID } from '@keel/contract/streams';
import type { JobTrace } from '@keel/contract/trace';
import { z } from 'zod';
import type { Principal } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { aiStreamRecordKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';

/**
 * How long a call may wait for its runner to take it. Past this the runner does not start it
 * but ends the stream (`runner_busy`), so nobody waits on an answer that will never come.
 */
export const AI_START_WAIT_MS = 60_000;

import { canSeeAll } from '../workspaces/access.ts';

/**
 * The edge's own record of an AI stream, kept in Redis beside the stream (same lifetime): who
 * asked, where, and which runner answers. Resume and cancel check ownership against it, and a
 * runner's usage report is attributed from it, never from what the runner says.
 */
export const AiStreamRecord = z.object({
  streamId: AiStreamId,
  kind: AiKind,
  runnerId: z.string(),
  organizationId: z.string(),
  userId: z.string(),
  workspaceId: z.string(),
  /** SHA-256 of the path asked about (explain, rewrite), for the audit event. */
  pathSha256: z.string().nullable(),
  /** How many files a chat named. */
  paths: z.number().int(),
  model: z.string(),
});
export type AiStreamRecord = z.infer<typeof AiStreamRecord>;

export function streamKeyOf(services: Services, record: Pick<AiStreamRecord, 'runnerId' | 'streamId'>) {
  return runnerKeys(services.config.redisPrefix, record.runnerId).aiStream(record.streamId);
}

export function recordKey(services: Services, streamId: string): string {
  return aiStreamRecordKey(services, streamId);
}

/** The record as it is stored: sealed to its key, so only the edge can write one. */
export function sealedRecord(services: Services, record: AiStreamRecord): Promise<string> {
  return services.cacheSeal.seal(recordKey(services, record.streamId), JSON.stringify(record));
}

/** Undefined for an unknown, expired or unreadable record. */
export async function readStreamRecord(
  services: Services,
  streamId: string,
): Promise<AiStreamRecord | undefined> {
  if (!AiStreamId.safeParse(streamId).success) return undefined;
  const key = recordKey(services, streamId);
  // Sealed (see cache-seal.ts): a record written straight into Redis is as good as absent.
  const raw = await services.cacheSeal.open(key, await services.redis().get(key));
  if (!raw) return undefined;
  try {
    const parsed = AiStreamRecord.safeParse(JSON.parse(raw));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** The caller's own stream (or, for an admin, one of their organization's); anything else is a 404. */
export async function ownStream(services: Services, p: Principal, streamId: string): Promise<AiStreamRecord> {
  const record = await readStreamRecord(services, streamId);
  if (
    !record ||
    record.organizationId !== p.organizationId ||
    (record.userId !== p.userId && !canSeeAll(p))
  ) {
    throw new ApiError('not_found', 'No such AI stream');
  }
  return record;
}

/**
 * The `meta` entry's id, the same in every stream (described with the AI answer's stream kind):
 * whoever opens a stream knows where its answer starts before Redis says so, and can ask for
 * what comes after it in the same write that opens it (see warm-start.ts).
 */
export { AI_META_ENTRY_ID };

/** The data of a stream's first event, `meta`: which call, and which model answers. */
export function metaOf(record: AiStreamRecord): string {
  return JSON.stringify({ streamId: record.streamId, kind: record.kind, model: record.model });
}

/**
 * Creates the stream with its `meta` event and its expiry, and the record, then sends the
 * runner its job, all in one transaction (one round trip): the runner's tokens always come
 * after `meta` (at AI_META_ENTRY_ID), and a client that reads from the start sees what model
 * answers.
 */
export async function openStream(
  services: Services,
  record: AiStreamRecord,
  job: RunnerJob,
  trace?: JobTrace,
): Promise<void> {
  const key = streamKeyOf(services, record);
  const sealed = await sealedRecord(services, record);
  const multi = services
    .redis()
    .multi()
    .xadd(key, AI_META_ENTRY_ID, 't', 'meta', 'd', metaOf(record))
    .expire(key, AI_STREAM_TTL_SECONDS)
    .set(recordKey(services, record.streamId), sealed, 'EX', AI_STREAM_TTL_SECONDS);
  const results = await services.queue
    .oneWay(multi, `runner.${record.runnerId}`, job, AI_START_WAIT_MS, trace)
    .exec();
  const [err, id] = results?.[0] ?? [new Error('the stream was not opened'), null];
  if (err || id !== AI_META_ENTRY_ID) throw err ?? new Error('the stream was not opened');
}
