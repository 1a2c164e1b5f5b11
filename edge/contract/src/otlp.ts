/**
 * Spans sent to an OpenTelemetry collector over OTLP/HTTP in its JSON encoding
 * (https://opentelemetry.io/docs/specs/otlp/#otlphttp), when `OTEL_EXPORTER_OTLP_ENDPOINT` (or
 * `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) is set: the edge sends one span per request, a runner
 * one per job or call, with the ids of contract/trace, so a collector joins them into one trace.
 *
 * Hand-written rather than the OpenTelemetry SDK: Keel makes its spans itself (their ids travel
 * through Redis with the jobs), so only the exporter's encoding is needed, and the SDK's context
 * propagation runs on AsyncLocalStorage, which slowed promise-heavy code on Node 20 by half or
 * more (measured). Batched, bounded (spans past the queue's size are dropped and counted), and
 * a collector that fails costs nothing but the batch.
 */
import { z } from 'zod';

export interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string | undefined;
  name: string;
  kind: 'server' | 'consumer' | 'internal';
  /** Epoch milliseconds (fractions kept). */
  startMs: number;
  endMs: number;
  attributes: Record<string, string | number | boolean | undefined>;
  error?: boolean;
}

export interface OtlpConfig {
  /** The traces URL (`…/v1/traces`). */
  url: string;
  headers: Record<string, string>;
  serviceName: string;
}

const HeaderList = z
  .string()
  .max(8_000)
  .transform((s, ctx) => {
    const headers: Record<string, string> = {};
    for (const part of s.split(',')) {
      if (!part.trim()) continue;
      const eq = part.indexOf('=');
      const name = eq > 0 ? decodeURIComponent(part.slice(0, eq).trim()) : '';
      if (!/^[A-Za-z0-9-]{1,100}$/.test(name)) {
        ctx.addIssue({
          code: 'custom',
          message: 'OTEL_EXPORTER_OTLP_HEADERS: name=value pairs, comma-separated',
        });
        return z.NEVER;
      }
      headers[name.toLowerCase()] = decodeURIComponent(part.slice(eq + 1).trim());
    }
    return headers;
  });

/** The standard OpenTelemetry variables that concern traces; none set: no exporter. */
export const OtlpEnv = z.object({
  OTEL_EXPORTER_OTLP_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: z.url({ protocol: /^https?$/ }).optional(),
  OTEL_EXPORTER_OTLP_HEADERS: HeaderList.optional(),
  OTEL_SERVICE_NAME: z.string().trim().min(1).max(100).optional(),
});

/** The exporter's settings from the environment, or undefined when no endpoint is set. Throws on bad values. */
export function otlpConfigFrom(
  env: Record<string, string | undefined>,
  defaultService: string,
): OtlpConfig | undefined {
  const blank = (v: string | undefined) => (v?.trim() ? v.trim() : undefined);
  const e = OtlpEnv.parse({
    OTEL_EXPORTER_OTLP_ENDPOINT: blank(env.OTEL_EXPORTER_OTLP_ENDPOINT),
    OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: blank(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT),
    OTEL_EXPORTER_OTLP_HEADERS: blank(env.OTEL_EXPORTER_OTLP_HEADERS),
    OTEL_SERVICE_NAME: blank(env.OTEL_SERVICE_NAME),
  });
  // As the specification says: the signal's own URL as given, the general one with /v1/traces.
  const url =
    e.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT ??
    (e.OTEL_EXPORTER_OTLP_ENDPOINT
      ? `${e.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, '')}/v1/traces`
      : undefined);
  if (!url) return undefined;
  return {
    url,
    headers: e.OTEL_EXPORTER_OTLP_HEADERS ?? {},
    serviceName: e.OTEL_SERVICE_NAME ?? defaultService,
  };
}

const KIND = { internal: 1, server: 2, consumer: 5 } as const;

function attribute(key: string, value: string | number | boolean) {
  if (typeof value === 'string') return { key, value: { stringValue: value } };
  if (typeof value === 'boolean') return { key, value: { boolValue: value } };
  return Number.isInteger(value)
    ? { key, value: { intValue: String(value) } }
    : { key, value: { doubleValue: value } };
}

const nanos = (ms: number) =>
  (BigInt(Math.floor(ms)) * 1_000_000n + BigInt(Math.round((ms % 1) * 1e6))).toString();

/** The OTLP/JSON body for `spans` of one service. */
export function otlpBody(serviceName: string, spans: readonly FinishedSpan[]): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: [attribute('service.name', serviceName)] },
        scopeSpans: [
          {
            scope: { name: 'keel' },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: KIND[s.kind],
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(s.endMs),
              attributes: Object.entries(s.attributes)
                .filter((e): e is [string, string | number | boolean] => e[1] !== undefined)
                .map(([k, v]) => attribute(k, v)),
              status: { code: s.error ? 2 : 0 },
            })),
          },
        ],
      },
    ],
  };
}

export class OtlpExporter {
  private queue: FinishedSpan[] = [];
  private timer: ReturnType<typeof setTimeout> | undefined;
  private sending: Promise<void> = Promise.resolve();
  /** Spans handed to a send that has not finished: they count against the queue's bound too. */
  private inFlight = 0;
  /** Spans dropped because the queue was full, and batches the collector did not take. */
  dropped = 0;
  failedBatches = 0;

  constructor(
    private readonly config: OtlpConfig,
    private readonly options: {
      maxQueue?: number;
      maxBatch?: number;
      flushMs?: number;
      timeoutMs?: number;
    } = {},
  ) {}

  add(span: FinishedSpan): void {
    if (this.queue.length + this.inFlight >= (this.options.maxQueue ?? 4096)) {
      this.dropped++;
      return;
    }
    this.queue.push(span);
    if (this.queue.length >= (this.options.maxBatch ?? 512)) void this.flush();
    else if (!this.timer) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushMs ?? 2000);
      (this.timer as { unref?: () => void }).unref?.();
    }
  }

  /** Sends what is queued, one batch after another; never throws. */
  flush(): Promise<void> {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    const max = this.options.maxBatch ?? 512;
    while (this.queue.length > 0) {
      const batch = this.queue.splice(0, max);
      this.inFlight += batch.length;
      this.sending = this.sending.then(async () => {
        await this.send(batch);
        this.inFlight -= batch.length;
      });
    }
    return this.sending;
  }

  private async send(batch: FinishedSpan[]): Promise<void> {
    try {
      const res = await fetch(this.config.url, {
        method: 'POST',
        headers: { ...this.config.headers, 'content-type': 'application/json' },
        body: JSON.stringify(otlpBody(this.config.serviceName, batch)),
        signal: AbortSignal.timeout(this.options.timeoutMs ?? 5_000),
        redirect: 'error',
      });
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) this.failedBatches++;
    } catch {
      this.failedBatches++;
    }
  }
}
