import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { BrowserClient } from '../harness/browser-client.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';
import { createTestApp } from '../harness/test-app.ts';

/** Bad input on every workspace and runner route: a 4xx with the error body, never a 500, nothing written. */
describe('workspaces and runners, bad input', () => {
  let rig: Rig;
  let ws: string;
  const auth = () => ({
    authorization: `Bearer ${rig.admin.accessToken}`,
    'content-type': 'application/json',
  });
  const call = async (method: string, path: string, body?: string) => {
    const res = await rig.http(path, { method, headers: auth(), ...(body === undefined ? {} : { body }) });
    const json = (await res.json().catch(() => ({}))) as any;
    return {
      status: res.status,
      code: json.error?.code as string | undefined,
      json,
      requestId: res.headers.get('x-request-id'),
    };
  };
  const expect4xx = async (
    method: string,
    path: string,
    body: string | undefined,
    status: number,
    code: string,
  ) => {
    const r = await call(method, path, body);
    assert.equal(r.status, status, `${method} ${path} ${body ?? ''}: ${JSON.stringify(r.json)}`);
    assert.equal(r.code, code, `${method} ${path}`);
    assert.equal(r.json.error.requestId, r.requestId);
  };

  before(async () => {
    rig = await startRig('process', { edgeEnv: { KEEL_MAX_FILE_BYTES: '65536' } });
    const created = await rig.admin.request('POST', '/api/workspaces', { name: 'errors' }, { bearer: true });
    ws = created.body.id;
    await rig.waitForStatus(rig.admin, ws, 'running');
  });
  after(() => rig.close());

  test('create: malformed JSON, unknown fields, bad names, sources and resources', async () => {
    await expect4xx('POST', '/api/workspaces', '{', 400, 'invalid_json');
    for (const body of [
      {},
      { name: '' },
      { name: 'x', extra: true },
      { name: '../etc' },
      { name: 'x', source: { type: 'svn', url: 'x' } },
      { name: 'x', source: { type: 'git', url: '--upload-pack=touch /tmp/pwned' } },
      { name: 'x', source: { type: 'git', url: 'https://example.com/r.git', ref: '--orphan' } },
      { name: 'x', source: { type: 'git', url: 'https://example.com/r.git', ref: 'a..b' } },
      { name: 'x', resources: { cpus: 0, memoryMb: 1024 } },
      { name: 'x', resources: { cpus: 1, memoryMb: 1 } },
      { name: 'x', resources: { cpus: 1, memoryMb: 1024, gpus: 17 } },
      { name: 'x', resources: { cpus: 1, memoryMb: 1024, gpus: 0.5 } },
      { name: 'x', resources: { cpus: 1, memoryMb: 1024, tpus: 1 } },
      { name: 'x', placement: { region: '' } },
      { name: 'x', placement: { requiredLabels: { 'Bad Key': 'x' } } },
      { name: 'x', source: { type: 'snapshot', snapshotId: 'snp_../../etc' } },
    ]) {
      await expect4xx('POST', '/api/workspaces', JSON.stringify(body), 422, 'validation_failed');
    }
    const list = await rig.admin.request('GET', '/api/workspaces', undefined, { bearer: true });
    assert.equal(list.body.workspaces.length, 1, 'nothing was created');
  });

  test('ids: malformed or unknown workspace and execution ids are 404', async () => {
    await expect4xx('GET', '/api/workspaces/nope', undefined, 404, 'not_found');
    await expect4xx('GET', '/api/workspaces/ws_aaaaaaaaaaaaaaaaaaaa', undefined, 404, 'not_found');
    await expect4xx('POST', '/api/workspaces/ws_aaaaaaaaaaaaaaaaaaaa/start', undefined, 404, 'not_found');
    await expect4xx(
      'GET',
      `/api/workspaces/${ws}/executions/exe_aaaaaaaaaaaaaaaaaaaa/events`,
      undefined,
      404,
      'not_found',
    );
    await expect4xx('GET', `/api/workspaces/${ws}/executions/../events`, undefined, 404, 'not_found');
    await expect4xx(
      'POST',
      `/api/workspaces/${ws}/executions/exe_aaaaaaaaaaaaaaaaaaaa/cancel`,
      undefined,
      404,
      'not_found',
    );
  });

  test('files: missing path, NUL, bad encodings, stale or malformed base hashes, oversize', async () => {
    await expect4xx('GET', `/api/workspaces/${ws}/files`, undefined, 422, 'validation_failed');
    await expect4xx('GET', `/api/workspaces/${ws}/files?path=a%00b`, undefined, 422, 'validation_failed');
    await expect4xx('GET', `/api/workspaces/${ws}/files?path=missing.txt`, undefined, 404, 'not_found');
    await expect4xx(
      'PUT',
      `/api/workspaces/${ws}/files?path=a.txt`,
      '{"content": 5}',
      422,
      'validation_failed',
    );
    await expect4xx(
      'PUT',
      `/api/workspaces/${ws}/files?path=a.txt`,
      '{"content": "x", "encoding": "base64"}',
      422,
      'validation_failed',
    );
    await expect4xx(
      'PUT',
      `/api/workspaces/${ws}/files?path=a.txt`,
      '{"content": "x", "baseSha256": "abc"}',
      422,
      'validation_failed',
    );
    await expect4xx(
      'PUT',
      `/api/workspaces/${ws}/files?path=a.txt`,
      JSON.stringify({ content: 'x', baseSha256: 'a'.repeat(64) }),
      409,
      'conflict',
    );
    await expect4xx(
      'PUT',
      `/api/workspaces/${ws}/files?path=big.txt`,
      JSON.stringify({ content: 'x'.repeat(70_000) }),
      413,
      'payload_too_large',
    );
    await expect4xx(
      'PUT',
      `/api/workspaces/${ws}/files?path=big.txt`,
      JSON.stringify({ content: 'x'.repeat(200_000) }),
      413,
      'payload_too_large',
    );
    await expect4xx('GET', `/api/workspaces/${ws}/files?path=big.txt`, undefined, 404, 'not_found');
    await expect4xx('PUT', `/api/workspaces/${ws}/files?path=`, '{"content":"x"}', 422, 'validation_failed');
  });

  test('a file larger than the cap written inside the workspace is a 413 on read', async () => {
    const run = await rig.admin.request(
      'POST',
      `/api/workspaces/${ws}/execute`,
      { command: 'head -c 100000 /dev/zero > huge.bin' },
      { bearer: true },
    );
    const { readSse } = await import('../harness/runner-rig.ts');
    await readSse(
      await rig.http(`/api/workspaces/${ws}/executions/${run.body.executionId}/events`, { headers: auth() }),
    );
    await expect4xx('GET', `/api/workspaces/${ws}/files?path=huge.bin`, undefined, 413, 'payload_too_large');
  });

  test('execute: empty, oversized or malformed commands, bad env names, timeouts out of range', async () => {
    for (const body of [
      {},
      { command: [] },
      { command: '' },
      { command: ['ls'], env: { 'BAD-NAME': 'x' } },
      { command: ['ls'], timeoutMs: 1 },
      { command: ['ls'], extra: 1 },
      { command: [1, 2] },
    ]) {
      await expect4xx(
        'POST',
        `/api/workspaces/${ws}/execute`,
        JSON.stringify(body),
        422,
        'validation_failed',
      );
    }
  });

  test('runner tokens and registration: bad bodies, bad tokens, used-up tokens', async () => {
    await expect4xx('POST', '/api/admin/runner-tokens', '{"maxUses": 0}', 422, 'validation_failed');
    await expect4xx(
      'POST',
      '/api/admin/runner-tokens',
      '{"labels": {"Bad Key": "x"}}',
      422,
      'validation_failed',
    );
    const reg = (body: unknown) =>
      rig.http('/api/runners/register', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
    const good = { name: 'r', capacity: { workspaces: 1, cpus: 1, memoryMb: 512 }, drivers: ['process'] };
    const bad = await reg({ ...good, token: 'rgt_nope' });
    assert.equal(bad.status, 401);
    assert.equal(((await bad.json()) as any).error.code, 'invalid_token');
    const malformed = await reg({ token: 'x', name: '../../x', capacity: {}, drivers: ['vm'] });
    assert.equal(malformed.status, 422);
    // The rig's own token allowed one use, already spent.
    const tok = await rig.admin.request('POST', '/api/admin/runner-tokens', { maxUses: 1 }, { bearer: true });
    assert.equal((await reg({ ...good, token: tok.body.token })).status, 201);
    assert.equal((await reg({ ...good, token: tok.body.token })).status, 401, 'a used-up token is refused');
    const checkIn = await rig.http('/api/runners/check-in', {
      method: 'POST',
      headers: { authorization: 'Bearer rnc_forged_credential_value_123' },
    });
    assert.equal(checkIn.status, 401);
    await expect4xx('DELETE', '/api/admin/runners/rnr_aaaaaaaaaaaaaaaaaaaa', undefined, 404, 'not_found');
    await expect4xx('DELETE', '/api/admin/runners/garbage', undefined, 404, 'not_found');
  });
});

describe('workspaces without any runner', () => {
  test('a workspace waits queued, saying why, and nothing is sent to any runner', async () => {
    const t = await createTestApp();
    try {
      const c = new BrowserClient(t.fetch);
      await c.request('POST', '/api/auth/signup', {
        email: 'a@example.com',
        password: 'correct horse battery',
        name: 'A',
      });
      const res = await c.request('POST', '/api/workspaces', { name: 'x' }, { bearer: true });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      assert.equal(res.body.status, 'queued');
      assert.equal(res.body.runnerId, null);
      assert.match(res.body.statusReason, /no runner/i);
      const list = await c.request('GET', '/api/workspaces', undefined, { bearer: true });
      assert.deepEqual(
        list.body.workspaces.map((w: { status: string }) => w.status),
        ['queued'],
      );
      // Its decision says why: no candidate at all.
      const why = await c.request('GET', `/api/workspaces/${res.body.id}/placement`, undefined, {
        bearer: true,
      });
      assert.equal(why.status, 200);
      assert.equal(why.body.current.runnerId, null);
      assert.deepEqual(why.body.current.candidates, []);
    } finally {
      await t.close();
    }
  });
});
