import type { ResourceTotals } from '@keel/contract/usage';
import { createSignal, For, type JSX, Match, type Resource, Show, Switch } from 'solid-js';
import { Button } from '../components/button.tsx';
import { EmptyState } from '../components/empty-state.tsx';
import { LoadingIndicator } from '../components/loading-indicator.tsx';
import { errorMessage } from '../forms/error-message.ts';
import type { UsageCsvFile } from './usage-api.ts';
import {
  formatAmount,
  formatHours,
  formatTokens,
  type Granularity,
  HOURLY_MAX_DAYS,
  USAGE_PERIODS,
} from './usage-period.ts';
import './usage.css';

/** The window and bucket size, shared by the usage pages. */
export function PeriodFields(props: {
  idPrefix: string;
  days: number;
  granularity: Granularity;
  onDays: (days: number) => void;
  onGranularity: (granularity: Granularity) => void;
}) {
  return (
    <>
      <div class="field">
        <label class="field-label" for={`${props.idPrefix}-period`}>
          Period
        </label>
        <select
          id={`${props.idPrefix}-period`}
          class="field-input"
          value={String(props.days)}
          onChange={(e) => props.onDays(Number(e.currentTarget.value))}
        >
          <For each={USAGE_PERIODS}>{(p) => <option value={String(p.days)}>{p.label}</option>}</For>
        </select>
      </div>
      <div class="field">
        <label class="field-label" for={`${props.idPrefix}-granularity`}>
          Group by
        </label>
        <select
          id={`${props.idPrefix}-granularity`}
          class="field-input"
          value={props.days > HOURLY_MAX_DAYS ? 'day' : props.granularity}
          aria-describedby={`${props.idPrefix}-granularity-help`}
          onChange={(e) => props.onGranularity(e.currentTarget.value === 'hour' ? 'hour' : 'day')}
        >
          <option value="day">Day</option>
          <option value="hour" disabled={props.days > HOURLY_MAX_DAYS}>
            Hour
          </option>
        </select>
        <p id={`${props.idPrefix}-granularity-help`} class="field-hint">
          Hours for periods of up to {HOURLY_MAX_DAYS} days. Times are UTC.
        </p>
      </div>
    </>
  );
}

/** Loading, error (with Try again), empty, or the report: the states every usage page goes through. */
export function ReportStates<T>(props: {
  report: Resource<T>;
  refetch: () => void;
  what: string;
  isEmpty: (report: T) => boolean;
  emptyTitle: string;
  emptyBody: JSX.Element;
  /** Given the report as an accessor: a later report (other filters) updates what is shown in place. */
  children: (report: () => T) => JSX.Element;
}) {
  return (
    <Switch>
      <Match when={props.report.error}>
        <div class="alert alert-error" role="alert">
          <p>
            Could not load the {props.what}. {errorMessage(props.report.error)}
          </p>
          <p>
            <Button variant="secondary" size="small" onClick={() => props.refetch()}>
              Try again
            </Button>
          </p>
        </div>
      </Match>
      <Match when={props.report.loading && props.report.latest === undefined}>
        <div class="list-placeholder">
          <LoadingIndicator label={`Loading ${props.what}…`} />
        </div>
      </Match>
      <Match when={props.report.latest !== undefined && props.isEmpty(props.report.latest as T)}>
        <EmptyState title={props.emptyTitle}>{props.emptyBody}</EmptyState>
      </Match>
      <Match when={props.report.latest}>{(r) => props.children(() => r() as T)}</Match>
    </Switch>
  );
}

/** True when a report window holds no use at all, of workspaces or of the assistant. */
export function noUse(totals: ResourceTotals): boolean {
  return (
    totals.cpuSeconds === 0 &&
    totals.runningSeconds === 0 &&
    totals.commands === 0 &&
    totals.aiCalls === 0 &&
    totals.storageGibHours === 0
  );
}

/** The figures of a window as tiles: what was used, each with its unit in words. */
export function TotalsTiles(props: { label: string; totals: ResourceTotals }) {
  const t = () => props.totals;
  const tiles = () => [
    { term: 'CPU-hours', value: formatHours(t().cpuSeconds) },
    { term: 'Memory GiB-hours', value: formatAmount(t().memoryGibHours) },
    { term: 'Storage GiB-hours', value: formatAmount(t().storageGibHours) },
    { term: 'Running hours', value: formatHours(t().runningSeconds) },
    { term: 'Commands', value: t().commands.toLocaleString('en-US') },
    { term: 'AI calls', value: t().aiCalls.toLocaleString('en-US') },
    {
      term: 'AI tokens (in / out)',
      value: `${formatTokens(t().aiPromptTokens)} / ${formatTokens(t().aiCompletionTokens)}`,
    },
  ];
  return (
    <section aria-label={props.label}>
      <dl class="usage-tiles">
        <For each={tiles()}>
          {(tile) => (
            <div class="usage-tile">
              <dt>{tile.term}</dt>
              <dd>{tile.value}</dd>
            </div>
          )}
        </For>
      </dl>
    </section>
  );
}

/** The columns of a resource table, shared by people, teams and workspaces. */
export function ResourceTable(props: {
  title: string;
  first: string;
  rows: ReadonlyArray<{ key: string; name: JSX.Element; totals: ResourceTotals }>;
  empty?: string;
}) {
  return (
    <section class="card" aria-label={props.title}>
      <h2 class="card-title">{props.title}</h2>
      <Show
        when={props.rows.length > 0}
        fallback={<p class="muted">{props.empty ?? 'None in this period.'}</p>}
      >
        <div class="table-scroll">
          <table class="data-table" aria-label={props.title}>
            <thead>
              <tr>
                <th scope="col">{props.first}</th>
                <th scope="col">CPU-hours</th>
                <th scope="col">Memory GiB-hours</th>
                <th scope="col">Storage GiB-hours</th>
                <th scope="col">Running hours</th>
                <th scope="col">Commands</th>
                <th scope="col">AI calls</th>
                <th scope="col">AI tokens</th>
              </tr>
            </thead>
            <tbody>
              <For each={props.rows}>
                {(row) => (
                  <tr>
                    <th scope="row">{row.name}</th>
                    <td>{formatHours(row.totals.cpuSeconds)}</td>
                    <td>{formatAmount(row.totals.memoryGibHours)}</td>
                    <td>{formatAmount(row.totals.storageGibHours)}</td>
                    <td>{formatHours(row.totals.runningSeconds)}</td>
                    <td>{row.totals.commands}</td>
                    <td>{row.totals.aiCalls}</td>
                    <td>{formatTokens(row.totals.aiPromptTokens + row.totals.aiCompletionTokens)}</td>
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

/**
 * "Download CSV": a real link to the same query with `format=csv` (it can be copied or opened in a
 * new tab by someone signed in with a cookie-less token), fetched with the session's token on click.
 */
export function CsvDownload(props: { href: string; download: (href: string) => Promise<UsageCsvFile> }) {
  const [busy, setBusy] = createSignal(false);
  const [failure, setFailure] = createSignal<unknown>();
  const [note, setNote] = createSignal<string>();
  async function save(): Promise<void> {
    if (busy()) return;
    setBusy(true);
    setFailure(undefined);
    setNote(undefined);
    try {
      const file = await props.download(props.href);
      const url = URL.createObjectURL(file.blob);
      const link = document.createElement('a');
      link.href = url;
      link.download = file.filename;
      link.click();
      // Revoked on the next turn: the download has taken the blob by then.
      setTimeout(() => URL.revokeObjectURL(url), 0);
      setNote(
        file.truncated
          ? `Downloaded ${file.filename}. It stops at the row limit; a shorter period or a filter gives the rest.`
          : `Downloaded ${file.filename}.`,
      );
    } catch (error) {
      setFailure(error);
    } finally {
      setBusy(false);
    }
  }
  return (
    <div class="usage-actions">
      <a
        class="button button-secondary button-small"
        href={props.href}
        download="keel-usage.csv"
        aria-busy={busy() ? 'true' : undefined}
        onClick={(event) => {
          event.preventDefault();
          void save();
        }}
      >
        {busy() ? 'Downloading…' : 'Download CSV'}
      </a>
      <span role="status" class="muted">
        {note() ?? ''}
      </span>
      <Show when={failure()}>
        <span role="alert" class="field-error">
          Could not download the CSV. {errorMessage(failure())}
        </span>
      </Show>
    </div>
  );
}
