import { readFileSync, writeFileSync } from 'node:fs';

/**
 * docs/PERFORMANCE.md holds one part that a run writes, between these markers, and prose kept
 * by hand around it (how each figure is measured, what past runs showed). A run replaces its
 * part only, so that nothing written once reads as if it had been measured again.
 */
const START = '<!-- bench/run: measured figures, rewritten by each full run -->';
const END = '<!-- bench/run: end of measured figures -->';

export function writeMeasuredFigures(file: string, measured: string): void {
  replaceBetween(file, START, END, measured);
}

/** The scale ramp's own part (`bench/run scale`), rewritten by each full ramp and by nothing else. */
const SCALE_START = '<!-- bench/run scale: scale ramp, rewritten by each full ramp -->';
const SCALE_END = '<!-- bench/run scale: end of scale ramp -->';

export function writeScaleRamp(file: string, measured: string): void {
  replaceBetween(file, SCALE_START, SCALE_END, measured);
}

function replaceBetween(file: string, start: string, end: string, measured: string): void {
  const doc = readFileSync(file, 'utf8');
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 || to < from) throw new Error(`${file} has no markers ${start}; nothing written`);
  writeFileSync(file, `${doc.slice(0, from + start.length)}\n${measured}\n${doc.slice(to)}`);
}
