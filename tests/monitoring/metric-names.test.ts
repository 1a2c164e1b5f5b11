/**
 * Every metric the alert rules, the Prometheus configuration and the Grafana dashboards query is
 * one that Keel exports (edge/contract/src/metrics.ts): a renamed metric fails here instead of a
 * dashboard going quiet or an alert never firing. And every dashboard is valid JSON, is what
 * scripts/lib/grafana-dashboards.ts makes, and reads only the provisioned data source.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { promisify } from 'node:util';
import { exportedSeriesNames } from '../../edge/contract/src/metrics.ts';
import { DASHBOARDS_DIR, DATASOURCE_UID, keelDashboards } from '../../scripts/lib/grafana-dashboards.ts';
import { metricNamesIn, ruleExpressions } from './promql-names.ts';

const monitoring = new URL('../../deploy/monitoring/', import.meta.url).pathname;
/** Series Prometheus makes itself. */
const PROMETHEUS_SERIES = new Set(['up']);
const known = new Set([...exportedSeriesNames(), ...PROMETHEUS_SERIES]);

function unknownIn(exprs: string[]): string[] {
  return [...new Set(exprs.flatMap((e) => [...metricNamesIn(e)]))].filter((n) => !known.has(n)).sort();
}

/** Every string under `expr` or `query`/`definition` keys of a dashboard, with where it is. */
function dashboardQueries(node: unknown, at = '', out: { at: string; expr: string }[] = []) {
  if (Array.isArray(node)) for (const [i, n] of node.entries()) dashboardQueries(n, `${at}[${i}]`, out);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if ((k === 'expr' || k === 'definition' || k === 'query') && typeof v === 'string')
        out.push({ at: `${at}.${k}`, expr: v });
      else dashboardQueries(v, `${at}.${k}`, out);
    }
  return out;
}

/** Every `datasource` object in a dashboard. */
function datasources(node: unknown, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const n of node) datasources(n, out);
  else if (node && typeof node === 'object')
    for (const [k, v] of Object.entries(node)) {
      if (k === 'datasource') out.push(v);
      else datasources(v, out);
    }
  return out;
}

describe('metric names in the monitoring configuration', () => {
  test('the scan finds metric names and nothing else', () => {
    assert.deepEqual(
      [
        ...metricNamesIn(
          'sum by (le, route) (rate(keel_x_bucket{status=~"5..", a="b c"}[5m])) / on (x) group_left (y) up > bool 2',
        ),
      ].sort(),
      ['keel_x_bucket', 'up'],
    );
    assert.deepEqual([...metricNamesIn('label_values(up{job="keel-runner"}, instance)')], ['up']);
    assert.deepEqual(
      [...metricNamesIn('time() - max(keel_t{instance=~"$instance"}[$__rate_interval] offset 1h) > 3 * 1e3')],
      ['keel_t'],
    );
    assert.deepEqual(
      ruleExpressions('  - expr: up == 0\n    for: 1m\n  - expr: |\n      a\n        / b\n    labels: {}\n'),
      ['up == 0', 'a\n        / b'],
    );
  });

  test('alerts.yml queries only exported metrics', () => {
    const text = readFileSync(join(monitoring, 'alerts.yml'), 'utf8');
    const exprs = ruleExpressions(text);
    assert.ok(exprs.length >= 12, `found ${exprs.length} expressions`);
    assert.deepEqual(unknownIn(exprs), []);
    // Names in annotations and comments count too (comments may name a metric still to come only in docs).
    const uncommented = text
      .split('\n')
      .filter((l) => !l.trimStart().startsWith('#'))
      .join('\n');
    const mentioned = [...uncommented.matchAll(/\bkeel_[a-z0-9_]+/g)].map((m) => m[0]);
    assert.deepEqual(
      mentioned.filter((n) => !known.has(n)),
      [],
    );
  });

  test('prometheus.yml has no recording rule or relabelling that names an unknown metric', () => {
    const text = readFileSync(join(monitoring, 'prometheus.yml'), 'utf8');
    assert.deepEqual(unknownIn(ruleExpressions(text)), []);
    const mentioned = [...text.matchAll(/\bkeel_[a-z0-9_]+/g)].map((m) => m[0]);
    assert.deepEqual(
      mentioned.filter((n) => !known.has(n)),
      [],
    );
  });

  const files = readdirSync(DASHBOARDS_DIR).filter((f) => f.endsWith('.json'));

  test('the four dashboards are there, valid JSON, and what the generator makes', () => {
    assert.deepEqual(files.sort(), ['ai.json', 'edge.json', 'runners.json', 'workspaces.json']);
    const made = keelDashboards();
    for (const f of files) {
      const committed = JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8'));
      assert.deepEqual(
        committed,
        made[f.replace(/\.json$/, '')],
        `${f} differs from scripts/lib/grafana-dashboards.ts: run node --import tsx scripts/lib/grafana-dashboards.ts`,
      );
    }
    const uids = files.map((f) => JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')).uid);
    assert.equal(new Set(uids).size, uids.length, 'dashboard uids are unique');
  });

  for (const f of files) {
    test(`${f}: every query reads exported metrics from the provisioned data source`, () => {
      const d = JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8'));
      const queries = dashboardQueries(d);
      assert.ok(queries.length > 0);
      const bad = queries.flatMap((q) => unknownIn([q.expr]).map((n) => `${q.at}: ${n}`));
      assert.deepEqual(bad, []);
      const sources = datasources(d);
      assert.ok(sources.length > 0);
      for (const s of sources) assert.deepEqual(s, { type: 'prometheus', uid: DATASOURCE_UID });
      // Every panel has its data source and at least one query.
      for (const p of d.panels as { title: string; datasource?: unknown; targets?: unknown[] }[]) {
        assert.ok(p.datasource, `${p.title}: datasource`);
        assert.ok(p.targets && p.targets.length > 0, `${p.title}: targets`);
      }
    });
  }

  test('every panel query is PromQL that promtool accepts (Grafana variables filled in)', async () => {
    // promtool has no expression checker of its own; a rule file of the queries is checked instead.
    const exprs = files.flatMap((f) =>
      dashboardQueries(JSON.parse(readFileSync(join(DASHBOARDS_DIR, f), 'utf8')))
        .filter((q) => q.at.endsWith('.expr'))
        .map((q) => ({ at: `${f}${q.at}`, expr: q.expr })),
    );
    const filled = (e: string) =>
      e.replaceAll('$__rate_interval', '1m').replaceAll('$__range', '1h').replace(/\$\w+/g, '.*');
    const rules = {
      groups: [
        {
          name: 'dashboards',
          rules: exprs.map((q, i) => ({ record: `dashboard:query:${i}`, expr: filled(q.expr) })),
        },
      ],
    };
    const dir = mkdtempSync(join(tmpdir(), 'keel-dashboard-queries-'));
    try {
      // JSON is YAML: no YAML writer needed.
      writeFileSync(join(dir, 'queries.yml'), JSON.stringify(rules));
      const { stdout } = await promisify(execFile)('promtool', ['check', 'rules', join(dir, 'queries.yml')]);
      assert.match(stdout, new RegExp(`SUCCESS: ${exprs.length} rules found`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test('the provisioned data source has the uid the dashboards use', () => {
    const ds = readFileSync(join(monitoring, 'grafana/provisioning/datasources/keel.yml'), 'utf8');
    assert.match(ds, new RegExp(`^\\s+uid: ${DATASOURCE_UID}$`, 'm'));
    assert.match(ds, /^\s+type: prometheus$/m);
    const provider = readFileSync(join(monitoring, 'grafana/provisioning/dashboards/keel.yml'), 'utf8');
    assert.match(provider, /^\s+type: file$/m);
    assert.match(provider, /^\s+path: \S+$/m);
  });
});
