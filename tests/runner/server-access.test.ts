/*
 * The runner's side of a server's access: the HTTPS call to the edge (checked, time-limited,
 * never quoting what it refused) and the registry of server drivers made from it. The edge
 * here is a small HTTP server of the test; the drivers are stand-ins that only count.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, test } from 'node:test';
import type { ServerAccess } from '@keel/contract/servers';
import {
  fetchAssignedServers,
  fetchServerAccess,
  ServerAccessError,
} from '../../runners/src/servers/access.ts';
import {
  type ServerDriver,
  ServerDrivers,
  ServerUnavailableError,
} from '../../runners/src/servers/server-drivers.ts';
import { freePort } from '../harness/ports.ts';

const ID = 'srv_accessaaaaaaaaaaaaaa';
const SECRET = 'not-to-be-quoted-anywhere';
const access: ServerAccess = {
  kind: 'docker-tls',
  id: ID,
  host: '198.51.100.9',
  port: 2376,
  ca: 'ca',
  cert: 'cert',
  key: SECRET,
  storage: { kind: 'volume' },
};

let answer: (path: string) => { status: number; body: unknown } | 'hang' = () => ({ status: 200, body: {} });
const seen: Array<{ path: string; auth: string | undefined }> = [];

describe('a server’s access from the edge', () => {
  let server: Server;
  let edgeUrl: string;
  before(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', auth: req.headers.authorization });
      const a = answer(req.url ?? '');
      if (a === 'hang') return;
      res.writeHead(a.status, { 'content-type': 'application/json' });
      res.end(typeof a.body === 'string' ? a.body : JSON.stringify(a.body));
    });
    const port = await freePort();
    await new Promise<void>((r) => server.listen(port, '127.0.0.1', r));
    edgeUrl = `http://127.0.0.1:${port}`;
  });
  after(() => {
    server.closeAllConnections();
    server.close();
  });

  test('the access is asked for with the runner’s credential and its purpose, and checked', async () => {
    answer = () => ({ status: 200, body: { access } });
    const got = await fetchServerAccess({ edgeUrl, credential: 'cred' }, ID, 'resources');
    assert.deepEqual(got, access);
    assert.deepEqual(seen.at(-1), {
      path: `/api/runners/servers/${ID}/access?purpose=resources`,
      auth: 'Bearer cred',
    });
  });

  test('an unreadable answer, another server’s access, a refusal and a hang are errors that quote nothing', async () => {
    const edge = { edgeUrl, credential: 'cred', timeoutMs: 300 };
    const cases: Array<[ReturnType<typeof answer>, ServerAccessError['reason']]> = [
      [{ status: 200, body: { access: { ...access, kind: 'ftp' } } }, 'invalid'],
      [{ status: 200, body: { access: { ...access, id: 'srv_otheraaaaaaaaaaaaaaaa' } } }, 'invalid'],
      [{ status: 200, body: `{"access": ${JSON.stringify(access).slice(0, 40)}` }, 'invalid'],
      [
        { status: 404, body: { error: { code: 'not_found', message: 'No such server', requestId: 'r' } } },
        'refused',
      ],
      [{ status: 502, body: { key: SECRET } }, 'unreachable'],
      ['hang', 'unreachable'],
    ];
    for (const [a, reason] of cases) {
      answer = () => a;
      const err = await fetchServerAccess(edge, ID, 'test').then(
        () => assert.fail('no error'),
        (e: unknown) => e,
      );
      assert.ok(err instanceof ServerAccessError);
      assert.equal(err.reason, reason, err.message);
      assert.doesNotMatch(err.message, new RegExp(SECRET));
    }
  });

  test('the assigned list is checked', async () => {
    answer = () => ({ status: 200, body: { servers: [{ id: ID, kind: 'ssh', updatedAt: 'x' }] } });
    assert.deepEqual(await fetchAssignedServers({ edgeUrl, credential: 'c' }), [
      { id: ID, kind: 'ssh', updatedAt: 'x' },
    ]);
    answer = () => ({ status: 200, body: { servers: [{ id: '../x', kind: 'ssh', updatedAt: 'x' }] } });
    await assert.rejects(fetchAssignedServers({ edgeUrl, credential: 'c' }), ServerAccessError);
  });
});

describe('server drivers: one per server, made on demand', () => {
  function registry(
    list: () => Array<{ id: string; kind: 'ssh' | 'docker-tls' | 'kubernetes'; updatedAt: string }>,
  ) {
    const made: string[] = [];
    const closed: string[] = [];
    const dropped: string[] = [];
    let fail = false;
    const drivers = new ServerDrivers({
      assigned: async () => list(),
      access: async (id) => ({ ...access, id }),
      factories: {
        docker: async (a) => {
          if (fail) throw new Error('handshake failed');
          const name = `${a.id}#${made.length}`;
          made.push(name);
          return { kind: 'docker-tls', close: async () => void closed.push(name) } as unknown as ServerDriver;
        },
        kubernetes: async () => assert.fail('not a Kubernetes server'),
      },
      onClosed: (id) => dropped.push(id),
      retryMs: 50,
      relistMs: 0,
    });
    return { drivers, made, closed, dropped, failWith: (f: boolean) => (fail = f) };
  }

  test('the same driver serves every use until the server changes; then a fresh one replaces it', async () => {
    let updatedAt = 'a';
    const r = registry(() => [{ id: ID, kind: 'docker-tls', updatedAt }]);
    const [a, b] = await Promise.all([r.drivers.driver(ID), r.drivers.driver(ID)]);
    assert.equal(a, b);
    assert.equal(r.made.length, 1);
    updatedAt = 'b';
    await r.drivers.refresh();
    assert.deepEqual(r.dropped, [ID]);
    await new Promise((res) => setImmediate(res));
    assert.deepEqual(r.closed, [`${ID}#0`]);
    const c = await r.drivers.driver(ID);
    assert.notEqual(c, a);
    assert.equal(r.made.length, 2);
    await r.drivers.close();
    assert.deepEqual(r.closed, [`${ID}#0`, `${ID}#1`]);
  });

  test('a server no longer assigned is refused, and its driver closed', async () => {
    let servers = [{ id: ID, kind: 'docker-tls' as const, updatedAt: 'a' }];
    const r = registry(() => servers);
    await r.drivers.driver(ID);
    servers = [];
    await r.drivers.refresh();
    await assert.rejects(
      r.drivers.driver(ID),
      (e: unknown) => e instanceof ServerUnavailableError && /not assigned/.test(e.message),
    );
    await new Promise((res) => setImmediate(res));
    assert.equal(r.closed.length, 1);
  });

  test('a driver that cannot be made is refused with its reason, and tried again later', async () => {
    const r = registry(() => [{ id: ID, kind: 'docker-tls', updatedAt: 'a' }]);
    r.failWith(true);
    await assert.rejects(r.drivers.driver(ID), /cannot be reached: handshake failed/);
    r.failWith(false);
    // Within the wait, the same answer without a new try (each try fetches an audited access).
    await assert.rejects(r.drivers.driver(ID), /handshake failed/);
    assert.equal(r.made.length, 0);
    await new Promise((res) => setTimeout(res, 60));
    await r.drivers.driver(ID);
    assert.equal(r.made.length, 1);
  });

  test('an edge out of reach leaves open drivers working', async () => {
    let up = true;
    const drivers = new ServerDrivers({
      assigned: async () => {
        if (!up) throw new Error('edge down');
        return [{ id: ID, kind: 'docker-tls', updatedAt: 'a' }];
      },
      access: async () => access,
      factories: {
        docker: async () => ({ close: async () => {} }) as unknown as ServerDriver,
        kubernetes: async () => assert.fail(),
      },
      listMaxAgeMs: 0,
      relistMs: 0,
    });
    const d = await drivers.driver(ID);
    up = false;
    assert.equal(await drivers.driver(ID), d);
    await assert.rejects(drivers.driver('srv_unknownaaaaaaaaaaaaa'), /cannot be fetched: edge down/);
  });
});
