import type { UsageReport } from '@keel/contract/usage';
import { createMemo, createResource, createSignal, For, Show } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { usePageTitle } from '../components/page-title.ts';
import { RankingTable, UsageTimeChart } from './usage-charts.tsx';
import { noUse, PeriodFields, ReportStates } from './usage-parts.tsx';
import {
  aiDaySeries,
  bucketSeries,
  formatAmount,
  formatHours,
  formatTokens,
  type Granularity,
  ranking,
  usageQuery,
} from './usage-period.ts';

/** Milliseconds as a whole number; the charts write the unit after it themselves. */
const wholeMs = (n: number) => String(Math.round(n));
const ms = (n: number) => `${wholeMs(n)} ms`;
const count = (n: number) => n.toLocaleString('en-US');

/**
 * Admin › Analytics: the usage report drawn over time (workspaces running, CPU-hours, AI tokens and
 * latency) and ranked (CPU-hours and AI tokens per person, team and model). Every chart has a
 * caption and its figures as a table.
 */
export default function AnalyticsPage() {
  usePageTitle('Analytics');
  const apis = useApis();
  const [days, setDays] = createSignal(30);
  const [granularity, setGranularity] = createSignal<Granularity>('day');
  const query = createMemo(() => usageQuery({ days: days(), granularity: granularity() }, new Date()));
  const [report, { refetch }] = createResource(query, (q) => apis.usage.report(q));

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Analytics</h1>
      </div>
      <p class="page-intro muted">
        How the organization’s use changes over time, and who and what uses the most. Times are UTC; the
        figures behind each chart are in a table below it.
      </p>
      <form class="usage-filters" aria-label="Analytics period" onSubmit={(e) => e.preventDefault()}>
        <PeriodFields
          idPrefix="analytics"
          days={days()}
          granularity={granularity()}
          onDays={setDays}
          onGranularity={setGranularity}
        />
      </form>
      <ReportStates
        report={report}
        refetch={() => void refetch()}
        what="analytics"
        isEmpty={(r) => noUse(r.resources.totals) && r.organization.calls === 0}
        emptyTitle="Nothing to chart in this period"
        emptyBody={<p>Charts appear once workspaces run or people ask the assistant.</p>}
      >
        {(r) => <Charts report={r()} />}
      </ReportStates>
    </>
  );
}

function Charts(props: { report: UsageReport }) {
  const r = () => props.report;
  const window = () => ({ since: r().since, until: r().until, granularity: r().granularity });
  const unit = () => (r().granularity === 'hour' ? 'hour' : 'day');
  const resources = () =>
    bucketSeries(r().resources.buckets, window(), [(b) => b.workspacesRunning, (b) => b.cpuSeconds / 3600]);
  const ai = () => aiDaySeries(r().days ?? [], r().since, r().until);
  const aiTokens = (t: { aiPromptTokens: number; aiCompletionTokens: number }) =>
    t.aiPromptTokens + t.aiCompletionTokens;

  return (
    <>
      <div class="usage-charts-grid">
        <UsageTimeChart
          id="chart-running"
          title="Workspaces running"
          summary={`Workspaces that ran at some point of each ${unit()}.`}
          granularity={r().granularity}
          xs={resources().xs}
          series={{
            label: 'Workspaces running',
            unit: 'workspaces',
            values: resources().series[0] ?? [],
            format: count,
          }}
        />
        <UsageTimeChart
          id="chart-cpu"
          title="CPU-hours over time"
          summary={`CPU time all workspaces used in each ${unit()}, in hours.`}
          granularity={r().granularity}
          xs={resources().xs}
          series={{
            label: 'CPU-hours',
            unit: 'CPU-h',
            values: resources().series[1] ?? [],
            format: formatAmount,
          }}
        />
        <UsageTimeChart
          id="chart-ai-tokens"
          title="AI tokens per day"
          summary="Tokens the assistant read and wrote each day."
          granularity="day"
          xs={ai().xs}
          series={{ label: 'AI tokens', unit: 'tokens', values: ai().tokens, format: formatTokens }}
        />
        <UsageTimeChart
          id="chart-ai-first-token"
          title="AI time to first token per day"
          summary="Mean wait for the first token of an answer, each day; days without calls are gaps."
          granularity="day"
          xs={ai().xs}
          series={{
            label: 'Mean time to first token',
            unit: 'ms',
            values: ai().firstTokenMs,
            format: wholeMs,
          }}
        />
        <UsageTimeChart
          id="chart-ai-latency"
          title="AI latency per day"
          summary="Mean time to a whole answer, each day; days without calls are gaps."
          granularity="day"
          xs={ai().xs}
          series={{ label: 'Mean latency', unit: 'ms', values: ai().latencyMs, format: wholeMs }}
        />
      </div>
      <Show when={r().models.length > 0}>
        <section class="card" aria-label="AI latency per model">
          <h2 class="card-title">AI latency per model</h2>
          <div class="table-scroll">
            <table class="data-table" aria-label="AI latency per model">
              <thead>
                <tr>
                  <th scope="col">Model</th>
                  <th scope="col">Calls</th>
                  <th scope="col">Mean time to first token</th>
                  <th scope="col">Mean latency</th>
                </tr>
              </thead>
              <tbody>
                <For each={r().models}>
                  {(m) => (
                    <tr>
                      <th scope="row">{m.model}</th>
                      <td>{m.calls}</td>
                      <td>{m.meanFirstTokenMs === null ? '—' : ms(m.meanFirstTokenMs)}</td>
                      <td>{m.meanLatencyMs === null ? '—' : ms(m.meanLatencyMs)}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </section>
      </Show>
      <div class="usage-charts-grid">
        <RankingTable
          id="rank-cpu-people"
          title="CPU-hours per person"
          caption="The ten people whose workspaces used the most CPU."
          first="Person"
          unit="CPU-hours"
          format={formatAmount}
          rows={ranking(r().resources.users, (u) => ({
            key: u.userId,
            label: u.email ?? u.userId,
            value: u.cpuSeconds / 3600,
          }))}
        />
        <RankingTable
          id="rank-tokens-people"
          title="AI tokens per person"
          caption="The ten people who used the most AI tokens (in and out)."
          first="Person"
          unit="Tokens"
          format={formatTokens}
          rows={ranking(r().users, (u) => ({
            key: u.userId,
            label: u.email ?? u.userId,
            value: u.promptTokens + u.completionTokens,
          }))}
        />
        <RankingTable
          id="rank-cpu-teams"
          title="CPU-hours per team"
          caption="Teams as the sign-in provider names them; a person in two teams counts in both."
          first="Team"
          unit="CPU-hours"
          format={formatAmount}
          rows={ranking(r().resources.teams, (t) => ({
            key: t.team,
            label: t.team,
            value: t.cpuSeconds / 3600,
          }))}
        />
        <RankingTable
          id="rank-tokens-teams"
          title="AI tokens per team"
          caption="Tokens used by each team’s people (in and out)."
          first="Team"
          unit="Tokens"
          format={formatTokens}
          rows={ranking(r().resources.teams, (t) => ({ key: t.team, label: t.team, value: aiTokens(t) }))}
        />
        <RankingTable
          id="rank-tokens-models"
          title="AI tokens per model"
          caption="Tokens each model read and wrote."
          first="Model"
          unit="Tokens"
          format={formatTokens}
          rows={ranking(r().models, (m) => ({
            key: m.model,
            label: m.model,
            value: m.promptTokens + m.completionTokens,
          }))}
        />
        <RankingTable
          id="rank-cpu-workspaces"
          title="Top workspaces by CPU-hours"
          caption="The ten workspaces that used the most CPU; a deleted workspace shows its id."
          first="Workspace"
          unit="CPU-hours"
          format={formatAmount}
          rows={ranking(r().resources.workspaces, (w) => ({
            key: w.workspaceId,
            label: w.name ?? w.workspaceId,
            value: w.cpuSeconds / 3600,
          }))}
        />
      </div>
      <p class="muted">
        Running time in the period: {formatHours(r().resources.totals.runningSeconds)} hours.
      </p>
    </>
  );
}
