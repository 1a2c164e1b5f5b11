/**
 * The metric tables of docs/OBSERVABILITY.md, made from edge/contract/src/metrics.ts so the
 * docs cannot drift from what is exported. `node --import tsx scripts/lib/metrics-table.ts`
 * rewrites the part between the `metrics-table` markers; a test fails when it is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  EDGE_METRICS,
  EDGE_STATS_METRICS,
  type MetricSpec,
  RUNNER_METRICS,
} from '../../edge/contract/src/metrics.ts';

export const DOC_PATH = fileURLToPath(new URL('../../docs/OBSERVABILITY.md', import.meta.url));
const BEGIN = '<!-- metrics-table:begin (made by scripts/lib/metrics-table.ts; do not edit) -->';
const END = '<!-- metrics-table:end -->';

function table(title: string, metrics: Record<string, MetricSpec>): string {
  const rows = Object.entries(metrics).map(([name, s]) => {
    const labels = s.labels.length > 0 ? s.labels.map((l) => `\`${l}\``).join(', ') : '—';
    return `| \`${name}\` | ${s.kind} | ${labels} | ${s.help.replaceAll('|', '\\|')} |`;
  });
  return [
    `**${title}**`,
    '',
    '| Metric | Kind | Labels | Meaning |',
    '| --- | --- | --- | --- |',
    ...rows,
  ].join('\n');
}

export function metricsTables(): string {
  return [
    table('Edge', EDGE_METRICS),
    '',
    table('Edges together (keel-edge-stats, for workerd)', EDGE_STATS_METRICS),
    '',
    table('Runner', RUNNER_METRICS),
    '',
    'Histograms also export `_bucket`, `_sum` and `_count` series; every series also carries the `job` and `instance` labels Prometheus adds.',
  ].join('\n');
}

/** The document with its table part made anew; throws when the markers are missing. */
export function withCurrentTables(doc: string): string {
  const start = doc.indexOf(BEGIN);
  const end = doc.indexOf(END);
  if (start < 0 || end < start) throw new Error(`${DOC_PATH} lacks the metrics-table markers`);
  return `${doc.slice(0, start + BEGIN.length)}\n${metricsTables()}\n${doc.slice(end)}`;
}

if (process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  writeFileSync(DOC_PATH, withCurrentTables(readFileSync(DOC_PATH, 'utf8')));
  console.log(DOC_PATH);
}
