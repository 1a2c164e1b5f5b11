import { For, Show } from 'solid-js';
import { TimeChart } from '../charts/time-chart.tsx';
import type { Granularity, Ranked } from './usage-period.ts';
import './usage.css';

/**
 * One figure over time: its name, its unit (on the axis, and after each value in the legend and
 * the table), and how a value reads before its unit.
 */
export interface UsageSeries {
  label: string;
  unit: string;
  values: ReadonlyArray<number | null>;
  format: (n: number) => string;
}

/**
 * A usage figure over hours or days: the shared uPlot chart (charts/time-chart.tsx: caption,
 * summary, canvas hidden from screen readers, and its figures as a table behind "Show the
 * figures", each row named by its UTC date, or date and hour). One figure per chart: two lines
 * would be told apart by their colour alone.
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
  return (
    <div class="card usage-chart" id={props.id}>
      <TimeChart
        title={props.title}
        summary={props.summary}
        timeLabel={props.granularity}
        x={props.xs.map((s) => s * 1000)}
        series={[
          {
            label: props.series.label,
            unit: props.series.unit,
            values: props.series.values,
            format: props.series.format,
          },
        ]}
      />
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
