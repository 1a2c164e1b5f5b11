/*
 * Quick open and search across files through the API, against a real edge and runner on both
 * drivers: the real `git ls-files` and `rg` run inside the workspace. The index follows the
 * runner's own writes without a listing; .gitignore'd files stay out, untracked ones are in;
 * searches honour regex, case, whole-word, globs and caps, and stream; replace goes through the
 * patch API, all files or none.
 */
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { replaceInFile } from '../../web/src/ide/search/replace-diff.ts';
import { DRIVER_KINDS, type Rig, readSse, startRig } from '../harness/runner-rig.ts';

const SETUP = [
  'set -e',
  'git init -q -b main',
  'git config user.email t@example.com && git config user.name t',
  "printf 'dist/\\n*.log\\n' > .gitignore",
  'mkdir -p src/helpers docs dist',
  "printf 'export const hello = 1;\\nconst Hello2 = hello;\\n// say HELLO world\\n' > src/index.ts",
  'printf \'export function indexedDb() { return "hello there"; }\\n\' > src/helpers/indexed-db.ts',
  "printf 'hello docs\\nhelloworld\\n' > docs/guide.md",
  "printf 'hello from the build\\n' > dist/bundle.js",
  "printf 'hello log\\n' > debug.log",
  'git add -A && git commit -qm init',
  "printf 'hello untracked\\n' > src/untracked-note.ts",
].join('\n');

for (const kind of DRIVER_KINDS) {
  describe(`quick open and search (${kind} driver)`, () => {
    let rig: Rig;
    let ws: string;
    const api = (method: string, path: string, body?: unknown) =>
      rig.admin.request(method, path, body, { bearer: true });
    const find = async (q: string, limit?: number) => {
      const res = await api(
        'GET',
        `/api/workspaces/${ws}/files/find?q=${encodeURIComponent(q)}${limit ? `&limit=${limit}` : ''}`,
      );
      assert.equal(res.status, 200, JSON.stringify(res.body));
      return res.body as {
        results: Array<{ path: string; positions: number[] }>;
        total: number;
        source: string;
      };
    };
    const paths = async (q: string) => (await find(q, 200)).results.map((r) => r.path);
    async function run(command: string) {
      const started = await api('POST', `/api/workspaces/${ws}/execute`, { command, timeoutMs: 60_000 });
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const events = await readSse(
        await rig.http(`/api/workspaces/${ws}/executions/${started.body.executionId}/events`, {
          headers: { authorization: `Bearer ${rig.admin.accessToken}` },
        }),
      );
      const exit = JSON.parse(events.find((e) => e.event === 'exit')!.data);
      assert.equal(exit.exitCode, 0, JSON.stringify(events));
    }
    async function search(body: Record<string, unknown>) {
      const started = await api('POST', `/api/workspaces/${ws}/search`, body);
      assert.equal(started.status, 202, JSON.stringify(started.body));
      const events = await readSse(
        await rig.http(`/api/workspaces/${ws}/search/${started.body.searchId}/events`, {
          headers: { authorization: `Bearer ${rig.admin.accessToken}` },
        }),
      );
      // Entries join into lines of JSON, one file per line (an entry may end inside a line).
      const files = events
        .filter((e) => e.event === 'file')
        .map((e) => e.data)
        .join('')
        .split('\n')
        .filter(Boolean)
        .map((line) => JSON.parse(line));
      const done = JSON.parse(events.at(-1)!.data);
      assert.equal(events.at(-1)!.event, 'done');
      const byPath = new Map<string, Array<{ line: number; text: string; ranges: number[][] }>>(
        files.map((f) => [f.path, f.matches]),
      );
      return { events, files, done, byPath };
    }

    before(async () => {
      // No listing in the background: what the index shows after a write comes from the write.
      rig = await startRig(kind, { runnerEnv: { KEEL_QUICK_OPEN_MAX_AGE_SECONDS: '3600' } });
      const created = await api('POST', '/api/workspaces', { name: 'search' });
      ws = created.body.id;
      await rig.waitForStatus(rig.admin, ws, 'running');
      await run(SETUP);
    });
    after(async () => {
      await rig?.close();
    });

    test('quick open lists Git files and untracked ones, never ignored ones, best match first', async () => {
      const all = await find('', 200);
      assert.equal(all.source, 'git');
      const names = all.results.map((r) => r.path).sort();
      assert.deepEqual(names, [
        '.gitignore',
        'docs/guide.md',
        'src/helpers/indexed-db.ts',
        'src/index.ts',
        'src/untracked-note.ts',
      ]);
      const index = await find('index');
      assert.equal(index.results[0]?.path, 'src/index.ts', 'the file named so beats a longer one');
      assert.deepEqual(index.results[0]?.positions, [4, 5, 6, 7, 8]);
      assert.equal((await find('shidx')).results[0]?.path, 'src/helpers/indexed-db.ts');
      assert.deepEqual(await paths('idb'), ['src/helpers/indexed-db.ts']);
      assert.deepEqual(await paths('zzz'), []);
    });

    test('the index follows writes, renames and deletes through the API at once, and commands after they end', async () => {
      await find('');
      const put = await api(
        'PUT',
        `/api/workspaces/${ws}/files?path=${encodeURIComponent('src/brandNewWidget.ts')}`,
        {
          content: 'export {};\n',
        },
      );
      assert.equal(put.status, 200);
      assert.deepEqual(await paths('brandnew'), ['src/brandNewWidget.ts']);
      const moved = await api('POST', `/api/workspaces/${ws}/files/rename`, {
        from: 'src/brandNewWidget.ts',
        to: 'src/renamed-widget.ts',
      });
      assert.equal(moved.status, 200, JSON.stringify(moved.body));
      assert.deepEqual(await paths('brandnew'), []);
      assert.deepEqual(await paths('renamedwidget'), ['src/renamed-widget.ts']);
      const removed = await api('DELETE', `/api/workspaces/${ws}/files?path=src/renamed-widget.ts`);
      assert.equal(removed.status, 204);
      assert.deepEqual(await paths('renamed'), []);
      // A command changes files behind the runner's file layer: its end makes the index list again.
      await run('echo x > made-by-a-command.txt && echo y > dist/ignored-output.txt');
      assert.deepEqual(await paths('madebyacommand'), ['made-by-a-command.txt']);
      assert.deepEqual(await paths('ignoredoutput'), []);
      // A tracked file deleted behind Git's back is still in its index, not in the folder.
      await run('rm docs/guide.md');
      assert.deepEqual(await paths('docsguide'), []);
      await run('git checkout -- docs/guide.md');
      assert.deepEqual(await paths('docsguide'), ['docs/guide.md']);
    });

    test('search finds literal, case-sensitive, whole-word and regex matches and honours .gitignore', async () => {
      const plain = await search({ query: 'hello' });
      assert.equal(plain.done.error, undefined);
      assert.equal(plain.done.truncated, null);
      assert.deepEqual([...plain.byPath.keys()].sort(), [
        'docs/guide.md',
        'src/helpers/indexed-db.ts',
        'src/index.ts',
        'src/untracked-note.ts',
      ]);
      const index = plain.byPath.get('src/index.ts')!;
      assert.deepEqual(
        index.map((m) => m.line),
        [1, 2, 3],
      );
      assert.deepEqual(index[1]!.ranges, [
        [6, 11],
        [15, 20],
      ]);
      assert.equal(plain.done.matches, 8);

      const cased = await search({ query: 'Hello', caseSensitive: true });
      assert.deepEqual([...cased.byPath.keys()], ['src/index.ts']);
      assert.equal(cased.done.matches, 1);

      const word = await search({ query: 'hello', wholeWord: true, include: ['docs/**'] });
      assert.deepEqual(
        word.byPath.get('docs/guide.md')!.map((m) => m.line),
        [1],
        '"helloworld" is not the word',
      );

      const regex = await search({ query: 'hel+o\\s+(docs|there)', regex: true });
      assert.deepEqual([...regex.byPath.keys()].sort(), ['docs/guide.md', 'src/helpers/indexed-db.ts']);
      const notRegex = await search({ query: 'hel+o' });
      assert.equal(notRegex.done.matches, 0, 'without regex, the pattern is literal');

      const bad = await search({ query: '(unclosed', regex: true });
      assert.match(bad.done.error, /regex parse error|unclosed/);
    });

    test('search honours include and exclude globs, and its caps', async () => {
      const included = await search({ query: 'hello', include: ['src/**'], exclude: ['**/helpers/**'] });
      assert.deepEqual([...included.byPath.keys()].sort(), ['src/index.ts', 'src/untracked-note.ts']);
      const excluded = await search({ query: 'hello', exclude: ['*.ts'] });
      assert.deepEqual([...excluded.byPath.keys()], ['docs/guide.md']);

      const capped = await search({ query: 'hello', maxResults: 2 });
      assert.equal(capped.done.truncated, 'matches');
      assert.ok(capped.done.matches >= 2 && capped.done.matches <= 3, JSON.stringify(capped.done));

      await run('awk \'BEGIN { for (i = 0; i < 2000; i++) print "needle " i }\' > many.txt');
      const streamed = await search({ query: 'needle', include: ['many.txt'] });
      assert.equal(streamed.done.matches, 2000);
      assert.equal(streamed.byPath.get('many.txt')!.length, 2000);

      await run("head -c 3000 /dev/zero | tr '\\0' a > long.txt && printf 'NEEDLE\\n' >> long.txt");
      const long = await search({ query: 'aNEEDLE', include: ['long.txt'] });
      const m = long.byPath.get('long.txt')![0]!;
      assert.ok(m.text.length <= 250, 'a long line is cut to its preview');
      assert.equal(m.text.slice(m.ranges[0]![0], m.ranges[0]![1]), 'aNEEDLE');
    });

    test('patterns and globs never become ripgrep options, nor reach outside the workspace', async () => {
      await run("printf -- '--files\\n' > dashes.txt");
      const dashes = await search({ query: '--files' });
      assert.deepEqual([...dashes.byPath.keys()], ['dashes.txt'], 'searched for, not obeyed');
      const pre = await search({ query: 'hello', include: ['--pre=/bin/sh'] });
      assert.equal(pre.done.matches, 0, 'a glob that looks like an option is a glob');
      for (const body of [
        { query: 'x', include: ['../etc/**'] },
        { query: 'x', include: ['/etc/**'] },
        { query: 'x', exclude: ['a/../../b'] },
        { query: 'x', include: ['!src/**'] },
        { query: 'x', include: ['a\\b'] },
        { query: 'x', include: ['a\nb'] },
        { query: 'x', include: Array.from({ length: 21 }, (_, i) => `g${i}`) },
        { query: '' },
        { query: 'x'.repeat(1001) },
        { query: 'a\u0000b' },
        { query: 'x', maxResults: 0 },
        { query: 'x', maxResults: 20_001 },
        { query: 'x', regex: 'yes' },
        { query: 'x', extra: true },
        'not an object',
      ]) {
        const res = await api('POST', `/api/workspaces/${ws}/search`, body);
        assert.ok(res.status >= 400 && res.status < 500, `${JSON.stringify(body)} → ${res.status}`);
        assert.equal(typeof res.body.error?.code, 'string');
        assert.equal(typeof res.body.error?.requestId, 'string');
      }
      for (const q of [`?q=${'x'.repeat(257)}`, '?q=a&limit=0', '?q=a&limit=201', '?q=a&limit=x', '?q=%00']) {
        const res = await api('GET', `/api/workspaces/${ws}/files/find${q}`);
        assert.ok(res.status >= 400 && res.status < 500, `${q} → ${res.status}`);
        assert.equal(typeof res.body.error?.code, 'string');
      }
      for (const id of ['sch_aaaaaaaaaaaaaaaaaaaa', 'nope', '..', 'exe_aaaaaaaaaaaaaaaaaaaa']) {
        const res = await api('GET', `/api/workspaces/${ws}/search/${id}/events`);
        assert.equal(res.status, 404, id);
        assert.equal(res.body.error.code, 'not_found');
      }
    });

    test('replace all applies through the patch API, all files or none', async () => {
      await run(
        "mkdir -p r && printf 'alpha one\\nkeep\\nalpha two\\n' > r/a.txt && printf 'x\\nalpha\\n' > r/b.txt",
      );
      const opts = { query: 'alpha', regex: false, caseSensitive: true, wholeWord: true };
      const found = await search({ ...opts, include: ['r/**'] });
      const read = async (path: string) =>
        (await api('GET', `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`)).body;
      const plan = async () => {
        const files = await Promise.all([...found.byPath.keys()].sort().map(read));
        const changes = files.map((f) => ({ f, r: replaceInFile(f.path, f.content, opts, 'beta') }));
        return {
          patch: changes.map((c) => c.r.diff).join(''),
          expected: Object.fromEntries(changes.map((c) => [c.f.path, c.f.sha256])),
        };
      };
      // A file changed between the preview and the apply: refused, nothing written.
      const stale = await plan();
      await run("printf 'x\\nalpha\\nchanged meanwhile\\n' > r/b.txt");
      const refused = await api('POST', '/api/patch/apply', { workspaceId: ws, ...stale });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.equal((await read('r/a.txt')).content, 'alpha one\nkeep\nalpha two\n', 'untouched');

      const fresh = await plan();
      const applied = await api('POST', '/api/patch/apply', { workspaceId: ws, ...fresh });
      assert.equal(applied.status, 200, JSON.stringify(applied.body));
      assert.equal((await read('r/a.txt')).content, 'beta one\nkeep\nbeta two\n');
      assert.equal((await read('r/b.txt')).content, 'x\nbeta\nchanged meanwhile\n');
    });

    test('someone else’s workspace is a 404; a viewer may search and find but not replace', async () => {
      const dev = await rig.member('developer', `dev-${kind}@example.com`);
      for (const [method, path, body] of [
        ['GET', `/api/workspaces/${ws}/files/find?q=a`, undefined],
        ['POST', `/api/workspaces/${ws}/search`, { query: 'hello' }],
      ] as const) {
        const res = await dev.request(method, path, body, { bearer: true });
        assert.equal(res.status, 404, `${method} ${path}`);
        assert.equal(res.body.error.code, 'not_found');
      }
      const started = await api('POST', `/api/workspaces/${ws}/search`, { query: 'hello' });
      const theirs = await dev.request(
        'GET',
        `/api/workspaces/${ws}/search/${started.body.searchId}/events`,
        undefined,
        {
          bearer: true,
        },
      );
      assert.equal(theirs.status, 404);

      const viewer = await rig.member('viewer', `viewer-${kind}@example.com`);
      // A viewer sees only workspaces it may read: the admin's are not among them.
      const hidden = await viewer.request('GET', `/api/workspaces/${ws}/files/find?q=a`, undefined, {
        bearer: true,
      });
      assert.equal(hidden.status, 404);
      // A developer's own workspace, then the developer made a viewer: reading stays, writing goes.
      const made = await dev.request('POST', '/api/workspaces', { name: 'owned' }, { bearer: true });
      assert.equal(made.status, 201, JSON.stringify(made.body));
      const own = made.body.id as string;
      await rig.waitForStatus(dev, own, 'running');
      const me = await dev.request('GET', '/api/auth/me', undefined, { bearer: true });
      const demoted = await api('PATCH', `/api/admin/members/${me.body.user.id}`, { role: 'viewer' });
      assert.equal(demoted.status, 200, JSON.stringify(demoted.body));
      const found = await dev.request('GET', `/api/workspaces/${own}/files/find?q=`, undefined, {
        bearer: true,
      });
      assert.equal(found.status, 200, JSON.stringify(found.body));
      const searched = await dev.request(
        'POST',
        `/api/workspaces/${own}/search`,
        { query: 'x' },
        { bearer: true },
      );
      assert.equal(searched.status, 202, JSON.stringify(searched.body));
      const replace = await dev.request(
        'POST',
        '/api/patch/apply',
        { workspaceId: own, patch: '--- a/x\n+++ b/x\n@@ -1 +1 @@\n-a\n+b\n' },
        { bearer: true },
      );
      assert.equal(replace.status, 403);
      assert.equal(replace.body.error.code, 'forbidden');
    });

    test('without a Git repository, quick open walks the folder and still honours .gitignore', async () => {
      await run("rm -rf .git && printf 'x\\n' > dist/walked.txt && printf 'y\\n' > kept-by-walk.txt");
      const all = await find('', 200);
      assert.equal(all.source, 'walk');
      const names = all.results.map((r) => r.path);
      assert.ok(names.includes('kept-by-walk.txt') && names.includes('src/index.ts'), names.join(' '));
      assert.ok(!names.some((p) => p.startsWith('dist/') || p.endsWith('.log')), names.join(' '));
    });
  });
}
