/*
 * Spans to an OpenTelemetry collector (OTLP/HTTP, JSON). No collector runs here: an HTTP server
 * started by the test stands in for one (named so below) and keeps what it is sent. The edge
 * and a real runner (process driver) send a request's span and its job's span, joined in one trace.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { type FinishedSpan, OtlpExporter, otlpBody, otlpConfigFrom } from '@keel/contract/otlp';
import { childSpan, formatTraceparent } from '@keel/contract/trace';
import { exportRequestSpansTo } from '../../edge/src/http/request-log.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';

interface CollectorStandIn {
  url: string;
  server: Server;
  bodies: any[];
  headers: Array<Record<string, string | string[] | undefined>>;
  failNext: number;
}

/** An OTLP collector stand-in: takes POST /v1/traces (JSON) and keeps each body. */
async function startCollectorStandIn(): Promise<CollectorStandIn> {
  const c: CollectorStandIn = {
    url: '',
    server: undefined as unknown as Server,
    bodies: [],
    headers: [],
    failNext: 0,
  };
  c.server = createServer((req, res) => {
    let raw = '';
    req.on('data', (d) => {
      raw += d;
    });
    req.on('end', () => {
      if (
        req.method !== 'POST' ||
        req.url !== '/v1/traces' ||
        req.headers['content-type'] !== 'application/json'
      ) {
        res.writeHead(400).end();
        return;
      }
      if (c.failNext > 0) {
        c.failNext--;
        res.writeHead(503).end();
        return;
      }
      c.bodies.push(JSON.parse(raw));
      c.headers.push(req.headers);
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  const port = await freePort();
  await new Promise<void>((r) => c.server.listen(port, '127.0.0.1', () => r()));
  c.url = `http://127.0.0.1:${port}`;
  return c;
}

const spansOf = (c: CollectorStandIn) =>
  c.bodies.flatMap((b) =>
    b.resourceSpans.flatMap((rs: any) =>
      rs.scopeSpans.flatMap((ss: any) =>
        ss.spans.map((s: any) => ({ ...s, service: rs.resource.attributes[0].value.stringValue })),
      ),
    ),
  );
const attr = (s: any, key: string) => {
  const v = s.attributes.find((a: any) => a.key === key)?.value;
  return v?.stringValue ?? v?.intValue ?? v?.boolValue;
};

const span = (i: number): FinishedSpan => ({
  ...childSpan(undefined),
  name: `s${i}`,
  kind: 'internal',
  startMs: 1_700_000_000_000.5,
  endMs: 1_700_000_000_001.25,
  attributes: { n: i, ok: true, ratio: 0.5, none: undefined },
});

describe('OTLP export settings (standard OTEL_* variables)', () => {
  test('no endpoint, no exporter; the traces URL, headers and service name; bad values refused', () => {
    assert.equal(otlpConfigFrom({}, 'keel-edge'), undefined);
    assert.equal(otlpConfigFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: '  ' }, 'keel-edge'), undefined);
    assert.deepEqual(otlpConfigFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' }, 'keel-edge'), {
      url: 'http://collector:4318/v1/traces',
      headers: {},
      serviceName: 'keel-edge',
    });
    assert.deepEqual(
      otlpConfigFrom(
        {
          OTEL_EXPORTER_OTLP_ENDPOINT: 'http://ignored:4318',
          OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'https://collector.example/custom/traces',
          OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Bearer%20abc, x-tenant = keel',
          OTEL_SERVICE_NAME: 'edge-a',
        },
        'keel-edge',
      ),
      {
        url: 'https://collector.example/custom/traces',
        headers: { authorization: 'Bearer abc', 'x-tenant': 'keel' },
        serviceName: 'edge-a',
      },
    );
    for (const bad of [
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'ftp://collector' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'not a url' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'no-equals-sign' },
      { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://c:4318', OTEL_EXPORTER_OTLP_HEADERS: 'bad name=1' },
    ])
      assert.throws(() => otlpConfigFrom(bad, 'keel-edge'), JSON.stringify(bad));
  });

  test('the JSON encoding: hex ids, nanosecond times as strings, typed attributes, error status', () => {
    const s = { ...span(1), parentSpanId: 'a'.repeat(16), error: true };
    const body = otlpBody('svc', [s]) as any;
    const out = body.resourceSpans[0].scopeSpans[0].spans[0];
    assert.equal(body.resourceSpans[0].resource.attributes[0].value.stringValue, 'svc');
    assert.equal(out.traceId, s.traceId);
    assert.equal(out.parentSpanId, 'a'.repeat(16));
    assert.equal(out.startTimeUnixNano, '1700000000000500000');
    assert.equal(out.endTimeUnixNano, '1700000000001250000');
    assert.equal(out.kind, 1);
    assert.deepEqual(out.status, { code: 2 });
    assert.deepEqual(out.attributes, [
      { key: 'n', value: { intValue: '1' } },
      { key: 'ok', value: { boolValue: true } },
      { key: 'ratio', value: { doubleValue: 0.5 } },
    ]);
  });
});

describe('the exporter against an OTLP collector stand-in', () => {
  let collector: CollectorStandIn;
  before(async () => {
    collector = await startCollectorStandIn();
  });
  after(() => collector.server.close());

  test('batches, sends the configured headers, survives a failing collector, bounds its queue', async () => {
    const exporter = new OtlpExporter(
      { url: `${collector.url}/v1/traces`, headers: { authorization: 'Bearer t' }, serviceName: 'unit' },
      { maxBatch: 3, maxQueue: 5, flushMs: 60_000 },
    );
    collector.failNext = 1;
    for (let i = 0; i < 3; i++) exporter.add(span(i)); // a full batch: sent at once, refused
    for (let i = 3; i < 5; i++) exporter.add(span(i));
    await exporter.flush();
    assert.equal(exporter.failedBatches, 1);
    assert.deepEqual(
      spansOf(collector).map((s) => s.name),
      ['s3', 's4'],
    );
    assert.equal(collector.headers[0]!.authorization, 'Bearer t');
    // More than the queue holds while nothing is sent: the rest are dropped and counted.
    for (let i = 0; i < 8; i++) exporter.add({ ...span(10 + i) });
    assert.ok(exporter.dropped >= 3, `dropped ${exporter.dropped}`);
    await exporter.flush();
  });

  test('an unreachable collector costs the batch, not an error', async () => {
    const exporter = new OtlpExporter(
      { url: `http://127.0.0.1:${await freePort()}/v1/traces`, headers: {}, serviceName: 'unit' },
      { timeoutMs: 2_000 },
    );
    exporter.add(span(1));
    await exporter.flush();
    assert.equal(exporter.failedBatches, 1);
  });
});

describe('a request and its job, as spans of one trace (edge and a real runner)', () => {
  let rig: Rig;
  let collector: CollectorStandIn;
  let edgeSpans: OtlpExporter;
  before(async () => {
    collector = await startCollectorStandIn();
    rig = await startRig('process', {
      runnerEnv: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_SERVICE_NAME: 'runner-under-test' },
    });
    edgeSpans = new OtlpExporter(
      otlpConfigFrom({ OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, 'keel-edge')!,
    );
    exportRequestSpansTo(edgeSpans);
  });
  after(async () => {
    exportRequestSpansTo(undefined);
    await rig?.close();
    collector?.server.close();
  });

  test('the create request is the job span’s parent; both continue the caller’s trace', async () => {
    const caller = childSpan(undefined);
    const created = await rig.admin.request(
      'POST',
      '/api/workspaces',
      { name: 'spans' },
      { bearer: true, headers: { traceparent: formatTraceparent(caller) } },
    );
    assert.equal(created.status, 201);
    await rig.waitForStatus(rig.admin, created.body.id, 'running');
    await edgeSpans.flush();
    const { request, job } = await waitFor(
      'both spans at the collector',
      async () => {
        const spans = spansOf(collector).filter((s) => s.traceId === caller.traceId);
        const request = spans.find((s) => s.name === 'POST /api/workspaces');
        const job = spans.find((s) => s.name === 'job workspace.create');
        return request && job ? { request, job } : undefined;
      },
      15_000,
      200,
    );
    assert.equal(request.service, 'keel-edge');
    assert.equal(request.kind, 2);
    assert.equal(request.parentSpanId, caller.spanId);
    assert.equal(attr(request, 'http.route'), '/api/workspaces');
    assert.equal(attr(request, 'http.response.status_code'), '201');
    assert.equal(job.service, 'runner-under-test');
    assert.equal(job.kind, 5);
    assert.equal(job.parentSpanId, request.spanId);
    assert.equal(attr(job, 'keel.job.outcome'), 'ok');
    assert.equal(attr(job, 'keel.request_id'), attr(request, 'keel.request_id'));
    assert.ok(BigInt(job.startTimeUnixNano) >= BigInt(request.startTimeUnixNano) - 5_000_000n);
  });
});
