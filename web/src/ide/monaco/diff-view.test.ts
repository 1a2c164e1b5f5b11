import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { showDiff } from './diff-view.ts';
import type { Monaco } from './monaco-environment.ts';

/** Records what is made and disposed, in order, in place of Monaco (which needs a real DOM). */
function fakeMonaco() {
  const log: string[] = [];
  const disposable = (name: string) => ({ dispose: () => log.push(`dispose ${name}`) });
  let models = 0;
  const monaco = {
    editor: {
      createModel: (text: string) => {
        models += 1;
        log.push(`model ${models}: ${text}`);
        return disposable(`model ${models}`);
      },
      createDiffEditor: (_container: unknown, options: { ariaLabel?: string }) => {
        log.push(`diff editor: ${options.ariaLabel}`);
        return { ...disposable('diff editor'), setModel: () => log.push('set models') };
      },
      create: (element: { tag: string }, options: { model: unknown }) => {
        log.push(`plain editor on a new ${element.tag}, model ${String(options.model)}`);
        return disposable('plain editor');
      },
    },
  };
  const container = { ownerDocument: { createElement: (tag: string) => ({ tag }) } };
  return { monaco: monaco as unknown as Monaco, container: container as unknown as HTMLElement, log };
}

describe('showDiff', () => {
  test('taking the diff down makes and drops a plain editor after it, so Monaco’s menus keep working', () => {
    const { monaco, container, log } = fakeMonaco();

    const dispose = showDiff(monaco, container, {
      original: 'old',
      modified: 'new',
      language: 'typescript',
      options: { ariaLabel: 'Proposed change to a.ts' },
    });
    assert.deepEqual(log, [
      'model 1: old',
      'model 2: new',
      'diff editor: Proposed change to a.ts',
      'set models',
    ]);

    log.length = 0;
    dispose();
    dispose();
    assert.deepEqual(log, [
      'dispose diff editor',
      'dispose model 1',
      'dispose model 2',
      // Disposing the diff editor left Monaco's hover factory on its disposed services; this resets it.
      'plain editor on a new div, model null',
      'dispose plain editor',
    ]);
  });
});
