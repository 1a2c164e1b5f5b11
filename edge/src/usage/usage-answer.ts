import type { Context } from 'hono';
import type { AppEnv } from '../app-env.ts';
import type { Database } from '../services/database.ts';
import { readUsageCsv, type UsageScope, type UsageWindow } from './usage-read.ts';

/** The rollup rows of a scope as a CSV download (X-Row-Limit-Reached when the cap cut it short). */
export async function usageCsvAnswer(
  c: Context<AppEnv>,
  db: Database,
  scope: UsageScope,
  window: UsageWindow,
): Promise<Response> {
  const { csv, truncated } = await readUsageCsv(db, scope, window);
  const stamp = window.until.toISOString().replace(/[-:]|\.\d+/g, '');
  const headers: Record<string, string> = {
    'Content-Type': 'text/csv; charset=utf-8',
    'Content-Disposition': `attachment; filename="keel-usage-${window.granularity}-${stamp}.csv"`,
    'Cache-Control': 'no-store',
  };
  if (truncated) headers['X-Row-Limit-Reached'] = 'true';
  return c.body(csv, 200, headers);
}
