import { AiCallReport } from '@keel/contract/ai-jobs';
import { runnerRoutes } from '@keel/contract/api/runners';
import { Hono } from 'hono';
import { recordAiCallOnce } from '../ai/record.ts';
import { readStreamRecord } from '../ai/stream-record.ts';
import type { AppEnv } from '../app-env.ts';
import { ApiError } from '../http/api-error.ts';
import { describedRoutes, reply } from '../http/described-routes.ts';
import { readJson } from '../http/validate.ts';

/**
 * `POST /api/runners/ai-reports`: a runner's summary of a finished model call (see AiCallReport).
 *
 * Why the runner reports rather than the edge recording what it relays: the edge holds no state
 * between requests (it also runs in workerd), and nobody may be watching the stream when the call
 * ends. The runner always sees the end, so it reports, with retries; this route makes a retry
 * harmless (one claim per stream) and accepts reports only for streams the edge opened on that
 * very runner, attributing them from its own record.
 */
export function aiReportRoutes() {
  const app = new Hono<AppEnv>();
  const on = describedRoutes(app, '/api/runners');

  on(runnerRoutes.aiReport, async (c) => {
    const services = c.get('services');
    const report = await readJson(c, AiCallReport);
    const record = await readStreamRecord(services, report.streamId);
    if (!record || record.runnerId !== c.get('runnerId'))
      throw new ApiError('not_found', 'No such AI stream');
    if (record.kind !== report.kind)
      throw new ApiError('validation_failed', 'The report is for another kind of call');
    if (!(await recordAiCallOnce(services, record, report))) {
      return reply(c, runnerRoutes.aiReport, 200, { recorded: false, duplicate: true });
    }
    return reply(c, runnerRoutes.aiReport, 200, { recorded: true });
  });

  return app;
}
