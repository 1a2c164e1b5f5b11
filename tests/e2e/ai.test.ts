/**
 * The IDE's AI features as a person uses them, in a real Chromium against the whole system started by
 * `scripts/up`, with the runner's model at a fake OpenAI-compatible server (tests/harness/fake-openai.ts)
 * standing in for vLLM: explain a selection from the editor's context menu, ask a follow-up, see a model
 * failure in words and ask again, stop an answer, lose the network under one, rewrite a selection, review
 * the diff and accept it, have a stale rewrite refused, save the conversation, and find only hashes of it
 * all in the audit trail. A second instance, whose runner has no model, shows how to configure one.
 * Screenshots go to tests/e2e/artifacts; axe checks the IDE with the panel open.
 *
 * Build the web app first: `npm run build -w @keel/web && node --import tsx --test tests/e2e/ai.test.ts`.
 */
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { BrowserClient } from '../harness/browser-client.ts';
import { FAKE_MODEL, type FakeOpenAi, startFakeOpenAi } from '../harness/fake-openai.ts';
import { freePort, waitFor } from '../harness/ports.ts';
import { aiPanel, editorContextMenu, rewriteReview, selectLines } from './support/ai-panel.ts';
import {
  describeViolations,
  launchChromium,
  type PageProblems,
  screenshot,
  seriousAccessibilityViolations,
  watchForProblems,
} from './support/browser.ts';
import { type DroppableProxy, startDroppableProxy } from './support/droppable-proxy.ts';
import { type KeelInstance, startKeel } from './support/keel-instance.ts';

const root = new URL('../..', import.meta.url).pathname;
const PASSWORD = 'correct horse battery staple';
/** Monaco's diff editor and xterm.js: third-party markup, excluded as in the IDE's own e2e test. */
const THIRD_PARTY = ['.monaco-diff-editor', '.xterm'];

/**
 * Text that must never reach the audit trail: in the file, the question, the instruction and the answers.
 * Random per run, so a match can only come from this run's content.
 */
const tag = randomBytes(4).toString('hex');
const CANARY = {
  file: `canary-file-${tag}`,
  question: `canary-question-${tag}`,
  instruction: `canary-instruction-${tag}`,
  explanation: `canary-explanation-${tag}`,
  reply: `canary-reply-${tag}`,
  /** What the model server says in an error body: the runner never passes it on. */
  upstream: `canary-upstream-${tag}`,
};

const FILE = 'greet.js';
const ORIGINAL = [
  `// ${CANARY.file}`,
  'function greet(name) {',
  "  return 'Hello, ' + name;",
  '}',
  'module.exports = { greet };',
  '',
].join('\n');
// biome-ignore lint/suspicious/noTemplateCurlyInString: JavaScript the rewrite puts into the file, not a template here.
const REWRITTEN_BODY = ['function greet(name) {', '  return `Hello, ${name}!`;', '}'];
const REWRITTEN = [`// ${CANARY.file}`, ...REWRITTEN_BODY, 'module.exports = { greet };', ''].join('\n');

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

/** A test whose failure leaves a screenshot of the page as it was, named after the step. */
function step(page: () => Page, name: string, body: () => Promise<void>): void {
  test(name, async () => {
    try {
      await body();
    } catch (error) {
      await screenshot(page(), `failed-ai-${name.replace(/[^a-z0-9]+/gi, '-').slice(0, 60)}`).catch(() => {});
      throw error;
    }
  });
}

async function expectAccessible(page: Page, name: string): Promise<void> {
  const violations = await seriousAccessibilityViolations(page, THIRD_PARTY);
  assert.equal(
    violations.length,
    0,
    `${name}: serious accessibility problems\n${describeViolations(violations)}`,
  );
}

/** The text Monaco shows (it renders spaces as non-breaking ones). */
async function editorText(page: Page): Promise<string> {
  const text = (await page.locator('.code-editor .view-lines').textContent()) ?? '';
  return text.replace(/\u00a0/g, ' ');
}

/** Signs up in the browser (the first account becomes the organization's super_admin). */
async function signUp(page: Page, base: string, email: string): Promise<void> {
  await page.goto(`${base}/sign-up`);
  await page.getByLabel('Your name').fill('Grace Hopper');
  await page.getByLabel('Email').fill(email);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Create account' }).click();
  await page.getByRole('heading', { name: 'Workspaces' }).waitFor();
}

/** Creates an empty workspace from the list and waits until it runs. */
async function createWorkspace(page: Page, name: string): Promise<void> {
  await page.getByRole('button', { name: 'New workspace' }).click();
  const dialog = page.getByRole('dialog', { name: 'New workspace' });
  await dialog.getByLabel('Name').fill(name);
  await dialog.getByRole('button', { name: 'Create workspace' }).click();
  await page
    .getByRole('listitem', { name })
    .getByText('Running', { exact: true })
    .waitFor({ timeout: 60_000 });
}

/** The same person over the API, for what the test checks behind the page: files on disk, the audit. */
async function apiClient(base: string, email: string): Promise<BrowserClient> {
  const client = new BrowserClient((path, init) => fetch(new URL(path, base), init));
  const res = await client.request('POST', '/api/auth/login', { email, password: PASSWORD });
  assert.equal(res.status, 200, `login: ${JSON.stringify(res.body)}`);
  return client;
}

/**
 * Waits until the instance's runner is online (scripts/up is ready once the edge is; the runner registers
 * a moment later) and returns whether it advertises a model.
 */
async function runnerOnline(api: BrowserClient): Promise<{ configured: boolean; model: string | null }> {
  return waitFor(
    'the local runner to come online',
    async () => {
      const res = await api.request('GET', '/api/admin/runners', undefined, { bearer: true });
      const online = (res.body?.runners ?? []).find((r: { status: string }) => r.status === 'online');
      return online ? (online.stats?.ai ?? { configured: false, model: null }) : undefined;
    },
    60_000,
    250,
  );
}

interface AuditEventJson {
  action: string;
  outcome: string;
  workspaceId: string | null;
  metadata: Record<string, unknown>;
}

describe('the AI panel, end to end, with a fake OpenAI-compatible server standing in for vLLM', {
  timeout: 300_000,
}, () => {
  let fake: FakeOpenAi;
  let keel: KeelInstance;
  /** The browser reaches Keel through this relay, so the test can cut the network under an answer. */
  let proxy: DroppableProxy;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let problems: PageProblems;
  let api: BrowserClient;
  let workspaceId: string;
  const email = 'grace@example.com';
  const current = () => page;

  before(async () => {
    assert.ok(
      existsSync(join(root, 'web/dist/index.html')),
      'build the web app first: npm run build -w @keel/web',
    );
    fake = await startFakeOpenAi({ fallback: { status: 500, errorMessage: 'no reply was scripted' } });
    const port = await freePort();
    proxy = await startDroppableProxy(port);
    [keel, browser] = await Promise.all([
      startKeel({
        port,
        env: {
          // The origin the browser sends is the relay's: CSRF checks hold writes to the public URL.
          KEEL_PUBLIC_URL: proxy.url,
          KEEL_AI_BASE_URL: fake.baseUrl,
          KEEL_AI_MODEL: FAKE_MODEL,
          // The bubblewrap sandbox, not a Docker engine other test runs share (see ide.test.ts).
          KEEL_RUNNER_DRIVER: 'process',
        },
      }),
      launchChromium(),
    ]);
    context = await browser.newContext({ viewport: { width: 1440, height: 900 }, colorScheme: 'light' });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
    await proxy?.close();
    await fake?.close();
  });

  step(current, 'a workspace with a file opens in the IDE, the panel naming the model', async () => {
    await signUp(page, proxy.url, email);
    api = await apiClient(keel.base, email);
    assert.deepEqual(await runnerOnline(api), { configured: true, model: FAKE_MODEL });
    await createWorkspace(page, 'ai');
    const list = await api.request('GET', '/api/workspaces', undefined, { bearer: true });
    workspaceId = list.body.workspaces.find((w: { name: string }) => w.name === 'ai').id;
    const written = await api.request(
      'PUT',
      `/api/workspaces/${workspaceId}/files?path=${FILE}`,
      { content: ORIGINAL },
      { bearer: true },
    );
    assert.equal(written.status, 200, JSON.stringify(written.body));

    await page.getByRole('button', { name: 'Open ai' }).click();
    await page.getByRole('heading', { name: 'ai', level: 1 }).waitFor();
    await page.getByRole('treeitem', { name: FILE }).click();
    await page.locator('.code-editor .monaco-editor').waitFor({ timeout: 60_000 });
    await page.waitForFunction(
      (marker) => document.querySelector('.code-editor .view-lines')?.textContent?.includes(marker),
      CANARY.file,
    );
    const ai = aiPanel(page);
    await ai.open();
    await ai.panel.getByText(FAKE_MODEL, { exact: true }).waitFor();
  });

  step(
    current,
    'Explain selection streams a Markdown answer, code block included, into the panel',
    async () => {
      fake.enqueue({
        tokens: [
          '`greet` **builds a greeting** ',
          'for the name it is given.\n\n',
          '```js\n',
          "greet('Ada'); // 'Hello, Ada'\n",
          '```\n\n',
          `It is exported for other modules (${CANARY.explanation}).`,
        ],
        tokenDelayMs: 40,
      });
      await selectLines(page, 2, 4);
      await editorContextMenu(page, 'Explain selection', 2);

      const ai = aiPanel(page);
      await ai.settled();
      await ai.turns.last().getByText(`Explain ${FILE}, lines 2–4`).waitFor();
      await ai.lastAnswer.locator('strong', { hasText: 'builds a greeting' }).waitFor();
      const code = ai.lastAnswer.locator('pre code');
      assert.match((await code.textContent()) ?? '', /greet\('Ada'\)/);
      assert.match((await ai.lastAnswer.textContent()) ?? '', new RegExp(CANARY.explanation));

      // The runner asked the model about exactly those lines of the file.
      const asked = fake.requests.at(-1)?.body?.messages ?? [];
      assert.match(asked.at(-1)?.content ?? '', new RegExp(`Explain lines 2-4 of ${FILE}`));
      assert.match(asked.at(-1)?.content ?? '', /return 'Hello, ' \+ name;/);
      await screenshot(page, 'ai-01-explain');
      await expectAccessible(page, 'IDE with the AI panel open');
    },
  );

  step(current, 'a follow-up question is answered with the conversation so far as context', async () => {
    fake.enqueue({ tokens: ['It returns ', 'a string', `, ${CANARY.reply}.`], tokenDelayMs: 30 });
    const ai = aiPanel(page);
    await ai.ask(`What does it return? ${CANARY.question}`);
    await ai.settled();
    await ai.lastAnswer.getByText(`It returns a string, ${CANARY.reply}.`).waitFor();
    assert.equal(await ai.turns.count(), 2);

    const messages = fake.requests.at(-1)?.body?.messages ?? [];
    const roles = messages.map((m) => m.role);
    assert.deepEqual(roles, ['system', 'user', 'assistant', 'user']);
    assert.match(messages[2]?.content ?? '', new RegExp(CANARY.explanation), 'the first answer came along');
    assert.match(messages[3]?.content ?? '', new RegExp(CANARY.question));
    assert.match(messages[0]?.content ?? '', /Hello, /, 'the open file was attached as context');
    await screenshot(page, 'ai-02-chat');
  });

  step(
    current,
    'a failing model server is reported in words, and the question can be asked again',
    async () => {
      fake.enqueue({ status: 500, errorMessage: CANARY.upstream });
      const ai = aiPanel(page);
      await ai.ask('Is it safe to call with undefined?');
      await ai.settled();
      const said = (await ai.lastError.textContent()) ?? '';
      assert.match(said, /^Model server answered 500: .*\. Try again/, said);
      assert.ok(!said.includes(CANARY.upstream), 'the server’s error text is not shown');
      await screenshot(page, 'ai-03-model-error');

      fake.enqueue({ tokens: ['It prints ', '"Hello, undefined".'] });
      await ai.turns.last().getByRole('button', { name: 'Ask again' }).click();
      await ai.settled();
      await ai.lastAnswer.getByText('It prints "Hello, undefined".').waitFor();
      assert.equal(await ai.lastError.count(), 0);
    },
  );

  step(current, 'Stop ends an answer part-way, and the model call with it', async () => {
    const cut = fake.cutOff;
    const words = Array.from({ length: 40 }, (_, i) => `word${i} `);
    fake.enqueue({ tokens: words, tokenDelayMs: 250 });
    const ai = aiPanel(page);
    await ai.ask('Tell me everything about it.');
    await ai.lastAnswer.getByText(/word1 /).waitFor();
    await ai.stop.click();
    await ai.settled(30_000);
    await ai.turns.last().getByText('Stopped before the end.').waitFor();
    assert.doesNotMatch((await ai.lastAnswer.textContent()) ?? '', /word39/);
    await waitFor('the model server to see the call end', async () =>
      fake.inFlight === 0 ? true : undefined,
    );
    assert.equal(fake.cutOff, cut + 1, 'the model server saw the reply cut off before its last token');
  });

  step(
    current,
    'an answer survives a network drop: resumed with Last-Event-ID, never asked twice',
    async () => {
      const requests: Array<{ method: string; url: string; lastEventId: string | undefined }> = [];
      const record = (request: import('playwright-core').Request) => {
        if (request.url().includes('/api/ai/'))
          requests.push({
            method: request.method(),
            url: request.url(),
            lastEventId: request.headers()['last-event-id'],
          });
      };
      page.on('request', record);
      const parts = Array.from({ length: 12 }, (_, i) => `part-${i}`);
      const asked = fake.requests.length;
      fake.enqueue({ tokens: parts.map((p) => `${p} `), tokenDelayMs: 300 });
      const ai = aiPanel(page);
      await ai.ask('Say it slowly.');
      await ai.lastAnswer.getByText(/part-2/).waitFor();
      proxy.dropConnections();
      await ai.settled(60_000);
      page.off('request', record);

      assert.equal(((await ai.lastAnswer.textContent()) ?? '').trim(), parts.join(' '));
      assert.equal(await ai.lastError.count(), 0);
      assert.equal(fake.requests.length - asked, 1, 'the model was asked once');
      assert.equal(requests.filter((r) => r.method === 'POST' && r.url.endsWith('/api/ai/chat')).length, 1);
      const resumes = requests.filter((r) => r.method === 'GET' && r.url.includes('/events'));
      assert.ok(resumes.length >= 1, 'the stream was reopened');
      assert.ok(
        resumes.every((r) => r.lastEventId !== undefined),
        'every reopen sent Last-Event-ID',
      );
    },
  );

  step(current, 'Rewrite selection… shows the change as a diff; Accept writes it to the file', async () => {
    fake.enqueue({
      tokens: ['```js\n', ...REWRITTEN_BODY.map((line) => `${line}\n`), '```\n'],
      tokenDelayMs: 30,
    });
    await selectLines(page, 2, 4);
    await editorContextMenu(page, 'Rewrite selection…', 2);
    const review = rewriteReview(page);
    await review.instructionDialog.waitFor();
    await review.instruct(`Use a template literal and end with "!" (${CANARY.instruction})`);
    await review.ready();
    await review.diff.waitFor();
    await review.review.getByRole('heading', { name: `Review the rewrite of ${FILE}, lines 2–4` }).waitFor();
    await screenshot(page, 'ai-05-rewrite-review');
    await expectAccessible(page, 'rewrite review');

    await review.accept.click();
    await review.review.waitFor({ state: 'detached' });
    await page.waitForFunction(() =>
      // biome-ignore lint/suspicious/noTemplateCurlyInString: the rewritten JavaScript, as the editor shows it.
      document.querySelector('.code-editor .view-lines')?.textContent?.includes('${name}!'),
    );
    assert.match(await editorText(page), /return `Hello, \$\{name\}!`;/);
    const file = await api.request('GET', `/api/workspaces/${workspaceId}/files?path=${FILE}`, undefined, {
      bearer: true,
    });
    assert.equal(file.status, 200);
    assert.equal(file.body.content, REWRITTEN);
    assert.equal(file.body.sha256, sha256(REWRITTEN));
    await screenshot(page, 'ai-06-rewrite-accepted');
  });

  step(current, 'a rewrite of a file that changed meanwhile is refused: nothing is written', async () => {
    fake.enqueue({ tokens: ['```js\n', 'module.exports = { greet, hello: greet };\n', '```\n'] });
    await selectLines(page, 5, 5);
    await editorContextMenu(page, 'Rewrite selection…', 5);
    const review = rewriteReview(page);
    await review.instruct('Export it as hello as well');
    await review.ready();
    await review.diff.waitFor();

    const elsewhere = `${REWRITTEN}// changed elsewhere\n`;
    const put = await api.request(
      'PUT',
      `/api/workspaces/${workspaceId}/files?path=${FILE}`,
      { content: elsewhere },
      { bearer: true },
    );
    assert.equal(put.status, 200);
    await review.accept.click();
    await review.problem
      .getByText(`${FILE} changed since the rewrite was made. Nothing was written.`)
      .waitFor();
    await review.review.getByRole('button', { name: 'Rewrite the current version' }).waitFor();
    await screenshot(page, 'ai-07-rewrite-stale');
    const file = await api.request('GET', `/api/workspaces/${workspaceId}/files?path=${FILE}`, undefined, {
      bearer: true,
    });
    assert.equal(file.body.content, elsewhere);
    await review.review.getByRole('button', { name: 'Dismiss' }).click();
    await review.review.waitFor({ state: 'detached' });
  });

  step(current, 'the conversation is saved into the workspace as Markdown', async () => {
    const ai = aiPanel(page);
    await ai.saveAs();
    const notice = (await ai.panel.getByText(/^Saved to /).textContent()) ?? '';
    const path = notice.replace(/^Saved to /, '').trim();
    assert.match(path, /^\.keel\/chats\/\d{4}-\d{2}-\d{2}\.md$/);
    const file = await api.request(
      'GET',
      `/api/workspaces/${workspaceId}/files?path=${encodeURIComponent(path)}`,
      undefined,
      { bearer: true },
    );
    assert.equal(file.status, 200, JSON.stringify(file.body));
    assert.match(file.body.content, new RegExp(`> What does it return\\? ${CANARY.question}`));
    assert.match(file.body.content, new RegExp(CANARY.reply));
  });

  step(current, 'the audit trail shows the AI calls and the patch, by their hashes only', async () => {
    const res = await api.request('GET', '/api/admin/audit?limit=200', undefined, { bearer: true });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    // Newest first: reversed, they are in the order the steps made them.
    const events = (res.body.events as AuditEventJson[]).slice().reverse();
    const of = (action: string) => events.filter((e) => e.action === action);
    const hex = /^[0-9a-f]{64}$/;
    const calls = events.filter((e) => e.action.startsWith('ai.'));
    assert.deepEqual(
      calls.map(
        (e) => `${e.action} ${e.metadata.result}${e.metadata.errorCode ? ` ${e.metadata.errorCode}` : ''}`,
      ),
      [
        'ai.explain success',
        'ai.chat success',
        'ai.chat failure model_error',
        'ai.chat success',
        'ai.chat cancelled',
        'ai.chat success',
        'ai.rewrite success',
        'ai.rewrite success',
      ],
    );
    for (const call of calls) {
      assert.equal(call.workspaceId, workspaceId);
      assert.equal(call.metadata.model, FAKE_MODEL);
      assert.match(String(call.metadata.promptSha256), hex, `${call.action}: the prompt's hash`);
      assert.match(String(call.metadata.answerSha256), hex, `${call.action}: the answer's hash`);
    }
    const [explain] = of('ai.explain');
    assert.equal(explain!.metadata.pathSha256, sha256(FILE));
    const [rewrite, second] = of('ai.rewrite');
    assert.equal(rewrite!.metadata.baseSha256, sha256(ORIGINAL));
    assert.match(String(rewrite!.metadata.diffSha256), hex);

    const patches = of('patch.apply');
    assert.deepEqual(
      patches.map((e) => `${e.outcome} ${e.metadata.error ?? ''}`.trim()),
      ['success', 'failure conflict'],
    );
    const [applied, refused] = patches;
    assert.equal(applied!.workspaceId, workspaceId);
    assert.equal(applied!.metadata.diffSha256, rewrite!.metadata.diffSha256, 'the diff reviewed was applied');
    assert.equal(applied!.metadata.modified, 1);
    assert.equal(refused!.metadata.diffSha256, second!.metadata.diffSha256);

    // Nothing of the code, the question, the instruction or the answers: the whole trail, as JSON.
    const json = JSON.stringify(res.body);
    for (const [what, text] of Object.entries(CANARY)) {
      assert.ok(!json.includes(text), `the audit trail holds no ${what} text`);
    }
    for (const text of ['Hello, ', 'function greet', 'template literal', FILE]) {
      assert.ok(!json.includes(text), `the audit trail holds no "${text}"`);
    }
  });

  test('no CSP violations or uncaught errors anywhere along the way', () => {
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
  });
});

describe('the AI panel when the runner has no model configured', { timeout: 240_000 }, () => {
  let keel: KeelInstance;
  let browser: Browser;
  let page: Page;
  let problems: PageProblems;
  const current = () => page;

  before(async () => {
    const env: NodeJS.ProcessEnv = { KEEL_RUNNER_DRIVER: 'process' };
    [keel, browser] = await Promise.all([
      // Whatever the calling shell has set: this runner must start without a model.
      startKeel({ env: { ...env, KEEL_AI_BASE_URL: '', KEEL_AI_MODEL: '' } }),
      launchChromium(),
    ]);
    const context = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    page = await context.newPage();
    page.setDefaultTimeout(20_000);
    problems = watchForProblems(page);
  });

  after(async () => {
    await browser?.close();
    await keel?.stop();
  });

  step(current, 'the panel says how to configure a model instead of offering to ask', async () => {
    const email = 'linus@example.com';
    await signUp(page, keel.base, email);
    const api = await apiClient(keel.base, email);
    assert.equal((await runnerOnline(api)).configured, false, 'the runner has no model');
    await createWorkspace(page, 'plain');

    await page.getByRole('button', { name: 'Open plain' }).click();
    await page.getByRole('heading', { name: 'plain', level: 1 }).waitFor();
    const ai = aiPanel(page);
    await ai.open();
    await ai.setUpInstructions.waitFor();
    await ai.panel
      .getByText(/KEEL_AI_BASE_URL/)
      .first()
      .waitFor();
    assert.equal(await ai.question.count(), 0, 'no question box while there is no model');
    await screenshot(page, 'ai-08-not-configured');
    await expectAccessible(page, 'AI panel without a model');
    assert.deepEqual(problems.cspViolations, []);
    assert.deepEqual(problems.pageErrors, []);
  });
});
