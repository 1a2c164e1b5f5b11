import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import {
  BLOCK_SEPARATOR,
  type BuiltContext,
  buildContext,
  buildFilesContext,
  renderBlock,
  type WorkspaceReader,
} from '../../runners/src/ai/context-builder.ts';
import { jsSpecifiers, pythonImports } from '../../runners/src/ai/imports.ts';
import { estimateTokens } from '../../runners/src/ai/tokens.ts';
import { normalizeWorkspacePath } from '../../runners/src/ai/workspace-path.ts';
import { type Fixture, lines, writeFixture } from './fixtures.ts';

const BIG = 100_000;

function paths(ctx: BuiltContext) {
  return ctx.blocks.map((b) => `${b.reason}:${b.path}`);
}

function assertConfined(asked: string[]) {
  for (const p of asked) {
    assert.equal(normalizeWorkspacePath(p), p, `asked for a path outside the workspace: ${p}`);
  }
}

function recount(ctx: BuiltContext, tokenizer = estimateTokens) {
  return ctx.blocks.reduce((n, b) => n + tokenizer(renderBlock(b) + BLOCK_SEPARATOR), 0);
}

const TS_FILES: Record<string, string> = {
  'src/main.ts': [
    "import { a } from './a';",
    "import util from './util';",
    "import type { T } from './types.js';",
    "export * from './re-export';",
    "const legacy = require('./legacy.cjs');",
    "import {\n  one,\n  two,\n} from './multi';",
    "import secret from '../../outside';",
    "import pw from '../../../../../../../etc/passwd';",
    "import abs from '/etc/passwd';",
    "import react from 'react';",
    "// import commented from './commented';",
    "/* import alsoCommented from './commented'; */",
    "const lazy = () => import('./lazy');",
    "import { a as again } from './a.ts';",
    'export function main(): T { return a + util + one + two + legacy + lazy + again + react + secret + pw + abs; }',
  ].join('\n'),
  'src/a.ts': "import { main } from './main';\nimport { b } from './b';\nexport const a = 1;\n",
  'src/b.ts': "import { a } from './a';\nimport { deep } from './util/deep';\nexport const b = a;\n",
  'src/util/index.ts': 'export default 2;\n',
  'src/util/deep.ts': 'export const deep = 3;\n',
  'src/types.ts': 'export type T = number;\n',
  'src/re-export.tsx': 'export const X = <div />;\n',
  'src/legacy.cjs': 'module.exports = 4;\n',
  'src/multi/index.js': 'export const one = 1, two = 2;\n',
  'src/lazy.mjs': 'export default 5;\n',
  'src/commented.ts': 'export default 6;\n',
  '../outside.ts': 'export default "OUTSIDE THE WORKSPACE";\n',
};

describe('context builder: TypeScript project (index resolution, a cycle, escapes)', () => {
  let fx: Fixture;
  before(async () => {
    fx = await writeFixture(TS_FILES);
  });
  after(() => fx.cleanup());

  test('the file, then its workspace imports breadth-first, each once, cycle included', async () => {
    const content = TS_FILES['src/main.ts']!;
    const ctx = await buildContext({ reader: fx.reader, path: 'src/main.ts', content, budgetTokens: BIG });
    assert.deepEqual(paths(ctx), [
      'file:src/main.ts',
      'import:src/a.ts',
      'import:src/util/index.ts',
      'import:src/types.ts',
      'import:src/re-export.tsx',
      'import:src/legacy.cjs',
      'import:src/multi/index.js',
      'import:src/lazy.mjs',
      'import:src/b.ts',
      'import:src/util/deep.ts',
    ]);
    assert.ok(ctx.blocks.every((b) => !b.truncated));
    assert.equal(ctx.tokensUsed, recount(ctx));
  });

  test('imports outside the root, absolute paths, packages and commented-out imports are ignored', async () => {
    fx.reader.asked.length = 0;
    const content = TS_FILES['src/main.ts']!;
    const ctx = await buildContext({ reader: fx.reader, path: 'src/main.ts', content, budgetTokens: BIG });
    assertConfined(fx.reader.asked);
    const all = ctx.blocks.map((b) => b.content).join('\n');
    assert.equal(all.includes('OUTSIDE THE WORKSPACE'), false);
    assert.equal(
      fx.reader.asked.some((p) => p.includes('etc/passwd') || p.includes('outside') || p.includes('react')),
      false,
    );
    assert.equal(paths(ctx).includes('import:src/commented.ts'), false);
  });

  test('maxDepth 1 keeps only direct imports', async () => {
    const content = TS_FILES['src/main.ts']!;
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'src/main.ts',
      content,
      budgetTokens: BIG,
      maxDepth: 1,
    });
    assert.equal(paths(ctx).includes('import:src/b.ts'), false);
    assert.equal(paths(ctx).length, 8);
  });

  test('a reader with methods that use `this` works, and maxImportFiles bounds the reads', async () => {
    class Reader implements WorkspaceReader {
      constructor(private readonly inner: WorkspaceReader) {}
      exists(p: string) {
        return this.inner.exists(p);
      }
      readFile(p: string) {
        return this.inner.readFile(p);
      }
    }
    const content = TS_FILES['src/main.ts']!;
    const ctx = await buildContext({
      reader: new Reader(fx.reader),
      path: 'src/main.ts',
      content,
      budgetTokens: BIG,
      maxImportFiles: 2,
    });
    assert.deepEqual(paths(ctx), ['file:src/main.ts', 'import:src/a.ts', 'import:src/util/index.ts']);
  });

  test('the content passed in wins over the disk (unsaved editor buffer)', async () => {
    const ctx = await buildContext({
      reader: fx.reader,
      path: './src//main.ts',
      content: "import { b } from './b';\n// edited\n",
      budgetTokens: BIG,
    });
    assert.equal(ctx.blocks[0]?.path, 'src/main.ts');
    assert.match(ctx.blocks[0]?.content ?? '', /edited/);
    assert.deepEqual(paths(ctx), [
      'file:src/main.ts',
      'import:src/b.ts',
      'import:src/a.ts',
      'import:src/util/deep.ts',
    ]);
  });

  test('a target path outside the workspace is refused', async () => {
    for (const path of ['/etc/passwd', '../x.ts', 'src/../../x.ts', 'C:/x.ts', 'src\\x.ts', '']) {
      await assert.rejects(
        buildContext({ reader: fx.reader, path, content: '', budgetTokens: BIG }),
        RangeError,
        path,
      );
    }
  });

  test('deterministic: same input, same output, whatever the I/O timing', async () => {
    const jittery = await writeFixture(TS_FILES, { jitterMs: 5 });
    try {
      const content = TS_FILES['src/main.ts']!;
      const input = {
        path: 'src/main.ts',
        content,
        budgetTokens: 150,
        selection: { startLine: 2, endLine: 3 },
      };
      const first = await buildContext({ ...input, reader: fx.reader });
      for (let i = 0; i < 3; i++)
        assert.deepEqual(await buildContext({ ...input, reader: jittery.reader }), first);
    } finally {
      await jittery.cleanup();
    }
  });
});

describe('context builder: Python package with relative imports', () => {
  let fx: Fixture;
  const core = [
    'from . import helpers, config',
    'from .models.user import User',
    'from .models import (',
    '    user as u,',
    ')',
    'from ... import escape',
    'from .missing import nothing',
    'import os',
    'from typing import List',
    'def run(): return helpers, config, User, u',
  ].join('\n');
  before(async () => {
    fx = await writeFixture({
      'pkg/__init__.py': 'from .core import run\n',
      'pkg/core.py': core,
      'pkg/helpers.py': 'def h(): pass\n',
      'pkg/config/__init__.py': 'DEBUG = False\n',
      'pkg/models/__init__.py': '',
      'pkg/models/user.py': 'from ..helpers import h\nclass User: pass\n',
      'pkg/sub/deep.py': 'from ..helpers import h\nfrom .sibling import s\n',
      'pkg/sub/sibling.py': 's = 1\n',
      '../escape.py': 'ESCAPED = True\n',
    });
  });
  after(() => fx.cleanup());

  test('from . import x, from .x.y import z, packages and submodules', async () => {
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'pkg/core.py',
      content: core,
      budgetTokens: BIG,
    });
    assert.deepEqual(paths(ctx), [
      'file:pkg/core.py',
      'import:pkg/helpers.py',
      'import:pkg/config/__init__.py',
      'import:pkg/models/user.py',
      'import:pkg/models/__init__.py',
    ]);
    assertConfined(fx.reader.asked);
    assert.equal(
      ctx.blocks.some((b) => b.content.includes('ESCAPED')),
      false,
    );
  });

  test('.. climbs one package', async () => {
    const deep = 'from ..helpers import h\nfrom .sibling import s\n';
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'pkg/sub/deep.py',
      content: deep,
      budgetTokens: BIG,
    });
    assert.deepEqual(paths(ctx), [
      'file:pkg/sub/deep.py',
      'import:pkg/helpers.py',
      'import:pkg/sub/sibling.py',
    ]);
  });

  test('the import parser reads aliases and parenthesised lists', () => {
    assert.deepEqual(pythonImports('from .a import (x as y,\n  z)\nfrom .. import q # c\n'), [
      { dots: 1, module: 'a', names: ['x', 'z'] },
      { dots: 2, module: '', names: ['q'] },
    ]);
  });
});

describe('context builder: Rust modules', () => {
  test('mod x; resolves to x.rs or x/mod.rs next to the owning file', async () => {
    const fx = await writeFixture({
      'src/main.rs': 'mod net;\npub mod util;\nmod inline { }\nfn main() {}\n',
      'src/net.rs': 'pub(crate) mod tcp;\n',
      'src/net/tcp.rs': 'pub fn connect() {}\n',
      'src/util/mod.rs': 'pub fn u() {}\n',
    });
    try {
      const ctx = await buildContext({
        reader: fx.reader,
        path: 'src/main.rs',
        content: 'mod net;\npub mod util;\nmod inline { }\nfn main() {}\n',
        budgetTokens: BIG,
      });
      assert.deepEqual(paths(ctx), [
        'file:src/main.rs',
        'import:src/net.rs',
        'import:src/util/mod.rs',
        'import:src/net/tcp.rs',
      ]);
    } finally {
      await fx.cleanup();
    }
  });
});

describe('context builder: selection and budget', () => {
  let fx: Fixture;
  const long = lines(400, (i) => `const v${i} = ${i}; // some code on line ${i}`);
  before(async () => {
    fx = await writeFixture({
      'src/long.ts': `import { dep } from './dep';\n${long}`,
      'src/dep.ts': lines(200, (i) => `export const dep${i} = ${i};`),
      'min.js': `${'x'.repeat(20_000)}\n`,
    });
  });
  after(() => fx.cleanup());
  const content = () => `import { dep } from './dep';\n${long}`;

  test('selection first, then the file trimmed around it, then imports, within the budget', async () => {
    const selection = { startLine: 200, endLine: 205 };
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'src/long.ts',
      content: content(),
      selection,
      budgetTokens: 1_200,
    });
    const [sel, file] = ctx.blocks;
    assert.equal(sel?.reason, 'selection');
    assert.equal(sel?.truncated, false);
    assert.deepEqual([sel?.startLine, sel?.endLine], [200, 205]);
    assert.equal(sel?.content.split('\n').length, 6);
    assert.match(sel?.content ?? '', /^const v199 = 199/);

    assert.equal(file?.reason, 'file');
    assert.equal(file?.truncated, true);
    assert.ok(file!.startLine < 200 && file!.endLine > 205, `window ${file?.startLine}-${file?.endLine}`);
    // Centred: about as many lines above as below.
    assert.ok(Math.abs(200 - file!.startLine - (file!.endLine - 205)) <= 1);
    assert.equal(file?.totalLines, 401);
    assert.ok(ctx.tokensUsed <= 1_200);
    assert.equal(ctx.tokensUsed, recount(ctx));
    // Filled to within one line of the budget.
    assert.ok(1_200 - ctx.tokensUsed < 40, `used ${ctx.tokensUsed}`);
  });

  test('the budget is never exceeded, and the order is always selection, file, imports', async () => {
    const order = { selection: 0, file: 1, import: 2 };
    for (let budget = 0; budget <= 6_000; budget += 97) {
      const ctx = await buildContext({
        reader: fx.reader,
        path: 'src/long.ts',
        content: content(),
        selection: { startLine: 390, endLine: 401 },
        budgetTokens: budget,
      });
      assert.ok(ctx.tokensUsed <= budget, `budget ${budget}, used ${ctx.tokensUsed}`);
      assert.equal(ctx.tokensUsed, recount(ctx));
      const ranks = ctx.blocks.map((b) => order[b.reason]);
      assert.deepEqual(ranks, [...ranks].sort());
    }
  });

  test('an import that does not fit whole is cut from its top', async () => {
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'src/long.ts',
      content: content(),
      budgetTokens: 4_500,
    });
    const dep = ctx.blocks.find((b) => b.path === 'src/dep.ts');
    assert.ok(dep);
    assert.equal(dep.truncated, true);
    assert.equal(dep.startLine, 1);
    assert.match(dep.content, /^export const dep1 = 1;/);
  });

  test('a selection larger than the budget is cut, from its top', async () => {
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'src/long.ts',
      content: content(),
      selection: { startLine: 10, endLine: 390 },
      budgetTokens: 300,
    });
    assert.equal(ctx.blocks.length, 1);
    assert.equal(ctx.blocks[0]?.reason, 'selection');
    assert.equal(ctx.blocks[0]?.truncated, true);
    assert.equal(ctx.blocks[0]?.startLine, 10);
    assert.ok(ctx.tokensUsed <= 300);
  });

  test('a whole-file selection is not sent twice', async () => {
    const small = "import { dep } from './dep';\nconst x = dep1;\n";
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'src/small.ts',
      content: small,
      selection: { startLine: 1, endLine: 2 },
      budgetTokens: BIG,
    });
    assert.deepEqual(paths(ctx), ['selection:src/small.ts', 'import:src/dep.ts']);
  });

  test('a minified one-line file is cut inside the line', async () => {
    const min = 'x'.repeat(20_000);
    const ctx = await buildContext({ reader: fx.reader, path: 'min.js', content: min, budgetTokens: 500 });
    assert.equal(ctx.blocks[0]?.truncated, true);
    assert.ok((ctx.blocks[0]?.content.length ?? 0) > 1_500);
    assert.ok(ctx.tokensUsed <= 500);
  });

  test('the tokenizer is pluggable', async () => {
    // Twice as dear as the default estimate: the same budget must buy about half the lines.
    const dear = (text: string) => Math.ceil(text.length / 2);
    const input = { reader: fx.reader, path: 'src/long.ts', content: content(), budgetTokens: 800 };
    const cheap = await buildContext(input);
    const costly = await buildContext({ ...input, tokenizer: dear });
    assert.ok(costly.tokensUsed <= 800);
    assert.equal(costly.tokensUsed, recount(costly, dear));
    const shown = (ctx: BuiltContext) => ctx.blocks[0]!.endLine - ctx.blocks[0]!.startLine + 1;
    assert.ok(Math.abs(shown(cheap) - 2 * shown(costly)) <= 2, `${shown(cheap)} vs ${shown(costly)}`);
  });

  test('out-of-range selections are clamped', async () => {
    const ctx = await buildContext({
      reader: fx.reader,
      path: 'src/long.ts',
      content: content(),
      selection: { startLine: 399, endLine: 9_999 },
      budgetTokens: BIG,
    });
    assert.deepEqual([ctx.blocks[0]?.startLine, ctx.blocks[0]?.endLine], [399, 401]);
  });
});

describe('context builder: files named in a chat', () => {
  test('given paths in order, bad and missing ones skipped, each once', async () => {
    const fx = await writeFixture({
      'a.ts': 'export const a = 1;\n',
      'lib/b.py': 'b = 2\n',
      '../secret.txt': 'SECRET\n',
    });
    try {
      const ctx = await buildFilesContext({
        reader: fx.reader,
        paths: [
          'lib/b.py',
          '../secret.txt',
          '/etc/passwd',
          'missing.ts',
          './a.ts',
          'a.ts',
          'lib/../../secret.txt',
        ],
        budgetTokens: BIG,
      });
      assert.deepEqual(paths(ctx), ['file:lib/b.py', 'file:a.ts']);
      assertConfined(fx.reader.asked);
    } finally {
      await fx.cleanup();
    }
  });
});

describe('import scanning', () => {
  test('JS/TS specifiers in order of appearance, relative only, query strings dropped', () => {
    const src = [
      "import x from './x?raw';",
      "export { y } from '../y';",
      "const z = require('./z');",
      "import 'side-effect';",
      "import './polyfill';",
      "const w = await import('./w#frag');",
    ].join('\n');
    assert.deepEqual(jsSpecifiers(src), ['./x', '../y', './z', './polyfill', './w']);
  });
});
