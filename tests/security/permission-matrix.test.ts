/**
 * Every operation of `/openapi.json` × the four roles of one organization, checked against the
 * role → permissions table: an operation whose declared access (`x-keel-access`) the role lacks
 * answers 403 with the error body; one it holds answers anything but 403; install routes refuse
 * an organization's super_admin who is not an install administrator; and the ids of another
 * organization (workspace, runner, server, snapshot, invitation, organization, user) answer 404.
 *
 * Driven by the document, not by a list here: a route added anywhere is covered by declaring its
 * access. Ids in paths come from the other organization (an `{orgId}` is the caller's own, so the
 * ids under it are what is tested; another organization's `{orgId}` has its own test), so no call
 * here changes anything that exists; bodies are built from each operation's request schema, so a holder's
 * call reaches the lookup of the id rather than stopping at validation.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Role } from '@keel/contract/auth';
import { type Permission, ROLE_PERMISSIONS, type RouteAccess } from '@keel/contract/permissions';
import {
  invitations,
  memberships,
  organizations,
  runners,
  servers,
  snapshots,
  users,
  workspaces,
} from '@keel/drizzle/schema';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { newId } from '../../edge/src/ids.ts';
import { createTestApp, type TestApp } from '../harness/test-app.ts';

const PASSWORD = 'correct horse battery staple';
const ROLES: readonly Role[] = ['viewer', 'developer', 'admin', 'super_admin'];

interface Operation {
  method: string;
  path: string;
  access: RouteAccess;
  body?: JsonSchema;
  query: Array<{ name: string; required: boolean; schema: JsonSchema }>;
  /** Path parameters' schemas: one that is no id (a port) gets a valid sample, so the id is what is judged. */
  pathParams: Record<string, JsonSchema>;
  stream: boolean;
}

type JsonSchema = Record<string, unknown>;

interface Caller {
  role: Role | 'install_admin';
  token: string;
}

/** The other organization's things, by the name of the path parameter that carries them. */
interface Foreign {
  organization: string;
  user: string;
  workspace: string;
  runner: string;
  server: string;
  snapshot: string;
  invitation: string;
}

describe('permission matrix over /openapi.json', () => {
  let t: TestApp;
  let operations: Operation[];
  let components: Record<string, JsonSchema>;
  const callers = new Map<Caller['role'], Caller>();
  let foreign: Foreign;
  let orgA: string;

  before(async () => {
    t = await createTestApp();
    const doc = (await (await t.fetch('/openapi.json')).json()) as {
      paths: Record<string, Record<string, Record<string, any>>>;
      components?: { schemas?: Record<string, JsonSchema> };
    };
    components = doc.components?.schemas ?? {};
    operations = Object.entries(doc.paths).flatMap(([path, ops]) =>
      Object.entries(ops).map(([method, op]) => ({
        method: method.toUpperCase(),
        path,
        access: op['x-keel-access'] as RouteAccess,
        body: op.requestBody?.content?.['application/json']?.schema,
        query: ((op.parameters ?? []) as Array<Record<string, any>>)
          .filter((p) => p.in === 'query')
          .map((p) => ({ name: p.name, required: p.required === true, schema: p.schema ?? {} })),
        pathParams: Object.fromEntries(
          ((op.parameters ?? []) as Array<Record<string, any>>)
            .filter((p) => p.in === 'path')
            .map((p) => [p.name, p.schema ?? {}]),
        ),
        stream: Object.values(op.responses ?? {}).some(
          (r: any) => r?.content?.['text/event-stream'] !== undefined,
        ),
      })),
    );

    // The founder: super_admin of organization A and the install's administrator.
    const founded = await t.fetch('/api/auth/signup', {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        email: 'founder@a.example',
        password: PASSWORD,
        name: 'Founder',
        organization: 'A',
      }),
    });
    assert.equal(founded.status, 201);
    const founder = (await founded.json()) as { accessToken: string; organization: { id: string } };
    callers.set('install_admin', { role: 'install_admin', token: founder.accessToken });
    orgA = founder.organization.id;

    // One member per role in A (none an install administrator), and organization B with its things.
    const db = t.services.db;
    const passwordHash = await hashPassword(PASSWORD);
    const now = new Date();
    const orgB = newId('organization');
    await db.insert(organizations).values({ id: orgB, name: 'B', createdAt: now });
    const member = async (email: string, organizationId: string, role: Role) => {
      const id = newId('user');
      await db.insert(users).values({ id, email, name: email, passwordHash, createdAt: now });
      await db.insert(memberships).values({ userId: id, organizationId, role, createdAt: now });
      return id;
    };
    for (const role of ROLES) {
      await member(`${role}@a.example`, orgA, role);
      const res = await t.fetch('/api/auth/login', {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email: `${role}@a.example`, password: PASSWORD }),
      });
      assert.equal(res.status, 200, `${role} signs in`);
      callers.set(role, { role, token: ((await res.json()) as { accessToken: string }).accessToken });
    }
    const userB = await member('owner@b.example', orgB, 'super_admin');
    foreign = {
      organization: orgB,
      user: userB,
      workspace: newId('workspace'),
      runner: newId('runner'),
      server: newId('server'),
      snapshot: newId('snapshot'),
      invitation: newId('invitation'),
    };
    await db.insert(runners).values({
      id: foreign.runner,
      organizationId: orgB,
      name: 'b-runner',
      labels: {},
      drivers: ['docker'],
      capacity: { workspaces: 5, cpus: 2, memoryMb: 2048 },
      version: 'test',
      credentialHash: 'x'.repeat(64),
    });
    await db.insert(servers).values({
      id: foreign.server,
      organizationId: orgB,
      name: 'b-server',
      kind: 'ssh',
      labels: {},
      capacity: { workspaces: 5 },
      storage: {},
      endpoint: { host: '198.51.100.7', port: 22, username: 'keel' },
      credentialSealed: 'sealed',
      credentialFingerprint: 'f'.repeat(64),
    });
    await db.insert(workspaces).values({
      id: foreign.workspace,
      organizationId: orgB,
      ownerId: userB,
      name: 'b-workspace',
      source: { type: 'empty' },
      resources: { cpus: 1, memoryMb: 512 },
      runnerId: foreign.runner,
      status: 'running',
    });
    await db.insert(snapshots).values({
      id: foreign.snapshot,
      workspaceId: foreign.workspace,
      organizationId: orgB,
      reason: 'manual',
      status: 'ready',
      generation: 1,
    });
    await db.insert(invitations).values({
      id: foreign.invitation,
      organizationId: orgB,
      role: 'developer',
      tokenHash: 'h'.repeat(64),
      expiresAt: new Date(now.getTime() + 3600_000),
    });
  });
  after(() => t?.close());

  /** The other organization's id for a path parameter, by its name and the segment before it. */
  function foreignId(path: string, name: string): string | undefined {
    const before = path.split(`/{${name}}`)[0]!.split('/').pop();
    const byName: Record<string, string | undefined> = {
      orgId: orgA,
      userId: foreign.user,
      snapshotId: foreign.snapshot,
      invitationId: foreign.invitation,
      workspaceId: foreign.workspace,
      runnerId: foreign.runner,
      serverId: foreign.server,
    };
    if (name in byName) return byName[name];
    if (name !== 'id') return undefined;
    return (
      { workspaces: foreign.workspace, runners: foreign.runner, servers: foreign.server } as Record<
        string,
        string
      >
    )[before ?? ''];
  }

  function resolve(schema: JsonSchema): JsonSchema {
    const ref = schema.$ref;
    if (typeof ref === 'string') return resolve(components[ref.split('/').pop()!] ?? {});
    return schema;
  }

  const PLAN_LIMIT = /^(aiTokensPerDay|concurrentWorkspaces|concurrentCommands|apiRequestsPerMinute)$/;

  /** A small value the schema accepts (as far as JSON Schema says): required fields only. */
  function sample(input: JsonSchema, key = ''): unknown {
    const schema = resolve(input);
    // A plan's limits at their smallest (1 a minute) would throttle the rest of the matrix: none.
    if (PLAN_LIMIT.test(key)) return null;
    if ('const' in schema) return schema.const;
    if (Array.isArray(schema.enum)) return schema.enum[0];
    if ('default' in schema) return schema.default;
    const choices = (schema.anyOf ?? schema.oneOf) as JsonSchema[] | undefined;
    if (choices?.length) return sample(choices.find((c) => resolve(c).type !== 'null') ?? choices[0]!, key);
    if (Array.isArray(schema.allOf)) return sample(schema.allOf[0] as JsonSchema, key);
    const type = Array.isArray(schema.type) ? schema.type.find((x) => x !== 'null') : schema.type;
    switch (type) {
      case 'object': {
        const out: Record<string, unknown> = {};
        const props = (schema.properties ?? {}) as Record<string, JsonSchema>;
        for (const name of (schema.required ?? []) as string[]) out[name] = sample(props[name] ?? {}, name);
        return out;
      }
      case 'array':
        return Array.from({ length: Number(schema.minItems ?? 0) }, () =>
          sample((schema.items ?? {}) as JsonSchema, key),
        );
      case 'integer':
      case 'number':
        return (
          Number(schema.minimum ?? schema.exclusiveMinimum ?? 0) + (schema.exclusiveMinimum ? 1 : 0) || 1
        );
      case 'boolean':
        return false;
      case 'string': {
        const id = foreignIdByKey(key);
        if (id) return id;
        const min = Number(schema.minLength ?? 1);
        return `a${'a'.repeat(Math.max(0, min - 1))}.txt`.slice(-Math.max(min, 5));
      }
      default:
        return {};
    }
  }

  /** Ids named in bodies and queries (`workspaceId`, `runnerId`…) are the other organization's too. */
  function foreignIdByKey(key: string): string | undefined {
    const m = /^(workspace|runner|server|snapshot|invitation|user)Id$/.exec(key);
    return m ? foreign[m[1] as keyof Foreign] : undefined;
  }

  function urlOf(op: Operation): string {
    const path = op.path.replace(/\{(\w+)\}/g, (_, name: string) =>
      encodeURIComponent(
        foreignId(op.path, name) ??
          (/^(integer|number)$/.test(String(op.pathParams[name]?.type))
            ? String(sample(op.pathParams[name]!, name))
            : `${name}-unknown`),
      ),
    );
    const query = new URLSearchParams();
    for (const q of op.query) if (q.required) query.set(q.name, String(sample(q.schema, q.name)));
    const qs = query.toString();
    return qs ? `${path}?${qs}` : path;
  }

  async function call(op: Operation, caller: Caller | undefined): Promise<{ status: number; body: any }> {
    const headers: Record<string, string> = {};
    if (caller) headers.authorization = `Bearer ${caller.token}`;
    let body: string | undefined;
    if (op.body) {
      headers['content-type'] = 'application/json';
      body = JSON.stringify(sample(op.body));
    }
    const res = await t.fetch(urlOf(op), { method: op.method, headers, ...(body ? { body } : {}) });
    // A stream that opened is left unread: its status is what is checked here.
    if (res.headers.get('content-type')?.includes('text/event-stream')) {
      await res.body?.cancel();
      return { status: res.status, body: undefined };
    }
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      parsed = text;
    }
    return { status: res.status, body: parsed };
  }

  function holds(role: Caller['role'], access: RouteAccess): boolean {
    switch (access.kind) {
      case 'public':
      case 'signed_in':
        return true;
      case 'permission':
        // The install administrator is also organization A's super_admin.
        return ROLE_PERMISSIONS[role === 'install_admin' ? 'super_admin' : role].has(access.permission);
      case 'install_admin':
        return role === 'install_admin';
      case 'runner':
        return false;
    }
  }

  const hasForeignId = (op: Operation) =>
    [...op.path.matchAll(/\{(\w+)\}/g)].some(
      (m) => m[1] !== 'orgId' && foreignId(op.path, m[1]!) !== undefined,
    );

  /** Sign-in routes act on the caller's own session (logout would end it): they are not in the matrix. */
  const inMatrix = (op: Operation) => op.access.kind !== 'public';

  test('the document declares access for every operation, and the table names only known permissions', () => {
    assert.ok(operations.length >= 80, `found ${operations.length} operations`);
    for (const op of operations) {
      assert.ok(op.access, `${op.method} ${op.path} declares x-keel-access`);
      if (op.access.kind === 'permission')
        assert.ok(
          ROLES.some((r) =>
            ROLE_PERMISSIONS[r].has(
              op.access.kind === 'permission' ? op.access.permission : ('' as Permission),
            ),
          ),
          `${op.method} ${op.path} needs a permission some role holds`,
        );
    }
  });

  test('nobody signed in: every operation but the public ones answers 401', async () => {
    const failures: string[] = [];
    for (const op of operations.filter(inMatrix)) {
      const res = await call(op, undefined);
      if (res.status !== 401) failures.push(`${op.method} ${op.path}: ${res.status}`);
    }
    assert.deepEqual(failures, []);
  });

  for (const role of [...ROLES, 'install_admin'] as const) {
    test(`${role}: 403 with the error body where the table denies, never 403 where it allows, 404 for another organization's ids`, async () => {
      const caller = callers.get(role)!;
      const failures: string[] = [];
      for (const op of operations.filter(inMatrix)) {
        const res = await call(op, caller);
        const where = `${op.method} ${op.path} (${JSON.stringify(op.access)}) answered ${res.status} ${JSON.stringify(res.body)?.slice(0, 160)}`;
        if (op.access.kind === 'runner') {
          // A person's token is no runner credential.
          if (res.status !== 401) failures.push(`${where}; expected 401`);
          continue;
        }
        if (!holds(role, op.access)) {
          const error = res.body?.error;
          if (res.status !== 403 || error?.code !== 'forbidden' || typeof error?.requestId !== 'string')
            failures.push(`${where}; expected 403 forbidden`);
          continue;
        }
        if (res.status === 403 || res.body?.error?.code === 'forbidden') {
          failures.push(`${where}; expected anything but 403`);
          continue;
        }
        if (res.status >= 500) failures.push(`${where}; expected no server error`);
        if (hasForeignId(op) && res.status !== 404)
          failures.push(`${where}; expected 404 for another organization's id`);
      }
      assert.deepEqual(failures, []);
    });
  }

  test("another organization's id in {orgId} answers 404 to whoever may manage their own", async () => {
    const admin = callers.get('admin')!;
    const scoped = operations.filter((op) => op.path.includes('{orgId}'));
    assert.ok(scoped.length > 0);
    for (const op of scoped) {
      const url = urlOf(op).replace(encodeURIComponent(orgA), encodeURIComponent(foreign.organization));
      const res = await t.fetch(url, {
        method: op.method,
        headers: { authorization: `Bearer ${admin.token}`, 'content-type': 'application/json' },
        ...(op.body ? { body: JSON.stringify(sample(op.body)) } : {}),
      });
      assert.equal(res.status, 404, `${op.method} ${url}`);
    }
  });

  test('each refusal is in the audit trail as access.denied, with the permission it needed', async () => {
    const admin = callers.get('admin')!;
    const res = await t.fetch('/api/admin/audit?action=access.denied&limit=200', {
      headers: { authorization: `Bearer ${admin.token}` },
    });
    assert.equal(res.status, 200);
    const text = await res.text();
    assert.match(text, /access\.denied/);
    assert.match(text, /members:manage|runners:manage|workspaces:use/);
  });
});
