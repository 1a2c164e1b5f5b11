import type { AiUsageResponse, AiUsageTotals } from '@keel/contract/ai-jobs';
import { createResource, createSignal, For, type JSX, Match, Show, Switch } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { usePageTitle } from '../components/page-title.ts';
import { errorMessage } from '../forms/error-message.ts';
import { dayBars, formatTokens, USAGE_PERIODS, usageWindow } from './usage-period.ts';

/** Admin › Usage: the organization's AI use over a period, by day, person, workspace, model and kind. */
export default function UsagePage() {
  usePageTitle('Usage');
  const apis = useApis();
  const [days, setDays] = createSignal(30);
  const [report, { refetch }] = createResource(days, (d) => apis.usage.report(usageWindow(d, new Date())));

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Usage</h1>
      </div>
      <p class="page-intro muted">Calls to the AI assistant and the tokens they used. Days are UTC.</p>
      <div class="field" style={{ 'max-width': '16rem' }}>
        <label class="field-label" for="usage-period">
          Period
        </label>
        <select
          id="usage-period"
          class="field-input"
          value={String(days())}
          onChange={(e) => setDays(Number(e.currentTarget.value))}
        >
          <For each={USAGE_PERIODS}>{(p) => <option value={String(p.days)}>{p.label}</option>}</For>
        </select>
      </div>
      <Switch>
        <Match when={report.error}>
          <div class="alert alert-error" role="alert">
            <p>Could not load the usage. {errorMessage(report.error)}</p>
            <p>
              <Button variant="secondary" size="small" onClick={() => void refetch()}>
                Try again
              </Button>
            </p>
          </div>
        </Match>
        <Match when={report.loading}>
          <div class="list-placeholder">
            <LoadingIndicator label="Loading usage…" />
          </div>
        </Match>
        <Match when={report()?.organization.calls === 0}>
          <EmptyState title="No AI use in this period">
            <p>When people ask the assistant, their calls and tokens are counted here.</p>
          </EmptyState>
        </Match>
        <Match when={report()}>{(r) => <UsageReport report={r()} />}</Match>
      </Switch>
    </>
  );
}

function UsageReport(props: { report: AiUsageResponse }) {
  const r = () => props.report;
  const total = (t: AiUsageTotals) => t.promptTokens + t.completionTokens;
  return (
    <>
      <section class="card" aria-labelledby="usage-totals-heading">
        <h2 id="usage-totals-heading" class="card-title">
          Totals
        </h2>
        <dl class="facts facts-compact">
          <div>
            <dt>Calls</dt>
            <dd>{r().organization.calls}</dd>
          </div>
          <div>
            <dt>Tokens</dt>
            <dd>
              {formatTokens(total(r().organization))} ({formatTokens(r().organization.promptTokens)} in,{' '}
              {formatTokens(r().organization.completionTokens)} out)
            </dd>
          </div>
          <div>
            <dt>Failed or cancelled</dt>
            <dd>
              {r().organization.failures} failed, {r().organization.cancelled} cancelled
            </dd>
          </div>
          <div>
            <dt>Mean latency</dt>
            <dd>{r().organization.meanLatencyMs === null ? '—' : `${r().organization.meanLatencyMs} ms`}</dd>
          </div>
        </dl>
      </section>

      <Show when={r().days}>{(days) => <DayChart days={days()} since={r().since} until={r().until} />}</Show>

      <UsageTable
        title="By person"
        first="Person"
        rows={r().users.map((u) => ({ key: u.userId, name: u.email ?? u.userId, totals: u }))}
      />
      <Show when={r().workspaces}>
        {(workspaces) => (
          <UsageTable
            title="By workspace"
            first="Workspace"
            rows={workspaces().map((w) => ({
              key: w.workspaceId ?? '-',
              name: w.workspaceId ? <code>{w.workspaceId}</code> : 'Outside a workspace',
              totals: w,
            }))}
          />
        )}
      </Show>
      <UsageTable
        title="By model"
        first="Model"
        rows={r().models.map((m) => ({ key: m.model, name: m.model, totals: m }))}
      />
      <UsageTable
        title="By kind"
        first="Kind"
        rows={r().kinds.map((k) => ({ key: k.kind, name: k.kind, totals: k }))}
      />
    </>
  );
}

const CHART_HEIGHT = 120;

/** Tokens per day as bars: inline SVG coloured by the theme, with the same figures in a table for screen readers. */
function DayChart(props: {
  days: ReadonlyArray<{ day: string; promptTokens: number; completionTokens: number }>;
  since: string;
  until: string;
}) {
  const bars = () => dayBars(props.days, props.since, props.until);
  const width = () => Math.max(bars().length, 1);
  return (
    <section class="card" aria-labelledby="usage-days-heading">
      <h2 id="usage-days-heading" class="card-title">
        Tokens per day
      </h2>
      <svg
        viewBox={`0 0 ${width()} ${CHART_HEIGHT}`}
        preserveAspectRatio="none"
        width="100%"
        height={CHART_HEIGHT}
        aria-hidden="true"
        style={{ display: 'block' }}
      >
        <For each={bars()}>
          {(bar, i) => (
            <rect
              x={i() + 0.1}
              width={0.8}
              y={CHART_HEIGHT - bar.share * CHART_HEIGHT}
              height={bar.share * CHART_HEIGHT}
              style={{ fill: 'var(--accent)' }}
            >
              <title>
                {bar.day}: {formatTokens(bar.tokens)} tokens
              </title>
            </rect>
          )}
        </For>
      </svg>
      <details>
        <summary>The figures</summary>
        <table class="data-table" aria-label="Tokens per day">
          <thead>
            <tr>
              <th scope="col">Day</th>
              <th scope="col">Tokens</th>
            </tr>
          </thead>
          <tbody>
            <For each={bars().filter((b) => b.tokens > 0)}>
              {(bar) => (
                <tr>
                  <td>{bar.day}</td>
                  <td>{formatTokens(bar.tokens)}</td>
                </tr>
              )}
            </For>
          </tbody>
        </table>
      </details>
    </section>
  );
}

function UsageTable(props: {
  title: string;
  first: string;
  rows: Array<{ key: string; name: JSX.Element; totals: AiUsageTotals }>;
}) {
  return (
    <section class="card" aria-label={props.title}>
      <h2 class="card-title">{props.title}</h2>
      <Show when={props.rows.length > 0} fallback={<p class="muted">None in this period.</p>}>
        <div class="table-scroll">
          <table class="data-table" aria-label={props.title}>
            <thead>
              <tr>
                <th scope="col">{props.first}</th>
                <th scope="col">Calls</th>
                <th scope="col">Tokens in</th>
                <th scope="col">Tokens out</th>
                <th scope="col">Failed</th>
                <th scope="col">Mean latency</th>
              </tr>
            </thead>
            <tbody>
              <For each={props.rows}>
                {(row) => (
                  <tr>
                    <th scope="row">{row.name}</th>
                    <td>{row.totals.calls}</td>
                    <td>{formatTokens(row.totals.promptTokens)}</td>
                    <td>{formatTokens(row.totals.completionTokens)}</td>
                    <td>{row.totals.failures}</td>
                    <td>{row.totals.meanLatencyMs === null ? '—' : `${row.totals.meanLatencyMs} ms`}</td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
    </section>
  );
}
