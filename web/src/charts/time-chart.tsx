import 'uplot/dist/uPlot.min.css';
import './time-chart.css';
import { createEffect, createUniqueId, For, on, onCleanup, onMount } from 'solid-js';
import uPlot from 'uplot';
import { chartRows, formatValue, scalesOf } from './time-chart-data.ts';

/** One line of a chart: its values (null: a gap) at the chart's `x` times. */
export interface TimeSeries {
  label: string;
  /** Shown on its axis and in the table (`req/min`, `ms`); series of one unit share an axis. */
  unit: string;
  values: ReadonlyArray<number | null>;
  /** A CSS colour or `var(--name)` of the theme; the theme's accent, then its others, by default. */
  color?: string;
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
      cursor: { drag: { x: false, y: false } },
      scales: Object.fromEntries(
        scales.map((unit) => [unit, { auto: true, range: (_u, _min, max) => [0, max > 0 ? max * 1.1 : 1] }]),
      ),
      axes: [
        { stroke: text, grid: { stroke: grid, width: 1 }, ticks: { stroke: grid } },
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
        { label: 'Time' },
        ...props.series.map((s, i) => ({
          label: `${s.label} (${s.unit})`,
          scale: s.unit,
          stroke: resolvedColor(s.color ?? PALETTE[i % PALETTE.length]!, box),
          width: 2,
          spanGaps: false,
          value: (_u: uPlot, v: number | null) => formatValue(v, s.unit),
        })),
      ],
    };
    plot = new uPlot(opts, data(), box);
    shape = props.series.map((s) => `${s.label}\u0000${s.unit}`).join('\u0001');
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

  // New figures redraw the same plot; other series (labels, units) make a new one.
  createEffect(
    on(
      () => [props.x, props.series] as const,
      () => {
        if (!plot) return;
        const next = props.series.map((s) => `${s.label}\u0000${s.unit}`).join('\u0001');
        if (next !== shape) build();
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
                <th scope="col">Time (UTC)</th>
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
              <For each={chartRows(props.x, props.series)}>
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
