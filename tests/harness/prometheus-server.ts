import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, waitFor } from './ports.ts';
import { type Spawned, spawnService } from './processes.ts';

export const PROMETHEUS_BIN = process.env.KEEL_TEST_PROMETHEUS ?? '/usr/bin/prometheus';

export interface ScrapeTarget {
  job: string;
  /** host:port */
  target: string;
  /** Sent as `Authorization: Bearer …` when the endpoint asks for one. */
  token?: string;
}

export interface PrometheusServer {
  url: string;
  process: Spawned;
  /** An instant query through the HTTP API (`/api/v1/query`): the vector's samples. */
  query(promql: string): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** Waits until `promql` gives at least one sample that `accept` takes (scrapes come every second). */
  waitFor(
    promql: string,
    accept?: (samples: Array<{ metric: Record<string, string>; value: number }>) => boolean,
    timeoutMs?: number,
  ): Promise<Array<{ metric: Record<string, string>; value: number }>>;
  /** The scrape health of each target (`up`, last error) from `/api/v1/targets`. */
  targets(): Promise<Array<{ job: string; health: string; lastError: string }>>;
  stop(): Promise<void>;
}

/**
 * Debian's `prometheus`, started for a test on a free port with its storage in a temporary
 * folder, scraping `targets` every second. Stopped (and its folder removed) by `stop`.
 */
export async function startPrometheus(targets: ScrapeTarget[]): Promise<PrometheusServer> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-prometheus-'));
  const port = await freePort();
  const jobs = targets.map((t, i) => {
    const lines = [
      `  - job_name: ${JSON.stringify(t.job)}`,
      '    scrape_interval: 1s',
      '    scrape_timeout: 1s',
      '    metrics_path: /metrics',
      '    static_configs:',
      `      - targets: [${JSON.stringify(t.target)}]`,
    ];
    if (t.token) {
      const tokenFile = join(dir, `token-${i}`);
      writeFileSync(tokenFile, t.token, { mode: 0o600 });
      lines.push(
        '    authorization:',
        '      type: Bearer',
        `      credentials_file: ${JSON.stringify(tokenFile)}`,
      );
    }
    return lines.join('\n');
  });
  const config = join(dir, 'prometheus.yml');
  writeFileSync(
    config,
    ['global:', '  scrape_interval: 1s', '  evaluation_interval: 1s', 'scrape_configs:', ...jobs, ''].join(
      '\n',
    ),
  );
  const url = `http://127.0.0.1:${port}`;
  const proc = spawnService(
    PROMETHEUS_BIN,
    [
      `--config.file=${config}`,
      `--storage.tsdb.path=${join(dir, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--storage.tsdb.retention.time=1h',
      '--log.level=warn',
    ],
    process.env,
    dir,
  );
  await waitFor(
    'prometheus ready',
    async () => {
      if (proc.child.exitCode !== null) throw new Error(`prometheus exited:\n${proc.output()}`);
      const res = await fetch(`${url}/-/ready`).catch(() => undefined);
      return res?.ok ? true : undefined;
    },
    30_000,
    200,
  );

  const query: PrometheusServer['query'] = async (promql) => {
    const res = await fetch(`${url}/api/v1/query?query=${encodeURIComponent(promql)}`);
    const body = (await res.json()) as {
      status: string;
      error?: string;
      data?: {
        resultType: string;
        result: Array<{ metric: Record<string, string>; value: [number, string] }>;
      };
    };
    if (body.status !== 'success') throw new Error(`query ${promql}: ${body.error}`);
    if (body.data?.resultType !== 'vector') throw new Error(`query ${promql}: ${body.data?.resultType}`);
    return body.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
  };

  return {
    url,
    process: proc,
    query,
    async waitFor(promql, accept = (s) => s.length > 0, timeoutMs = 20_000) {
      let last: Array<{ metric: Record<string, string>; value: number }> = [];
      try {
        return await waitFor(
          promql,
          async () => {
            last = await query(promql);
            return accept(last) ? last : undefined;
          },
          timeoutMs,
          250,
        );
      } catch (err) {
        throw new Error(`${(err as Error).message}; last answer: ${JSON.stringify(last)}`);
      }
    },
    async targets() {
      const res = await fetch(`${url}/api/v1/targets`);
      const body = (await res.json()) as {
        data: { activeTargets: Array<{ labels: { job: string }; health: string; lastError: string }> };
      };
      return body.data.activeTargets.map((t) => ({
        job: t.labels.job,
        health: t.health,
        lastError: t.lastError,
      }));
    },
    async stop() {
      await proc.stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
