/**
 * What the runner's code reports as it works (jobs, calls, stream writes, model calls). With
 * metrics off the recorder is `NO_METRICS`, whose methods do nothing, so a job pays one call
 * to an empty function and no clock reading (`enabled` is checked before timing).
 *
 * One recorder per process: a runner process runs one runner, and the stream appender, made
 * in many places, reaches it without a parameter threaded through each of them.
 */

import type { ConnectionTestCode, ServerKind } from '@keel/contract/servers';

/** BullMQ jobs, or request/response calls from the call list. */
export type JobPath = 'jobs' | 'calls';
export type JobOutcomeLabel = 'ok' | 'error' | 'refused' | 'cancelled';
export type AiOutcomeLabel = 'ok' | 'error' | 'cancelled';

/** Why the runner connected to a server: an admin's connection test, or the periodic resource collection. */
export type ServerCheck = 'test' | 'resources';

/** One connection to an infrastructure server with its credential, as keel_runner_connection_tests_total counts it. */
export interface ServerCheckFigures {
  check: ServerCheck;
  /** The server's kind; `unknown` when the runner could not fetch the access that says it. */
  kind: ServerKind | 'unknown';
  ok: boolean;
  /** The contract's code of a failure (absent when ok). */
  code?: ConnectionTestCode | undefined;
}

export interface AiCallFigures {
  outcome: AiOutcomeLabel;
  tokensIn: number;
  tokensOut: number;
  /** Seconds to the first token; null when none came. */
  firstTokenSeconds: number | null;
}

export interface RunnerRecorder {
  readonly enabled: boolean;
  job(path: JobPath, type: string, outcome: JobOutcomeLabel, seconds: number): void;
  /** Seconds a job waited in a queue before it started. */
  queueWait(queue: string, seconds: number): void;
  /** One write of a stream: its bytes, and how long the oldest of them waited for it. */
  streamWritten(kind: string, bytes: number, lagSeconds: number): void;
  aiCall(figures: AiCallFigures): void;
  serverChecked(figures: ServerCheckFigures): void;
}

export const NO_METRICS: RunnerRecorder = {
  enabled: false,
  job() {},
  queueWait() {},
  streamWritten() {},
  aiCall() {},
  serverChecked() {},
};

let current: RunnerRecorder = NO_METRICS;

/** The process's recorder: `NO_METRICS` unless a metrics listener was started. */
export function recorder(): RunnerRecorder {
  return current;
}

/** Installs the process's recorder (`NO_METRICS` again when metrics stop). */
export function useRecorder(next: RunnerRecorder): void {
  current = next;
}

/** A stream kind's name as a label value: `exec output` → `exec_output`. */
export function streamKindLabel(name: string): string {
  return name
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '');
}
