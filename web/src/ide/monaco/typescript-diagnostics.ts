import type { Monaco } from './monaco-environment.ts';

/**
 * Monaco's TypeScript worker sees only the files open in the editor, so in a real project every
 * relative import is "Cannot find module" and everything typed from it is wrong. Until a language
 * service that knows the workspace's other files brings them back, semantic diagnostics are off;
 * syntax errors need no other file and still show.
 */
export function limitTypeScriptDiagnostics(monaco: Pick<Monaco, 'typescript'>): void {
  for (const defaults of [monaco.typescript.typescriptDefaults, monaco.typescript.javascriptDefaults]) {
    defaults.setDiagnosticsOptions({
      ...defaults.getDiagnosticsOptions(),
      noSemanticValidation: true,
      noSyntaxValidation: false,
    });
  }
}
