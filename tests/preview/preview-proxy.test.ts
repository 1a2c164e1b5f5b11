import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { after, before, describe, test } from 'node:test';
import { memberships, organizations, users } from '@keel/drizzle/schema';
import { WebSocket } from 'ws';
import { hashPassword } from '../../edge/src/auth/password.ts';
import type { ExecHandle } from '../../runners/src/workloads/types.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { DRIVER_KINDS, type Rig, startRig } from '../harness/runner-rig.ts';
import { forwardersIn } from './forwarders.ts';
import { WORKSPACE_SERVER } from './workspace-server.ts';

const PASSWORD = 'correct horse battery staple';
const PORT = 4310;
/** The wildcard host the edge is given; *.localhost resolves to loopback without DNS (we set Host ourselves). */
const PREVIEW_HOST = 'preview.test';

async function otherOrganization(rig: Rig, tag: string): Promise<BrowserClient> {
  const db = rig.app.services.db;
  const now = new Date();
  const orgId = `org_${tag}`.padEnd(24, 'p');
  const userId = `usr_${tag}`.padEnd(24, 'p');
  await db.insert(organizations).values({ id: orgId, name: 'Other', createdAt: now });
  await db.insert(users).values({
    id: userId,
    email: `other-${tag}@example.org`,
    name: 'Other',
    passwordHash: await hashPassword(PASSWORD),
    createdAt: now,
  });
  await db.insert(memberships).values({ userId, organizationId: orgId, role: 'super_admin', createdAt: now });
  const other = new BrowserClient(rig.http);
  const login = await other.request('POST', '/api/auth/login', {
    email: `other-${tag}@example.org`,
    password: PASSWORD,
  });
  assert.equal(login.status, 200);
  return other;
}

/** A raw request to the edge with a chosen Host header (fetch will not send one). */
function raw(
  rig: Rig,
  o: {
    method?: string;
    path: string;
    host?: string;
    headers?: Record<string, string>;
    body?: Buffer | string;
  },
): Promise<{ status: number; headers: Record<string, string | string[] | undefined>; body: Buffer }> {
  const base = new URL(rig.base);
  return new Promise((resolve, reject) => {
    const req = httpRequest(
      {
        host: base.hostname,
        port: base.port,
        method: o.method ?? 'GET',
        path: o.path,
        headers: { ...(o.host ? { host: o.host } : {}), ...o.headers },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }),
        );
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(o.body);
  });
}

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

function cookieHeader(client: BrowserClient): string {
  return [...client.cookies.entries()].map(([k, v]) => `${k}=${v.value}`).join('; ');
}

function errorOf(res: { status: number; body: Buffer }, status: number, code: string): void {
  assert.equal(res.status, status, res.body.toString());
  const parsed = JSON.parse(res.body.toString());
  assert.equal(parsed.error.code, code);
  assert.equal(typeof parsed.error.message, 'string');
  assert.match(parsed.error.requestId, /\S/);
}

for (const kind of DRIVER_KINDS.filter((k) => !process.env.ONLY_DRIVER || k === process.env.ONLY_DRIVER)) {
  describe(`preview URLs (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    let server: ExecHandle;
    let path: string;
    const bearer = () => ({ authorization: `Bearer ${rig.admin.accessToken}` });

    before(async () => {
      rig = await startRig(kind, { edgeEnv: { KEEL_PREVIEW_HOST: PREVIEW_HOST } });
      const policy = await rig.admin.request(
        'PUT',
        '/api/install/settings',
        { workspaceNetwork: 'on_request' },
        { bearer: true },
      );
      assert.equal(policy.status, 200, JSON.stringify(policy.body));
      // The process driver gives a workspace without network a namespace per command: a server
      // started in one is reachable from another (the forwarder) only in a workspace with network.
      const created = await rig.admin.request(
        'POST',
        '/api/workspaces',
        { name: 'preview', network: kind === 'process' },
        { bearer: true },
      );
      assert.equal(created.status, 201, JSON.stringify(created.body));
      ws = created.body.id;
      await rig.waitForStatus(rig.admin, ws, 'running');
      server = rig.driver.exec(ws, { argv: ['node', '-e', WORKSPACE_SERVER, String(PORT)] });
      path = `/w/${ws}/p/${PORT}`;
      await waitFor('the workspace server', async () => {
        const res = await raw(rig, { path: `${path}/hello`, headers: bearer() });
        return res.status === 200 ? true : undefined;
      });
    });
    after(async () => {
      await server?.kill().catch(() => {});
      await rig?.close();
    });

    test('GET through the path mode, sandboxed; the port is listed', async () => {
      const res = await raw(rig, { path: `${path}/hello`, headers: { cookie: cookieHeader(rig.admin) } });
      assert.equal(res.status, 200);
      assert.equal(res.body.toString(), 'hello from the workspace');
      assert.match(String(res.headers['content-security-policy']), /^sandbox allow-scripts/);
      // A local workspace's previews go straight into its network namespace: no forwarder inside.
      assert.equal(await forwardersIn(rig, ws), 0);
      const ports = await rig.admin.request('GET', `/api/workspaces/${ws}/ports`, undefined, {
        bearer: true,
      });
      assert.equal(ports.status, 200, JSON.stringify(ports.body));
      const mine = ports.body.ports.find((p: { port: number }) => p.port === PORT);
      assert.equal(mine.share, 'owner');
      assert.equal(mine.pathUrl, `/w/${ws}/p/${PORT}/`);
    });

    test('POST with a streamed body both ways, and a large body: every byte, by checksum', async () => {
      // Random bytes (CR, LF and NUL included) past several entries and windows each way.
      const big = randomBytes(9 * 1024 * 1024 + 17);
      const echoed = await raw(rig, { method: 'POST', path: `${path}/echo`, headers: bearer(), body: big });
      assert.equal(echoed.status, 200);
      assert.equal(echoed.body.length, big.length);
      assert.equal(sha256(echoed.body), sha256(big));
      const n = 20 * 1024 * 1024;
      const large = await raw(rig, { path: `${path}/big?n=${n}`, headers: bearer() });
      assert.equal(large.status, 200);
      assert.equal(large.body.length, n);
      const block = Buffer.alloc(65536);
      for (let i = 0; i < block.length; i++) block[i] = i % 251;
      const expected = createHash('sha256');
      for (let at = 0; at < n; at += block.length)
        expected.update(block.subarray(0, Math.min(block.length, n - at)));
      assert.equal(sha256(large.body), expected.digest('hex'));
    });

    test('the answer streams: chunks arrive as the server writes them', async () => {
      const res = await rig.http(`${path}/slow`, { headers: bearer() });
      const reader = res.body!.getReader();
      const started = Date.now();
      const first = await reader.read();
      const firstAt = Date.now() - started;
      let rest = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        rest += new TextDecoder().decode(value);
      }
      assert.match(new TextDecoder().decode(first.value), /^chunk0/);
      assert.ok(firstAt < 250, `first chunk after ${firstAt} ms`);
      assert.match(rest, /chunk2/);
    });

    test('Keel cookies, Authorization and the CSRF header never reach the workspace', async () => {
      await raw(rig, {
        path: `${path}/hello`,
        headers: {
          cookie: `${cookieHeader(rig.admin)}; mine=1`,
          'x-keel-csrf': 'x',
          'x-forwarded-for': '6.6.6.6',
        },
      });
      await raw(rig, { path: `${path}/hello`, headers: bearer() });
      const seen = JSON.parse(
        (await raw(rig, { path: `${path}/seen`, headers: bearer() })).body.toString(),
      ) as Array<{
        headers: Record<string, string>;
      }>;
      for (const { headers } of seen) {
        assert.equal(headers.authorization, undefined);
        assert.equal(headers['x-keel-csrf'], undefined);
        assert.doesNotMatch(headers.cookie ?? '', /keel_/);
        assert.equal(headers.host, `localhost:${PORT}`);
        assert.notEqual(headers['x-forwarded-for'], '6.6.6.6');
      }
      // Path mode forwards no cookies at all: Keel's origin holds none of the preview's.
      assert.ok(seen.every((s) => s.headers.cookie === undefined));
    });

    test('Set-Cookie: dropped in the path mode; host-only and never Keel-named on the preview host', async () => {
      const inPath = await raw(rig, { path: `${path}/cookies`, headers: bearer() });
      assert.equal(inPath.status, 200);
      assert.equal(inPath.headers['set-cookie'], undefined);
      assert.equal(inPath.headers['clear-site-data'], undefined);
      const host = await hostSession(rig, ws, PORT);
      const onHost = await raw(rig, { path: '/cookies', host: host.host, headers: { cookie: host.cookie } });
      assert.equal(onHost.status, 200, onHost.body.toString());
      const cookies = onHost.headers['set-cookie'] as string[];
      assert.deepEqual(
        cookies.map((c) => c.split(';')[0]),
        ['app=1', 'plain=2'],
      );
      assert.ok(cookies.every((c) => !/domain=/i.test(c)));
      // The preview's own cookie reaches it, Keel's preview cookie does not.
      await raw(rig, { path: '/hello', host: host.host, headers: { cookie: `${host.cookie}; app=1` } });
      const seen = JSON.parse(
        (
          await raw(rig, { path: '/seen', host: host.host, headers: { cookie: host.cookie } })
        ).body.toString(),
      );
      const last = seen.filter((s: { url: string }) => s.url === '/hello').at(-1);
      assert.equal(last.headers.cookie, 'app=1');
    });

    test('the preview host serves only previews: /api there is the preview, not Keel', async () => {
      const host = await hostSession(rig, ws, PORT);
      const res = await raw(rig, {
        path: '/api/workspaces',
        host: host.host,
        headers: { cookie: host.cookie },
      });
      assert.equal(res.status, 404);
      assert.equal(res.body.toString(), 'no such page');
      const none = await raw(rig, { path: '/hello', host: host.host });
      errorOf(none, 401, 'unauthorized');
      const replay = await raw(rig, { path: host.exchangePath, host: host.host });
      errorOf(replay, 404, 'not_found');
    });

    test('a WebSocket echoes through, text and binary, with its subprotocol', async () => {
      const socket = new WebSocket(`${rig.base.replace('http', 'ws')}${path}/ws`, ['echo-proto'], {
        headers: bearer(),
      });
      await new Promise((resolve, reject) => {
        socket.once('open', resolve);
        socket.once('error', reject);
      });
      assert.equal(socket.protocol, 'echo-proto');
      const got: Array<{ data: Buffer; binary: boolean }> = [];
      socket.on('message', (data: Buffer, binary: boolean) => got.push({ data, binary }));
      socket.send('ping');
      socket.send(Buffer.from([1, 2, 3]));
      const big = 'x'.repeat(200_000);
      socket.send(big);
      await waitFor('three echoes', async () => (got.length >= 3 ? true : undefined), 10_000, 10);
      assert.equal(got[0]!.data.toString(), 'ping');
      assert.equal(got[0]!.binary, false);
      assert.deepEqual([...got[1]!.data], [1, 2, 3]);
      assert.equal(got[1]!.binary, true);
      assert.equal(got[2]!.data.length, big.length);
      assert.ok(got[2]!.data.toString() === big, 'the large message came back changed');
      socket.close();
    });

    test('another person and another organization get 404; shared with the organization, a colleague gets in', async () => {
      const colleague = await rig.member('developer', `colleague-${kind}@example.com`);
      const other = await otherOrganization(rig, kind === 'docker' ? 'd' : 'p');
      for (const who of [colleague, other]) {
        errorOf(
          await raw(rig, { path: `${path}/hello`, headers: { authorization: `Bearer ${who.accessToken}` } }),
          404,
          'not_found',
        );
        errorOf(
          await raw(rig, { path: `${path}/hello`, headers: { cookie: cookieHeader(who) } }),
          404,
          'not_found',
        );
      }
      const open = await raw(rig, {
        path: `/api/workspaces/${ws}/ports/${PORT}/open`,
        headers: { authorization: `Bearer ${colleague.accessToken}` },
      });
      assert.equal(open.status, 404);
      const share = await rig.admin.request(
        'PUT',
        `/api/workspaces/${ws}/ports/${PORT}/share`,
        { share: 'organization' },
        { bearer: true },
      );
      assert.equal(share.status, 200, JSON.stringify(share.body));
      const ok = await raw(rig, {
        path: `${path}/hello`,
        headers: { authorization: `Bearer ${colleague.accessToken}` },
      });
      assert.equal(ok.status, 200);
      errorOf(
        await raw(rig, { path: `${path}/hello`, headers: { authorization: `Bearer ${other.accessToken}` } }),
        404,
        'not_found',
      );
      // Only the owner decides.
      const theirs = await colleague.request(
        'PUT',
        `/api/workspaces/${ws}/ports/${PORT}/share`,
        { share: 'owner' },
        { bearer: true },
      );
      assert.equal(theirs.status, 404);
      await rig.admin.request(
        'PUT',
        `/api/workspaces/${ws}/ports/${PORT}/share`,
        { share: 'owner' },
        { bearer: true },
      );
      errorOf(
        await raw(rig, {
          path: `${path}/hello`,
          headers: { authorization: `Bearer ${colleague.accessToken}` },
        }),
        404,
        'not_found',
      );
    });

    test('a signed link works for anyone until it expires; a tampered one is 404', async () => {
      const made = await rig.admin.request(
        'POST',
        `/api/workspaces/${ws}/ports/${PORT}/link`,
        { expiresInSeconds: 60 },
        { bearer: true },
      );
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const url = new URL(made.body.url);
      assert.equal(url.host.split('.')[0], `${PORT}--${ws.slice(3)}`);
      const entered = await raw(rig, { path: url.pathname + url.search, host: url.host });
      assert.equal(entered.status, 302);
      const cookie = String((entered.headers['set-cookie'] as string[])[0]).split(';')[0]!;
      const page = await raw(rig, { path: '/hello', host: url.host, headers: { cookie } });
      assert.equal(page.status, 200);
      const t = url.searchParams.get('t')!;
      const tampered = `${t.slice(0, -3)}${t.endsWith('AAA') ? 'BBB' : 'AAA'}`;
      errorOf(await raw(rig, { path: `/__keel/link?t=${tampered}`, host: url.host }), 404, 'not_found');
      // Another port's link opens nothing here.
      errorOf(
        await raw(rig, { path: `/__keel/link?t=${t}`, host: `${PORT + 1}--${ws.slice(3)}.${PREVIEW_HOST}` }),
        404,
        'not_found',
      );
      // Expiry: a link made with a clock ahead by more than its life reads as expired.
      const { previewSigner } = await import('../../edge/src/preview/signing.ts');
      const signer = previewSigner(rig.app.services.config.secretKeys);
      const expired = await signer.sign('link', { w: ws, p: PORT, e: Math.floor(Date.now() / 1000) - 1 });
      errorOf(await raw(rig, { path: `/__keel/link?t=${expired}`, host: url.host }), 410, 'link_expired');
      const expiredCookie = await signer.sign('cookie', {
        w: ws,
        p: PORT,
        e: Math.floor(Date.now() / 1000) - 1,
        l: 1,
      });
      errorOf(
        await raw(rig, {
          path: '/hello',
          host: url.host,
          headers: { cookie: `keel_preview=${expiredCookie}` },
        }),
        410,
        'link_expired',
      );
      // Path mode links too.
      const inPath = await signer.sign('link', { w: ws, p: PORT, e: Math.floor(Date.now() / 1000) + 60 });
      const viaPath = await raw(rig, { path: `${path}/__keel/link?t=${inPath}` });
      assert.equal(viaPath.status, 302);
      const pathCookie = String((viaPath.headers['set-cookie'] as string[])[0]);
      assert.match(pathCookie, new RegExp(`Path=/w/${ws}/p/${PORT}/`));
      const viaPathPage = await raw(rig, {
        path: `${path}/hello`,
        headers: { cookie: pathCookie.split(';')[0]! },
      });
      assert.equal(viaPathPage.status, 200);
    });

    test("a preview of the ports the host's Redis and the edge listen on reaches nothing of the host", async () => {
      // Previews connect inside the workspace's own network namespace: the host's loopback
      // services (the control plane) are not there, whichever way the runner reaches the port.
      const hostPorts = [Number(new URL(rig.config.REDIS_URL).port), Number(new URL(rig.base).port)];
      for (const port of hostPorts) {
        const res = await raw(rig, { path: `/w/${ws}/p/${port}/`, headers: bearer() });
        errorOf(res, 502, 'bad_gateway');
        assert.match(JSON.parse(res.body.toString()).error.message, /Nothing listens on port/);
      }
    });

    test('bad ports, paths and bodies answer 4xx with the error body', async () => {
      errorOf(await raw(rig, { path: `/w/${ws}/p/0/`, headers: bearer() }), 422, 'validation_failed');
      errorOf(await raw(rig, { path: `/w/${ws}/p/65536/`, headers: bearer() }), 422, 'validation_failed');
      errorOf(await raw(rig, { path: `/w/${ws}/p/abc/`, headers: bearer() }), 422, 'validation_failed');
      errorOf(await raw(rig, { path: `/w/ws_nope/p/3000/`, headers: bearer() }), 404, 'not_found');
      errorOf(await raw(rig, { path: '/w/whatever', headers: bearer() }), 404, 'not_found');
      errorOf(await raw(rig, { path: `/w/${ws}/p/${PORT}/hello` }), 401, 'unauthorized');
      errorOf(await raw(rig, { path: `/w/${ws}/p/1/`, headers: bearer() }), 502, 'bad_gateway');
      errorOf(await raw(rig, { path: `${path}/__keel/exchange?t=x`, headers: bearer() }), 404, 'not_found');
      errorOf(
        await raw(rig, { path: '/', host: `70000--${ws.slice(3)}.${PREVIEW_HOST}` }),
        422,
        'validation_failed',
      );
      errorOf(await raw(rig, { path: '/', host: `3000--nothere.${PREVIEW_HOST}` }), 404, 'not_found');
      errorOf(await raw(rig, { path: '/', host: `junk.${PREVIEW_HOST}` }), 404, 'not_found');
      const redirect = await raw(rig, { path: `/w/${ws}/p/${PORT}`, headers: bearer() });
      assert.equal(redirect.status, 308);
      for (const [method, url, body] of [
        ['PUT', `/api/workspaces/${ws}/ports/0/share`, { share: 'organization' }],
        ['PUT', `/api/workspaces/${ws}/ports/${PORT}/share`, { share: 'everyone' }],
        ['PUT', `/api/workspaces/${ws}/ports/${PORT}/share`, { share: 'owner', extra: 1 }],
        ['POST', `/api/workspaces/${ws}/ports/${PORT}/link`, { expiresInSeconds: 10 }],
        ['POST', `/api/workspaces/${ws}/ports/${PORT}/link`, { expiresInSeconds: 10 ** 9 }],
        ['POST', `/api/workspaces/${ws}/ports/99999/link`, { expiresInSeconds: 600 }],
      ] as const) {
        const res = await rig.admin.request(method, url, body, { bearer: true });
        assert.equal(
          res.status,
          422,
          `${method} ${url} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`,
        );
        assert.equal(res.body.error.code, 'validation_failed');
      }
      const open = await raw(rig, {
        path: `/api/workspaces/${ws}/ports/${PORT}/open?path=//evil.example`,
        headers: bearer(),
      });
      assert.equal(open.status, 302);
      const to = new URL(String(open.headers.location));
      assert.equal(to.searchParams.get('next'), '/');
      const noWs = await rig.admin.request(
        'GET',
        '/api/workspaces/ws_aaaaaaaaaaaaaaaaaaaa/ports',
        undefined,
        { bearer: true },
      );
      assert.equal(noWs.status, 404);
    });
  });
}

/** Opens the preview host the way a browser does: Keel's open route, then the one-time exchange. */
async function hostSession(
  rig: Rig,
  ws: string,
  port: number,
): Promise<{ host: string; cookie: string; exchangePath: string }> {
  const open = await raw(rig, {
    path: `/api/workspaces/${ws}/ports/${port}/open?path=/hello`,
    headers: { cookie: cookieHeader(rig.admin) },
  });
  assert.equal(open.status, 302, open.body.toString());
  const to = new URL(String(open.headers.location));
  assert.equal(to.host, `${port}--${ws.slice(3)}.${PREVIEW_HOST}`);
  const exchanged = await raw(rig, { path: to.pathname + to.search, host: to.host });
  assert.equal(exchanged.status, 302, exchanged.body.toString());
  assert.equal(exchanged.headers.location, '/hello');
  const set = String((exchanged.headers['set-cookie'] as string[])[0]);
  assert.doesNotMatch(set, /domain=/i);
  assert.match(set, /HttpOnly/);
  return { host: to.host, cookie: set.split(';')[0]!, exchangePath: to.pathname + to.search };
}
