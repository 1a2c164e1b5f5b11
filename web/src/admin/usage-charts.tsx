import { For, Show } from 'solid-js';
import { TimeChart } from '../charts/time-chart.tsx';
import type { Granularity, Ranked } from './usage-period.ts';
import './usage.css';

/** One figure over time: its name, its unit on the axis, and how its values read in the table. */
export interface UsageSeries {
  label: string;
  unit: string;
  values: ReadonlyArray<number | null>;
  format: (n: number) => string;
}

function timeLabel(seconds: number, granularity: Granularity): string {
  const iso = new Date(seconds * 1000).toISOString();
  return granularity === 'hour' ? `${iso.slice(0, 10)} ${iso.slice(11, 16)}` : iso.slice(0, 10);
}

/**
 * A usage figure over hours or days: the shared uPlot chart (charts/time-chart.tsx: caption,
 * summary, canvas hidden from screen readers) with a table of its own. The shared chart's table
 * names each row by its UTC time of day (HH:MM), which for daily buckets reads "00:00" on every
 * row; so that one is hidden here (usage.css) and this one names rows by date, or date and hour.
 * One figure per chart: two lines would be told apart by their colour alone.
 */
export function UsageTimeChart(props: {
  id: string;
  title: string;
  summary: string;
  granularity: Granularity;
  /** Bucket starts, Unix seconds (as bucketSeries gives them). */
  xs: ReadonlyArray<number>;
  series: UsageSeries;
}) {
  const rows = () =>
    props.xs
      .map((x, i) => ({ x, value: props.series.values[i] ?? null }))
      .filter((row) => row.value !== null && row.value !== 0);
  return (
    <div class="card usage-chart" id={props.id}>
      <TimeChart
        title={props.title}
        summary={props.summary}
        x={props.xs.map((s) => s * 1000)}
        series={[{ label: props.series.label, unit: props.series.unit, values: props.series.values }]}
      />
      <details class="usage-chart-figures">
        <summary>Show the figures</summary>
        <Show
          when={rows().length > 0}
          fallback={<p class="muted">None in this period: every {props.granularity} was 0.</p>}
        >
          <div class="table-scroll">
            <table class="data-table" aria-label={props.title}>
              <thead>
                <tr>
                  <th scope="col">{props.granularity === 'hour' ? 'Hour (UTC)' : 'Day (UTC)'}</th>
                  <th scope="col">{props.series.label}</th>
                </tr>
              </thead>
              <tbody>
                <For each={rows()}>
                  {(row) => (
                    <tr>
                      <th scope="row">{timeLabel(row.x, props.granularity)}</th>
                      <td>{props.series.format(row.value as number)}</td>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
          <p class="field-hint">{props.granularity === 'hour' ? 'Hours' : 'Days'} of 0 are left out.</p>
        </Show>
      </details>
    </div>
  );
}

/**
 * A ranking as a table whose rows carry a bar as long as their share of the largest: the figure is
 * written beside every bar, so the bars add a picture and take nothing away from the text.
 */
export function RankingTable(props: {
  id: string;
  title: string;
  caption: string;
  first: string;
  unit: string;
  rows: ReadonlyArray<Ranked>;
  format: (n: number) => string;
}) {
  return (
    <figure class="card usage-chart" aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`} class="card-title">
        {props.title}
      </h2>
      <Show when={props.rows.length > 0} fallback={<p class="muted">None in this period.</p>}>
        <div class="table-scroll">
          <table class="data-table usage-ranking" aria-label={props.title}>
            <thead>
              <tr>
                <th scope="col">{props.first}</th>
                <th scope="col">{props.unit}</th>
                <th scope="col">
                  <span class="visually-hidden">Share of the largest</span>
                </th>
              </tr>
            </thead>
            <tbody>
              <For each={props.rows}>
                {(row) => (
                  <tr>
                    <th scope="row">{row.label}</th>
                    <td class="usage-ranking-value">{props.format(row.value)}</td>
                    <td class="usage-ranking-bar-cell">
                      <span class="usage-ranking-bar" style={{ width: `${Math.max(row.share * 100, 1)}%` }}>
                        <span class="visually-hidden">{Math.round(row.share * 100)}% of the largest</span>
                      </span>
                    </td>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </Show>
      <figcaption class="muted">{props.caption}</figcaption>
    </figure>
  );
}
