import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { auditEvents } from '@keel/drizzle/schema';
import { type Rig, readSse, startRig } from '../harness/runner-rig.ts';

describe('paths, argv and listings at the edge', () => {
  let rig: Rig;
  let ws: string;
  const req = (method: string, path: string, body?: unknown) =>
    rig.admin.request(method, `/api/workspaces/${ws}${path}`, body, { bearer: true });
  const names = async (path = '') =>
    (await req('GET', `/files/tree?path=${encodeURIComponent(path)}`)).body.entries.map(
      (e: { name: string }) => e.name,
    );
  const auditCount = async () => (await rig.app.services.db.select().from(auditEvents)).length;

  before(async () => {
    rig = await startRig('process');
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'paths' }, { bearer: true });
    ws = created.body.id;
    await rig.waitForStatus(rig.admin, ws, 'running');
  });
  after(() => rig.close());

  test('a file path with a trailing slash is refused with 422, and nothing is written', async () => {
    for (const path of ['dir/', 'a/b/']) {
      const write = await req('PUT', `/files?path=${encodeURIComponent(path)}`, { content: 'x' });
      assert.equal(write.status, 422, JSON.stringify(write.body));
      assert.equal(write.body.error.code, 'validation_failed');
      const read = await req('GET', `/files?path=${encodeURIComponent(path)}`);
      assert.equal(read.status, 422);
    }
    assert.deepEqual(await names(), []);
  });

  test('a path that is not UTF-8 after percent-decoding is refused with 422, and nothing is written', async () => {
    for (const raw of ['%FF.txt', 'a%C3%28.txt', '%E2%82.txt']) {
      const write = await req('PUT', `/files?path=${raw}`, { content: 'x' });
      assert.equal(write.status, 422, `${raw}: ${JSON.stringify(write.body)}`);
      assert.equal(write.body.error.code, 'validation_failed');
      assert.equal((await req('GET', `/files/tree?path=${raw}`)).status, 422);
    }
    assert.deepEqual(await names(), []);
    // A literal percent sign, properly escaped, is still a valid name.
    assert.equal((await req('PUT', '/files?path=100%25.txt', { content: 'x' })).status, 200);
    assert.deepEqual(await names(), ['100%.txt']);
  });

  test('a query parameter without a name is refused with 422, not dropped past the schema', async () => {
    const write = await req('PUT', '/files?path=named.txt&=x', { content: 'x' });
    assert.equal(write.status, 422, JSON.stringify(write.body));
    assert.equal(write.body.error.code, 'validation_failed');
    assert.equal((await req('GET', '/files/tree?=..%2F..')).status, 422);
    assert.ok(!(await names()).includes('named.txt'));
  });

  test('NUL in argv, in a command or in env is refused at the edge with 422, and nothing runs', async () => {
    const before = await auditCount();
    for (const body of [
      { command: ['/bin/touch', 'nul\0name'] },
      { command: 'touch ran\0' },
      { command: ['/bin/touch', 'ran'], env: { A: 'x\0y' } },
    ]) {
      const res = await req('POST', '/execute', body);
      assert.equal(res.status, 422, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'validation_failed');
    }
    assert.equal(await auditCount(), before, 'no execution was started');
    const ok = await req('POST', '/execute', { command: ['/bin/true'] });
    assert.equal(ok.status, 202);
    await readSse(
      await rig.http(`/api/workspaces/${ws}/executions/${ok.body.executionId}/events`, {
        headers: { authorization: `Bearer ${rig.admin.accessToken}` },
      }),
    );
    assert.equal((await names()).includes('ran'), false);
  });

  test('a listing cut at 10,000 entries says so', async () => {
    const made = await req('POST', '/execute', {
      command: 'mkdir big && cd big && seq -w 1 10005 | xargs touch && ls | wc -l',
    });
    const events = await readSse(
      await rig.http(`/api/workspaces/${ws}/executions/${made.body.executionId}/events`, {
        headers: { authorization: `Bearer ${rig.admin.accessToken}` },
      }),
    );
    assert.match(events.find((e) => e.event === 'stdout')?.data ?? '', /10005/);
    const big = await req('GET', '/files/tree?path=big');
    assert.equal(big.status, 200);
    assert.equal(big.body.entries.length, 10_000);
    assert.equal(big.body.truncated, true);
    const top = await req('GET', '/files/tree?path=');
    assert.equal(top.body.truncated, false);
  });
});
