import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { LSP_MESSAGE_MAX_BYTES } from '@keel/contract/lsp';
import { frameMessage, LspFrameReader } from '../runners/src/lsp/framing.ts';
import { connectLsp } from '../tests/lsp/lsp-client.ts';
import type { Figure } from './figure.ts';
import { count } from './scale.ts';
import { round, summarize, timeEach } from './stats.ts';
import { startSystem } from './system.ts';

const N = count(300, 30);
const WARMUP = count(30, 5);

const MATH =
  'export interface Point {\n  x: number;\n  y: number;\n}\n\nexport function distance(a: Point, b: Point): number {\n  return Math.hypot(a.x - b.x, a.y - b.y);\n}\n';
const MAIN =
  "import { distance, type Point } from './math';\n\nconst origin: Point = { x: 0, y: 0 };\nexport const d = distance(origin, { x: 3, y: 4 });\norigin.x;\n";
const HOVER = { line: 3, character: 19 };
const COMPLETION = { line: 4, character: 7 };

type Ask = (method: string, params: unknown) => Promise<unknown>;

/** A hover and a completion request over `ask`, timed one at a time. */
async function measure(ask: Ask, uri: string): Promise<{ hover: number[]; completion: number[] }> {
  const hover = await timeEach(
    N,
    () => ask('textDocument/hover', { textDocument: { uri }, position: HOVER }),
    WARMUP,
  );
  const completion = await timeEach(
    N,
    () =>
      ask('textDocument/completion', {
        textDocument: { uri },
        position: COMPLETION,
        context: { triggerKind: 1 },
      }),
    WARMUP,
  );
  return { hover, completion };
}

/** The floor: the same server on a stdio pipe of this process, on a copy of the files. */
async function direct(): Promise<{ hover: number[]; completion: number[] }> {
  const dir = mkdtempSync(join(tmpdir(), 'keel-bench-lsp-'));
  mkdirSync(join(dir, 'src'));
  writeFileSync(join(dir, 'src/math.ts'), MATH);
  writeFileSync(join(dir, 'src/main.ts'), MAIN);
  const cli = join(
    dirname(createRequire(import.meta.url).resolve('typescript-language-server/package.json')),
    'lib/cli.mjs',
  );
  const child = spawn(process.execPath, [cli, '--stdio'], { stdio: ['pipe', 'pipe', 'ignore'] });
  const waiting = new Map<number, (m: unknown) => void>();
  const reader = new LspFrameReader(
    LSP_MESSAGE_MAX_BYTES,
    (text) => {
      const m = JSON.parse(text);
      if (m.method && m.id !== undefined)
        child.stdin.write(frameMessage(JSON.stringify({ jsonrpc: '2.0', id: m.id, result: null })));
      else waiting.get(m.id)?.(m);
    },
    (err) => console.error('bench lsp: direct server framing', err),
  );
  child.stdout.on('data', (c: Buffer) => reader.push(c));
  let next = 1;
  const ask: Ask = (method, params) =>
    new Promise((resolve) => {
      const id = next++;
      waiting.set(id, (m) => {
        waiting.delete(id);
        resolve(m);
      });
      child.stdin.write(frameMessage(JSON.stringify({ jsonrpc: '2.0', id, method, params })));
    });
  const notify = (method: string, params: unknown) =>
    child.stdin.write(frameMessage(JSON.stringify({ jsonrpc: '2.0', method, params })));
  try {
    const root = `file://${dir}`;
    await ask('initialize', {
      processId: null,
      rootUri: root,
      capabilities: {},
      initializationOptions: { disableAutomaticTypingAcquisition: true },
    });
    notify('initialized', {});
    const uri = `${root}/src/main.ts`;
    notify('textDocument/didOpen', {
      textDocument: { uri, languageId: 'typescript', version: 1, text: MAIN },
    });
    await loaded(ask, uri);
    return await measure(ask, uri);
  } finally {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Waits until a hover shows the type from the other file: the project (both files) is loaded. */
async function loaded(ask: Ask, uri: string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const answer = await ask('textDocument/hover', { textDocument: { uri }, position: HOVER });
    if (/a: Point, b: Point/.test(JSON.stringify(answer))) return;
    if (Date.now() > deadline)
      throw new Error(`the language server did not load the project: ${JSON.stringify(answer)}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * Hover and completion round trips through Keel (WebSocket → edge → Redis → runner → the server in a
 * process-driver workspace, and back), against the same server on a local stdio pipe in the same run.
 */
export async function benchLsp(): Promise<Figure[]> {
  const floor = await direct();
  const sys = await startSystem('process');
  try {
    const ws = await sys.workspace('bench-lsp');
    for (const [path, content] of [
      ['src/math.ts', MATH],
      ['src/main.ts', MAIN],
    ] as const) {
      await sys.admin.request(
        'PUT',
        `/api/workspaces/${ws}/files?path=${encodeURIComponent(path)}`,
        { content },
        { bearer: true },
      );
    }
    const lsp = await connectLsp(sys.base, sys.admin, ws);
    await lsp.initialize();
    const uri = 'file:///workspace/src/main.ts';
    lsp.open(uri, 'typescript', MAIN);
    await loaded((method, params) => lsp.request(method, params), uri);
    const keel = await measure((method, params) => lsp.request(method, params), uri);
    await lsp.close();
    const rows: Figure[] = [];
    for (const what of ['hover', 'completion'] as const) {
      const k = summarize(keel[what]);
      const d = summarize(floor[what]);
      rows.push({
        name: `language server ${what} round trip, p50 (n=${N})`,
        keel: `${round(k.p50)} ms`,
        baseline: `${round(d.p50)} ms (same server, stdio pipe)`,
        ratio: `+${round(k.p50 - d.p50)} ms`,
        target: '≤ +5 ms',
        pass: k.p50 - d.p50 <= 5,
      });
    }
    return rows;
  } finally {
    await sys.stop();
  }
}
