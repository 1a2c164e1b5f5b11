/** One row of the benchmark table: a figure of Keel's, against a baseline measured in the same run. */
export interface Figure {
  name: string;
  keel: string;
  baseline: string;
  ratio: string;
  target: string;
  /** null: a figure for reference, with no floor. */
  pass: boolean | null;
}
