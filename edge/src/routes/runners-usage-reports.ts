import { runnerRoutes } from '@keel/contract/api/runners';
import { UsageSampleReport } from '@keel/contract/usage';
import { Hono } from 'hono';
import type { AppEnv } from '../app-env.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson } from '../http/validate.ts';
import { pruneUsageOnce } from '../usage/retention.ts';
import { ingestUsageReport } from '../usage/sample-ingest.ts';

/**
 * `POST /api/runners/usage-reports`: what a runner's workspaces used since its last report,
 * added into the hourly and daily rollups (see usage/sample-ingest.ts). The answer says how many
 * samples were recorded and which workspaces were refused (not on this runner); a retry of a
 * counted report counts nothing and answers `duplicate: true`. This route also prunes the rollups,
 * at most once an hour of all edges: runners call it every minute, on Node as on workerd.
 */
export function usageReportRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/runners');

  on(runnerRoutes.usageReport, async (c) => {
    const services = c.get('services');
    const report = await readJson(c, UsageSampleReport);
    const retention = services.config.usageRetention;
    const answer = await ingestUsageReport(services, c.get('runnerId'), report, retention.hourlyDays);
    try {
      await pruneUsageOnce(services, retention);
    } catch (err) {
      // The report is counted; pruning waits for the next hour's first report.
      console.error(
        JSON.stringify({ level: 'warn', msg: 'usage retention not applied', error: String(err) }),
      );
    }
    return reply(c, runnerRoutes.usageReport, 200, answer);
  });

  return app;
}
