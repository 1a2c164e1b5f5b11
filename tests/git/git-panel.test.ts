import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { memberships, organizations, users } from '@keel/drizzle/schema';
import { hashPassword } from '../../edge/src/auth/password.ts';
import { BrowserClient } from '../harness/browser-client.ts';
import { type GitHostStandin, startGitHostStandin } from '../harness/git-host-standin.ts';
import { type Rig, startRig } from '../harness/runner-rig.ts';

const TOKEN = 'ghp_gitPanelSecretToken0123456789';
const LINES = Array.from({ length: 30 }, (_, i) => `line ${i + 1}`);

/**
 * The IDE's source control against real git in each driver's workspace, a real runner and edge,
 * and a Git host stand-in (real `git http-backend` behind Basic auth) as the remote.
 */
for (const kind of ['process', 'docker'] as const) {
  describe(`Git panel: status, hunks, commit, branches, fetch, pull, push (${kind} driver, Git host stand-in)`, () => {
    let rig: Rig;
    let host: GitHostStandin;
    let id: string;
    const api = (c: BrowserClient, method: string, path: string, body?: unknown) =>
      c.request(method, `/api/workspaces/${id}/git/${path}`, body, { bearer: true });
    const ok = async (method: string, path: string, body?: unknown) => {
      const res = await api(rig.admin, method, path, body);
      assert.equal(res.status, 200, `${method} ${path}: ${JSON.stringify(res.body)}`);
      return res.body;
    };
    /** A shell command in the workspace, as its person runs them. */
    const sh = async (script: string) => {
      const handle = rig.driver.exec(id, { argv: ['sh', '-c', script] });
      let out = '';
      let err = '';
      handle.stdout.on('data', (d: Buffer) => (out += d));
      handle.stderr.on('data', (d: Buffer) => (err += d));
      const done = await handle.done;
      assert.equal(done.exitCode, 0, `${script}: ${err}`);
      return out;
    };
    /** A commit on the host's `main` made elsewhere, as a colleague's push. */
    const remoteCommit = (file: string, text: string) => {
      const dir = mkdtempSync(join(tmpdir(), 'keel-git-panel-colleague-'));
      const env = {
        PATH: '/usr/local/bin:/usr/bin:/bin',
        HOME: dir,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_AUTHOR_NAME: 'Colleague',
        GIT_AUTHOR_EMAIL: 'colleague@example.com',
        GIT_COMMITTER_NAME: 'Colleague',
        GIT_COMMITTER_EMAIL: 'colleague@example.com',
      };
      try {
        execFileSync('git', ['clone', '-q', join(host.root, 'private.git'), 'c'], { cwd: dir, env });
        writeFileSync(join(dir, 'c', file), text);
        execFileSync('git', ['add', '-A'], { cwd: join(dir, 'c'), env });
        execFileSync('git', ['commit', '-qm', `colleague changes ${file}`], { cwd: join(dir, 'c'), env });
        execFileSync('git', ['push', '-q', 'origin', 'main'], { cwd: join(dir, 'c'), env });
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    };

    before(async () => {
      host = await startGitHostStandin({ username: 'x-access-token', token: TOKEN });
      rig = await startRig(kind);
      const kept = await rig.admin.request(
        'PUT',
        '/api/account/git-credentials',
        { host: host.host, token: TOKEN },
        { bearer: true },
      );
      assert.equal(kept.status, 201, JSON.stringify(kept.body));
      const made = await rig.admin.request(
        'POST',
        '/api/workspaces',
        { name: `git-panel-${kind}`, source: { type: 'git', url: host.url('private.git') } },
        { bearer: true },
      );
      assert.equal(made.status, 201, JSON.stringify(made.body));
      id = made.body.id;
      await rig.waitForStatus(rig.admin, id, 'running', 120_000);
    });
    after(async () => {
      await rig?.close();
      await host?.close();
    });

    test('status lists edits, staged and untracked files with their letters', async () => {
      const clean = await ok('GET', 'status');
      assert.equal(clean.branch, 'main');
      assert.equal(clean.upstream, 'origin/main');
      assert.deepEqual(clean.files, []);
      await sh(
        'echo more >> README.md && printf "new\\n" > "new file.txt" && mkdir -p src && echo x > src/a.ts',
      );
      const st = await ok('GET', 'status');
      const byPath = Object.fromEntries(st.files.map((f: any) => [f.path, f]));
      assert.deepEqual(byPath['README.md'], {
        path: 'README.md',
        index: '.',
        worktree: 'M',
        kind: 'changed',
      });
      assert.equal(byPath['new file.txt'].kind, 'untracked');
      assert.equal(byPath['src/a.ts'].kind, 'untracked', 'untracked folders are listed file by file');
      await ok('POST', 'stage', { paths: ['new file.txt', 'README.md'] });
      const staged = await ok('GET', 'status');
      const after = Object.fromEntries(staged.files.map((f: any) => [f.path, `${f.index}${f.worktree}`]));
      assert.equal(after['README.md'], 'M.');
      assert.equal(after['new file.txt'], 'A.');
      await ok('POST', 'unstage', { paths: ['README.md', 'new file.txt'] });
      await ok('POST', 'discard', { paths: ['README.md', 'new file.txt', 'src/a.ts'] });
      assert.deepEqual((await ok('GET', 'status')).files, []);
    });

    test('a staged hunk leaves the other hunk unstaged; a commit’s author is the person’s profile', async () => {
      await sh(`printf '${LINES.join('\\n')}\\n' > lines.txt`);
      await ok('POST', 'stage', { paths: ['lines.txt'] });
      const first = await ok('POST', 'commit', { message: 'Add lines' });
      assert.match(first.commit, /^[0-9a-f]{40}$/);
      assert.equal(first.summary, 'Add lines');
      await sh("sed -i -e 's/^line 2$/line two/' -e 's/^line 28$/line twenty-eight/' lines.txt");
      const unstaged = await ok('GET', 'diff?path=lines.txt');
      assert.equal(unstaged.hunks.length, 2, JSON.stringify(unstaged.hunks));
      assert.match(unstaged.original, /^line 2$/m);
      assert.match(unstaged.modified, /^line two$/m);
      await ok('POST', 'stage-hunk', { path: 'lines.txt', hunk: unstaged.hunks[0].id });
      const staged = await ok('GET', 'diff?path=lines.txt&staged=true');
      assert.equal(staged.hunks.length, 1);
      assert.match(staged.modified, /^line two$/m);
      assert.match(staged.modified, /^line 28$/m, 'the other hunk is not staged');
      const rest = await ok('GET', 'diff?path=lines.txt');
      assert.equal(rest.hunks.length, 1);
      assert.equal(rest.hunks[0].newStart > 20, true);
      // A hunk that is no longer there is refused, and unstaging the staged one works.
      const stale = await api(rig.admin, 'POST', 'stage-hunk', {
        path: 'lines.txt',
        hunk: unstaged.hunks[0].id,
      });
      assert.equal(stale.status, 409, JSON.stringify(stale.body));
      await ok('POST', 'unstage-hunk', { path: 'lines.txt', hunk: staged.hunks[0].id });
      assert.equal((await ok('GET', 'diff?path=lines.txt')).hunks.length, 2);
      await ok('POST', 'stage-hunk', { path: 'lines.txt', hunk: unstaged.hunks[0].id });

      const made = await ok('POST', 'commit', { message: 'Change line two\n\nOnly the first hunk.' });
      const log = await sh('git log -1 --format="%an <%ae>|%cn <%ce>|%B"');
      assert.equal(log.split('|')[0], 'Admin <admin@example.com>');
      assert.equal(log.split('|')[1], 'Admin <admin@example.com>');
      assert.match(log, /Only the first hunk/);
      assert.equal(made.summary, 'Change line two');
      assert.equal(
        (await sh('git config --local --get user.email || true')).trim(),
        '',
        'nothing in the config',
      );
      const st = await ok('GET', 'status');
      assert.deepEqual(
        st.files.map((f: any) => `${f.path} ${f.index}${f.worktree}`),
        ['lines.txt .M'],
        'the second hunk is still unstaged',
      );
      assert.equal(st.ahead, 2);
      const nothing = await api(rig.admin, 'POST', 'commit', { message: 'empty' });
      assert.equal(nothing.status, 409);
      assert.match(nothing.body.error.message, /Nothing is staged/);
      await ok('POST', 'discard', { paths: ['lines.txt'] });
    });

    test('a push reaches the stand-in with the token, and the token is nowhere in the workspace', async () => {
      const head = (await sh('git rev-parse HEAD')).trim();
      const pushed = await rig.admin.request('POST', `/api/workspaces/${id}/git/push`, {}, { bearer: true });
      assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
      assert.equal(pushed.body.pushed, true, pushed.body.output);
      assert.equal(host.git('private.git', 'rev-parse', 'main').trim(), head);
      assert.ok(host.seen.includes(`x-access-token:${TOKEN}`));
      const st = await ok('GET', 'status');
      assert.equal(st.ahead, 0, 'the remote-tracking branch moved with the push');
      const basic = Buffer.from(`x-access-token:${TOKEN}`).toString('base64');
      // Every file of the workspace, .git included, packed objects decompressed by grep -z too.
      const found = await sh(
        `grep -rlaF -e '${TOKEN}' -e '${basic}' /workspace 2>/dev/null || true; cd /workspace && git grep -F '${TOKEN}' $(git rev-list --all) 2>/dev/null || true`,
      );
      assert.equal(found.trim(), '', 'the token is written nowhere in the workspace');
    });

    test('a rejected push says pull first; a pull that conflicts lists the files and changes nothing', async () => {
      remoteCommit('README.md', 'colleague readme\n');
      await sh('echo "my readme" > README.md');
      await ok('POST', 'stage', { paths: ['README.md'] });
      const mine = await ok('POST', 'commit', { message: 'My readme' });
      const pushed = await rig.admin.request('POST', `/api/workspaces/${id}/git/push`, {}, { bearer: true });
      assert.equal(pushed.status, 200, JSON.stringify(pushed.body));
      assert.equal(pushed.body.pushed, false);
      assert.match(pushed.body.output, /pull first/);

      const pulled = await api(rig.admin, 'POST', 'pull', {});
      assert.equal(pulled.status, 409, JSON.stringify(pulled.body));
      assert.equal(pulled.body.error.code, 'conflict');
      assert.match(pulled.body.error.message, /conflicts .* in README\.md/);
      assert.equal((await sh('git rev-parse HEAD')).trim(), mine.commit, 'HEAD is where it was');
      assert.equal((await sh('git status --porcelain')).trim(), '', 'no merge is left half done');
      const st = await ok('GET', 'status');
      assert.equal(st.behind, 1, 'the fetch part of the pull brought the remote’s commit');

      // Back to the remote's main, then a change elsewhere merges cleanly.
      await sh('git reset -q --hard origin/main');
      remoteCommit('other.txt', 'other\n');
      await sh('echo local > local.txt && git add local.txt');
      await ok('POST', 'commit', { message: 'Local file' });
      const merged = await ok('POST', 'pull', { remote: 'origin' });
      assert.equal(merged.outcome, 'merged');
      assert.equal((await sh('cat other.txt')).trim(), 'other');
      assert.match(await sh('git log -1 --format=%an'), /Admin/);
      const again = await ok('POST', 'pull', {});
      assert.equal(again.outcome, 'up_to_date');
      remoteCommit('third.txt', 'third\n');
      await sh('git reset -q --hard origin/main');
      const fetched = await ok('POST', 'fetch', {});
      assert.deepEqual(fetched.updated, ['origin/main']);
      assert.equal((await ok('GET', 'status')).behind, 1);
      assert.equal((await ok('POST', 'pull', {})).outcome, 'fast_forward');
      assert.equal((await sh('cat third.txt')).trim(), 'third');
    });

    test('branches: create, switch, and a switch that would lose changes is refused', async () => {
      await ok('POST', 'branches', { name: 'feature/x' });
      assert.equal((await ok('GET', 'status')).branch, 'feature/x');
      await sh('echo feature > README.md && git add README.md');
      await ok('POST', 'commit', { message: 'Feature readme' });
      await ok('POST', 'switch', { name: 'main' });
      assert.notEqual((await sh('cat README.md')).trim(), 'feature');
      const list = await ok('GET', 'branches');
      const names = list.branches.map((b: any) => `${b.remote ? 'r:' : ''}${b.name}${b.current ? '*' : ''}`);
      assert.ok(names.includes('main*'), names.join());
      assert.ok(names.includes('feature/x'), names.join());
      assert.ok(names.includes('r:origin/main'), names.join());
      await sh('echo unsaved-work > README.md');
      const refused = await api(rig.admin, 'POST', 'switch', { name: 'feature/x' });
      assert.equal(refused.status, 409, JSON.stringify(refused.body));
      assert.match(refused.body.error.message, /would lose your changes to README\.md/);
      assert.equal((await sh('cat README.md')).trim(), 'unsaved-work');
      const exists = await api(rig.admin, 'POST', 'branches', { name: 'feature/x' });
      assert.equal(exists.status, 409);
      const missing = await api(rig.admin, 'POST', 'switch', { name: 'no-such-branch' });
      assert.equal(missing.status, 404, JSON.stringify(missing.body));
      await ok('POST', 'discard', { paths: ['README.md'] });
    });

    if (kind === 'process') {
      test('viewers read but never write, others get 404, and bad input is a 4xx with the error body', async () => {
        const dev = await rig.member('developer', 'dev-git-panel@example.com');
        const viewer = await rig.member('viewer', 'viewer-git-panel@example.com');
        const otherAdmin = await rig.member('admin', 'admin2-git-panel@example.com');
        assert.equal((await api(dev, 'GET', 'status')).status, 404, 'another person’s workspace');
        assert.equal((await api(dev, 'POST', 'stage', { paths: ['README.md'] })).status, 404);
        assert.equal((await api(viewer, 'GET', 'status')).status, 404);
        assert.equal((await api(viewer, 'POST', 'commit', { message: 'x' })).status, 403);
        assert.equal((await api(viewer, 'POST', 'stage', { paths: ['a'] })).status, 403);
        assert.equal(
          (await api(otherAdmin, 'GET', 'status')).status,
          200,
          'an admin of the organization reads',
        );
        const notOwner = await api(otherAdmin, 'POST', 'fetch', {});
        assert.equal(notOwner.status, 403, 'nobody fetches with the owner’s token but the owner');

        // Another organization.
        // Another organization, made in the database (this Keel takes one signup only).
        const now = new Date();
        await rig.app.services.db
          .insert(organizations)
          .values({ id: 'org_gitpanelotherorgzzzz', name: 'Other', createdAt: now });
        await rig.app.services.db.insert(users).values({
          id: 'usr_gitpanelotherorgzzzz',
          email: 'stranger-git-panel@example.org',
          name: 'Stranger',
          passwordHash: await hashPassword('correct horse battery staple'),
          createdAt: now,
        });
        await rig.app.services.db.insert(memberships).values({
          userId: 'usr_gitpanelotherorgzzzz',
          organizationId: 'org_gitpanelotherorgzzzz',
          role: 'super_admin',
          createdAt: now,
        });
        const other = new BrowserClient(rig.http);
        const login = await other.request('POST', '/api/auth/login', {
          email: 'stranger-git-panel@example.org',
          password: 'correct horse battery staple',
        });
        assert.equal(login.status, 200, JSON.stringify(login.body));
        assert.equal((await api(other, 'GET', 'status')).status, 404, 'another organization');
        assert.equal((await api(other, 'POST', 'stage', { paths: ['README.md'] })).status, 404);

        const bad: Array<[string, string, unknown, number]> = [
          ['GET', 'diff', undefined, 422],
          ['GET', 'diff?path=../etc/passwd', undefined, 422],
          ['GET', 'diff?path=/etc/passwd', undefined, 422],
          ['GET', 'diff?path=.git/config', undefined, 422],
          ['GET', 'diff?path=a&staged=maybe', undefined, 422],
          ['POST', 'stage', {}, 422],
          ['POST', 'stage', { paths: [] }, 422],
          ['POST', 'stage', { paths: ['a/../../b'] }, 422],
          ['POST', 'stage', { paths: ['x'.repeat(5000)] }, 422],
          ['POST', 'unstage', { paths: 'README.md' }, 422],
          ['POST', 'discard', { paths: [1] }, 422],
          ['POST', 'stage-hunk', { path: 'lines.txt', hunk: 'nothex' }, 422],
          ['POST', 'unstage-hunk', { path: 'lines.txt' }, 422],
          ['POST', 'stage-hunk', { path: 'lines.txt', hunk: 'a'.repeat(64) }, 409],
          ['POST', 'commit', { message: '' }, 422],
          ['POST', 'commit', { message: '   ' }, 422],
          ['POST', 'commit', { message: 'x'.repeat(16_001) }, 422],
          ['POST', 'commit', { message: 'x', extra: true }, 422],
          ['POST', 'branches', { name: 'bad..name' }, 422],
          ['POST', 'branches', { name: '-f' }, 422],
          ['POST', 'branches', { name: 'a b' }, 422],
          ['POST', 'branches', { name: 'x.lock' }, 422],
          ['POST', 'branches', { name: 'a/.hidden' }, 422],
          ['POST', 'branches', { name: 'x@{1}' }, 422],
          ['POST', 'branches', { name: 'ok', from: '--orphan' }, 422],
          ['POST', 'switch', { name: 'HEAD~1' }, 422],
          ['POST', 'switch', {}, 422],
          ['POST', 'fetch', { remote: '--upload-pack=touch /tmp/x' }, 422],
          ['POST', 'pull', { remote: 'nope' }, 422],
        ];
        for (const [method, path, body, status] of bad) {
          const res = await api(rig.admin, method, path, body);
          assert.equal(
            res.status,
            status,
            `${method} ${path} ${JSON.stringify(body)}: ${JSON.stringify(res.body)}`,
          );
          assert.equal(typeof res.body.error.code, 'string');
          assert.equal(typeof res.body.error.message, 'string');
          assert.equal(typeof res.body.error.requestId, 'string');
        }
        const malformed = await rig.http(`/api/workspaces/${id}/git/commit`, {
          method: 'POST',
          headers: { authorization: `Bearer ${rig.admin.accessToken}`, 'content-type': 'application/json' },
          body: '{"message":',
        });
        assert.equal(malformed.status, 400);
        assert.equal(((await malformed.json()) as any).error.code, 'invalid_json');
        const unknown = await rig.admin.request(
          'GET',
          '/api/workspaces/ws_doesnotexist/git/status',
          undefined,
          {
            bearer: true,
          },
        );
        assert.equal(unknown.status, 404);
      });
    }
  });
}
