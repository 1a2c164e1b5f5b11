import type { MyUsageReport } from '@keel/contract/usage';
import { createMemo, createResource, createSignal } from 'solid-js';
import type { UsageApi } from '../admin/usage-api.ts';
import { UsageTimeChart } from '../admin/usage-charts.tsx';
import {
  CsvDownload,
  noUse,
  PeriodFields,
  ReportStates,
  ResourceTable,
  TotalsTiles,
} from '../admin/usage-parts.tsx';
import {
  bucketSeries,
  formatAmount,
  formatTokens,
  type Granularity,
  usageQuery,
} from '../admin/usage-period.ts';
import { usePageTitle } from '../components/page-title.ts';

/**
 * Settings › Usage: what my own workspaces and AI calls used over a period, with a chart over
 * time and the same figures as a CSV. Everyone signed in sees their own; no one sees anyone else's here.
 */
export default function MyUsagePage(props: { api: UsageApi }) {
  usePageTitle('My usage');
  const [days, setDays] = createSignal(30);
  const [granularity, setGranularity] = createSignal<Granularity>('day');
  const query = createMemo(() => {
    const {
      since,
      until,
      granularity: g,
    } = usageQuery({ days: days(), granularity: granularity() }, new Date());
    return { since, until, granularity: g };
  });
  const [report, { refetch }] = createResource(query, (q) => props.api.mine(q));

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">My usage</h1>
      </div>
      <p class="page-intro muted">
        What your workspaces used and the AI assistant’s calls and tokens on your behalf. Times are UTC.
      </p>
      <form class="usage-filters" aria-label="My usage period" onSubmit={(e) => e.preventDefault()}>
        <PeriodFields
          idPrefix="my-usage"
          days={days()}
          granularity={granularity()}
          onDays={setDays}
          onGranularity={setGranularity}
        />
      </form>
      <CsvDownload href={props.api.myCsvHref(query())} download={props.api.downloadCsv} />
      <ReportStates
        report={report}
        refetch={() => void refetch()}
        what="your usage"
        isEmpty={(r) => noUse(r.totals) && r.models.length === 0}
        emptyTitle="No use in this period"
        emptyBody={<p>When your workspaces run and you ask the assistant, what they use is counted here.</p>}
      >
        {(r) => <MyUsage report={r()} />}
      </ReportStates>
    </>
  );
}

function MyUsage(props: { report: MyUsageReport }) {
  const r = () => props.report;
  const series = () =>
    bucketSeries(r().buckets, r(), [
      (b) => b.cpuSeconds / 3600,
      (b) => b.aiPromptTokens + b.aiCompletionTokens,
    ]);
  const unit = () => (r().granularity === 'hour' ? 'hour' : 'day');
  return (
    <>
      <TotalsTiles label="My totals" totals={r().totals} />
      <div class="usage-charts-grid">
        <UsageTimeChart
          id="my-usage-cpu"
          title="My CPU-hours over time"
          summary={`CPU time your workspaces used in each ${unit()}, in hours.`}
          granularity={r().granularity}
          xs={series().xs}
          series={{
            label: 'CPU-hours',
            unit: 'CPU-h',
            values: series().series[0] ?? [],
            format: formatAmount,
          }}
        />
        <UsageTimeChart
          id="my-usage-tokens"
          title="My AI tokens over time"
          summary={`Tokens the assistant read and wrote for you in each ${unit()}.`}
          granularity={r().granularity}
          xs={series().xs}
          series={{
            label: 'AI tokens',
            unit: 'tokens',
            values: series().series[1] ?? [],
            format: formatTokens,
          }}
        />
      </div>
      <ResourceTable
        title="My workspaces"
        first="Workspace"
        rows={r().workspaces.map((w) => ({
          key: w.workspaceId,
          name: w.name ?? (
            <>
              <code>{w.workspaceId}</code> (deleted)
            </>
          ),
          totals: w,
        }))}
      />
      <section class="card" aria-label="My models">
        <h2 class="card-title">My models</h2>
        {r().models.length === 0 ? (
          <p class="muted">No AI calls in this period.</p>
        ) : (
          <div class="table-scroll">
            <table class="data-table" aria-label="My models">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Calls</th>
                  <th scope="col">Tokens in</th>
                  <th scope="col">Tokens out</th>
                </tr>
              </thead>
              <tbody>
                {r().models.map((m) => (
                  <tr>
                    <th scope="row">{m.model}</th>
                    <td>{m.calls}</td>
                    <td>{formatTokens(m.promptTokens)}</td>
                    <td>{formatTokens(m.completionTokens)}</td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
