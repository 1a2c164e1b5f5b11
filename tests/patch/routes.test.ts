/*
 * POST /api/patch/validate and /api/patch/apply against a real edge and a real runner: what is
 * refused (malformed or escaping patches, bad requests, other people), with the workspace's
 * files read straight from the host to show nothing changed.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { lstatSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unifiedDiff } from '../../runners/src/patch/index.ts';
import { type DriverKind, type Rig, startRig } from '../harness/runner-rig.ts';

const sha = (text: string) => createHash('sha256').update(text).digest('hex');

/** Every entry under `dir` (links as links, never followed): path → content, 'dir' or '-> target'. */
function snapshot(dir: string, prefix = ''): Record<string, string> {
  const out: Record<string, string> = {};
  for (const name of readdirSync(dir).sort()) {
    const full = join(dir, name);
    const rel = prefix + name;
    const st = lstatSync(full);
    if (st.isSymbolicLink()) out[rel] = `-> ${readlinkSync(full)}`;
    else if (st.isDirectory()) {
      out[rel] = 'dir';
      Object.assign(out, snapshot(full, `${rel}/`));
    } else out[rel] = readFileSync(full, 'utf8');
  }
  return out;
}

function describePatchRoutes(kind: DriverKind) {
  describe(`patch routes refuse bad patches and requests (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    let root: string;
    const api = (method: string, path: string, body?: unknown) =>
      rig.admin.request(method, path, body, { bearer: true });
    const apply = (patch: string, expected?: Record<string, string>) =>
      api('POST', '/api/patch/apply', { workspaceId: ws, patch, ...(expected ? { expected } : {}) });
    const validate = (patch: string) => api('POST', '/api/patch/validate', { workspaceId: ws, patch });
    async function put(path: string, content: string) {
      const res = await api('PUT', `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`, {
        content,
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body.sha256 as string;
    }
    async function fresh(dir: string, files: Record<string, string>) {
      rmSync(join(root, dir), { recursive: true, force: true });
      for (const [path, content] of Object.entries(files)) await put(`${dir}/${path}`, content);
    }

    before(async () => {
      rig = await startRig(kind);
      const created = await api('POST', '/api/workspaces', { name: 'patches' });
      ws = created.body.id;
      await rig.waitForStatus(rig.admin, ws, 'running');
      root = await rig.driver.workspaceRoot(ws);
    });
    after(() => rig.close());

    test('a malformed, empty or escaping patch is a 422 and writes nothing', async () => {
      await fresh('v', { 'a.txt': 'one\ntwo\n' });
      const header = 'diff --git a/v/a.txt b/v/a.txt\n--- a/v/a.txt\n+++ b/v/a.txt\n';
      const cases: Record<string, string> = {
        'wrong hunk counts': `${header}@@ -1,3 +1,2 @@\n-one\n+uno\n two\n`,
        'a bare @@': `${header}@@\n-one\n+uno\n`,
        'a path with ..': unifiedDiff('v/a.txt', 'one\ntwo\n', 'x\n').replaceAll(
          'v/a.txt',
          'v/../../etc/passwd',
        ),
        'an absolute path': '--- /etc/passwd\n+++ /etc/passwd\n@@ -1 +1 @@\n-root\n+pwned\n',
        'a path into .git':
          'diff --git a/.git/hooks/pre-commit b/.git/hooks/pre-commit\nnew file mode 100755\n' +
          '--- /dev/null\n+++ b/.git/hooks/pre-commit\n@@ -0,0 +1 @@\n+#!/bin/sh\n',
        'no file at all': '\n',
        'context only': `${header}@@ -1,2 +1,2 @@\n one\n two\n`,
        'a change to the same text': `${header}@@ -1,2 +1,2 @@\n-one\n+one\n two\n`,
        'not a diff': 'hello world\n',
        'a binary patch': 'diff --git a/v/a.bin b/v/a.bin\nGIT binary patch\nliteral 0\n',
      };
      const before = snapshot(root);
      for (const [name, patch] of Object.entries(cases)) {
        for (const send of [validate, apply]) {
          const res = await send(patch);
          assert.equal(res.status, 422, `${name}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.error.code, 'invalid_patch', name);
          assert.ok(res.body.error.issues.length > 0, name);
          assert.match(res.body.error.requestId, /^req_/, name);
        }
      }
      const badExpected = await apply(unifiedDiff('v/a.txt', 'one\ntwo\n', 'one\n'), {
        '../outside': sha('x'),
      });
      assert.equal(badExpected.status, 422);
      assert.equal(badExpected.body.error.code, 'invalid_patch');
      assert.deepEqual(snapshot(root), before);
    });

    test('bad requests, other people and viewers are answered with the error body', async () => {
      const patch = unifiedDiff('a.txt', null, 'x\n');
      const cases: Array<[string, unknown, number, string]> = [
        ['no workspace', { patch }, 422, 'validation_failed'],
        ['an empty patch', { workspaceId: ws, patch: '' }, 422, 'validation_failed'],
        ['an unknown field', { workspaceId: ws, patch, force: true }, 422, 'validation_failed'],
        [
          'a malformed expected hash',
          { workspaceId: ws, patch, expected: { 'a.txt': 'abc' } },
          422,
          'validation_failed',
        ],
        ['an unknown workspace', { workspaceId: 'ws_aaaaaaaaaaaaaaaaaaaa', patch }, 404, 'not_found'],
        ['a malformed workspace id', { workspaceId: '../etc', patch }, 404, 'not_found'],
      ];
      for (const [name, body, status, code] of cases) {
        for (const route of ['validate', 'apply']) {
          const res = await api('POST', `/api/patch/${route}`, body);
          assert.equal(res.status, status, `${route} ${name}: ${JSON.stringify(res.body)}`);
          assert.equal(res.body.error.code, code, `${route} ${name}`);
        }
      }
      const notJson = await rig.http('/api/patch/apply', {
        method: 'POST',
        headers: { authorization: `Bearer ${rig.admin.accessToken}`, 'content-type': 'application/json' },
        body: '{"workspaceId":',
      });
      assert.equal(notJson.status, 400);
      assert.equal((await notJson.json()).error.code, 'invalid_json');
      const anonymous = await rig.http('/api/patch/validate', { method: 'POST' });
      assert.equal(anonymous.status, 401);

      const other = await rig.member('developer', 'dev-patch@example.com');
      const foreign = await other.request(
        'POST',
        '/api/patch/apply',
        { workspaceId: ws, patch },
        { bearer: true },
      );
      assert.equal(foreign.status, 404, 'another member’s workspace is not found');
      const viewer = await rig.member('viewer', 'viewer-patch@example.com');
      const denied = await viewer.request(
        'POST',
        '/api/patch/apply',
        { workspaceId: ws, patch },
        { bearer: true },
      );
      assert.equal(denied.status, 403);
      assert.equal(snapshot(root)['a.txt'], undefined);
    });
  });
}

// What patches do to a workspace's files, on every driver, is in tests/drivers/suite/patch.ts; what the
// edge refuses does not depend on the driver.
describePatchRoutes('process');
