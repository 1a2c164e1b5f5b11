import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Monaco } from './monaco-environment.ts';
import { limitTypeScriptDiagnostics } from './typescript-diagnostics.ts';

/** Stands in for one language's defaults (Monaco itself needs a real DOM). */
function fakeDefaults() {
  let options: Record<string, unknown> = {
    onlyVisible: true,
    noSemanticValidation: false,
    noSyntaxValidation: true,
  };
  return {
    getDiagnosticsOptions: () => options,
    setDiagnosticsOptions: (next: Record<string, unknown>) => {
      options = next;
    },
    current: () => options,
  };
}

describe('limitTypeScriptDiagnostics (on a stand-in for Monaco)', () => {
  test('turns semantic diagnostics off and syntax diagnostics on, for TypeScript and JavaScript', () => {
    const typescriptDefaults = fakeDefaults();
    const javascriptDefaults = fakeDefaults();
    const monaco = { typescript: { typescriptDefaults, javascriptDefaults } } as unknown as Pick<
      Monaco,
      'typescript'
    >;
    limitTypeScriptDiagnostics(monaco);
    for (const defaults of [typescriptDefaults, javascriptDefaults]) {
      assert.deepEqual(defaults.current(), {
        onlyVisible: true,
        noSemanticValidation: true,
        noSyntaxValidation: false,
      });
    }
  });
});
