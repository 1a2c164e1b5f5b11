import 'uplot/dist/uPlot.min.css';
import './time-chart.css';
import { createEffect, createUniqueId, For, on, onCleanup, onMount } from 'solid-js';
import uPlot from 'uplot';
import {
  axisIncrs,
  axisSpace,
  chartRows,
  formatValue,
  lonelyPoints,
  scalesOf,
  type TimeLabel,
  timeHeading,
  timeLabel,
} from './time-chart-data.ts';

export type { TimeLabel } from './time-chart-data.ts';

/** One line of a chart: its values (null: a gap) at the chart's `x` times. */
export interface TimeSeries {
  label: string;
  /** Shown on its axis and in the table (`req/min`, `ms`); series of one unit share an axis. */
  unit: string;
  values: ReadonlyArray<number | null>;
  /** A CSS colour or `var(--name)` of the theme; the theme's accent, then its others, by default. */
  color?: string;
  /** How a value reads in the legend and the table, before its unit; rounded to 2 digits at most by default. */
  format?: (n: number) => string;
}

export interface TimeChartProps {
  /** The figure's caption. */
  title: string;
  /** What the chart shows, in a sentence, for everyone (and for screen readers instead of the canvas). */
  summary: string;
  /** Times of the points, epoch milliseconds, ascending. */
  x: ReadonlyArray<number>;
  series: ReadonlyArray<TimeSeries>;
  /** Pixels; 200 by default. */
  height?: number;
  /**
   * What one point stands for, and so how times read on the x axis, in the legend and in the
   * table (UTC): `minute` (HH:MM, the default), `hour` (YYYY-MM-DD HH:00) or `day` (YYYY-MM-DD).
   */
  timeLabel?: TimeLabel;
}

const PALETTE = ['var(--accent)', 'var(--warning)', 'var(--success)', 'var(--danger)'];

/** A theme colour (custom properties may hold `light-dark()`) as the canvas can take it. */
function resolvedColor(css: string, within: HTMLElement): string {
  const probe = document.createElement('span');
  probe.style.color = css;
  probe.style.display = 'none';
  within.appendChild(probe);
  const color = getComputedStyle(probe).color;
  probe.remove();
  return color || css;
}

/**
 * A time chart drawn with uPlot: one or more series over shared timestamps, an axis per unit.
 * The canvas is hidden from assistive technology; the caption, the summary sentence and a table
 * of the same figures (behind "Show the figures") are what it reads instead.
 */
export function TimeChart(props: TimeChartProps) {
  const id = createUniqueId();
  let box!: HTMLDivElement;
  let plot: uPlot | undefined;
  let shape = '';
  const label = (): TimeLabel => props.timeLabel ?? 'minute';
  /** What a new plot is needed for: other series (labels, units) or another kind of point. */
  const shapeOf = () => [label(), ...props.series.map((s) => `${s.label}\u0000${s.unit}`)].join('\u0001');

  const data = (): uPlot.AlignedData =>
    [
      props.x.map((ms) => ms / 1000),
      ...props.series.map((s) => s.values.map((v) => v ?? null)),
    ] as unknown as uPlot.AlignedData;

  function build(): void {
    plot?.destroy();
    const text = resolvedColor('var(--muted)', box);
    const grid = resolvedColor('var(--border)', box);
    const scales = scalesOf(props.series);
    const opts: uPlot.Options = {
      width: Math.max(box.clientWidth, 240),
      height: props.height ?? 200,
      legend: { show: true },
      // Times read in UTC, as the table below gives them.
      tzDate: (ts) => uPlot.tzDate(new Date(ts * 1000), 'Etc/UTC'),
      cursor: { drag: { x: false, y: false } },
      scales: Object.fromEntries(
        scales.map((unit) => [unit, { auto: true, range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] }]),
      ),
      axes: [
        {
          stroke: text,
          grid: { stroke: grid, width: 1 },
          ticks: { stroke: grid },
          // Ticks no finer than a point, named as the table names its rows.
          incrs: axisIncrs(label()),
          space: axisSpace(label()),
          values: (_u, splits) => splits.map((s) => timeLabel(s * 1000, label())),
        },
        ...scales.map((unit, i) => ({
          scale: unit,
          label: unit,
          side: i === 0 ? 3 : 1,
          stroke: text,
          grid: { show: i === 0, stroke: grid, width: 1 },
          ticks: { stroke: grid },
          size: 56,
        })),
      ],
      series: [
        {
          label: 'Time',
          value: (_u: uPlot, v: number | null) => (v === null ? '—' : timeLabel(v * 1000, label())),
        },
        ...props.series.map((s, i) => {
          const stroke = resolvedColor(s.color ?? PALETTE[i % PALETTE.length]!, box);
          return {
            label: `${s.label} (${s.unit})`,
            scale: s.unit,
            stroke,
            width: 2,
            spanGaps: false,
            // A value with a gap (or the edge) on both sides draws no line: it is drawn as a point.
            // uPlot still shows every point by itself where they are few enough to stand apart.
            points: {
              fill: stroke,
              filter: (u: uPlot, si: number, show: boolean) => {
                if (show) return null;
                const lonely = lonelyPoints(u.data[si] ?? []);
                return lonely.length > 0 ? lonely : null;
              },
            },
            // The series of the latest figures: a new `format` needs no new plot.
            value: (_u: uPlot, v: number | null) => {
              const now = props.series[i] ?? s;
              return formatValue(v, now.unit, now.format);
            },
          };
        }),
      ],
    };
    plot = new uPlot(opts, data(), box);
    shape = shapeOf();
  }

  onMount(() => {
    build();
    const resize = new ResizeObserver(() => {
      if (plot && box.clientWidth > 0)
        plot.setSize({ width: Math.max(box.clientWidth, 240), height: props.height ?? 200 });
    });
    resize.observe(box);
    onCleanup(() => {
      resize.disconnect();
      plot?.destroy();
      plot = undefined;
    });
  });

  // New figures redraw the same plot; other series (labels, units) or times make a new one.
  createEffect(
    on(
      () => [props.x, props.series, props.timeLabel] as const,
      () => {
        if (!plot) return;
        if (shapeOf() !== shape) build();
        else plot.setData(data());
      },
      { defer: true },
    ),
  );

  return (
    <figure class="time-chart" aria-labelledby={`${id}-caption`}>
      <figcaption id={`${id}-caption`} class="time-chart-caption">
        <span class="time-chart-title">{props.title}</span>
        <span class="time-chart-summary muted">{props.summary}</span>
      </figcaption>
      <div ref={box} class="time-chart-canvas" aria-hidden="true" data-testid="time-chart-canvas" />
      <details class="time-chart-figures">
        <summary>Show the figures</summary>
        <div class="table-scroll">
          <table class="data-table">
            <caption class="visually-hidden">{props.title}</caption>
            <thead>
              <tr>
                <th scope="col">{timeHeading(label())}</th>
                <For each={props.series}>
                  {(s) => (
                    <th scope="col">
                      {s.label} ({s.unit})
                    </th>
                  )}
                </For>
              </tr>
            </thead>
            <tbody>
              <For each={chartRows(props.x, props.series, label())}>
                {(row) => (
                  <tr>
                    <th scope="row">{row.time}</th>
                    <For each={row.values}>{(v) => <td>{v}</td>}</For>
                  </tr>
                )}
              </For>
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
