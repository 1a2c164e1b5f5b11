import { createEffect, For, onCleanup, onMount, Show } from 'solid-js';
import type uPlot from 'uplot';
import type { Granularity, Ranked } from './usage-period.ts';
import 'uplot/dist/uPlot.min.css';
import './usage.css';

/** One line (or bar series) of a time chart, with how its values read as text. */
export interface TimeSeries {
  label: string;
  values: ReadonlyArray<number | null>;
  format: (n: number) => string;
  /** Bars instead of a line: for counts per bucket, such as tokens per day. */
  bars?: boolean;
}

/**
 * Lines are told apart by their stroke pattern as well as their colour (solid, dashed, dotted), so
 * the legend and the chart can be read without seeing colour.
 */
const STYLES: ReadonlyArray<{ color: string; dash: number[] }> = [
  { color: '--accent', dash: [] },
  { color: '--success', dash: [8, 4] },
  { color: '--warning', dash: [2, 3] },
];

/** A theme colour as the canvas needs it (the variables hold `light-dark()`, which a canvas cannot read). */
function themeColor(probe: HTMLElement, variable: string): string {
  probe.style.color = `var(${variable})`;
  return getComputedStyle(probe).color;
}

function timeLabel(seconds: number, granularity: Granularity): string {
  const iso = new Date(seconds * 1000).toISOString();
  return granularity === 'hour' ? `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC` : iso.slice(0, 10);
}

/**
 * A chart of figures over time drawn with uPlot, as a figure with a heading, a caption and the same
 * figures as a table (the canvas is hidden from screen readers; the table is what they read).
 */
export function TimeChart(props: {
  id: string;
  title: string;
  caption: string;
  granularity: Granularity;
  xs: ReadonlyArray<number>;
  series: ReadonlyArray<TimeSeries>;
}) {
  let host!: HTMLDivElement;
  let probe!: HTMLSpanElement;
  let chart: uPlot | undefined;
  let observer: ResizeObserver | undefined;
  const rows = () =>
    props.xs
      .map((x, i) => ({ x, values: props.series.map((s) => s.values[i] ?? null) }))
      .filter((row) => row.values.some((v) => v !== null && v !== 0));

  const data = (): uPlot.AlignedData =>
    [props.xs as number[], ...props.series.map((s) => s.values as Array<number | null>)] as uPlot.AlignedData;

  onMount(() => {
    // uPlot is loaded with the chart, not with the app: only these pages draw charts.
    void import('uplot').then(({ default: UPlot }) => {
      if (!host.isConnected) return;
      const text = themeColor(probe, '--muted');
      const grid = themeColor(probe, '--border');
      const opts: uPlot.Options = {
        width: Math.max(host.clientWidth, 200),
        height: 200,
        legend: { show: false },
        cursor: { drag: { x: false, y: false } },
        scales: { x: { time: true }, y: { range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] } },
        axes: [
          { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
          {
            stroke: text,
            grid: { stroke: grid, width: 1 },
            ticks: { stroke: grid },
            size: 64,
            // The first series' own words for its figures (12.3k, 1.5), so long numbers fit the axis.
            values: (_u, splits) => splits.map((v) => props.series[0]?.format(v) ?? String(v)),
          },
        ],
        series: [
          {},
          ...props.series.map((s, i) => {
            const style = STYLES[i % STYLES.length] ?? { color: '--accent', dash: [] };
            const color = themeColor(probe, style.color);
            return {
              label: s.label,
              stroke: color,
              width: 2,
              dash: style.dash,
              spanGaps: false,
              // A figure between two gaps has no line to either side: its point is what shows it.
              ...(s.values.includes(null) ? { points: { show: true, size: 6 } } : {}),
              ...(s.bars
                ? { fill: color, paths: UPlot.paths.bars?.({ size: [0.7, 40] }), points: { show: false } }
                : {}),
            };
          }),
        ],
      };
      chart = new UPlot(opts, data(), host);
      observer = new ResizeObserver(() =>
        chart?.setSize({ width: Math.max(host.clientWidth, 200), height: 200 }),
      );
      observer.observe(host);
    });
  });
  createEffect(() => {
    const next = data();
    chart?.setData(next);
  });
  onCleanup(() => {
    observer?.disconnect();
    chart?.destroy();
  });

  return (
    <figure class="card usage-chart" aria-labelledby={`${props.id}-title`}>
      <h2 id={`${props.id}-title`} class="card-title">
        {props.title}
      </h2>
      <span ref={probe} class="usage-chart-probe" aria-hidden="true" />
      <div ref={host} class="usage-chart-canvas" aria-hidden="true" />
      <ul class="usage-chart-legend" aria-label={`${props.title}: what the lines are`}>
        <For each={props.series}>
          {(s, i) => {
            const style = () => STYLES[i() % STYLES.length] ?? { color: '--accent', dash: [] };
            return (
              <li>
                <svg width="28" height="10" aria-hidden="true">
                  <line
                    x1="0"
                    y1="5"
                    x2="28"
                    y2="5"
                    stroke-width={s.bars ? 8 : 2}
                    stroke-dasharray={style().dash.join(' ') || undefined}
                    style={{ stroke: `var(${style().color})` }}
                  />
                </svg>
                {s.label}
                {s.bars ? ' (bars)' : style().dash.length === 0 ? ' (solid line)' : ' (dashed line)'}
              </li>
            );
          }}
        </For>
      </ul>
      <figcaption class="muted">{props.caption}</figcaption>
      <details>
        <summary>{props.title}: the figures as a table</summary>
        <Show when={rows().length > 0} fallback={<p class="muted">Nothing in this period.</p>}>
          <div class="table-scroll">
            <table class="data-table" aria-label={props.title}>
              <thead>
                <tr>
                  <th scope="col">{props.granularity === 'hour' ? 'Hour' : 'Day'}</th>
                  <For each={props.series}>{(s) => <th scope="col">{s.label}</th>}</For>
                </tr>
              </thead>
              <tbody>
                <For each={rows()}>
                  {(row) => (
                    <tr>
                      <th scope="row">{timeLabel(row.x, props.granularity)}</th>
                      <For each={props.series}>
                        {(s, i) => {
                          const v = () => row.values[i()];
                          return <td>{v() === null || v() === undefined ? '—' : s.format(v() as number)}</td>;
                        }}
                      </For>
                    </tr>
                  )}
                </For>
              </tbody>
            </table>
          </div>
        </Show>
      </details>
    </figure>
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
