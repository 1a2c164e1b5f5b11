import { createHash, randomUUID, timingSafeEqual } from 'node:crypto';
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';

export interface ScrapeListenerOptions {
  host: string;
  port: number;
  /** When set, a scrape must carry `Authorization: Bearer <token>`. */
  token?: string;
  registry: Registry;
  /** Reads what is read at scrape time (queues, workspaces, usage) into the registry. */
  refresh(): Promise<void>;
}

export interface ScrapeListener {
  readonly port: number;
  close(): Promise<void>;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Compared in constant time: equal-length digests, whatever the lengths of what was sent. */
function bearerMatches(header: string | undefined, expected: Buffer): boolean {
  const match = /^Bearer ([^\s]+)$/i.exec(header ?? '');
  return match !== null && timingSafeEqual(digest(match[1]!), expected);
}

function refuse(res: ServerResponse, status: number, code: string, message: string, extra = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...extra });
  res.end(JSON.stringify({ error: { code, message, requestId: randomUUID() } }));
}

/**
 * The runner's metrics on a listener of their own (never the edge's or any public one):
 * `GET /metrics` in the Prometheus text format, everything else 404. The port is bound before
 * this resolves, so a port in use fails the runner's start and says which.
 */
export async function listenForScrapes(o: ScrapeListenerOptions): Promise<ScrapeListener> {
  const expected = o.token === undefined ? undefined : digest(o.token);
  const server = createServer((req, res) => {
    const path = (req.url ?? '').split('?', 1)[0];
    if (path !== '/metrics') return refuse(res, 404, 'not_found', 'Metrics are served at /metrics');
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return refuse(res, 405, 'method_not_allowed', 'Use GET', { allow: 'GET, HEAD' });
    }
    if (expected && !bearerMatches(req.headers.authorization, expected)) {
      return refuse(res, 401, 'unauthorized', 'A bearer token is needed', { 'www-authenticate': 'Bearer' });
    }
    o.refresh()
      .then(() => o.registry.metrics())
      .then(
        (text) => {
          res.writeHead(200, { 'content-type': o.registry.contentType, 'cache-control': 'no-store' });
          res.end(req.method === 'HEAD' ? undefined : text);
        },
        () => refuse(res, 503, 'unavailable', 'The metrics could not be gathered'),
      );
  });
  // A scraper that holds a connection open must not keep the runner from stopping.
  server.keepAliveTimeout = 5_000;
  server.headersTimeout = 10_000;
  server.requestTimeout = 30_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err) =>
      reject(new Error(`The metrics listener could not bind ${o.host}:${o.port}: ${err.message}`)),
    );
    server.listen(o.port, o.host, () => resolve());
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
