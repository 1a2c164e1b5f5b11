import type { UsageReportAnswer, UsageSample, UsageSampleReport } from '@keel/contract/usage';
import { workspaces } from '@keel/drizzle/schema';
import { and, eq, inArray } from 'drizzle-orm';
import { ApiError } from '../http/api-error.ts';
import { usageReportedKey } from '../redis-keys.ts';
import type { Services } from '../services.ts';
import { addUsage, hourStart, type UsageEntry, type UsageOwner } from './rollup-write.ts';

/** A retried report is recognised this long after its first delivery. */
export const USAGE_REPORT_DEDUP_SECONDS = 7 * 24 * 3600;
/** A runner's clock may run this far ahead of the edge's. */
const FUTURE_SKEW_MS = 5 * 60_000;
/** More memory than any one host has (16 TiB): a figure above it is a broken counter. */
const MAX_MEMORY_BYTES = 2 ** 44;
/** A disk larger than any one workspace may hold (1 PiB). */
const MAX_STORAGE_BYTES = 2 ** 50;
const MAX_CPUS = 1024;

function invalid(index: number, message: string): ApiError {
  return new ApiError('validation_failed', `samples[${index}]: ${message}`, [
    { path: `samples.${index}`, message },
  ]);
}

/**
 * What the schema cannot say: the interval lies within one UTC hour (the runner splits it), is
 * not in the future nor older than the hourly rollup keeps, and no figure exceeds what the
 * interval allows.
 */
function checkSample(s: UsageSample, index: number, now: Date, oldest: Date): void {
  const from = new Date(s.from).getTime();
  const to = new Date(s.to).getTime();
  if (!(from < to)) throw invalid(index, 'from must be before to');
  if (to - hourStart(new Date(from)).getTime() > 3600_000)
    throw invalid(index, 'the interval must lie within one UTC hour');
  if (to > now.getTime() + FUTURE_SKEW_MS) throw invalid(index, 'the interval ends in the future');
  if (from < oldest.getTime()) throw invalid(index, 'the interval is older than usage is kept');
  const seconds = (to - from) / 1000;
  if (s.runningSeconds > Math.ceil(seconds) + 1) throw invalid(index, 'runningSeconds exceeds the interval');
  if (s.cpuSeconds > seconds * MAX_CPUS) throw invalid(index, 'cpuSeconds exceeds the interval');
  if (s.memoryByteSeconds > seconds * MAX_MEMORY_BYTES)
    throw invalid(index, 'memoryByteSeconds exceeds the interval');
  if (s.storageBytes > MAX_STORAGE_BYTES) throw invalid(index, 'storageBytes is out of range');
}

/**
 * The owners of those reported workspaces that are placed on the reporting runner (deleted ones
 * too: their last minutes still count). Any other (moved or drained to another runner, unknown,
 * another organization's) is left out, and so refused: one answer for all of them, so that the
 * answer tells a runner nothing about a workspace it does not hold.
 */
async function ownersOn(
  services: Services,
  runnerId: string,
  ids: string[],
): Promise<Map<string, UsageOwner>> {
  const rows = await services.db
    .select({
      workspaceId: workspaces.id,
      organizationId: workspaces.organizationId,
      userId: workspaces.ownerId,
    })
    .from(workspaces)
    .where(and(inArray(workspaces.id, ids), eq(workspaces.runnerId, runnerId)));
  return new Map(rows.map((r) => [r.workspaceId, r]));
}

/**
 * Adds a runner's report into the rollups, once per report id (a Redis claim, released when the
 * write fails so that the retry may count). A malformed sample refuses the whole report (422);
 * a sample for a workspace not on the runner is refused alone, and the others are written in one
 * transaction, all of them or none. So a workspace that just moved away costs the report nothing
 * but its own samples.
 */
export async function ingestUsageReport(
  services: Services,
  runnerId: string,
  report: UsageSampleReport,
  hourlyRetentionDays: number,
): Promise<UsageReportAnswer> {
  const now = services.clock.now();
  const oldest = new Date(hourStart(now).getTime() - hourlyRetentionDays * 24 * 3600_000);
  for (const [i, s] of report.samples.entries()) checkSample(s, i, now, oldest);
  const ids = [...new Set(report.samples.map((s) => s.workspaceId))];
  const owners = await ownersOn(services, runnerId, ids);
  const refused = ids.filter((id) => !owners.has(id));
  const entries: UsageEntry[] = [];
  for (const s of report.samples) {
    const owner = owners.get(s.workspaceId);
    if (!owner) continue;
    const seconds = (new Date(s.to).getTime() - new Date(s.from).getTime()) / 1000;
    entries.push({
      owner,
      at: new Date(s.from),
      add: {
        cpuSeconds: s.cpuSeconds,
        memoryByteSeconds: s.memoryByteSeconds,
        storageByteSeconds: s.storageBytes * seconds,
        peakStorageBytes: s.storageBytes,
        runningSeconds: s.runningSeconds,
      },
    });
  }
  const claim = usageReportedKey(services, runnerId, report.reportId);
  const claimed = await services.redis().set(claim, '1', 'EX', USAGE_REPORT_DEDUP_SECONDS, 'NX');
  if (claimed !== 'OK') return { recorded: 0, refused: [], duplicate: true };
  if (entries.length > 0) {
    try {
      await services.db.transaction(async (tx) => {
        await addUsage(tx as unknown as typeof services.db, entries);
      });
    } catch (err) {
      await services.redis().del(claim);
      throw err;
    }
  }
  return { recorded: entries.length, refused };
}
