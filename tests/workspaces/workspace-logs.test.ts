import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { compareStreamIds } from '@keel/contract/stream-ids';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';

describe('workspace logs, followed live (process driver)', () => {
  let rig: Rig;
  before(async () => {
    rig = await startRig('process');
  });
  after(async () => {
    await rig.close();
  });

  test('the SSE log replays what the JSON list holds, then follows new lines from Last-Event-ID', async () => {
    const c = rig.admin;
    const ws = await c.request('POST', '/api/workspaces', { name: 'logs' }, { bearer: true });
    const id = ws.body.id as string;
    await rig.waitForStatus(c, id, 'running');
    const auth = { authorization: `Bearer ${c.accessToken}` };
    const listed = await c.request('GET', `/api/workspaces/${id}/logs`, undefined, { bearer: true });
    assert.equal(listed.status, 200);
    const lines = listed.body.lines as Array<{ id: string; stream: string; text: string }>;
    assert.ok(lines.length > 0, 'a started workspace has logged');

    const url = `/api/workspaces/${id}/logs/events`;
    const replay = await readSse(await rig.http(url, { headers: auth }), lines.length);
    assert.deepEqual(
      replay.map((e) => [e.id, e.event, e.data]),
      lines.map((l) => [l.id, l.stream, l.text]),
    );

    // Open from the last line, then make the workspace log something: it arrives on the open stream.
    const last = lines.at(-1)!.id;
    const opened = await rig.http(url, { headers: { ...auth, 'last-event-id': last } });
    assert.equal(opened.status, 200);
    assert.match(opened.headers.get('content-type') ?? '', /text\/event-stream/);
    const next = readSse(opened, 1);
    const stop = await c.request('POST', `/api/workspaces/${id}/stop`, undefined, { bearer: true });
    assert.equal(stop.status, 202);
    const [line] = await next;
    assert.ok(line?.id && compareStreamIds(line.id, last) > 0, 'only what came after the cursor');
    assert.equal(line.event, 'system');
    const after = (await c.request('GET', `/api/workspaces/${id}/logs`, undefined, { bearer: true })).body
      .lines as Array<{ id: string; text: string }>;
    assert.equal(after.find((l) => l.id === line.id)?.text, line.data, 'the same line as the list holds');
  });
});
