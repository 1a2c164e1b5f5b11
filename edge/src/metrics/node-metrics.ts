import type { EdgeConfig } from '../env.ts';
import { TrackedReads } from '../services/tracked-reads.ts';
import type { Services } from '../services.ts';
import { collectAuditVerdicts, scheduleAuditVerification } from './audit-schedule.ts';
import { certificateExpiryCollector } from './certificate-expiry.ts';
import { type MetricsListener, serveMetrics } from './metrics-server.ts';
import { PromEdgeMetrics } from './prom-recorder.ts';
import { requestMetrics } from './request-metrics.ts';
import { collectHeartbeatAges } from './runner-heartbeats.ts';

/**
 * The Node edge's metrics, when KEEL_METRICS_PORT is set: the recorder (made before the
 * services, which time their Redis and database calls with it), then, once the services
 * stand, the scrape-time collectors, the listener and the scheduled audit check. The Node entry
 * imports this module only then, so prom-client is never loaded otherwise, and workerd's
 * bundle never holds it.
 */
export function edgeMetrics() {
  const recorder = new PromEdgeMetrics();
  return {
    recorder,
    observer: requestMetrics(recorder),
    async start(
      services: Services,
      settings: NonNullable<EdgeConfig['metrics']>,
      auditIntervalSeconds: number,
    ) {
      const reads = services.reads;
      if (reads instanceof TrackedReads)
        recorder.cacheCountsFrom('key_reads', () => ({ hit: reads.fromMemory, miss: reads.fromRedis }));
      recorder.onScrape((m) => collectHeartbeatAges(services, m));
      recorder.onScrape((m) => collectAuditVerdicts(services, m));
      recorder.onScrape(certificateExpiryCollector(services));
      const listener: MetricsListener = await serveMetrics({
        host: settings.host,
        port: settings.port,
        token: settings.token,
        scrape: () => recorder.scrape(),
        contentType: recorder.registry.contentType,
      });
      const stopAudit = scheduleAuditVerification(services, auditIntervalSeconds);
      return {
        port: listener.port,
        url: `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${listener.port}/metrics`,
        async stop() {
          stopAudit();
          await listener.close();
        },
      };
    },
  };
}
