/*
 * The edge in workerd with its request path on Upstash (over the Upstash REST stand-in, in front
 * of the lane's real Redis): the same accounts and workspace stories as the Node and workerd
 * edges; sessions, caches and request counts go over HTTP, and a plain API request opens no TCP
 * connection to Redis, while streams that block (SSE, terminal) keep theirs.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Redis } from 'ioredis';
import { runAccountsSmoke } from '../harness/accounts-smoke.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { testInfra } from '../harness/infra.ts';
import { freshDatabaseUrl } from '../harness/migrated-postgres.ts';
import { startUpstashRestStandin, type UpstashRestStandin } from '../harness/upstash-rest-standin.ts';
import { startWorkerdEdge } from '../harness/workerd-edge.ts';
import { runWorkerdWorkspaceStory } from '../harness/workerd-workspace-story.ts';

const TOKEN = 'upstash-standin-token';

describe('edge on workerd with Upstash for the request path (REST stand-in)', () => {
  const cleanups: Array<() => Promise<void>> = [];
  let standin: UpstashRestStandin;
  let redisUrl: string;
  let watcher: Redis;
  before(async () => {
    redisUrl = (await testInfra()).redisUrl;
    standin = await startUpstashRestStandin(redisUrl, TOKEN);
    watcher = new Redis(redisUrl);
    cleanups.push(async () => {
      watcher.disconnect();
      await standin.stop();
    });
  });
  after(async () => {
    for (const c of cleanups.reverse()) await c();
  });

  const startEdge = async (name: string, production = false) => {
    const edge = await startWorkerdEdge({
      production,
      redisUrl,
      databaseUrl: await freshDatabaseUrl(),
      redisPrefix: `workerd-${name}${process.pid}:`,
      env: { UPSTASH_REDIS_REST_URL: standin.url, UPSTASH_REDIS_REST_TOKEN: TOKEN },
    });
    cleanups.push(edge.stop);
    return edge;
  };
  const restRequests = () => [...standin.requests.values()].reduce((a, b) => a + b, 0);
  /** Connections Redis has accepted since it started (its own figure, whoever opened them). */
  const connectionsAccepted = async () =>
    Number(/total_connections_received:(\d+)/.exec(await watcher.info('stats'))?.[1]);

  test('accounts smoke with the production configuration (Hyperdrive); a plain API request goes over HTTP and opens no Redis TCP connection', async (t) => {
    // The production configuration: PostgreSQL through its Hyperdrive binding.
    const edge = await startEdge('up-acc', true);
    try {
      await runAccountsSmoke(edge.base);
      const sent = new Set(standin.commands);
      for (const name of ['MGET', 'SET', 'EVALSHA', 'PING'])
        assert.ok(sent.has(name), `${name} went through the REST stand-in (${[...sent].join(' ')})`);

      const ann = new BrowserClient((path, init) => fetch(new URL(path, edge.base), init));
      const login = await ann.request('POST', '/api/auth/login', {
        email: 'ann@example.com',
        password: 'correct horse battery staple',
      });
      assert.equal(login.status, 200, JSON.stringify(login.body));
      const requestsBefore = restRequests();
      const connectionsBefore = await connectionsAccepted();
      const plain: Array<[string, { bearer?: boolean }]> = [
        ['/api/auth/me', { bearer: true }],
        ['/api/auth/me', {}],
        ['/api/workspaces', { bearer: true }],
        ['/readyz', {}],
        ['/openapi.json', {}],
      ];
      for (let round = 0; round < 3; round++) {
        for (const [path, options] of plain) {
          const res = await ann.request('GET', path, undefined, options);
          assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
        }
      }
      assert.equal(
        await connectionsAccepted(),
        connectionsBefore,
        'no Redis TCP connection for plain requests',
      );
      t.diagnostic(
        `${restRequests() - requestsBefore} REST round trips for ${plain.length * 3} plain requests`,
      );
      assert.ok(
        restRequests() - requestsBefore >= plain.length * 3,
        `each request reached Redis over HTTP (${restRequests() - requestsBefore} REST requests)`,
      );

      // The count can see a Worker's connection: a route that still reads over TCP (the request
      // figures, admin health) opens one.
      const health = await ann.request('GET', '/api/admin/health', undefined, { bearer: true });
      assert.equal(health.status, 200, JSON.stringify(health.body));
      assert.ok((await connectionsAccepted()) > connectionsBefore, 'the TCP route was counted');
    } catch (err) {
      console.error(edge.output());
      throw err;
    }
  });

  test('workspace story: a file, a command over SSE and a terminal; streams block on TCP, the rest goes over HTTP', async () => {
    const edge = await startEdge('up-ws');
    const before = restRequests();
    try {
      await runWorkerdWorkspaceStory(edge, redisUrl, cleanups);
      assert.ok(restRequests() - before > 10, `${restRequests() - before} REST requests`);
    } catch (err) {
      console.error(edge.output());
      throw err;
    }
  });
});
