import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { LSP_MESSAGE_MAX_BYTES } from '@keel/contract/lsp';
import { memberships, organizations, users } from '@keel/drizzle/schema';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { DockerDriver } from '../../runners/src/workloads/docker.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { waitFor } from '../harness/ports.ts';
import { DRIVER_KINDS, type DriverKind, type Rig, startRig } from '../harness/runner-rig.ts';
import { repoRoot } from '../runner/docker-helper.ts';
import { connectLsp, type LspSocket, refusedLspStatus } from './lsp-client.ts';

/**
 * Language servers in the workspace through a whole Keel (edge on a port, real Redis, a real runner
 * with each local driver): the real typescript-language-server, pyright and the JSON server, run
 * inside the workspace, reached over the LSP WebSocket.
 */

const PASSWORD = 'correct horse battery staple';
const IDLE_SECONDS = 3;
/**
 * The docker driver runs a tag of the workspace image of this test's own, built by the same script:
 * test files that share the Docker engine cannot then swap the default tag under it.
 */
const IMAGE = 'keel-workspace:lsp-test';

const MATH = `export interface Point {\n  x: number;\n  y: number;\n}\n\nexport function distance(a: Point, b: Point): number {\n  return Math.hypot(a.x - b.x, a.y - b.y);\n}\n`;
const MAIN = `import { distance, type Point } from './math';\n\nconst origin: Point = { x: 0, y: 0 };\nexport const d = distance(origin, { x: 3, y: 4 });\nconst broken: number = 'not a number';\norigin.\n`;

async function otherOrganization(rig: Rig, tag: string): Promise<BrowserClient> {
  const db = rig.app.services.db;
  const now = new Date();
  const orgId = `org_${tag}lspbbbbbbbbbbbbbbbb`;
  const userId = `usr_${tag}lspbbbbbbbbbbbbbbbb`;
  await db.insert(organizations).values({ id: orgId, name: 'Other', createdAt: now });
  await db.insert(users).values({
    id: userId,
    email: `lsp-other-${tag}@example.org`,
    name: 'Other',
    passwordHash: await hashPassword(PASSWORD),
    createdAt: now,
  });
  await db.insert(memberships).values({ userId, organizationId: orgId, role: 'super_admin', createdAt: now });
  const other = new BrowserClient(rig.http);
  const login = await other.request('POST', '/api/auth/login', {
    email: `lsp-other-${tag}@example.org`,
    password: PASSWORD,
  });
  assert.equal(login.status, 200);
  return other;
}

/** Language-server processes of this workspace on the runner's host (process) or in its container (docker). */
function serverProcesses(kind: DriverKind, workspaceId: string, marker: string): number {
  if (kind === 'docker') {
    const out = execFileSync('docker', ['top', `keel-ws-${workspaceId}`, '-eo', 'pid,args'], {
      encoding: 'utf8',
    });
    // The program itself (`node …`), not a shell whose command line names it.
    return out
      .split('\n')
      .map((line) => line.trim().split(/\s+/).slice(1))
      .filter((argv) => /(^|\/)node$/.test(argv[0] ?? '') && argv.some((a) => a.includes(marker))).length;
  }
  let count = 0;
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.endsWith('node') || !argv.some((a) => a.includes(marker))) continue;
      if (readFileSync(`/proc/${pid}/mountinfo`, 'utf8').includes(`/${workspaceId}/`)) count++;
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return count;
}

function position(text: string, needle: string, offset = 0): { line: number; character: number } {
  const at = text.indexOf(needle) + offset;
  assert.ok(at >= offset, `${needle} is in the text`);
  const before = text.slice(0, at).split('\n');
  return { line: before.length - 1, character: before[before.length - 1]!.length };
}

for (const kind of DRIVER_KINDS) {
  describe(`language servers in the workspace (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    const sockets: LspSocket[] = [];
    const keep = (s: LspSocket) => {
      sockets.push(s);
      return s;
    };
    const put = async (path: string, content: string) => {
      const res = await rig.admin.request(
        'PUT',
        `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`,
        { content },
        { bearer: true },
      );
      assert.ok(res.status < 300, JSON.stringify(res.body));
    };
    const uri = (path: string) => `file:///workspace/${path}`;

    before(async () => {
      if (kind === 'docker') {
        execFileSync(`${repoRoot}/scripts/build-workspace-image`, {
          env: { ...process.env, KEEL_WORKSPACE_IMAGE: IMAGE },
          stdio: 'ignore',
        });
      }
      rig = await startRig(kind, {
        runnerEnv: { KEEL_RUNNER_LSP_IDLE_SECONDS: String(IDLE_SECONDS) },
        ...(kind === 'docker' ? { driver: new DockerDriver({ defaultImage: IMAGE }) } : {}),
      });
      const created = await rig.admin.request('POST', '/api/workspaces', { name: 'lsp' }, { bearer: true });
      assert.equal(created.status, 201, JSON.stringify(created.body));
      ws = created.body.id;
      await rig.waitForStatus(rig.admin, ws, 'running');
      await put('src/math.ts', MATH);
      await put('src/main.ts', MAIN);
      await put(
        'tsconfig.json',
        JSON.stringify({
          compilerOptions: { strict: true, target: 'ES2022', module: 'ESNext', moduleResolution: 'Bundler' },
        }),
      );
      await put('app.py', 'def greet(name: str) -> str:\n    return "hi " + name\n\nmessage = greet("x")\n');
      await put('bad.json', '{ "a": 1, }');
    });
    after(async () => {
      for (const s of sockets) s.ws.terminate();
      await rig.close();
      if (kind === 'docker') execFileSync('docker', ['image', 'rm', '-f', IMAGE], { stdio: 'ignore' });
    });

    test('TypeScript across files: hover, definition, diagnostics, completion, rename, format', async () => {
      const lsp = keep(await connectLsp(rig.base, rig.admin, ws));
      const init = await lsp.initialize();
      assert.ok(init.result?.capabilities?.hoverProvider, JSON.stringify(init));
      await lsp.waitFor('ready', () => lsp.status() === 'ready');
      lsp.open(uri('src/main.ts'), 'typescript', MAIN);
      // Diagnostics first: they say the project (both files) is loaded.
      const diagnostics = await lsp.waitFor('diagnostics of main.ts', () =>
        lsp.notifications.find(
          (n) =>
            n.method === 'textDocument/publishDiagnostics' &&
            n.params.uri === uri('src/main.ts') &&
            n.params.diagnostics.some((d: any) => /not assignable to type 'number'/.test(d.message)),
        ),
      );
      assert.ok(diagnostics);

      const hover = await lsp.request('textDocument/hover', {
        textDocument: { uri: uri('src/main.ts') },
        position: position(MAIN, 'distance(origin', 2),
      });
      const shown = JSON.stringify(hover.result?.contents);
      assert.match(shown, /distance\(a: Point, b: Point\): number/, shown);

      const definition = await lsp.request('textDocument/definition', {
        textDocument: { uri: uri('src/main.ts') },
        position: position(MAIN, 'distance(origin', 2),
      });
      const targets = [definition.result].flat();
      assert.ok(
        targets.some((t: any) => (t.uri ?? t.targetUri) === uri('src/math.ts')),
        JSON.stringify(definition.result),
      );

      const completion = await lsp.request('textDocument/completion', {
        textDocument: { uri: uri('src/main.ts') },
        position: position(MAIN, 'origin.\n', 'origin.'.length),
        context: { triggerKind: 2, triggerCharacter: '.' },
      });
      const items = (completion.result?.items ?? completion.result ?? []) as Array<{ label: string }>;
      assert.ok(
        items.some((i) => i.label === 'x'),
        JSON.stringify(items.map((i) => i.label)),
      );

      // Renamed where it is declared: the import in the other file follows.
      lsp.open(uri('src/math.ts'), 'typescript', MATH);
      const rename = await lsp.request('textDocument/rename', {
        textDocument: { uri: uri('src/math.ts') },
        position: position(MATH, 'distance(a', 2),
        newName: 'span',
      });
      const changed = Object.keys(rename.result?.changes ?? {}).concat(
        (rename.result?.documentChanges ?? []).map((c: any) => c.textDocument.uri),
      );
      assert.ok(
        changed.includes(uri('src/main.ts')) && changed.includes(uri('src/math.ts')),
        JSON.stringify(rename.result),
      );

      lsp.open(uri('src/ugly.ts'), 'typescript', 'export   const  y=1\n');
      const format = await lsp.request('textDocument/formatting', {
        textDocument: { uri: uri('src/ugly.ts') },
        options: { tabSize: 2, insertSpaces: true },
      });
      assert.ok(Array.isArray(format.result) && format.result.length > 0, JSON.stringify(format));
      await lsp.close();
    });

    test('two connections share one server process; answers go to the asker, diagnostics to both', async () => {
      const a = keep(await connectLsp(rig.base, rig.admin, ws));
      const b = keep(await connectLsp(rig.base, rig.admin, ws));
      await a.initialize();
      await b.initialize();
      a.open(uri('src/main.ts'), 'typescript', MAIN);
      b.open(uri('src/main.ts'), 'typescript', MAIN);
      // The same id from both tabs: each gets its own answer.
      const [ha, hb] = await Promise.all([
        a.requestWithId(77, 'textDocument/hover', {
          textDocument: { uri: uri('src/main.ts') },
          position: position(MAIN, 'distance(origin', 2),
        }),
        b.requestWithId(77, 'textDocument/hover', {
          textDocument: { uri: uri('src/main.ts') },
          position: position(MAIN, 'origin: Point', 1),
        }),
      ]);
      assert.match(JSON.stringify(ha.result), /distance/);
      assert.match(JSON.stringify(hb.result), /origin/);
      for (const s of [a, b]) {
        await s.waitFor('diagnostics', () =>
          s.notifications.find((n) => n.method === 'textDocument/publishDiagnostics'),
        );
      }
      assert.equal(serverProcesses(kind, ws, 'typescript-language-server'), 1);
      await a.close();
      await b.close();
    });

    test('pyright hovers in a .py file; the JSON server validates a file', async () => {
      const pyText = 'def greet(name: str) -> str:\n    return "hi " + name\n\nmessage = greet("x")\n';
      const py = keep(await connectLsp(rig.base, rig.admin, ws, { language: 'python' }));
      await py.initialize();
      py.open(uri('app.py'), 'python', pyText);
      const hover = await py.request('textDocument/hover', {
        textDocument: { uri: uri('app.py') },
        position: position(pyText, 'greet("x")', 1),
      });
      assert.match(
        JSON.stringify(hover.result?.contents),
        /greet\(name: str\) -> str/,
        JSON.stringify(hover),
      );
      await py.close();

      const json = keep(await connectLsp(rig.base, rig.admin, ws, { language: 'json' }));
      await json.initialize();
      json.open(uri('bad.json'), 'json', '{ "a": 1, }');
      const found = await json.waitFor('JSON diagnostics', () =>
        json.notifications.find(
          (n) =>
            n.method === 'textDocument/publishDiagnostics' &&
            n.params.uri === uri('bad.json') &&
            n.params.diagnostics.length > 0,
        ),
      );
      assert.match(JSON.stringify(found.params.diagnostics), /Trailing comma/i);
      await json.close();
    });

    test('bad input: an oversized message, non-JSON, a URI outside /workspace', async () => {
      const lsp = keep(await connectLsp(rig.base, rig.admin, ws));
      await lsp.initialize();
      const refused = await lsp.request('textDocument/hover', {
        textDocument: { uri: 'file:///etc/passwd' },
        position: { line: 0, character: 0 },
      });
      assert.equal(refused.error?.code, -32602);
      assert.match(refused.error!.message, /file:\/\/\/workspace/);
      lsp.open('file:///workspace/../etc/passwd', 'plaintext', 'x');
      await lsp.waitFor(
        'a refusal',
        () => lsp.errors().filter((e) => e.code === 'uri_outside_workspace').length >= 2,
      );
      // Still usable after a refusal of what a message says.
      const ok = await lsp.request('textDocument/hover', {
        textDocument: { uri: uri('src/main.ts') },
        position: { line: 0, character: 10 },
      });
      assert.equal(ok.error, undefined);

      lsp.ws.send('this is not json');
      const closed = await lsp.closed;
      assert.equal(closed.code, 1007);
      assert.ok(lsp.errors().some((e) => e.code === 'invalid_message'));

      const big = keep(await connectLsp(rig.base, rig.admin, ws));
      big.notify('textDocument/didOpen', {
        textDocument: {
          uri: uri('big.ts'),
          languageId: 'typescript',
          version: 1,
          text: 'x'.repeat(LSP_MESSAGE_MAX_BYTES),
        },
      });
      const bigClosed = await big.closed;
      assert.equal(bigClosed.code, 1009);
      assert.ok(
        big.errors().some((e) => e.code === 'message_too_large'),
        JSON.stringify(big.errors()),
      );
    });

    test('another organization and another person get 404; a viewer 403; no Origin 403', async () => {
      const other = await otherOrganization(rig, kind === 'docker' ? 'd' : 'p');
      assert.equal(await refusedLspStatus(rig.base, other, ws), 404);
      const developer = await rig.member('developer', `lsp-dev-${kind}@example.com`);
      assert.equal(await refusedLspStatus(rig.base, developer, ws), 404);
      const viewer = await rig.member('viewer', `lsp-viewer-${kind}@example.com`);
      assert.equal(await refusedLspStatus(rig.base, viewer, ws), 403);
      assert.equal(await refusedLspStatus(rig.base, rig.admin, ws, { auth: 'cookie' }), 403);
      assert.equal(await refusedLspStatus(rig.base, rig.admin, ws, { language: 'cobol' }), 422);
    });

    test('a server with no connection stops after the idle time', async () => {
      const lsp = keep(await connectLsp(rig.base, rig.admin, ws, { language: 'json' }));
      await lsp.initialize();
      await lsp.waitFor('ready', () => lsp.status() === 'ready');
      assert.equal(serverProcesses(kind, ws, 'vscode-json-language-server'), 1);
      await lsp.close();
      await waitFor(
        'the JSON server to stop',
        async () => serverProcesses(kind, ws, 'vscode-json-language-server') === 0 || undefined,
        (IDLE_SECONDS + 20) * 1000,
        250,
      );
    });
  });
}
