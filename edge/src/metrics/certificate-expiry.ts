import { X509Certificate } from 'node:crypto';
import { servers } from '@keel/drizzle/schema';
import { inArray } from 'drizzle-orm';
import type { Services } from '../services.ts';
import type { EdgeMetricSet } from './prom-recorder.ts';

/** Which stored certificate of a server, as the gauge's `certificate` label names it. */
export type CertificateRole = 'ca' | 'client';

/** Server kinds whose endpoint holds certificates (an SSH server has a host key, no certificate). */
const WITH_CERTIFICATES = ['docker-tls', 'kubernetes'];

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g;

/**
 * The earliest notAfter, in Unix seconds, of the certificates in a PEM text (a CA field may hold
 * a bundle); null when it holds none that parses. Only this instant leaves here: never the
 * certificate, its subject or anything else of it.
 */
export function earliestNotAfter(pem: string): number | null {
  let earliest: number | null = null;
  for (const block of pem.match(PEM_CERTIFICATE) ?? []) {
    let at: number;
    try {
      at = Date.parse(new X509Certificate(block).validTo);
    } catch {
      continue; // Checked as PEM when stored, but not as a certificate: nothing to say of it.
    }
    if (Number.isFinite(at) && (earliest === null || at < earliest)) earliest = at;
  }
  return earliest === null ? null : Math.floor(earliest / 1000);
}

/** The certificates an endpoint (as the edge stores it, not secret) names, by role. */
export function endpointCertificates(
  endpoint: Record<string, unknown>,
): Partial<Record<CertificateRole, string>> {
  const out: Partial<Record<CertificateRole, string>> = {};
  if (typeof endpoint.ca === 'string') out.ca = endpoint.ca;
  if (typeof endpoint.cert === 'string') out.client = endpoint.cert;
  return out;
}

interface Expiry {
  /** `updatedAt` of the row the figures were read from: any change of the endpoint moves it. */
  version: number;
  expiries: [CertificateRole, number][];
}

/**
 * keel_server_certificate_expiry_timestamp_seconds, read at scrape time for every Docker TLS and
 * Kubernetes server: the CA and client certificates are in the server's endpoint (not sealed;
 * the keys are), so the edge reads them without opening a secret. Certificates are parsed again
 * only when a server's row changed: a scrape reads the small columns of every server, and the
 * endpoints of the changed ones only. The gauge is emptied first, so a deleted server's series
 * goes. Bounded by the number of servers, like the heartbeat ages.
 */
export function certificateExpiryCollector(services: Services) {
  const cache = new Map<string, Expiry>();
  return async (metrics: EdgeMetricSet): Promise<void> => {
    const rows = await services.db
      .select({
        id: servers.id,
        organizationId: servers.organizationId,
        name: servers.name,
        kind: servers.kind,
        updatedAt: servers.updatedAt,
      })
      .from(servers)
      .where(inArray(servers.kind, WITH_CERTIFICATES))
      .limit(10_000);
    const stale = rows.filter((r) => cache.get(r.id)?.version !== r.updatedAt.getTime());
    // Read in slices: a long IN list is one big statement.
    for (let i = 0; i < stale.length; i += 500) {
      const slice = stale.slice(i, i + 500);
      const endpoints = await services.db
        .select({ id: servers.id, endpoint: servers.endpoint, updatedAt: servers.updatedAt })
        .from(servers)
        .where(
          inArray(
            servers.id,
            slice.map((r) => r.id),
          ),
        );
      for (const e of endpoints) {
        const expiries: [CertificateRole, number][] = [];
        for (const [role, pem] of Object.entries(endpointCertificates(e.endpoint)) as [
          CertificateRole,
          string,
        ][]) {
          const at = earliestNotAfter(pem);
          if (at !== null) expiries.push([role, at]);
        }
        cache.set(e.id, { version: e.updatedAt.getTime(), expiries });
      }
    }
    const listed = new Set(rows.map((r) => r.id));
    for (const id of cache.keys()) if (!listed.has(id)) cache.delete(id);
    const gauge = metrics.certificateExpiry;
    gauge.reset();
    for (const r of rows) {
      for (const [role, at] of cache.get(r.id)?.expiries ?? [])
        gauge.labels(r.organizationId, r.id, r.name, r.kind, role).set(at);
    }
  };
}
