import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { BrowserClient } from '../harness/browser-client.ts';
import { FAKE_MODEL, startFakeOpenAi } from '../harness/fake-openai.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { spawnService, waitForHttp } from '../harness/processes.ts';

const root = new URL('../..', import.meta.url).pathname;

/** The environment of the process in group `pgid` whose command line contains `marker`. */
function environOf(pgid: number, marker: string): string {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const group = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[2]);
      if (group !== pgid || !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(marker)) continue;
      return readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      // The process went away meanwhile.
    }
  }
  throw new Error(`no process ${marker} in group ${pgid}`);
}

describe('scripts/up with KEEL_AI_* (fake OpenAI server standing in for vLLM)', () => {
  test('the local runner gets the model settings and advertises the model; the edge never sees the key', async () => {
    const fake = await startFakeOpenAi({ fallback: { tokens: ['up ', 'and ', 'running'] } });
    const dir = mkdtempSync(join(tmpdir(), 'keel-up-ai-'));
    const port = await freePort();
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      PORT: String(port),
      KEEL_DATA_DIR: dir,
      KEEL_SKIP_WEB_BUILD: '1',
      KEEL_RUNNER_DRIVER: 'process',
      KEEL_AI_BASE_URL: fake.baseUrl,
      KEEL_AI_MODEL: FAKE_MODEL,
      KEEL_AI_API_KEY: 'sk-up-test-key',
      KEEL_AI_MAX_CONCURRENCY: '2',
    };
    for (const name of ['REDIS_URL', 'DATABASE_URL', 'KEEL_SECRET_KEY']) delete env[name];
    const service = spawnService(join(root, 'scripts/up'), [], env, root);
    const base = `http://127.0.0.1:${port}`;
    try {
      await waitForHttp(`${base}/readyz`, service, 120_000);
      const client = new BrowserClient((p, init) => fetch(new URL(p, base), init));
      await client.request('POST', '/api/auth/signup', {
        email: 'up@example.com',
        password: 'correct horse battery staple',
        name: 'Up',
      });
      const config = await waitFor('the runner to advertise its model', async () => {
        const r = await client.request('GET', '/api/ai/config', undefined, { bearer: true });
        return r.body.configured ? r.body : undefined;
      });
      assert.deepEqual(config, { configured: true, model: FAKE_MODEL, hint: null });
      assert.match(
        service.output(),
        new RegExp(`AI: +${FAKE_MODEL} at ${fake.baseUrl.replace(/[.]/g, '\\.')}`),
      );

      const ws = await client.request('POST', '/api/workspaces', { name: 'up' }, { bearer: true });
      await waitFor('the workspace', async () => {
        const r = await client.request('GET', `/api/workspaces/${ws.body.id}/status`, undefined, {
          bearer: true,
        });
        return r.body.status === 'running' ? true : undefined;
      });
      // Once it runs: a write while it is still being made may find no workspace yet.
      const put = await client.request(
        'PUT',
        `/api/workspaces/${ws.body.id}/files?path=a.txt`,
        { content: 'a\n' },
        { bearer: true },
      );
      assert.equal(put.status, 200, JSON.stringify(put.body));
      const res = await fetch(`${base}/api/ai/explain`, {
        method: 'POST',
        headers: { authorization: `Bearer ${client.accessToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ workspaceId: ws.body.id, path: 'a.txt' }),
      });
      assert.match(await res.text(), /event: done\ndata: \{"outcome":"success"/);
      assert.equal(fake.requests.at(-1)?.headers.authorization, 'Bearer sk-up-test-key');
      assert.ok(environOf(service.child.pid!, 'keel-runner').includes('KEEL_AI_API_KEY=sk-up-test-key'));
      assert.ok(
        !environOf(service.child.pid!, 'entry-node').includes('KEEL_AI_'),
        'the edge has no AI settings',
      );
    } finally {
      process.kill(-service.child.pid!, 'SIGINT');
      await waitFor(
        'scripts/up to stop',
        async () => {
          try {
            process.kill(-service.child.pid!, 0);
            return undefined;
          } catch {
            return true;
          }
        },
        30_000,
      );
      await fake.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
