/**
 * Requests per second of the authenticated, cached workspace list (`GET /api/workspaces` with a
 * Bearer access token, as the web app calls it) on the Node edge as it ships
 * (`node --import tsx edge/src/entry-node.ts`, on PostgreSQL and Redis), against a bare Hono
 * `hello` served by @hono/node-server on the same Node: the ratio says how much of what Node
 * and Hono can serve the list keeps after authentication, the session check, the permission
 * check, the Redis cache and the runners' live statuses.
 *
 * Both servers run in their own child processes, so the load client (this process) never
 * shares an event loop with them; the same client, with the same number of keep-alive
 * connections, drives both, in alternating rounds after a warm-up, so that a machine that slows
 * down (other work, thermal) weighs on both figures alike. The client speaks HTTP/1.1 on raw
 * sockets, one request in flight per connection: node:http's client costs about as much CPU
 * as the hello server does, and on a small machine it would cap the baseline instead of the
 * server.
 *
 * The list is served from its cache: the bench checks that the cached entry is there before it
 * measures. Its workspaces are records (the list reads only the database, its cache and the
 * runners' statuses in Redis), placed on a runner registered through the API whose heartbeat
 * the bench keeps, so each request also reads the live statuses as it would for running ones.
 *
 * `node --import tsx bench/workspace-list.ts --serve-hello` is the baseline server (PORT).
 */
import { rmSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { runnerKeys } from '@keel/contract/keys';
import { formatProtocol, PROTOCOL } from '@keel/contract/protocol';
import { Redis } from 'ioredis';
import postgres from 'postgres';
import { testInfra } from '../tests/harness/infra.ts';
import { freePort } from '../tests/harness/ports.ts';
import { spawnService, waitForHttp } from '../tests/harness/processes.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { median, round } from './stats.ts';
import { startEdgeProcess } from './system.ts';

const root = new URL('..', import.meta.url).pathname;

/** Keep-alive connections, each with one request in flight: enough to keep either server busy. */
export const CONNECTIONS = 16;
const WORKSPACES = 5;
const WARMUP_MS = count(3_000, 500);
const ROUND_MS = count(2_000, 500);
const ROUNDS = count(9, 1);
export const GOAL = 0.3;
/** Redis keys of this bench's edge, apart from other benches on the same Redis. */
const PREFIX = 'keelbench-list:';

interface Load {
  responses: number;
  /** Answers other than 200: any one fails the bench. */
  failures: number;
  ms: number;
}

/**
 * Sends `GET path` on `connections` keep-alive sockets for `ms`, a new request as soon as the
 * last answer is in, and counts the answers. Bodies must come with Content-Length (both
 * servers send it for a body made from a string).
 */
export async function drive(
  port: number,
  path: string,
  headers: Record<string, string>,
  ms: number,
  connections = CONNECTIONS,
): Promise<Load> {
  const request = Buffer.from(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: keep-alive\r\n${Object.entries(headers)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('')}\r\n`,
  );
  let responses = 0;
  let failures = 0;
  let stopping = false;
  const sockets: Socket[] = [];
  const done: Array<Promise<void>> = [];
  const started = performance.now();
  for (let i = 0; i < connections; i++) {
    done.push(
      new Promise<void>((resolveConn, reject) => {
        const socket = connect(port, '127.0.0.1');
        sockets.push(socket);
        socket.setNoDelay(true);
        let buf: Buffer = Buffer.alloc(0);
        socket.on('connect', () => socket.write(request));
        socket.on('error', (err) => (stopping ? resolveConn() : reject(err)));
        socket.on('close', () => resolveConn());
        socket.on('data', (chunk: Buffer) => {
          buf = buf.length === 0 ? chunk : Buffer.concat([buf, chunk]);
          for (;;) {
            const end = buf.indexOf('\r\n\r\n');
            if (end === -1) return;
            const head = buf.toString('latin1', 0, end);
            const m = /\r\ncontent-length:\s*(\d+)/i.exec(head);
            if (!m) {
              reject(new Error(`an answer without Content-Length: ${head}`));
              socket.destroy();
              return;
            }
            const total = end + 4 + Number(m[1]);
            if (buf.length < total) return;
            if (head.slice(9, 12) !== '200') {
              failures++;
              if (failures === 1) console.error(`bench: ${path} answered ${buf.toString('utf8', 0, total)}`);
            }
            responses++;
            buf = buf.subarray(total);
            if (stopping) {
              socket.end();
              return;
            }
            socket.write(request);
          }
        });
      }),
    );
  }
  await new Promise((r) => setTimeout(r, ms));
  // Answers that arrive after this are not counted: the window is exactly `elapsed`.
  const counted = responses;
  const elapsed = performance.now() - started;
  stopping = true;
  await Promise.all(done);
  return { responses: counted, failures, ms: elapsed };
}

/** Both servers, started and ready: the edge with a signed-in admin whose list is cached. */
export interface ListRig {
  edgePort: number;
  helloPort: number;
  /** The servers' processes, for a profiler's or a CPU count's sake. */
  edgePid: number;
  helloPid: number;
  /** The headers of the web app's list request: its Bearer access token. */
  auth: Record<string, string>;
  stop(): Promise<void>;
}

/** `KEEL_BENCH_LIST_METRICS=1`: the edge with its metrics on (KEEL_METRICS_PORT), for what they cost here. */
const withMetrics = process.env.KEEL_BENCH_LIST_METRICS === '1';

/** Starts both servers; `edgeNodeArgs` go to the edge's Node (a profiler, say). */
export async function startListRig(edgeNodeArgs: string[] = []): Promise<ListRig> {
  const redisUrl = process.env.KEEL_TEST_REDIS_URL!;
  const databaseUrl = await (await testInfra()).createPostgresDatabase();
  const edge = await startEdgeProcess({
    redisUrl,
    env: {
      DATABASE_URL: databaseUrl,
      KEEL_MIGRATE_ON_START: 'true',
      KEEL_REDIS_PREFIX: PREFIX,
      // The same figure with the edge's metrics on (any free port; the bench does not scrape).
      ...(withMetrics ? { KEEL_METRICS_PORT: '0' } : {}),
    },
    nodeArgs: edgeNodeArgs,
  });
  const helloPort = await freePort();
  const hello = spawnService(
    process.execPath,
    ['--import', 'tsx', 'bench/workspace-list.ts', '--serve-hello'],
    { ...process.env, PORT: String(helloPort) },
    root,
  );
  const redis = new Redis(redisUrl);
  const sql = postgres(databaseUrl, { max: 1, onnotice: () => {} });
  let beating: NodeJS.Timeout | undefined;
  const stop = async () => {
    clearInterval(beating);
    redis.disconnect();
    await sql.end();
    await Promise.all([edge.edge.stop(), hello.stop()]);
    rmSync(edge.dir, { recursive: true, force: true });
  };
  try {
    await waitForHttp(`http://127.0.0.1:${helloPort}/hello`, hello);
    const { admin } = edge;

    // A runner, registered as runners register, whose heartbeat this bench keeps.
    const reg = await edge.http('/api/runners/register', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        token: edge.bootstrap,
        name: 'bench-runner',
        capacity: { workspaces: 50, cpus: 8, memoryMb: 16_384 },
        drivers: ['process'],
        protocol: formatProtocol(PROTOCOL),
      }),
    });
    if (reg.status !== 201) throw new Error(`runner registration: HTTP ${reg.status} ${await reg.text()}`);
    const { runnerId } = (await reg.json()) as { runnerId: string };
    const heartbeat = runnerKeys(PREFIX, runnerId).heartbeat;
    const beat = () =>
      redis.set(heartbeat, JSON.stringify({ driver: 'process', at: new Date().toISOString() }), 'EX', 30);
    await beat();
    beating = setInterval(() => void beat(), 5_000);

    for (let i = 0; i < WORKSPACES; i++) {
      const ws = await admin.request('POST', '/api/workspaces', { name: `list-${i}` }, { bearer: true });
      if (ws.status !== 201)
        throw new Error(`create workspace: HTTP ${ws.status} ${JSON.stringify(ws.body)}`);
    }
    // Records are enough: the list reads rows and statuses. Placed on the runner, running, as
    // the runner would leave them; before any list is read, so no cached list holds the old rows.
    await sql`update workspaces set runner_id = ${runnerId}, driver = 'process', status = 'running', status_reason = null`;

    const first = await admin.request('GET', '/api/workspaces', undefined, { bearer: true });
    const listed = first.body?.workspaces as Array<{ status: string }> | undefined;
    if (first.status !== 200 || listed?.length !== WORKSPACES || listed.some((w) => w.status !== 'running')) {
      throw new Error(`the list before the load: HTTP ${first.status} ${JSON.stringify(first.body)}`);
    }
    const entries = await redis.keys(`${PREFIX}cache:wslist:*`);
    if (entries.length !== 1)
      throw new Error(`expected one cached list, found ${entries.join(', ') || 'none'}`);
    return {
      edgePort: Number(new URL(edge.base).port),
      helloPort,
      edgePid: edge.edge.child.pid!,
      helloPid: hello.child.pid!,
      auth: { authorization: `Bearer ${admin.accessToken}` },
      stop,
    };
  } catch (err) {
    await stop();
    throw err;
  }
}

/** The authenticated, cached workspace list against a bare Hono hello, in requests per second. */
export async function benchWorkspaceList(): Promise<Figure[]> {
  const rig = await startListRig();
  try {
    const hello = (ms: number) => drive(rig.helloPort, '/hello', {}, ms);
    const list = (ms: number) => drive(rig.edgePort, '/api/workspaces', rig.auth, ms);
    await hello(WARMUP_MS);
    await list(WARMUP_MS);
    const helloRps: number[] = [];
    const listRps: number[] = [];
    const ratios: number[] = [];
    for (let r = 0; r < ROUNDS; r++) {
      // Each round in the other order, so that a trend over the run weighs on both alike.
      let h: Load;
      let l: Load;
      if (r % 2 === 0) {
        h = await hello(ROUND_MS);
        l = await list(ROUND_MS);
      } else {
        l = await list(ROUND_MS);
        h = await hello(ROUND_MS);
      }
      if (h.failures + l.failures > 0) {
        throw new Error(`answers other than 200: ${h.failures} from hello, ${l.failures} from the list`);
      }
      helloRps.push((h.responses / h.ms) * 1000);
      listRps.push((l.responses / l.ms) * 1000);
      ratios.push(listRps.at(-1)! / helloRps.at(-1)!);
    }
    // The median round: this machine is shared, and a burst of other work spoils a round or two.
    const ratio = median(ratios);
    return [
      {
        name: `authenticated, cached workspace list (${WORKSPACES} workspaces), requests/s, ${CONNECTIONS} keep-alive connections, median of ${ROUNDS} rounds${withMetrics ? ', edge metrics on' : ''}`,
        keel: `${Math.round(median(listRps))} req/s`,
        baseline: `${Math.round(median(helloRps))} req/s (bare Hono hello, same Node)`,
        ratio: `${round(ratio)}× (rounds: ${ratios.map((x) => round(x)).join(', ')})`,
        target: `≥ ${GOAL}×`,
        pass: ratio >= GOAL,
      },
    ];
  } finally {
    await rig.stop();
  }
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain && process.argv.includes('--serve-hello')) {
  const { Hono } = await import('hono');
  const { serve } = await import('@hono/node-server');
  const app = new Hono();
  app.get('/hello', (c) => c.text('hello'));
  serve({ fetch: app.fetch, port: Number(process.env.PORT), hostname: '127.0.0.1' });
}
