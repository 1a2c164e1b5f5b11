import type { Counter, Histogram } from 'prom-client';
import type {
  AiCallFigures,
  JobOutcomeLabel,
  JobPath,
  RunnerRecorder,
  ServerCheckFigures,
} from './recorder.ts';
import type { RunnerMetrics } from './registry.ts';

type CounterChild = ReturnType<Counter<string>['labels']>;
type HistogramChild = ReturnType<Histogram<string>['labels']>;

/** Label children kept by their values: `labels()` hashes its arguments on every call. */
class Children<T> {
  readonly #made = new Map<string, T>();
  constructor(private readonly make: (...values: string[]) => T) {}
  get(...values: string[]): T {
    const key = values.join('\u0000');
    let child = this.#made.get(key);
    if (!child) {
      child = this.make(...values);
      this.#made.set(key, child);
    }
    return child;
  }
}

/**
 * The recorder behind a metrics listener. Labels stay bounded: job types come from the
 * contract's parsed jobs (an unreadable one is `invalid`), outcomes and paths are fixed lists,
 * stream kinds are the contract's, and the model is the one this runner was configured with,
 * whatever name the server answers with.
 */
export class PromRecorder implements RunnerRecorder {
  readonly enabled = true;
  readonly #jobs: Children<CounterChild>;
  readonly #jobSeconds: Children<HistogramChild>;
  readonly #calls: Children<CounterChild>;
  readonly #callSeconds: Children<HistogramChild>;
  readonly #wait: Children<HistogramChild>;
  readonly #streamBytes: Children<CounterChild>;
  readonly #streamLag: Children<HistogramChild>;
  readonly #serverChecks: Children<CounterChild>;

  constructor(
    private readonly m: RunnerMetrics,
    private readonly model: string,
  ) {
    this.#jobs = new Children((t, o) => m.keel_runner_jobs_total.labels(t!, o!));
    this.#jobSeconds = new Children((t) => m.keel_runner_job_duration_seconds.labels(t!));
    this.#calls = new Children((t, o) => m.keel_runner_calls_total.labels(t!, o!));
    this.#callSeconds = new Children((t) => m.keel_runner_call_duration_seconds.labels(t!));
    this.#wait = new Children((q) => m.keel_runner_queue_wait_seconds.labels(q!));
    this.#streamBytes = new Children((k) => m.keel_runner_stream_bytes_total.labels(k!));
    this.#streamLag = new Children((k) => m.keel_runner_stream_lag_seconds.labels(k!));
    this.#serverChecks = new Children((k, c, o, code) =>
      m.keel_runner_connection_tests_total.labels(k!, c!, o!, code!),
    );
  }

  job(path: JobPath, type: string, outcome: JobOutcomeLabel, seconds: number): void {
    if (path === 'jobs') {
      this.#jobs.get(type, outcome).inc();
      this.#jobSeconds.get(type).observe(seconds);
    } else {
      this.#calls.get(type, outcome).inc();
      this.#callSeconds.get(type).observe(seconds);
    }
  }

  queueWait(queue: string, seconds: number): void {
    this.#wait.get(queue).observe(Math.max(0, seconds));
  }

  streamWritten(kind: string, bytes: number, lagSeconds: number): void {
    this.#streamBytes.get(kind).inc(bytes);
    this.#streamLag.get(kind).observe(Math.max(0, lagSeconds));
  }

  aiCall(f: AiCallFigures): void {
    const { model, m } = this;
    m.keel_ai_calls_total.labels(model, f.outcome).inc();
    if (f.tokensIn > 0) m.keel_ai_tokens_total.labels(model, 'in').inc(f.tokensIn);
    if (f.tokensOut > 0) m.keel_ai_tokens_total.labels(model, 'out').inc(f.tokensOut);
    if (f.firstTokenSeconds !== null)
      m.keel_ai_time_to_first_token_seconds.labels(model).observe(f.firstTokenSeconds);
  }

  serverChecked(f: ServerCheckFigures): void {
    // Kinds and codes are the contract's enums (typed, and parsed where they came from outside).
    this.#serverChecks
      .get(f.kind, f.check, f.ok ? 'ok' : 'error', f.ok ? 'none' : (f.code ?? 'internal'))
      .inc();
  }
}
