import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { WebSocket } from 'ws';
import { followResumableStream, type ServerSentEvent } from '../../web/src/api/resumable-event-stream.ts';
import { createTerminalConnection, type SocketLike } from '../../web/src/ide/terminal/terminal-connection.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { stopTestInfra, testInfra } from '../harness/infra.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { type Spawned, spawnService, waitForHttp } from '../harness/processes.ts';

/**
 * `scripts/up --edges 3`: three Node edges behind HAProxy, one runner, PostgreSQL and Redis. A
 * stream survives `kill -9` of the edge it was on (the client reconnects through the balancer and
 * gets exactly what it missed), writes in flight are done or refused whole, and a rolling restart
 * under load fails no request.
 */
const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';

let dataDir: string;
let up: Spawned;
let base: string;
let fake: FakeOpenAi;
let admin: BrowserClient;
let workspaceId: string;

const auth = () => ({ authorization: `Bearer ${admin.accessToken}` });
const http = (path: string, init?: RequestInit) => fetch(new URL(path, base), init);

/** The edges' ports, as scripts/up gave them to HAProxy. */
function edgePorts(): Map<string, number> {
  const cfg = readFileSync(join(dataDir, 'haproxy.cfg'), 'utf8');
  return new Map([...cfg.matchAll(/server (edge\d) 127\.0\.0\.1:(\d+)/g)].map((m) => [m[1]!, Number(m[2])]));
}

function edgePid(name: string): number {
  return Number(readFileSync(join(dataDir, 'edges', `${name}.pid`), 'utf8').trim());
}

async function allEdgesReady(): Promise<void> {
  for (const [name, port] of edgePorts()) {
    await waitFor(
      `${name} ready`,
      async () => {
        const res = await fetch(`http://127.0.0.1:${port}/readyz`).catch(() => undefined);
        await res?.body?.cancel();
        return res?.ok ? true : undefined;
      },
      60_000,
      100,
    );
  }
  // HAProxy takes an edge back after two passed checks (500 ms apart).
  await new Promise((r) => setTimeout(r, 1_200));
}

/** Kills an edge at once (no drain, no goodbye); scripts/up starts it again. */
function killEdge(name: string): void {
  process.kill(edgePid(name), 'SIGKILL');
}

/** The web app's terminal client through the balancer, over `ws`; `onSocket` sees each socket it opens. */
function webTerminal(onSocket: (ws: WebSocket) => void) {
  const seen = { output: '' };
  const terminal = createTerminalConnection({
    workspaceId,
    origin: { protocol: 'http:', host: new URL(base).host },
    createSocket(url) {
      const ws = new WebSocket(url, { headers: auth() });
      onSocket(ws);
      return ws as unknown as SocketLike;
    },
    onOutput: (data) => {
      seen.output += data;
    },
    retryDelaysMs: [100, 250],
  });
  return { terminal, seen };
}

/** Opens an event stream through the balancer; a refusal or a gateway error is retried by the follower. */
function opener(first: () => Promise<Response>, resume: (lastEventId: string) => Promise<Response>) {
  const edges: string[] = [];
  let opened = 0;
  return {
    edges,
    open: async (lastEventId: string | undefined, signal: AbortSignal) => {
      const res = opened++ === 0 ? await first() : await resume(lastEventId ?? '0-0');
      if (signal.aborted) throw new Error('aborted');
      if (!res.ok) throw new Error(`stream answered ${res.status}`);
      edges.push(res.headers.get('x-keel-edge') ?? '?');
      return res;
    },
  };
}

/** Follows a stream to its last event, killing the edge it is on once `killAfter` events arrived. */
async function followKilling(
  open: ReturnType<typeof opener>,
  isLast: (e: ServerSentEvent) => boolean,
  killAfter: (e: ServerSentEvent[]) => boolean,
): Promise<ServerSentEvent[]> {
  const events: ServerSentEvent[] = [];
  let killed = false;
  await new Promise<void>((resolve, reject) => {
    const follower = followResumableStream(
      { open: open.open, isLast, retryDelaysMs: [100, 250] },
      {
        onEvent(event) {
          events.push(event);
          if (!killed && killAfter(events)) {
            killed = true;
            killEdge(open.edges.at(-1)!);
          }
          if (isLast(event)) resolve();
        },
        onFailure: reject,
      },
    );
    void follower.done.then(resolve);
  });
  assert.ok(killed, 'the edge was killed mid-stream');
  return events;
}

before(async () => {
  const infra = await testInfra();
  const databaseUrl = await infra.createPostgresDatabase();
  fake = await startFakeOpenAi();
  dataDir = mkdtempSync(join(tmpdir(), 'keel-edges-'));
  const port = await freePort();
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    PORT: String(port),
    KEEL_DATA_DIR: dataDir,
    KEEL_SKIP_WEB_BUILD: '1',
    DATABASE_URL: databaseUrl,
    KEEL_RUNNER_DRIVER: 'process',
    KEEL_AI_BASE_URL: fake.baseUrl,
    KEEL_AI_MODEL: 'fake-vllm-model',
    // The load of the rolling restart is one person's, far above a person's fair share.
    KEEL_RATE_LIMIT_PERSON_PER_MINUTE: '100000',
    KEEL_RATE_LIMIT_IP_PER_MINUTE: '100000',
  };
  delete env.REDIS_URL;
  delete env.KEEL_SECRET_KEY;
  up = spawnService(join(root, 'scripts/up'), ['--edges', '3'], env, root);
  base = `http://127.0.0.1:${port}`;
  await waitForHttp(`${base}/readyz`, up, 120_000);
  await allEdgesReady();
  admin = new BrowserClient(http);
  const signup = await admin.request('POST', '/api/auth/signup', {
    email: 'ops@example.com',
    password: PASSWORD,
    name: 'Ops',
  });
  assert.equal(signup.status, 201, JSON.stringify(signup.body));
  const created = await admin.request('POST', '/api/workspaces', { name: 'edges' }, { bearer: true });
  assert.equal(created.status, 201, JSON.stringify(created.body));
  workspaceId = created.body.id;
  await waitFor(
    'the workspace to run',
    async () => {
      const r = await admin.request('GET', `/api/workspaces/${workspaceId}/status`, undefined, {
        bearer: true,
      });
      if (r.body.status === 'failed') throw new Error(JSON.stringify(r.body));
      return r.body.status === 'running' ? true : undefined;
    },
    90_000,
  );
});

after(async () => {
  await up?.stop('SIGINT');
  await fake?.close();
  if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  // Run on its own, this file started PostgreSQL itself: its child process would keep it running.
  await stopTestInfra();
});

describe('several edges behind HAProxy (scripts/up --edges 3)', () => {
  test('requests are spread over every edge (round robin, no stickiness)', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 6; i++) {
      const res = await http('/healthz');
      assert.equal(res.status, 200);
      await res.body?.cancel();
      seen.add(res.headers.get('x-keel-edge') ?? '?');
    }
    assert.deepEqual([...seen].sort(), ['edge1', 'edge2', 'edge3']);
  });

  test('a command output stream survives kill -9 of its edge: nothing lost, nothing twice', async () => {
    const started = await admin.request(
      'POST',
      `/api/workspaces/${workspaceId}/execute`,
      { command: 'for i in $(seq 1 40); do echo line$i; sleep 0.05; done' },
      { bearer: true },
    );
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const path = `/api/workspaces/${workspaceId}/executions/${started.body.executionId}/events`;
    const open = opener(
      () => http(path, { headers: auth() }),
      (last) => http(path, { headers: { ...auth(), 'last-event-id': last } }),
    );
    const events = await followKilling(
      open,
      (e) => e.type === 'exit',
      (seen) => seen.some((e) => e.data.includes('line5')),
    );
    const stdout = events
      .filter((e) => e.type === 'stdout')
      .map((e) => e.data)
      .join('');
    assert.equal(stdout, Array.from({ length: 40 }, (_, i) => `line${i + 1}\n`).join(''));
    assert.equal(JSON.parse(events.at(-1)!.data).exitCode, 0);
    assert.ok(open.edges.length >= 2 && open.edges[1] !== open.edges[0], `edges: ${open.edges}`);
    await allEdgesReady();
  });

  test('an AI answer stream survives kill -9 of its edge: every token once, in order', async () => {
    const tokens = Array.from({ length: 30 }, (_, i) => `t${i} `);
    fake.enqueue({ tokens, tokenDelayMs: 60 });
    let streamId = '';
    const open = opener(
      async () => {
        const res = await http('/api/ai/chat', {
          method: 'POST',
          headers: { ...auth(), 'content-type': 'application/json', accept: 'text/event-stream' },
          body: JSON.stringify({ workspaceId, messages: [{ role: 'user', content: 'count' }] }),
        });
        streamId = res.headers.get('x-keel-stream-id') ?? '';
        return res;
      },
      (last) =>
        http(`/api/ai/streams/${streamId}/events`, {
          headers: { ...auth(), accept: 'text/event-stream', 'last-event-id': last },
        }),
    );
    const events = await followKilling(
      open,
      (e) => e.type === 'done',
      (seen) => seen.filter((e) => e.type === 'token').length >= 5,
    );
    const answer = events
      .filter((e) => e.type === 'token')
      .map((e) => e.data)
      .join('');
    assert.equal(answer, tokens.join(''));
    assert.equal(JSON.parse(events.at(-1)!.data).outcome, 'success', events.at(-1)!.data);
    assert.ok(open.edges.length >= 2 && open.edges[1] !== open.edges[0], `edges: ${open.edges}`);
    await allEdgesReady();
  });

  test('a terminal survives kill -9 of its edge: the web client resumes with every line once', async () => {
    const edges: string[] = [];
    const { terminal, seen } = webTerminal((ws) =>
      ws.on('upgrade', (res) => edges.push(String(res.headers['x-keel-edge']))),
    );
    try {
      terminal.connect(120, 30);
      await waitFor('the terminal', async () => (terminal.status().state === 'open' ? true : undefined));
      terminal.input('for i in $(seq 1 40); do echo tick$i; sleep 0.05; done; echo all""done\n');
      await waitFor('tick5', async () => (/^tick5\r?$/m.test(seen.output) ? true : undefined), 20_000, 10);
      killEdge(edges.at(-1)!);
      await waitFor(
        'the loop to end',
        async () => (seen.output.includes('alldone') ? true : undefined),
        30_000,
      );
      const ticks = [...seen.output.matchAll(/^tick(\d+)\r?$/gm)].map((m) => Number(m[1]));
      assert.deepEqual(
        ticks,
        Array.from({ length: 40 }, (_, i) => i + 1),
      );
      assert.ok(edges.length >= 2 && edges[1] !== edges[0], `edges: ${edges}`);
    } finally {
      terminal.close();
    }
    await allEdgesReady();
  });

  test('file writes in flight when their edge dies are done or refused, never half', async () => {
    const size = 512 * 1024;
    const path = `/api/workspaces/${workspaceId}/files?path=big.txt`;
    const put = (content: string) =>
      http(path, {
        method: 'PUT',
        headers: { ...auth(), 'content-type': 'application/json' },
        body: JSON.stringify({ content }),
      }).then(
        async (r) => {
          await r.body?.cancel();
          return r.status;
        },
        () => 0,
      );
    const contents = ['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((ch) => ch.repeat(size));
    assert.equal(await put(contents[0]!), 200);
    const writes = contents.slice(1).map((content) => put(content));
    killEdge('edge1');
    killEdge('edge2');
    const statuses = await Promise.all(writes);
    const read = await admin.request('GET', path, undefined, { bearer: true });
    assert.equal(read.status, 200);
    const content = read.body.content as string;
    assert.ok(
      contents.includes(content),
      `the file holds one whole version (length ${content.length}, statuses ${statuses})`,
    );
    await allEdgesReady();
  });

  test('a rolling restart of every edge under load fails no request; streams move on at the hint', {
    timeout: 90_000,
  }, async () => {
    const failures: string[] = [];
    let requests = 0;
    let running = true;
    const client = async (n: number) => {
      while (running) {
        const write = requests % 3 === 0;
        const res = await http(
          `/api/workspaces/${workspaceId}/files?path=${write ? `load${n}.txt` : 'big.txt'}`,
          write
            ? {
                method: 'PUT',
                headers: { ...auth(), 'content-type': 'application/json' },
                body: JSON.stringify({ content: `write ${requests}\n` }),
              }
            : { headers: auth() },
        ).catch((err: unknown) => ({ status: 0, statusText: String(err), text: async () => '' }));
        requests++;
        const body = await res.text();
        if (res.status !== 200) failures.push(`${res.status} ${body}`);
        // A steady load, not a flood: the restarting edges need the CPU too.
        await new Promise((r) => setTimeout(r, 20));
      }
    };
    const load = [1, 2, 3, 4].map(client);

    // A command and a terminal that print until the restart is over, followed by the web client.
    const loop = (name: string) =>
      `i=0; while [ ! -f ${name}.stop ]; do i=$((i+1)); echo ${name}$i; sleep 0.05; done; echo ${name}""end`;
    const started = await admin.request(
      'POST',
      `/api/workspaces/${workspaceId}/execute`,
      { command: loop('cmd') },
      { bearer: true },
    );
    assert.equal(started.status, 202, JSON.stringify(started.body));
    const eventsPath = `/api/workspaces/${workspaceId}/executions/${started.body.executionId}/events`;
    let hints = 0;
    const sseEdges: string[] = [];
    const events: ServerSentEvent[] = [];
    const command = followResumableStream(
      {
        open: async (lastEventId, signal) => {
          const res = await http(eventsPath, {
            headers: { ...auth(), ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
            signal,
          });
          if (!res.ok) throw new Error(`stream answered ${res.status}`);
          sseEdges.push(res.headers.get('x-keel-edge') ?? '?');
          // What the edge sent last, read beside the client: a stopping edge's hint.
          void res
            .clone()
            .text()
            .then(
              (text) => text.endsWith('retry: 0\n\n') && hints++,
              () => {},
            );
          return res;
        },
        isLast: (e) => e.type === 'exit',
      },
      { onEvent: (e) => events.push(e), onFailure: (err) => failures.push(`command stream: ${err}`) },
    );
    const closeCodes: number[] = [];
    const { terminal, seen } = webTerminal((ws) => ws.on('close', (code) => closeCodes.push(code)));
    terminal.connect(120, 30);
    await waitFor('the terminal', async () => (terminal.status().state === 'open' ? true : undefined));
    terminal.input(`${loop('term')}\n`);

    try {
      for (const [name, port] of edgePorts()) {
        const before = edgePid(name);
        process.kill(before, 'SIGTERM');
        // Still up, and telling the balancer to leave it.
        const draining = await waitFor(
          `${name} to answer 503 on /readyz`,
          async () => {
            const res = await fetch(`http://127.0.0.1:${port}/readyz`);
            const body = await res.json();
            return res.status === 503 ? body : undefined;
          },
          1_500,
          20,
        );
        assert.equal(draining.error.code, 'not_ready');
        await waitFor(
          `${name} to restart`,
          async () => (edgePid(name) !== before ? true : undefined),
          30_000,
        );
        await allEdgesReady();
      }
      running = false;
      await Promise.all(load);
      for (const name of ['cmd', 'term']) {
        const put = await admin.request(
          'PUT',
          `/api/workspaces/${workspaceId}/files?path=${name}.stop`,
          { content: '' },
          { bearer: true },
        );
        assert.equal(put.status, 200);
      }
      await waitFor('the command stream to end', async () =>
        events.at(-1)?.type === 'exit' ? true : undefined,
      );
      await command.done;
      await waitFor('the terminal loop to end', async () =>
        seen.output.includes('termend') ? true : undefined,
      );
    } finally {
      running = false;
      command.stop();
      terminal.close();
    }

    assert.ok(requests > 50, `only ${requests} requests`);
    assert.deepEqual(failures.slice(0, 5), [], `${failures.length} of ${requests} requests failed`);
    const counted = (text: string, name: string) => {
      const seen = [...text.matchAll(new RegExp(`^${name}(\\d+)\r?$`, 'gm'))].map((m) => Number(m[1]));
      assert.ok(seen.length > 20, `${name}: ${seen.length} lines`);
      assert.deepEqual(
        seen,
        Array.from({ length: seen.length }, (_, i) => i + 1),
        `${name}: every line once`,
      );
    };
    const stdout = events
      .filter((e) => e.type === 'stdout')
      .map((e) => e.data)
      .join('');
    counted(stdout, 'cmd');
    assert.match(stdout, /cmdend\n$/);
    counted(seen.output, 'term');
    // Both moved to another edge when theirs stopped, told to by it (not by a broken connection).
    assert.ok(hints >= 1 && sseEdges.length >= 2, `hints ${hints}, edges ${sseEdges}`);
    assert.ok(closeCodes.includes(1012), `close codes ${closeCodes}`);
  });
});
