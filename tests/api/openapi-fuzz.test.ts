import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { ApiRoute } from '@keel/contract/api/describe';
import { apiRoutes } from '@keel/contract/api/routes';
import { AUTH_COOKIES, CSRF_HEADER } from '@keel/contract/auth';
import { ErrorBody } from '@keel/contract/errors';
import { memberships, organizations, users, workspaces } from '@keel/drizzle/schema';
import fc from 'fast-check';
import {
  badObject,
  badValue,
  encodeComponent,
  hostileString,
  type JsonSchema,
} from '../harness/bad-inputs.ts';
import type { BrowserClient } from '../harness/browser-client.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';

/**
 * Bad input on every route, from the published document: for each operation in /openapi.json,
 * fast-check (fixed seed) makes requests with wrong types, missing and unknown fields, oversize
 * strings and arrays, deep nesting, NUL and unpaired surrogates, bad path ids and another
 * organization's ids, sent with valid credentials (the browser session with its CSRF header;
 * a runner credential where the route is a runner's). A case is sent only if the contract's own
 * schemas refuse some part of it, or it names an id that is not the caller's, so every answer
 * must be a 4xx with the error body: never a 5xx, never a hang, never a write.
 */

const SEED = 1_404;
const CASES_PER_OPERATION = 120;
const CONCURRENCY = 8;
const ANSWER_WITHIN_MS = 15_000;

interface Operation {
  method: string;
  path: string;
  route: ApiRoute;
  parameters: Array<{ name: string; in: 'path' | 'query'; required?: boolean; schema: JsonSchema }>;
  bodySchema?: JsonSchema;
  runnerAuth: boolean;
}

type Body = { json: unknown } | { raw: string | Uint8Array<ArrayBuffer>; contentType: string } | undefined;

interface Case {
  params: Record<string, string>;
  query: Record<string, string | undefined> | string;
  body: Body;
}

/** Bodies no JSON route should take: malformed, mislabelled, not UTF-8, nested past any sense. */
const rawBodies: fc.Arbitrary<Body> = fc.constantFrom<Body>(
  { raw: '{"a":', contentType: 'application/json' },
  { raw: '{"name":"x"}', contentType: 'text/plain' },
  { raw: new Uint8Array([0x7b, 0x22, 0xff, 0xfe, 0x22, 0x7d]), contentType: 'application/json' },
  { raw: `${'['.repeat(100_000)}${']'.repeat(100_000)}`, contentType: 'application/json' },
  { raw: `${'{"a":'.repeat(50_000)}1${'}'.repeat(50_000)}`, contentType: 'application/json' },
  { raw: '\u0000', contentType: 'application/json' },
  { raw: 'x'.repeat(2 * 1024 * 1024), contentType: 'application/json' },
);

describe('every operation in /openapi.json refuses bad input with a 4xx and the error body', () => {
  let rig: Rig;
  let client: BrowserClient;
  let operations: Operation[];
  let ownIds: Set<string>;
  let foreignIds: string[];
  let workspaceId: string;

  async function snapshot() {
    const get = async (path: string) => {
      const res = await client.request('GET', path);
      assert.equal(res.status, 200, `${path}: ${JSON.stringify(res.body)}`);
      return res.body;
    };
    const ws = await get('/api/workspaces');
    return {
      tree: await get(`/api/workspaces/${workspaceId}/files/tree`),
      file: await get(`/api/workspaces/${workspaceId}/files?path=a.txt`),
      workspaces: ws.workspaces.map((w: { id: string; name: string }) => `${w.id} ${w.name}`).sort(),
      invitations: (await get(`/api/orgs/${rig.orgId}/invitations`)).invitations.length,
      runners: (await get('/api/admin/runners')).runners.map((r: { id: string; status: string }) => r.id),
      settings: await get('/api/install/settings'),
      admins: await get('/api/install/admins'),
    };
  }

  before(async () => {
    rig = await startRig('process');
    client = rig.admin;
    const created = await client.request('POST', '/api/workspaces', { name: 'fuzz' });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    workspaceId = created.body.id;
    await rig.waitForStatus(client, workspaceId, 'running');
    const wrote = await client.request('PUT', `/api/workspaces/${workspaceId}/files?path=a.txt`, {
      content: 'before\n',
    });
    assert.equal(wrote.status, 200, JSON.stringify(wrote.body));
    const me = await client.request('GET', '/api/auth/me');

    // Another organization with a workspace of its own, written straight to the database.
    const db = rig.app.services.db;
    const now = new Date();
    const other = {
      org: `org_${'c'.repeat(20)}`,
      user: `usr_${'c'.repeat(20)}`,
      ws: `wsp_${'c'.repeat(20)}`,
    };
    await db.insert(organizations).values({ id: other.org, name: 'Other', createdAt: now });
    await db.insert(users).values({
      id: other.user,
      email: 'other@example.org',
      name: 'Other',
      passwordHash: 'x',
      createdAt: now,
    });
    await db
      .insert(memberships)
      .values({ userId: other.user, organizationId: other.org, role: 'admin', createdAt: now });
    await db.insert(workspaces).values({
      id: other.ws,
      organizationId: other.org,
      ownerId: other.user,
      name: 'theirs',
      source: { type: 'empty' },
      resources: { cpus: 1, memoryMb: 512 },
      runnerId: rig.runner.runnerId,
      status: 'running',
    });
    foreignIds = [other.org, other.user, other.ws];
    ownIds = new Set([workspaceId, rig.orgId, me.body.user.id, rig.runner.runnerId]);

    const doc = (await client.request('GET', '/openapi.json')).body as {
      paths: Record<string, Record<string, Record<string, any>>>;
    };
    operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => {
        const route = apiRoutes.find((r) => r.method === method && r.path === path);
        assert.ok(route, `${method} ${path} is in the contract`);
        return {
          method: method.toUpperCase(),
          path,
          route,
          parameters: op.parameters ?? [],
          bodySchema: op.requestBody?.content?.['application/json']?.schema,
          runnerAuth: (op.security ?? []).some((s: object) => 'runnerCredential' in s),
        };
      }),
    );
  });

  after(async () => {
    await rig?.close();
  });

  /** Ids a path may carry: the caller's own, another organization's, or nonsense. */
  function pathValue(): fc.Arbitrary<string> {
    return fc.oneof(
      { weight: 2, arbitrary: fc.constantFrom(...ownIds) },
      { weight: 2, arbitrary: fc.constantFrom(...foreignIds) },
      {
        weight: 1,
        arbitrary: fc.constantFrom(
          'wsp_aaaaaaaaaaaaaaaaaaaa',
          'exe_aaaaaaaaaaaaaaaaaaaa',
          'ais_aaaaaaaaaaaaaaaaaaaa',
        ),
      },
      { weight: 3, arbitrary: hostileString.filter((s) => s !== '' && s !== '.' && s !== '..') },
    );
  }

  function caseFor(op: Operation): fc.Arbitrary<Case> {
    const pathParams = op.parameters.filter((p) => p.in === 'path');
    const queryParams = op.parameters.filter((p) => p.in === 'query');
    const params = fc.record(Object.fromEntries(pathParams.map((p) => [p.name, pathValue()])));
    const junk = fc.dictionary(
      hostileString.filter((k) => k.length < 100),
      hostileString,
      { maxKeys: 3 },
    );
    // A route that reads no query string ignores it: there, junk is sent but is not what makes a case bad.
    const query: fc.Arbitrary<Case['query']> = queryParams.length
      ? fc.oneof(
          fc.record(
            Object.fromEntries(
              queryParams.map((p) => [p.name, badValue(p.schema).map(asQueryText)]),
            ) as Record<string, fc.Arbitrary<string>>,
            {
              requiredKeys: [],
            },
          ),
          junk,
          fc.constantFrom(
            ...queryParams.flatMap((p) => [
              `${p.name}=%FF`,
              `${p.name}=%ED%A0%80`,
              `${p.name}=%00`,
              `${p.name}=%`,
            ]),
          ),
        )
      : junk;
    const body: fc.Arbitrary<Body> = op.bodySchema
      ? fc.oneof(
          { weight: 8, arbitrary: badObject(op.bodySchema).map((json) => ({ json })) },
          { weight: 2, arbitrary: rawBodies },
        )
      : fc.constant(undefined);
    return fc.record({ params, query, body }) as fc.Arbitrary<Case>;
  }

  /** Whether the contract's schemas would take every part and every id is the caller's own. */
  function acceptable(op: Operation, c: Case): boolean {
    const request = op.route.request;
    if (typeof c.query === 'string') return !request?.query;
    if (c.body && 'raw' in c.body) return false;
    if (!Object.values(c.params).every((v) => ownIds.has(v))) return false;
    if (
      namesForeignId([
        c.params,
        request?.query ? c.query : undefined,
        c.body && 'json' in c.body ? c.body.json : undefined,
      ])
    )
      return false;
    if (request?.params && !request.params.safeParse(c.params).success) return false;
    if (request?.query && !request.query.safeParse(c.query).success) return false;
    const schema = request?.body?.content['application/json'].schema;
    if (schema && !schema.safeParse(c.body && 'json' in c.body ? c.body.json : {}).success) return false;
    return true;
  }

  /** Ids go in ids and near the top of bodies: a bounded look, as deep values may be nested past any stack. */
  function namesForeignId(value: unknown, depth = 0): boolean {
    if (typeof value === 'string') return foreignIds.includes(value);
    if (depth > 3 || typeof value !== 'object' || value === null) return false;
    return Object.values(value).some((v) => namesForeignId(v, depth + 1));
  }

  function urlOf(op: Operation, c: Case): string {
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) => encodeComponent(c.params[name] ?? ''));
    const query =
      typeof c.query === 'string'
        ? c.query
        : Object.entries(c.query)
            .filter((entry): entry is [string, string] => entry[1] !== undefined)
            .map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`)
            .join('&');
    return query ? `${path}?${query}` : path;
  }

  function headersFor(op: Operation, body: Body): Record<string, string> {
    const headers: Record<string, string> = {
      cookie: [...client.cookies.entries()].map(([k, v]) => `${k}=${v.value}`).join('; '),
    };
    const csrf = client.cookies.get(AUTH_COOKIES.csrf)?.value;
    if (op.method !== 'GET' && csrf) headers[CSRF_HEADER] = csrf;
    if (op.runnerAuth) headers.authorization = `Bearer ${rig.credential.credential}`;
    if (body) headers['content-type'] = 'json' in body ? 'application/json' : body.contentType;
    return headers;
  }

  async function send(op: Operation, c: Case): Promise<string | undefined> {
    const url = urlOf(op, c);
    const body = c.body && ('json' in c.body ? JSON.stringify(c.body.json) : c.body.raw);
    let res: Response;
    try {
      res = await rig.http(url, {
        method: op.method,
        headers: headersFor(op, c.body),
        body,
        signal: AbortSignal.timeout(ANSWER_WITHIN_MS),
      });
    } catch (err) {
      // The cause (a reset, a closed socket, a timeout) says which side let go.
      const cause = (err as { cause?: { code?: string; message?: string } }).cause;
      const why = cause ? `: ${cause.code ?? ''} ${cause.message ?? ''}`.trimEnd() : '';
      return `${op.method} ${url.slice(0, 200)}: no answer (${(err as Error).message}${why}; body ${String(body ?? '').length} bytes)`;
    }
    const text = await res.text();
    const summary = `${op.method} ${url.slice(0, 200)} ${String(body ?? '').slice(0, 200)} → ${res.status} ${text.slice(0, 300)}`;
    if (res.status < 400 || res.status > 499) return summary;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return `${summary} (not JSON)`;
    }
    return ErrorBody.safeParse(parsed).success ? undefined : `${summary} (not the error body)`;
  }

  test('every operation, at least 120 cases each, answers 4xx with the error body and writes nothing', async () => {
    const before = await snapshot();
    const failures: string[] = [];
    let total = 0;
    for (const [index, op] of operations.entries()) {
      const inputless = !op.bodySchema && op.parameters.length === 0;
      const cases: Case[] = [];
      for (let round = 0; cases.length < CASES_PER_OPERATION && round < 20; round++) {
        const batch = fc.sample(caseFor(op), {
          seed: SEED + index * 100 + round,
          numRuns: CASES_PER_OPERATION,
        });
        // An operation that takes nothing has nothing to get wrong but the query string:
        // those cases must still answer as described (its success, or a 4xx), never a 5xx.
        cases.push(...batch.filter((c) => inputless || !acceptable(op, c)));
      }
      assert.ok(cases.length >= CASES_PER_OPERATION, `${op.method} ${op.path}: ${cases.length} cases`);
      const queue = cases.slice(0, CASES_PER_OPERATION);
      total += queue.length;
      await Promise.all(
        Array.from({ length: CONCURRENCY }, async () => {
          for (let c = queue.shift(); c; c = queue.shift()) {
            const failure = await send(op, c);
            if (failure && !(inputless && describedSuccess(op, failure))) failures.push(failure);
          }
        }),
      );
    }
    console.log(`openapi fuzz: ${total} cases over ${operations.length} operations`);
    const kinds = new Map<string, number>();
    for (const f of failures) {
      const kind = `${f.split(' ', 1)[0]} ${/→ \d{3}|no answer/.exec(f)?.[0]}`;
      kinds.set(kind, (kinds.get(kind) ?? 0) + 1);
    }
    assert.deepEqual(
      failures.slice(0, 30),
      [],
      `${failures.length} bad answers: ${JSON.stringify([...kinds])}`,
    );
    assert.deepEqual(await snapshot(), before, 'nothing changed');
  });
});

/** A query value is text: other values go as their JSON. */
function asQueryText(value: unknown): string {
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** For operations without input: an answer with a status the route describes as a success. */
function describedSuccess(op: Operation, failure: string): boolean {
  const status = Number(/→ (\d{3})/.exec(failure)?.[1]);
  return status < 400 && op.route.responses[status] !== undefined;
}
