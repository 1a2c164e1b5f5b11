/**
 * One JSON line per request: its id, its trace, the route's template (never the path, which can
 * name a file, nor the query), method, status, time and who asked. Nothing of a body.
 *
 * On Node the lines are gathered and written together (at most every 50 ms, or 64 KiB), since
 * stdout on a pipe or file is written synchronously on Linux: a write per request would be a
 * system call on every request's path. Elsewhere (workerd) each line goes to the console.
 */
import type { OtlpExporter } from '@keel/contract/otlp';

export interface RequestLogLine {
  requestId: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  method: string;
  route: string;
  status: number;
  ms: number;
  userId?: string;
  organizationId?: string;
  runnerId?: string;
}

type Sink = (line: string) => void;

/** Lines are made only for a sink that takes them (KEEL_REQUEST_LOG=false: none). */
let writing = true;

/** Where each request also goes as a span (OTLP), when an endpoint is configured. */
let spans: OtlpExporter | undefined;

export function exportRequestSpansTo(exporter: OtlpExporter | undefined): void {
  spans = exporter;
}

let sink: Sink = (line) => console.log(line);
let pending: string[] = [];
let pendingBytes = 0;
let timer: ReturnType<typeof setTimeout> | undefined;
let out: { write(chunk: string): unknown } | undefined;

const FLUSH_MS = 50;
const FLUSH_BYTES = 64 * 1024;

/** Node: lines to `stream`, gathered. */
export function gatherRequestLog(stream: { write(chunk: string): unknown }): void {
  out = stream;
  writing = true;
  sink = (line) => {
    pending.push(line);
    pendingBytes += line.length + 1;
    if (pendingBytes >= FLUSH_BYTES) flushRequestLog();
    else if (!timer) {
      timer = setTimeout(flushRequestLog, FLUSH_MS);
      (timer as { unref?: () => void }).unref?.();
    }
  };
}

/** Writes what is gathered (at the flush timer, and before the process stops). */
export function flushRequestLog(): void {
  if (timer) clearTimeout(timer);
  timer = undefined;
  if (pending.length === 0 || !out) return;
  const text = `${pending.join('\n')}\n`;
  pending = [];
  pendingBytes = 0;
  out.write(text);
}

/** Tests: where lines go instead (undefined: back to the console). */
export function sendRequestLogTo(next: Sink | undefined): void {
  flushRequestLog();
  out = undefined;
  sink = next ?? ((line) => console.log(line));
  writing = true;
}

/** No lines at all (KEEL_REQUEST_LOG=false); spans, when exported, still go. */
export function stopRequestLog(): void {
  flushRequestLog();
  out = undefined;
  writing = false;
}

/** The last millisecond's ISO time: many requests end in the same one under load. */
let isoMs = Number.NaN;
let iso = '';
function isoAt(ms: number): string {
  if (ms !== isoMs) {
    isoMs = ms;
    iso = new Date(ms).toISOString();
  }
  return iso;
}

const q = JSON.stringify;

/**
 * The parts of a line that repeat from request to request (the route and its status, who
 * asked), each written out once and kept with what it was made from: under load most lines
 * share them with the line before, and quoting them again was most of a line's cost.
 */
const routePart = { method: '', route: '', status: 0, text: '' };
const whoPart: { userId?: string; organizationId?: string; runnerId?: string; text: string } = {
  text: '}',
};

/**
 * The line, written out field by field in RequestLogLine's order (what JSON.stringify of the
 * spread entry gave, at a fraction of its cost on every request's path); strings a client could
 * have chosen go through JSON.stringify, numbers are finite.
 */
function requestLine(at: number, e: RequestLogLine): string {
  let line = `{"level":"info","msg":"request","at":"${isoAt(at)}","requestId":${q(e.requestId)},"traceId":${q(e.traceId)},"spanId":${q(e.spanId)}`;
  if (e.parentSpanId !== undefined) line += `,"parentSpanId":${q(e.parentSpanId)}`;
  if (e.method !== routePart.method || e.route !== routePart.route || e.status !== routePart.status) {
    routePart.method = e.method;
    routePart.route = e.route;
    routePart.status = e.status;
    routePart.text = `,"method":${q(e.method)},"route":${q(e.route)},"status":${e.status},"ms":`;
  }
  if (
    e.userId !== whoPart.userId ||
    e.organizationId !== whoPart.organizationId ||
    e.runnerId !== whoPart.runnerId
  ) {
    whoPart.userId = e.userId;
    whoPart.organizationId = e.organizationId;
    whoPart.runnerId = e.runnerId;
    let who = '';
    if (e.userId !== undefined) who += `,"userId":${q(e.userId)}`;
    if (e.organizationId !== undefined) who += `,"organizationId":${q(e.organizationId)}`;
    if (e.runnerId !== undefined) who += `,"runnerId":${q(e.runnerId)}`;
    whoPart.text = `${who}}`;
  }
  return `${line}${routePart.text}${Number.isFinite(e.ms) ? e.ms : null}${whoPart.text}`;
}

export function logRequest(entry: RequestLogLine): void {
  const now = Date.now();
  if (writing) sink(requestLine(now, entry));
  spans?.add({
    traceId: entry.traceId,
    spanId: entry.spanId,
    parentSpanId: entry.parentSpanId,
    name: `${entry.method} ${entry.route}`,
    kind: 'server',
    startMs: now - entry.ms,
    endMs: now,
    attributes: {
      'http.request.method': entry.method,
      'http.route': entry.route,
      'http.response.status_code': entry.status,
      'keel.request_id': entry.requestId,
      'keel.user_id': entry.userId,
      'keel.organization_id': entry.organizationId,
      'keel.runner_id': entry.runnerId,
    },
    error: entry.status >= 500,
  });
}
