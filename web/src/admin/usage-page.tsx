import type { AiUsageResponse, AiUsageTotals } from '@keel/contract/ai-jobs';
import type { UsageReport as UsageReportBody } from '@keel/contract/usage';
import { createMemo, createResource, createSignal, For, type JSX, Show } from 'solid-js';
import { useApis } from '../api/api-context.ts';
import { usePageTitle } from '../components/page-title.ts';
import {
  CsvDownload,
  noUse,
  PeriodFields,
  ReportStates,
  ResourceTable,
  TotalsTiles,
} from './usage-parts.tsx';
import { dayBars, formatTokens, type Granularity, usageQuery } from './usage-period.ts';

/**
 * What the filters can pick from: everyone and everything seen in this page's reports so far (a
 * filtered report lists only what it kept, and the choices must not shrink to it). Choices are
 * listed by id, so their options stay the same elements and a select keeps what it shows.
 */
function useFilterChoices() {
  const [users, setUsers] = createSignal<ReadonlyMap<string, string>>(new Map());
  const [teams, setTeams] = createSignal<ReadonlySet<string>>(new Set());
  const [workspaces, setWorkspaces] = createSignal<ReadonlyMap<string, string>>(new Map());
  function learn(report: UsageReportBody): void {
    const u = new Map(users());
    for (const row of [...report.resources.users, ...report.users])
      u.set(row.userId, row.email ?? row.userId);
    setUsers(u);
    setTeams(new Set([...teams(), ...report.resources.teams.map((t) => t.team)]));
    const w = new Map(workspaces());
    for (const row of report.resources.workspaces) w.set(row.workspaceId, row.name ?? row.workspaceId);
    setWorkspaces(w);
  }
  const byLabel = (m: ReadonlyMap<string, string>) =>
    [...m.keys()].sort((a, b) => (m.get(a) ?? a).localeCompare(m.get(b) ?? b));
  return {
    learn,
    userIds: createMemo(() => byLabel(users())),
    userLabel: (id: string) => users().get(id) ?? id,
    teams: createMemo(() => [...teams()].sort()),
    workspaceIds: createMemo(() => byLabel(workspaces())),
    workspaceLabel: (id: string) => workspaces().get(id) ?? id,
  };
}

/**
 * Admin › Usage: what the organization used over a period — workspaces' CPU, memory, storage,
 * running time and commands, and the AI assistant's calls and tokens — by person, team, workspace,
 * model and kind, narrowed by the filters, with the same figures as a CSV.
 */
export default function UsagePage() {
  usePageTitle('Usage');
  const apis = useApis();
  const [days, setDays] = createSignal(30);
  const [granularity, setGranularity] = createSignal<Granularity>('day');
  const [userId, setUserId] = createSignal('');
  const [team, setTeam] = createSignal('');
  const [workspaceId, setWorkspaceId] = createSignal('');
  const choices = useFilterChoices();
  // The window ends when the filters last changed, so the CSV link holds the same query as the page.
  const query = createMemo(() =>
    usageQuery(
      {
        days: days(),
        granularity: granularity(),
        userId: userId(),
        team: team(),
        workspaceId: workspaceId(),
      },
      new Date(),
    ),
  );
  const [report, { refetch }] = createResource(query, async (q) => {
    const r = await apis.usage.report(q);
    choices.learn(r);
    return r;
  });

  return (
    <>
      <div class="page-heading">
        <h1 class="page-title">Usage</h1>
      </div>
      <p class="page-intro muted">
        What workspaces used (CPU, memory, storage, running time, commands) and the AI assistant’s calls and
        tokens. Times are UTC.
      </p>
      <form class="usage-filters" aria-label="Usage filters" onSubmit={(e) => e.preventDefault()}>
        <PeriodFields
          idPrefix="usage"
          days={days()}
          granularity={granularity()}
          onDays={setDays}
          onGranularity={setGranularity}
        />
        <FilterSelect
          id="usage-person"
          label="Person"
          value={userId()}
          onChange={setUserId}
          everyone="Everyone"
        >
          <For each={choices.userIds()}>{(id) => <option value={id}>{choices.userLabel(id)}</option>}</For>
        </FilterSelect>
        <FilterSelect id="usage-team" label="Team" value={team()} onChange={setTeam} everyone="Every team">
          <For each={choices.teams()}>{(name) => <option value={name}>{name}</option>}</For>
        </FilterSelect>
        <FilterSelect
          id="usage-workspace"
          label="Workspace"
          value={workspaceId()}
          onChange={setWorkspaceId}
          everyone="Every workspace"
        >
          <For each={choices.workspaceIds()}>
            {(id) => <option value={id}>{choices.workspaceLabel(id)}</option>}
          </For>
        </FilterSelect>
      </form>
      <CsvDownload href={apis.usage.reportCsvHref(query())} download={apis.usage.downloadCsv} />
      <ReportStates
        report={report}
        refetch={() => void refetch()}
        what="usage"
        isEmpty={(r) => noUse(r.resources.totals) && r.organization.calls === 0}
        emptyTitle="No use in this period"
        emptyBody={
          <p>When people run workspaces, commands and the assistant, what they use is counted here.</p>
        }
      >
        {(r) => <UsageReport report={r()} />}
      </ReportStates>
    </>
  );
}

function FilterSelect(props: {
  id: string;
  label: string;
  value: string;
  everyone: string;
  onChange: (value: string) => void;
  children: JSX.Element;
}) {
  return (
    <div class="field">
      <label class="field-label" for={props.id}>
        {props.label}
      </label>
      <select
        id={props.id}
        class="field-input"
        value={props.value}
        onChange={(e) => props.onChange(e.currentTarget.value)}
      >
        <option value="">{props.everyone}</option>
        {props.children}
      </select>
    </div>
  );
}

function UsageReport(props: { report: UsageReportBody }) {
  const res = () => props.report.resources;
  return (
    <>
      <TotalsTiles label="Totals of the period" totals={res().totals} />
      <ResourceTable
        title="People"
        first="Person"
        rows={res().users.map((u) => ({ key: u.userId, name: u.email ?? u.userId, totals: u }))}
      />
      <ResourceTable
        title="Teams"
        first="Team"
        rows={res().teams.map((t) => ({ key: t.team, name: t.team, totals: t }))}
        empty="No teams in this period: teams come from the groups the sign-in provider sends."
      />
      <ResourceTable
        title="Top workspaces"
        first="Workspace"
        rows={res().workspaces.map((w) => ({
          key: w.workspaceId,
          name: w.name ?? (
            <>
              <code>{w.workspaceId}</code> (deleted)
            </>
          ),
          totals: w,
        }))}
      />
      <AiReport
        report={props.report}
        workspaceNames={new Map(res().workspaces.map((w) => [w.workspaceId, w.name ?? w.workspaceId]))}
      />
    </>
  );
}

/** The AI assistant's part of the report, as the page showed it before workspaces were counted. */
function AiReport(props: { report: AiUsageResponse; workspaceNames: ReadonlyMap<string, string> }) {
  const r = () => props.report;
  const total = (t: AiUsageTotals) => t.promptTokens + t.completionTokens;
  return (
    <>
      <section class="card" aria-labelledby="usage-totals-heading">
        <h2 id="usage-totals-heading" class="card-title">
          AI assistant
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
        title="AI by person"
        first="Person"
        rows={r().users.map((u) => ({ key: u.userId, name: u.email ?? u.userId, totals: u }))}
      />
      <Show when={r().workspaces}>
        {(workspaces) => (
          <UsageTable
            title="AI by workspace"
            first="Workspace"
            rows={workspaces().map((w) => ({
              key: w.workspaceId ?? '-',
              name: w.workspaceId
                ? (props.workspaceNames.get(w.workspaceId) ?? <code>{w.workspaceId}</code>)
                : 'Outside a workspace',
              totals: w,
            }))}
          />
        )}
      </Show>
      <UsageTable
        title="AI by model"
        first="Model"
        rows={r().models.map((m) => ({ key: m.model, name: m.model, totals: m }))}
      />
      <UsageTable
        title="AI by kind"
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
