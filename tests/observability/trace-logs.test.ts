/*
 * One id finds a click's whole path: the edge logs each request in one JSON line with its
 * request id and trace (continuing a caller's `traceparent`), the jobs and calls it sends carry
 * both through Redis, and the runner logs each job with them. Real Redis, a real runner
 * (process driver, bubblewrap), the edge on a real HTTP port.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { childSpan, formatTraceparent, jobTrace, parseTraceparent } from '@keel/contract/trace';
import { sendRequestLogTo } from '../../edge/src/http/request-log.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';

type Line = Record<string, any>;

describe('request and job logs carry the request id and the W3C trace', () => {
  let rig: Rig;
  const edgeLines: Line[] = [];
  const runnerLines: Line[] = [];
  const realLog = console.log;

  before(async () => {
    rig = await startRig('process');
    sendRequestLogTo((line) => edgeLines.push(JSON.parse(line)));
    // The runner runs in this process here: its lines go to console.log.
    console.log = (...args: unknown[]) => {
      const text = String(args[0]);
      if (text.startsWith('{') && text.includes('"msg":"job"')) runnerLines.push(JSON.parse(text));
      else realLog(...args);
    };
  });
  after(async () => {
    console.log = realLog;
    sendRequestLogTo(() => {});
    await rig?.close();
  });

  test('a create and a file read: the edge line and the runner line share the id and the trace', async () => {
    const caller = childSpan(undefined);
    const created = await rig.admin.request(
      'POST',
      '/api/workspaces',
      { name: 'traced' },
      {
        bearer: true,
        headers: { traceparent: formatTraceparent(caller), 'x-request-id': 'click-create-1' },
      },
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    assert.equal(created.headers.get('x-request-id'), 'click-create-1');
    const id = created.body.id as string;
    await rig.waitForStatus(rig.admin, id, 'running');

    const createLine = edgeLines.find((l) => l.requestId === 'click-create-1');
    assert.ok(createLine, 'the edge logged the create');
    assert.equal(createLine.msg, 'request');
    assert.equal(createLine.method, 'POST');
    assert.equal(createLine.route, '/api/workspaces');
    assert.equal(createLine.status, 201);
    assert.equal(createLine.traceId, caller.traceId);
    assert.equal(createLine.parentSpanId, caller.spanId);
    assert.match(createLine.spanId, /^[0-9a-f]{16}$/);
    assert.notEqual(createLine.spanId, caller.spanId);
    assert.equal(typeof createLine.ms, 'number');
    assert.ok(createLine.userId && createLine.organizationId === rig.orgId);

    const createJob = runnerLines.find(
      (l) => l.type === 'workspace.create' && l.requestId === 'click-create-1',
    );
    assert.ok(createJob, `the runner logged the create job: ${JSON.stringify(runnerLines)}`);
    assert.equal(createJob.outcome, 'ok');
    assert.equal(createJob.workspaceId, id);
    assert.equal(createJob.traceId, caller.traceId);
    assert.equal(createJob.parentSpanId, createLine.spanId);

    // A call (not a BullMQ job): a file written and read back, under a name that must not be logged.
    const put = await rig.admin.request(
      'PUT',
      `/api/workspaces/${id}/files?path=${encodeURIComponent('secret-name.txt')}`,
      { content: 'hello' },
      { bearer: true, headers: { 'x-request-id': 'click-write-1' } },
    );
    assert.ok(put.status === 200 || put.status === 201, JSON.stringify(put.body));
    const read = await rig.admin.request(
      'GET',
      `/api/workspaces/${id}/files?path=${encodeURIComponent('secret-name.txt')}`,
      undefined,
      { bearer: true, headers: { 'x-request-id': 'click-read-1' } },
    );
    assert.equal(read.status, 200, JSON.stringify(read.body));
    await new Promise((r) => setTimeout(r, 100));
    const readLine = edgeLines.find((l) => l.requestId === 'click-read-1');
    assert.ok(readLine);
    assert.equal(readLine.route, '/api/workspaces/:id/files');
    // No caller trace: the edge started one.
    assert.equal(readLine.parentSpanId, undefined);
    const readJob = runnerLines.find((l) => l.type === 'files.read' && l.requestId === 'click-read-1');
    assert.ok(readJob, 'the runner logged the read call');
    assert.equal(readJob.traceId, readLine.traceId);
    assert.equal(readJob.parentSpanId, readLine.spanId);
    // Nothing of the path, the query or the content in any line.
    const all = JSON.stringify([...edgeLines, ...runnerLines]);
    assert.doesNotMatch(all, /secret-name|hello/);
  });

  test('the runner’s calls back to the edge for a job join the job’s trace (a snapshot)', async () => {
    const created = await rig.admin.request(
      'POST',
      '/api/workspaces',
      { name: 'traced-snapshot' },
      { bearer: true },
    );
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const id = created.body.id as string;
    await rig.waitForStatus(rig.admin, id, 'running');
    const caller = childSpan(undefined);
    const taken = await rig.admin.request(
      'POST',
      `/api/workspaces/${id}/snapshots`,
      {},
      { bearer: true, headers: { traceparent: formatTraceparent(caller), 'x-request-id': 'click-snap-1' } },
    );
    assert.equal(taken.status, 202, JSON.stringify(taken.body));
    let job: Line | undefined;
    for (let i = 0; i < 200 && !job; i++) {
      job = runnerLines.find((l) => l.type === 'workspace.snapshot' && l.requestId === 'click-snap-1');
      if (!job) await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(
      job,
      `the runner logged the snapshot job: ${JSON.stringify(runnerLines.slice(-5))} ${JSON.stringify(edgeLines.slice(-5))}`,
    );
    assert.equal(job.outcome, 'ok', JSON.stringify(job));
    assert.equal(job.traceId, caller.traceId);
    await new Promise((r) => setTimeout(r, 100));
    // The runner's own requests: each a line of the edge, in the click's trace, under the job's span.
    const back = edgeLines.filter(
      (l) => l.route?.startsWith('/api/runners/') && l.traceId === caller.traceId,
    );
    assert.ok(
      back.length >= 1,
      `the edge logged the runner's calls in the trace: ${JSON.stringify(edgeLines.slice(-8))}`,
    );
    for (const line of back) {
      assert.equal(line.parentSpanId, job.spanId);
      assert.notEqual(line.requestId, 'click-snap-1');
    }
  });

  test('a malformed traceparent or request id is not taken: new ones are made', async () => {
    for (const bad of ['00-zz-11-01', `00-${'0'.repeat(32)}-${'1'.repeat(16)}-01`, 'x'.repeat(300)]) {
      const res = await rig.admin.request('GET', '/api/auth/me', undefined, {
        bearer: true,
        headers: { traceparent: bad, 'x-request-id': 'bad id with spaces' },
      });
      assert.equal(res.status, 200);
      const given = res.headers.get('x-request-id')!;
      assert.notEqual(given, 'bad id with spaces');
      await new Promise((r) => setTimeout(r, 20));
      const line = edgeLines.find((l) => l.requestId === given);
      assert.ok(line, 'the request was logged under the id the answer gave');
      assert.equal(line.parentSpanId, undefined);
      assert.match(line.traceId, /^[0-9a-f]{32}$/);
    }
    const unmatched = await rig.http('/api/no-such-route');
    assert.equal(unmatched.status, 404);
    await new Promise((r) => setTimeout(r, 20));
    const line = edgeLines.find((l) => l.requestId === unmatched.headers.get('x-request-id'));
    assert.equal(line?.route, '/api/*');
    assert.equal(line?.status, 404);
  });
});

describe('W3C traceparent (contract/trace)', () => {
  test('parse, continue, format', () => {
    const header = '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01';
    const parent = parseTraceparent(header)!;
    assert.deepEqual(parent, {
      traceId: '4bf92f3577b34da6a3ce929d0e0e4736',
      spanId: '00f067aa0ba902b7',
      sampled: true,
    });
    const child = childSpan(parent);
    assert.equal(child.traceId, parent.traceId);
    assert.equal(child.parentSpanId, parent.spanId);
    assert.match(formatTraceparent(child), /^00-4bf92f3577b34da6a3ce929d0e0e4736-[0-9a-f]{16}-01$/);
    assert.equal(parseTraceparent(formatTraceparent(child))?.spanId, child.spanId);
    assert.deepEqual(jobTrace('r1', child), { requestId: 'r1', traceparent: formatTraceparent(child) });
    for (const bad of [
      undefined,
      '',
      '01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01',
      '00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01',
      `00-${'0'.repeat(32)}-00f067aa0ba902b7-01`,
      `00-4bf92f3577b34da6a3ce929d0e0e4736-${'0'.repeat(16)}-01`,
      '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7',
    ])
      assert.equal(parseTraceparent(bad), undefined, String(bad));
    assert.equal(parseTraceparent('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00')?.sampled, false);
  });
});
