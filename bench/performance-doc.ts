import { readFileSync, writeFileSync } from 'node:fs';

/**
 * docs/PERFORMANCE.md holds one part that a run writes, between these markers, and prose kept
 * by hand around it (how each figure is measured, what past runs showed). A run replaces its
 * part only, so that nothing written once reads as if it had been measured again.
 */
const START = '<!-- bench/run: measured figures, rewritten by each full run -->';
const END = '<!-- bench/run: end of measured figures -->';

export function writeMeasuredFigures(file: string, measured: string): void {
  const doc = readFileSync(file, 'utf8');
  const from = doc.indexOf(START);
  const to = doc.indexOf(END);
  if (from === -1 || to < from) throw new Error(`${file} has no measured-figures markers; nothing written`);
  writeFileSync(file, `${doc.slice(0, from + START.length)}\n${measured}\n${doc.slice(to)}`);
}
