import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';

export interface MetricsListener {
  server: Server;
  port: number;
  close(): Promise<void>;
}

/** SHA-256 of both sides first, so the comparison takes the same time whatever the lengths. */
function sameToken(presented: string, expected: string): boolean {
  const a = createHash('sha256').update(presented).digest();
  const b = createHash('sha256').update(expected).digest();
  return timingSafeEqual(a, b);
}

/**
 * The Prometheus endpoint: `GET /metrics` on a listener of its own (KEEL_METRICS_HOST,
 * KEEL_METRICS_PORT), apart from the API, so a load balancer in front of the API never exposes
 * it. With a token, a scrape without `Authorization: Bearer <token>` (or with another) is 401.
 */
export async function serveMetrics(options: {
  host: string;
  port: number;
  token: string | undefined;
  scrape: () => Promise<string>;
  contentType: string;
}): Promise<MetricsListener> {
  const { token } = options;
  const server = createServer((req, res) => {
    const path = (req.url ?? '/').split('?')[0];
    if (path !== '/metrics') {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: the metrics are at /metrics\n');
      return;
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('method not allowed\n');
      return;
    }
    if (token) {
      const m = /^Bearer (.+)$/.exec(req.headers.authorization ?? '');
      if (!m || !sameToken(m[1]!, token)) {
        res
          .writeHead(401, { 'www-authenticate': 'Bearer realm="keel-metrics"', 'content-type': 'text/plain' })
          .end('unauthorized\n');
        return;
      }
    }
    options.scrape().then(
      (text) => {
        res.writeHead(200, { 'content-type': options.contentType, 'cache-control': 'no-store' });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (err: unknown) => {
        console.error(JSON.stringify({ level: 'error', msg: 'metrics scrape failed', error: String(err) }));
        res.writeHead(500, { 'content-type': 'text/plain' }).end('scrape failed\n');
      },
    );
  });
  // A scraper keeps its connection open between scrapes; closing must not wait for it.
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : options.port;
  return {
    server,
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
